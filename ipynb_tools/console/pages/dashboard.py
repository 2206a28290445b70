"""The Dashboard and Charts tabs (issue 15; SPEC 11): the four execution charts of a course.

- ``course/<id>/dashboard``: four small charts for the real-time window (last 90 minutes) and four
  for the period (last 7 days); the real-time ones are redrawn every :data:`REFRESH_SECONDS` from
  ``course/<id>/dashboard/live`` (JSON) while the page is open and visible.
- ``course/<id>/charts/<chart>``: one chart (``okerror``, ``cells``, ``users``, ``progress``) with
  the filter form (GET: ``view=realtime|period``, ``minutes``, ``since``, ``until``, ``user``,
  ``lti``, ``notebook``, ``page``); a bad value shows the form with the problem (status 400), never
  a 500. ``.../data`` gives the same chart as JSON (the real-time view polls it).
- ``plotly/plotly-<version>.min.js``: plotly.js from the installed plotly package (no CDN, no
  third-party JavaScript in the repository), cached for a year (the version is in the URL).

Only a teacher of the course or a hub admin (:meth:`ConsoleHandler.require_course`). The JSON
endpoints are GET and change nothing; the page's script still sends the XSRF token, as JupyterHub's
service auth wants for a cookie-authenticated ``fetch``. They answer only a logged-in viewer who may
see the course. The queries run in a thread (the event loop keeps serving).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from tornado import web
from tornado.ioloop import IOLoop

from ...execlog.query import course_activities
from ...execlog.store import Store, StoreError
from ..base import ConsoleHandler
from ..charts import (
    ChartKind,
    ChartRequest,
    ChartRequestError,
    ChartView,
    Dashboard,
    Translate,
    chart,
    chart_titles,
    dashboard,
    parse_request,
    to_json,
)
from ..formats import Formats
from ..plotly_locale import plotly_locale

#: Seconds between two refreshes of a real-time view (the page's script polls the JSON endpoint).
REFRESH_SECONDS = 10
TABS = ("dashboard", "charts")
COURSE = r"course/(?P<course>[^/]+)"


@functools.cache
def plotly_script() -> tuple[str, bytes]:
    """(plotly's version, plotly.min.js as bytes) from the installed plotly package (read once)."""
    import plotly
    from plotly.offline import get_plotlyjs

    return str(plotly.__version__), get_plotlyjs().encode("utf-8")


def plotly_url(handler: ConsoleHandler) -> str:
    """The URL of plotly.js under the console's prefix (the version makes it cacheable forever)."""
    return handler.url(f"plotly/plotly-{plotly_script()[0]}.min.js")


class PlotlyScript(web.RequestHandler):
    """plotly.min.js of the installed plotly package; any other version is 404 (a stale page reloads it)."""

    def get(self, version: str) -> None:
        current, body = plotly_script()
        if version != current:
            raise web.HTTPError(404)
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_etag_header()
        self.finish(body)

    def compute_etag(self) -> str | None:
        return f'"plotly-{plotly_script()[0]}"'


@functools.cache
def plotly_locale_json(language: str) -> str:
    """The plotly.js locale of ``language`` (:func:`~ipynb_tools.console.plotly_locale.plotly_locale`) as
    JSON for the page's ``plotly-locale`` element (safe inside ``<script>``); ``""`` for English."""
    locale = plotly_locale(language)
    return "" if locale is None else to_json(locale)


_stores: dict[str, Store] = {}


def execlog_store(db: str) -> Store:
    """The execution-log store of the console's ``db`` setting, opened once (read only: never created here).

    Raises :class:`StoreError` (no such store, a newer schema...).
    """
    store = _stores.get(db)
    if store is None:
        store = _stores[db] = Store.open(db or None, create=False)
    return store


def dashboard_context(
    board: Dashboard,
    data: str,
    *,
    course: str,
    now: dt.datetime,
    zone: dt.tzinfo,
    live_url: str,
    plotly: str,
    translate: Translate,
    language: str = "en",
) -> dict[str, Any]:
    """The values dashboard.html shows besides every page's (the benchmark renders the page with them too);
    times for ``language`` in ``zone`` (:class:`~ipynb_tools.console.formats.Formats`)."""
    since, until = board.period_request.window(now)
    formats = Formats(language, zone)

    def wall(moment: dt.datetime | None) -> str:
        return formats.datetime(moment) if moment else ""

    return {
        "course": course,
        "kinds": list(ChartKind),
        "titles": chart_titles(translate),
        "board": board,
        "data": data,
        "plotly_url": plotly,
        "live_url": live_url,
        "refresh": REFRESH_SECONDS,
        "minutes": board.realtime_request.minutes,
        "period": (wall(since), wall(until)),
        "updated": formats.time(now),
        "plotly_locale": plotly_locale_json(language),
    }


class ChartsHandler(ConsoleHandler):
    """What the dashboard and chart pages share: the store, the zone, queries in a thread."""

    def store(self) -> Store:
        return execlog_store(self.console.config.db)

    @property
    def zone(self) -> dt.tzinfo:
        return self.console.config.zone

    async def in_thread(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``func`` (opening the store, queries) in a worker thread: the event loop keeps serving.

        Raises :class:`StoreError` (the caller shows :meth:`unavailable`).
        """
        return await IOLoop.current().run_in_executor(None, functools.partial(func, *args, **kwargs))

    def unavailable(self, course: str, exc: StoreError) -> None:
        """The page that says the execution log cannot be read now (503; the detail goes to the log only)."""
        self.log.error("console: execution log: %s", exc)
        self.set_status(503)
        self.render("charts-unavailable.html", course=course)

    def updated(self) -> str:
        """The time of the figures (the site's zone, the page's language), shown as "updated at"."""
        return self.formats.time(dt.datetime.now(dt.UTC))

    def xsrf(self) -> str:
        """The XSRF token the page's script sends with its GETs: JupyterHub's service auth refuses a
        cookie-authenticated ``fetch`` (not a navigation) without it (jupyterhub._xsrf_utils)."""
        token = self.xsrf_token
        return token.decode("ascii") if isinstance(token, bytes) else str(token)

    def write_json(self, text: str) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(text)


class DashboardPage(ChartsHandler):
    """The four charts, real time and period, of one course."""

    tab = "dashboard"

    @web.authenticated
    async def get(self, course: str) -> None:
        await self.require_course(course)
        now = dt.datetime.now(dt.UTC)
        try:
            board: Dashboard = await self.in_thread(
                lambda: dashboard(self.store(), course, now=now, zone=self.zone, translate=self.gettext)
            )
        except StoreError as exc:
            self.unavailable(course, exc)
            return
        context = dashboard_context(
            board,
            to_json(board.to_json()),
            course=course,
            now=now,
            zone=self.zone,
            live_url=self.url(f"course/{course}/dashboard/live"),
            plotly=plotly_url(self),
            translate=self.gettext,
            language=self.language,
        )
        self.render("dashboard.html", xsrf=self.xsrf(), **context)


class DashboardLive(ChartsHandler):
    """The dashboard's real-time charts as JSON (polled by the page); 503 ``{}`` when the log is unreadable."""

    @web.authenticated
    async def get(self, course: str) -> None:
        await self.require_course(course)
        try:
            board: Dashboard = await self.in_thread(
                lambda: dashboard(self.store(), course, zone=self.zone, translate=self.gettext, parts=("realtime",))
            )
        except StoreError as exc:
            self.log.error("console: execution log: %s", exc)
            self.set_status(503)
            self.write_json("{}")
            return
        self.write_json(to_json({**board.to_json("realtime"), "updated": self.updated()}))


class ChartPage(ChartsHandler):
    """One chart with its filter form, paging and (real-time view) live refresh."""

    tab = "charts"

    def kind(self, name: str | None) -> ChartKind:
        try:
            return ChartKind(name or ChartKind.OKERROR.value)
        except ValueError:
            raise web.HTTPError(404) from None

    def arguments(self) -> dict[str, str]:
        return {name: self.get_query_argument(name) for name in self.request.query_arguments}

    def request_of(self, course: str) -> ChartRequest:
        """The chart request of the GET parameters; :class:`ChartRequestError` for bad values."""
        view = self.get_query_argument("view", "realtime")
        if view not in ("realtime", "period"):
            _ = self.gettext
            raise ChartRequestError([_("view: must be 'realtime' or 'period'")])
        return parse_request(
            self.arguments(), course=course, realtime=view == "realtime", zone=self.zone, translate=self.gettext
        )

    @web.authenticated
    async def get(self, course: str, name: str | None = None) -> None:
        await self.require_course(course)
        kind = self.kind(name)
        problems: list[str] = []
        try:
            request = self.request_of(course)
        except ChartRequestError as exc:
            problems = exc.problems
            request = ChartRequest(course, realtime=self.get_query_argument("view", "") != "period")
            self.set_status(400)
        now = dt.datetime.now(dt.UTC)
        try:
            view, activities = await self.in_thread(self.chart_and_activities, course, kind, request, now)
        except StoreError as exc:
            self.unavailable(course, exc)
            return
        since, until = request.window(now)
        args = self.arguments()
        self.render(
            "chart.html",
            course=course,
            kind=kind,
            kinds=list(ChartKind),
            titles=chart_titles(self.gettext),
            xsrf=self.xsrf(),
            request=request,
            problems=problems,
            view=view,
            data=to_json({"chart": view.to_json()}),
            plotly_url=plotly_url(self),
            live_url=self.url(f"course/{course}/charts/{kind.value}/data") + "?" + self.request.query
            if request.realtime and not problems
            else "",
            refresh=REFRESH_SECONDS,
            activities=activities,
            notebooks=view.notebooks,
            args=args,
            window=(self.format_time(since), self.format_time(until) if until else ""),
            updated=self.formats.time(now),
            plotly_locale=plotly_locale_json(self.language),
            since_value=(request.since or since).astimezone(self.zone).strftime("%Y-%m-%dT%H:%M"),
            until_value=(request.until or until or now).astimezone(self.zone).strftime("%Y-%m-%dT%H:%M"),
            page_url=functools.partial(self.page_url, args),
        )

    def chart_and_activities(
        self, course: str, kind: ChartKind, request: ChartRequest, now: dt.datetime | None = None
    ) -> tuple[ChartView, list[str]]:
        """The chart at ``now`` and the course's LTI activities (the filter's choices); in a worker thread."""
        store = self.store()
        view = chart(store, kind, request, now=now, zone=self.zone, translate=self.gettext)
        return view, course_activities(store, course)

    def page_url(self, args: dict[str, str], page: int) -> str:
        """This chart's URL with the same filters and another page."""
        from urllib.parse import urlencode

        return self.request.path + "?" + urlencode({**args, "page": str(page)})


class ChartData(ChartPage):
    """One chart as JSON (the real-time view polls it); bad parameters: 400 with the problems."""

    @web.authenticated
    async def get(self, course: str, name: str | None = None) -> None:
        await self.require_course(course)
        kind = self.kind(name)
        try:
            request = self.request_of(course)
        except ChartRequestError as exc:
            self.set_status(400)
            self.write_json(to_json({"problems": exc.problems}))
            return
        try:
            view, _activities = await self.in_thread(self.chart_and_activities, course, kind, request)
        except StoreError as exc:
            self.log.error("console: execution log: %s", exc)
            self.set_status(503)
            self.write_json("{}")
            return
        self.write_json(to_json({"chart": view.to_json(), "updated": self.updated()}))


HANDLERS: list[tuple[str, type]] = [
    (r"plotly/plotly-(?P<version>[0-9A-Za-z.+-]+)\.min\.js", PlotlyScript),
    (COURSE + r"/dashboard/?", DashboardPage),
    (COURSE + r"/dashboard/live", DashboardLive),
    (COURSE + r"/charts/?", ChartPage),
    (COURSE + r"/charts/(?P<name>[a-z]+)/?", ChartPage),
    (COURSE + r"/charts/(?P<name>[a-z]+)/data", ChartData),
]
