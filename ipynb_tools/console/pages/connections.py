"""The Connections and Settings pages of a course (SPEC 11's Lti Connections and Lti Settings; issue 15),
shown when the LMS adapter is configured.

- ``GET  course/<id>/connections``: the course's LTI activities of this hub in course order, without
  those hidden here, each with a one-line summary of its parameters, its findings and a link to Edit;
- ``GET  course/<id>/settings``: every one of them with "hide"/"show";
- ``POST course/<id>/settings``: ``lti_id`` and ``hidden`` (``1`` hide, ``0`` show), with XSRF.

The hidden setting is the console's own (:mod:`ipynb_tools.lms.listing`), never written to Moodle.
"""

from __future__ import annotations

from tornado import web

from ...lms.errors import ActivityNotFound, DatabaseError, LmsError
from ..editing import connections, set_hidden
from .edit import COURSE, LmsPage


class ConnectionsHandler(LmsPage):
    """``course/<id>/connections``."""

    tab = "connections"
    template = "connections.html"

    @web.authenticated
    async def get(self, course: str) -> None:
        number = await self.open_course(course)
        problem = None
        activities = []
        with self.moodle() as db:
            try:
                activities = connections(db, number, self.lms_site(db.wwwroot))
            except ActivityNotFound:
                problem = self.gettext("The LMS has no such course.")
            except (DatabaseError, LmsError) as exc:
                self.log.error("console: %s", exc)
                problem = self.gettext("The LMS cannot be read now.")
        if self.tab == "connections":
            activities = [a for a in activities if not a.hidden]
        self.render(
            self.template,
            course=course,
            activities=activities,
            problem=problem,
            changed=self.get_query_argument("changed", None),
        )


class SettingsHandler(ConnectionsHandler):
    """``course/<id>/settings``: hide or show activities in the Connections list."""

    tab = "settings"
    template = "settings.html"

    @web.authenticated
    async def post(self, course: str) -> None:
        number = await self.open_course(course)
        lti_id = self.get_body_argument("lti_id", "")
        hidden = self.get_body_argument("hidden", "")
        # isascii: str.isdigit() is true for '²', which int() refuses (a 500)
        if not (lti_id.isascii() and lti_id.isdigit()) or len(lti_id) > 18 or hidden not in ("0", "1"):
            raise web.HTTPError(400)
        with self.moodle() as db:
            try:
                set_hidden(db, number, int(lti_id), hidden == "1", self.lms_site(db.wwwroot))
            except ActivityNotFound:
                raise web.HTTPError(404) from None
            except (DatabaseError, LmsError) as exc:
                self.log.error("console: %s", exc)
                raise web.HTTPError(503) from None
        self.redirect(self.url(f"course/{course}/settings?changed={lti_id}"), status=303)


HANDLERS: list[tuple[str, type]] = [
    (rf"{COURSE}/connections/?", ConnectionsHandler),
    (rf"{COURSE}/settings/?", SettingsHandler),
]
TABS = ["connections", "settings"]
