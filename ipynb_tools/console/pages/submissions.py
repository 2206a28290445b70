"""The Submissions page of a course (issue 15; SPEC 7): the analysis of a submit volume per student and
per cell, each hand-in rendered for reading, and the CSV and Excel downloads.

- ``GET course/<id>/submissions``: the course's submit volumes; ``?name=NAME``: that volume's tables;
- ``GET course/<id>/submissions/<NAME>.csv`` / ``.xlsx``: the analysis (one row per student, notebook
  and code cell; the workbook also per cell, per student, the hand-ins and the problems);
- ``GET course/<id>/submissions/<NAME>/<i>``: hand-in ``i`` as sanitised HTML, served with a sandboxing
  Content-Security-Policy (it is a student's notebook).

The work is :mod:`ipynb_tools.console.submissions`; the access check is the course's (403).
"""

from __future__ import annotations

from typing import Any

from tornado import web

from ...errors import IpynbToolsError
from ...volumes.naming import NAME_RE
from ..base import ConsoleHandler
from ..submissions import (
    COLUMN_LABELS,
    SubmissionsUnavailable,
    analyze_volume,
    course_volumes,
    in_zone,
    render_submission,
    submit_names,
    table_of,
)

COURSE = r"course/([^/]+)"
NAME = r"([a-z0-9]{1,64})"
#: A student's notebook may show itself, never run script, load anything or reach the console.
SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


class SubmissionsPage(ConsoleHandler):
    """A Submissions page: the access check, then the course's volumes on the engine."""

    tab = "submissions"

    async def volumes(self, course: str) -> tuple[list[Any], str | None]:
        """The course's volumes and a problem (no engine, no host known) to show instead."""
        await self.require_course(course)
        host = self.console.config.lms_host or self.console.store.host_of(course)
        if not host:
            return [], self.gettext("No launch from this course yet: its volumes are not known.")
        try:
            return course_volumes(self.console.engine(), course, host), None
        except IpynbToolsError as exc:
            self.log.error("console: %s", exc)
            return [], self.gettext("The container engine cannot be asked now.")

    async def analysis(self, course: str, name: str) -> Any:
        volumes, problem = await self.volumes(course)
        if problem is not None or not NAME_RE.fullmatch(name):
            raise web.HTTPError(404)
        try:
            return analyze_volume(volumes, name)
        except SubmissionsUnavailable:
            raise web.HTTPError(404) from None


class SubmissionsHandler(SubmissionsPage):
    """``course/<id>/submissions``."""

    @web.authenticated
    async def get(self, course: str) -> None:
        volumes, problem = await self.volumes(course)
        names = submit_names(volumes)
        name = self.get_query_argument("name", None) or (names[0] if len(names) == 1 else None)
        context: dict[str, Any] = {"names": names, "name": None, "problem": problem, "column_labels": COLUMN_LABELS}
        if name is not None and name in names:
            try:
                analysis = analyze_volume(volumes, name)
            except SubmissionsUnavailable as exc:
                context["problem"] = str(exc)
            else:
                context.update(
                    name=name,
                    per_user=table_of(analysis.per_user()),
                    per_cell=table_of(analysis.per_cell()),
                    handins=in_zone(table_of(analysis.submissions), "submitted_at", self.console.config.zone),
                    problems=[(str(path.name), message) for path, message in analysis.problems],
                    compared=analysis.task_dir is not None,
                )
        self.render("submissions.html", course=course, **context)


class DownloadHandler(SubmissionsPage):
    """``course/<id>/submissions/<NAME>.csv`` and ``.xlsx``."""

    @web.authenticated
    async def get(self, course: str, name: str, kind: str) -> None:
        analysis = await self.analysis(course, name)
        filename = f"submissions-{course}-{name}.{kind}"
        if kind == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            body: bytes = analysis.to_csv().encode("utf-8")
        else:
            self.set_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            body = analysis.to_xlsx()
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(body)


class RenderingHandler(SubmissionsPage):
    """``course/<id>/submissions/<NAME>/<i>``: one hand-in as HTML."""

    @web.authenticated
    async def get(self, course: str, name: str, index: str) -> None:
        analysis = await self.analysis(course, name)
        try:
            html = render_submission(analysis, int(index))
        except IndexError:
            raise web.HTTPError(404) from None
        except IpynbToolsError as exc:
            self.log.error("console: %s", exc)
            raise web.HTTPError(404) from None
        self.set_header("Content-Security-Policy", SANDBOX)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)


HANDLERS: list[tuple[str, type]] = [
    (rf"{COURSE}/submissions/?", SubmissionsHandler),
    (rf"{COURSE}/submissions/{NAME}\.(csv|xlsx)", DownloadHandler),
    (rf"{COURSE}/submissions/{NAME}/(\d{{1,6}})", RenderingHandler),
]
TABS = ["submissions"]
