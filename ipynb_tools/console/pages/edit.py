"""The Edit page of one LTI activity (SPEC 11's Lti Edit; issue 15): the form, live findings, the
preview of the stored text, save through the LMS adapter, and "create volumes now".

- ``GET  course/<id>/edit/<lti id>``: the form made from the stored text;
- ``POST course/<id>/edit/<lti id>``: ``action=save`` (with ``timemodified``, the version the form
  was made from, and ``force`` to save despite new warnings) or ``action=volumes`` (create the task and
  submit volumes of the stored text on the engine);
- ``POST course/<id>/edit/<lti id>/check``: the form's findings and preview as JSON, nothing written
  (the page's own script calls it on every change).

Every request checks that the viewer teaches the course (403 otherwise, the same page for a course
that does not exist); every POST carries the XSRF token (tornado refuses it otherwise). The work is
:mod:`ipynb_tools.console.editing`; without the LMS adapter the page does not exist (404).
"""

from __future__ import annotations

import json
from typing import Any

from tornado import web

from ...errors import IpynbToolsError
from ...lms.errors import ActivityNotFound, ConcurrentEdit, DatabaseError, ParamsRefused, TextTooLong
from ..base import ConsoleHandler, finding_gettext, translations
from ..editing import EditView, LmsSite, StaleForm, check_form, create_volumes_now, engine_images, open_form, save_form
from ..forms import (
    ACTIVITY_CHOICES,
    CPU_CHOICES,
    DEFURL_CHOICES,
    MEMORY_CHOICES,
    Choice,
    choices_with,
    field_of,
)

COURSE = r"course/([^/]+)"
LTI = r"(\d{1,18})"
#: Fields of the page's own that are not parameters.
_CONTROL = frozenset({"_xsrf", "action", "force", "timemodified"})
#: Blank volume rows offered for adding (the page's script adds more).
BLANK_ROWS = 2


class LmsPage(ConsoleHandler):
    """A course page that needs the LMS adapter: 404 without it; the Moodle connection per request."""

    def lms_site(self, wwwroot: str | None) -> LmsSite:
        return LmsSite.from_config(self.console.config, wwwroot)

    async def open_course(self, course: str) -> int:
        """The course id as the LMS's number, after the access check (403) and the LMS check (404)."""
        await self.require_course(course)
        if not self.console.config.has_lms or not course.isdigit():
            raise web.HTTPError(404)
        return int(course)

    def moodle(self) -> Any:
        try:
            return self.console.moodle()
        except IpynbToolsError as exc:
            self.log.error("console: the LMS database: %s", exc)
            raise web.HTTPError(503) from None

    def form_data(self) -> dict[str, str]:
        """The submitted parameter fields (the last value of each)."""
        return {
            name: self.get_body_argument(name, "") or "" for name in self.request.body_arguments if name not in _CONTROL
        }


class EditHandler(LmsPage):
    """``course/<id>/edit/<lti id>``."""

    tab = "connections"

    def images(self) -> tuple[list[str], str | None]:
        """The images offered, and a problem when the engine could not be asked (the field is then free text)."""
        try:
            return engine_images(self.console.engine(), self.console.config.image_filter), None
        except IpynbToolsError as exc:
            return [], str(exc)

    def show(self, course: str, view: EditView, *, status: int = 200, **extra: Any) -> None:
        """Render the page for ``view`` (the images asked of the engine now: the field is free text without one)."""
        self.set_status(status)
        form = view.form
        tags, image_problem = self.images()
        images = [Choice(tag, tag) for tag in tags]
        findings = [(f, field_of(f, form)) for f in view.preview.findings]
        self.render(
            "edit.html",
            course=course,
            view=view,
            activity=view.activity,
            form=form,
            findings=findings,
            by_field={name: [f for f, at in findings if at == name] for _, name in findings if name},
            image_choices=choices_with([Choice("", "site default"), *images], form.image),
            cpu_choices=choices_with(CPU_CHOICES, form.cpulimit),
            memory_choices=choices_with(MEMORY_CHOICES, form.memlimit),
            activity_choices=choices_with(ACTIVITY_CHOICES, form.actlimit),
            defurl_choices=choices_with(DEFURL_CHOICES, form.defurl),
            blank_rows=range(len(form.volumes), len(form.volumes) + BLANK_ROWS),
            zone=str(self.console.config.zone),
            check_url=self.url(f"course/{course}/edit/{view.activity.lti_id}/check"),
            engine_ok=image_problem is None,
            image_problem=image_problem,
            **{"saved": False, "message": None, "problem": None, "offer_force": False, **extra},
        )

    @web.authenticated
    async def get(self, course: str, lti_id: str) -> None:
        number = await self.open_course(course)
        with self.moodle() as db:
            try:
                view = open_form(db, number, int(lti_id), self.lms_site(db.wwwroot), self.console.config.zone)
            except ActivityNotFound:
                raise web.HTTPError(404) from None
            except DatabaseError as exc:
                self.log.error("console: %s", exc)
                raise web.HTTPError(503) from None
        saved = self.get_query_argument("saved", None) == "1"
        self.show(course, view, saved=saved)

    @web.authenticated
    async def post(self, course: str, lti_id: str) -> None:
        number = await self.open_course(course)
        action = self.get_body_argument("action", "save")
        with self.moodle() as db:
            site = self.lms_site(db.wwwroot)
            zone = self.console.config.zone
            try:
                if action == "volumes":
                    return await self.create_volumes(course, db, number, int(lti_id), site)
                if action != "save":
                    raise web.HTTPError(400)
                made_from = self.get_body_argument("timemodified", "")
                force = self.get_body_argument("force", "") == "1"
                data = self.form_data()
                try:
                    result = save_form(
                        db,
                        number,
                        int(lti_id),
                        data,
                        site,
                        zone,
                        made_from=int(made_from)
                        if made_from.isascii() and made_from.isdigit() and len(made_from) <= 18
                        else None,
                        force=force,
                    )
                except (ParamsRefused, TextTooLong, ConcurrentEdit, StaleForm) as exc:
                    view = check_form(db, number, int(lti_id), data, site, zone)
                    new_warnings = isinstance(exc, ParamsRefused) and exc.new_warnings > 0
                    self.show(course, view, status=409, problem=self.refusal(exc), offer_force=new_warnings)
                    return
                if result.outcome is None:
                    problem = self.gettext("Nothing was saved: fix the errors below.")
                    self.show(course, result.view, status=400, problem=problem)
                    return
            except ActivityNotFound:
                raise web.HTTPError(404) from None
            except DatabaseError as exc:
                self.log.error("console: %s", exc)
                raise web.HTTPError(503) from None
        self.redirect(self.url(f"course/{course}/edit/{lti_id}?saved=1"), status=303)

    def refusal(self, exc: Exception) -> str:
        """Why a save wrote nothing, in the page's language (the adapter's English message otherwise)."""
        finding = getattr(exc, "finding", None)
        if isinstance(exc, (ConcurrentEdit, StaleForm)):
            return self.gettext(
                "Someone saved this activity since this form was opened; nothing was written: "
                "reload the page and make the change again."
            )
        if finding is None:
            return str(exc)
        problem = self.finding_text(finding)
        if isinstance(exc, ParamsRefused) and exc.new_warnings:
            return translations(self.language).ngettext(
                "Nothing was written: the change brings %(count)d new warning: %(problem)s",
                "Nothing was written: the change brings %(count)d new warnings, the first: %(problem)s",
                exc.new_warnings,
            ) % {"count": exc.new_warnings, "problem": problem}
        if isinstance(exc, ParamsRefused):
            return self.gettext("Nothing was written: the new text has an error: %(problem)s") % {"problem": problem}
        return self.gettext("Nothing was written: %(problem)s") % {"problem": problem}

    async def create_volumes(self, course: str, db: Any, number: int, lti_id: int, site: LmsSite) -> None:
        """The old module's "make volumes" for the stored text."""
        from ...lms.volumes import lms_host

        view = open_form(db, number, lti_id, site, self.console.config.zone)
        try:
            host = self.console.config.lms_host or self.console.store.host_of(course) or lms_host(db.wwwroot)
            results = create_volumes_now(view.activity.text, number, host, self.console.engine())
        except IpynbToolsError as exc:
            self.show(course, view, status=503, problem=str(exc))
            return
        created, existing = self.gettext("created"), self.gettext("already there")
        lines = [f"{r.full_name}: {created if r.created else existing}" for r in results]
        message = "; ".join(lines) if lines else self.gettext("This text names no task or submit volume.")
        self.show(course, view, message=message)


class CheckHandler(LmsPage):
    """``course/<id>/edit/<lti id>/check``: the live findings and preview (JSON), nothing written."""

    @web.authenticated
    async def post(self, course: str, lti_id: str) -> None:
        number = await self.open_course(course)
        with self.moodle() as db:
            try:
                view = check_form(
                    db, number, int(lti_id), self.form_data(), self.lms_site(db.wwwroot), self.console.config.zone
                )
            except ActivityNotFound:
                raise web.HTTPError(404) from None
            except DatabaseError as exc:
                self.log.error("console: %s", exc)
                raise web.HTTPError(503) from None
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        gettext = finding_gettext(self.language)
        self.finish(json.dumps(view.preview.to_dict(view.form, gettext), ensure_ascii=False))


HANDLERS: list[tuple[str, type]] = [
    (rf"{COURSE}/edit/{LTI}/check", CheckHandler),
    (rf"{COURSE}/edit/{LTI}/?", EditHandler),
]
