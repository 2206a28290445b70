"""The console's four execution charts as Plotly figures, from the execution log's SQL figures.

The charts of the old module's Dashboard and Charts tabs (SPEC 11):

1. ``okerror``: total OK / error (pie);
2. ``cells``: activity per code cell (stacked OK/error bars, 15 cells a page);
3. ``users``: activity per user (stacked OK/error bars, 15 users a page);
4. ``progress``: user progress (code cell number over time, one line per user, 10 users a page,
   broken after a gap over 1,800 s).

Each for a *window*: the real-time window (the last 90 minutes: the old 5,400 s) or any period
(default the last 7 days: the old 604,800 s; or the dates given), with filters (user, LTI
activity, notebook). The counting is the database's (:mod:`ipynb_tools.execlog.query`: GROUP BY,
the progress gaps by a window function); this module pages the grouped rows and draws them. Only
the progress chart reads points, and only the points of the users of one page.

Times are shown in the site's zone (``$IPYNB_TOOLS_TIMEZONE``: :func:`ipynb_tools.environ.closing.site_timezone`),
as wall-clock strings (Plotly draws dates without zones). Student text (notebook names, user names)
is shortened and made showable (:func:`ipynb_tools.grading.display.chart_label`) and its ``<``,
``>`` and ``&`` are written as entities, so Plotly's label markup (``<a href>``, ``<b>``...) is
never read from it. The figures go to the browser as JSON (:func:`to_json`); plotly.js draws them.

A chart page's GET parameters are read by :func:`parse_request`: a bad value raises
:class:`ChartRequestError` naming the parameter and the problem (the page shows it; never a 500).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..errors import UsageError
from ..execlog.query import (
    DEFAULT_GAP_SECONDS,
    Filters,
    per_codenum_query,
    per_user_query,
    progress_query,
    totals_query,
)
from ..execlog.store import Store, StoreError
from ..grading.charts import ERROR_COLOR, OK_COLOR
from ..grading.display import chart_label, shown
from ..notebook import NOTEBOOK_SUFFIX

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: The real-time window (SPEC 11: the old module's 5,400 s).
REALTIME_MINUTES = 90
#: The longest real-time window a page may ask for (a week: longer is "any period").
MAX_REALTIME_MINUTES = 7 * 24 * 60
#: "Any period" without dates: the last 7 days (SPEC 11: the old 604,800 s).
PERIOD_DAYS = 7
#: Bars per page (SPEC 11: 15 users or 15 cells) and lines per page (10 users).
BARS_PER_PAGE = 15
LINES_PER_PAGE = 10
#: The longest filter values (the store's column sizes: user and LTI id 200, filename 1024).
MAX_NAME = 200
MAX_NOTEBOOK = 1024
MAX_PAGE = 1_000_000
#: The dates a period may name: the execution log starts with the Unix epoch, and a date near Python's
#: year 1 or 9999 cannot be moved between zones or given its end of day (OverflowError, a 500).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
UNNUMBERED = "-"
NO_USER = "(unknown)"

Translate = Callable[[str], str]


def _identity(text: str) -> str:
    return text


class ChartKind(StrEnum):
    """The four charts (the value is the name in URLs and JSON)."""

    OKERROR = "okerror"
    CELLS = "cells"
    USERS = "users"
    PROGRESS = "progress"


def chart_titles(translate: Translate = _identity) -> dict[ChartKind, str]:
    """The charts' titles (figures, links, page titles), in the language of ``translate``."""
    _ = translate
    return {
        ChartKind.OKERROR: _("OK / error"),
        ChartKind.CELLS: _("Activity per code cell"),
        ChartKind.USERS: _("Activity per user"),
        ChartKind.PROGRESS: _("User progress"),
    }


class ChartRequestError(UsageError):
    """A chart page's parameters have bad values; ``problems`` are one line each (``name: problem``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ChartRequest:
    """What a chart page shows: the window and filters of the execution log's query, and a page.

    ``realtime``: the last ``minutes`` minutes up to now (and anything dated after now: clocks
    differ); otherwise ``since``/``until`` (aware datetimes; ``None``: the default period ending now).
    """

    course: str | None
    realtime: bool = True
    minutes: int = REALTIME_MINUTES
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user: str | None = None
    lti: str | None = None
    notebook: str | None = None
    page: int = 1

    def window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
        """(since, until) of this request at ``now`` (aware); until ``None`` is open-ended (real time)."""
        if self.realtime:
            return now - dt.timedelta(minutes=self.minutes), None
        until = self.until or now
        since = self.since or until - dt.timedelta(days=PERIOD_DAYS)
        return since, until

    def filters(self, now: dt.datetime) -> Filters:
        """The :class:`~ipynb_tools.execlog.query.Filters` of this request at ``now``."""
        since, until = self.window(now)
        return Filters(
            course=self.course,
            lti=self.lti,
            user=self.user,
            notebook=self.notebook,
            since=since,
            until=until,
        )


def parse_request(
    args: Mapping[str, str],
    *,
    course: str | None,
    realtime: bool,
    zone: dt.tzinfo,
    translate: Translate = _identity,
) -> ChartRequest:
    """Read a chart page's GET parameters (all optional; unknown ones are ignored).

    ``minutes`` (real time: 1 .. one week), ``since``/``until`` (a period: ISO 8601 date or
    date-time, in ``zone`` unless they carry an offset; a date alone as ``until`` means the end of
    that day), ``user``, ``lti``, ``notebook`` (exact names; empty: all), ``page`` (1, 2, ...).
    Raises :class:`ChartRequestError` listing every bad value (each line starts with the
    parameter's name; ``translate`` gives them in the page's language).
    """
    _ = translate
    problems: list[str] = []

    def text(name: str, limit: int) -> str | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        if len(value) > limit or not value.isprintable():
            problems.append(_("%(name)s: not a valid name (printable, at most %(limit)d characters)") % {
                "name": name, "limit": limit
            })  # fmt: skip
            return None
        return value

    def number(name: str, default: int, low: int, high: int) -> int:
        value = (args.get(name) or "").strip()
        if not value:
            return default
        # the length first: int() refuses more than 4,300 digits with a ValueError (CPython's limit)
        if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)) or not low <= int(value) <= high:
            problems.append(_("%(name)s: %(value)s is not a whole number from %(low)d to %(high)d") % {
                "name": name, "value": repr(shown(value, 40)), "low": low, "high": high
            })  # fmt: skip
            return default
        return int(value)

    def when(name: str, end_of_day: bool) -> dt.datetime | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            problem = _("%(name)s: %(value)s is not a date or date-time (e.g. 2024-04-17 or 2024-04-17T09:00)")
            problems.append(problem % {"name": name, "value": repr(shown(value, 40))})
            return None
        date_only = len(value) <= len("2024-04-17")
        try:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            if end_of_day and date_only:
                moment += dt.timedelta(days=1)
            inside = EARLIEST <= moment <= LATEST
        except OverflowError:
            inside = False
        if not inside:
            problem = _("%(name)s: %(value)s is not between 1970 and 9000")
            problems.append(problem % {"name": name, "value": repr(shown(value, 40))})
            return None
        return moment

    user = text("user", MAX_NAME)
    lti = text("lti", MAX_NAME)
    notebook = text("notebook", MAX_NOTEBOOK)
    page = number("page", 1, 1, MAX_PAGE)
    minutes = number("minutes", REALTIME_MINUTES, 1, MAX_REALTIME_MINUTES)
    since = until = None
    if not realtime:
        since, until = when("since", False), when("until", True)
        if since is not None and until is not None and since >= until:
            problems.append(_("until: the end of the period is not after its start"))
    if problems:
        raise ChartRequestError(problems)
    return ChartRequest(course, realtime, minutes, since, until, user, lti, notebook, page)


@dataclass(frozen=True)
class Paging:
    """Which part of a chart's users or cells is drawn: ``page`` of ``pages`` (1-based), ``total`` items."""

    page: int
    pages: int
    total: int
    per_page: int

    @property
    def first(self) -> int:
        """The 1-based number of the first item shown (0 when there is none)."""
        return min((self.page - 1) * self.per_page + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)

    def to_json(self) -> dict[str, int]:
        return {"page": self.page, "pages": self.pages, "total": self.total, "first": self.first, "last": self.last}


def paging(total: int, page: int, per_page: int) -> Paging:
    """The paging of ``total`` items; a page past the last shows the last (data comes and goes in real time)."""
    pages = max(1, math.ceil(total / per_page))
    return Paging(min(max(page, 1), pages), pages, total, per_page)


@dataclass
class ChartView:
    """One drawn chart: its kind, the Plotly figure, and its paging (``None`` for the pie)."""

    kind: ChartKind
    figure: go.Figure
    paging: Paging | None = None
    #: The notebooks seen in the window (the cells chart's rows), for the filter form's choices.
    notebooks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "figure": self.figure.to_plotly_json(),
            "paging": self.paging.to_json() if self.paging else None,
        }


@dataclass
class Dashboard:
    """The dashboard: the four charts for the real-time window and for the period."""

    realtime: dict[ChartKind, ChartView]
    period: dict[ChartKind, ChartView]
    realtime_request: ChartRequest
    period_request: ChartRequest

    def to_json(self, part: str = "both") -> dict[str, Any]:
        """``{"realtime": {kind: view}, "period": {...}}`` (``part``: ``realtime``, ``period`` or ``both``)."""
        out: dict[str, Any] = {}
        if part in ("realtime", "both"):
            out["realtime"] = {kind.value: view.to_json() for kind, view in self.realtime.items()}
        if part in ("period", "both"):
            out["period"] = {kind.value: view.to_json() for kind, view in self.period.items()}
        return out


# -- labels -----------------------------------------------------------------------------------------


def plain(text: object, limit: int = 40) -> str:
    """Student text as a Plotly label: showable, shortened, and never read as Plotly's label markup."""
    return html.escape(chart_label(text, limit), quote=False)


def _notebook_label(notebook: str | None) -> str:
    if notebook is None:
        return "?"
    name = notebook.rsplit("/", 1)[-1]
    return name.removesuffix(NOTEBOOK_SUFFIX)


def _local(us: int, zone: dt.tzinfo) -> str:
    """UTC microseconds as a wall-clock time in ``zone`` (``YYYY-MM-DD HH:MM:SS``: Plotly's date form)."""
    moment = dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _wall(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


# -- figures ------------------------------------------------------------------------------------------


#: The figures' look, small on purpose: plotly's default template adds ~10 KB of JSON to every figure.
TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": "system-ui, sans-serif", "color": "#222"},
        "plot_bgcolor": "#fff",
        "xaxis": {"gridcolor": "#e6e6e6", "linecolor": "#999", "automargin": True},
        "yaxis": {"gridcolor": "#e6e6e6", "linecolor": "#999", "automargin": True, "zerolinecolor": "#999"},
        "hovermode": "closest",
        "colorway": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                     "#bcbd22", "#17becf"],
    }
}  # fmt: skip


def _layout(title: str, compact: bool) -> dict[str, Any]:
    return {
        "template": TEMPLATE,
        "title": {"text": title, "font": {"size": 14 if compact else 18}},
        "height": 260 if compact else 480,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 40} if compact else {"l": 60, "r": 30, "t": 60, "b": 80},
        "barmode": "stack",
        "showlegend": not compact,
        "legend": {"orientation": "h", "traceorder": "normal"},
        "paper_bgcolor": "rgba(0,0,0,0)",
    }


def _empty(fig: go.Figure, translate: Translate) -> None:
    _ = translate
    fig.add_annotation(
        text=_("No executions in this period"), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)


def okerror_figure(ok: int, error: int, *, translate: Translate = _identity, compact: bool = False) -> go.Figure:
    """The OK/error pie of ``ok`` and ``error`` executions."""
    import plotly.graph_objects as go

    _ = translate
    fig = go.Figure(layout=_layout(chart_titles(translate)[ChartKind.OKERROR], compact))
    if ok + error == 0:
        _empty(fig, translate)
        return fig
    fig.add_trace(
        go.Pie(
            labels=[_("OK"), _("error")],
            values=[ok, error],
            marker={"colors": [OK_COLOR, ERROR_COLOR]},
            sort=False,
            hole=0.35,
            textinfo="value+percent",
        )
    )
    fig.update_layout(showlegend=True)
    return fig


def _bars(
    title: str,
    axis: str,
    labels: list[str],
    hover: list[str],
    ok: list[int],
    error: list[int],
    *,
    translate: Translate,
    compact: bool,
) -> go.Figure:
    import plotly.graph_objects as go

    _ = translate
    fig = go.Figure(layout=_layout(title, compact))
    if not labels:
        _empty(fig, translate)
        return fig
    for name, values, color in ((_("OK"), ok, OK_COLOR), (_("error"), error, ERROR_COLOR)):
        fig.add_trace(
            go.Bar(
                name=name,
                x=labels,
                y=values,
                marker_color=color,
                customdata=hover,
                hovertemplate="%{customdata}: %{y}<extra>" + name + "</extra>",
            )
        )
    fig.update_xaxes(type="category", title_text=None if compact else axis)
    highest = max((a + b for a, b in zip(ok, error, strict=True)), default=0)
    fig.update_yaxes(
        title_text=None if compact else _("executions"),
        rangemode="tozero",
        tickformat="d",  # counts: no 0.5 ticks
        dtick=1 if highest <= 8 else None,
    )
    return fig


def cells_figure(
    rows: list[tuple[str | None, int | None, int, int]], *, translate: Translate = _identity, compact: bool = False
) -> go.Figure:
    """Stacked OK/error bars per code cell: ``rows`` are (notebook, codenum, ok, error) of one page."""
    _ = translate
    several = len({notebook for notebook, *_rest in rows}) > 1
    labels: list[str] = []
    hover: list[str] = []
    for notebook, codenum, _ok, _error in rows:
        number = UNNUMBERED if codenum is None else str(codenum)
        name = plain(_notebook_label(notebook), 24)
        labels.append(f"{name} {number}" if several else number)
        hover.append(f"{plain(notebook or '?', 60)} {number}")
    return _bars(
        chart_titles(translate)[ChartKind.CELLS],
        _("code cell"),
        labels,
        hover,
        [r[2] for r in rows],
        [r[3] for r in rows],
        translate=translate,
        compact=compact,
    )


def users_figure(
    rows: list[tuple[str | None, int, int]], *, translate: Translate = _identity, compact: bool = False
) -> go.Figure:
    """Stacked OK/error bars per user: ``rows`` are (user, ok, error) of one page."""
    _ = translate
    labels = [plain(user if user is not None else NO_USER, 20) for user, *_rest in rows]
    hover = [plain(user if user is not None else NO_USER, 60) for user, *_rest in rows]
    return _bars(
        chart_titles(translate)[ChartKind.USERS],
        _("user"),
        labels,
        hover,
        [r[1] for r in rows],
        [r[2] for r in rows],
        translate=translate,
        compact=compact,
    )


@dataclass
class ProgressPoints:
    """One user's progress points: wall-clock times (site zone) and codenums; ``None`` marks a break."""

    user: str | None
    times: list[str | None] = field(default_factory=list)
    codenums: list[int | None] = field(default_factory=list)


def progress_figure(
    lines: list[ProgressPoints],
    *,
    x_range: tuple[str, str] | None = None,
    translate: Translate = _identity,
    compact: bool = False,
) -> go.Figure:
    """One line per user (code cell number over time; broken where a gap was longer than 30 minutes).

    ``x_range``: the window as wall-clock strings (the real-time view shows the whole window).
    """
    import plotly.graph_objects as go

    _ = translate
    fig = go.Figure(layout=_layout(chart_titles(translate)[ChartKind.PROGRESS], compact))
    if not lines:
        _empty(fig, translate)
        return fig
    for line in lines:
        name = plain(line.user if line.user is not None else NO_USER, 20)
        fig.add_trace(
            go.Scatter(
                name=name,
                x=line.times,
                y=line.codenums,
                mode="lines+markers",
                connectgaps=False,
                marker={"size": 4},
                # the name by reference, never inside the template: a user named "a%{y}" stays that text
                hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_xaxes(type="date", title_text=None if compact else _("time"))
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    highest = max((n for line in lines for n in line.codenums if n is not None), default=0)
    fig.update_yaxes(
        title_text=None if compact else _("code cell"),
        rangemode="tozero",
        tickformat="d",  # code cell numbers: no 0.5 ticks, on the dashboard's small chart too
        dtick=1 if not compact or highest <= 8 else None,
    )
    # the dashboard's small chart has no room for a legend: under the date axis it covered the date line
    # ('Dec 1, 2026' / '2026年12月1日'); its lines are named on hover, the chart page has the legend
    fig.update_layout(showlegend=not compact)
    return fig


# -- the charts from the store -------------------------------------------------------------------------


def _progress_lines(
    conn: Connection, filters: Filters, users: Iterable[str | None], zone: dt.tzinfo
) -> list[ProgressPoints]:
    names = tuple(u for u in users if u is not None)
    if not names:
        return []
    lines: dict[str, ProgressPoints] = {}
    query = progress_query(replace(filters, users=names), DEFAULT_GAP_SECONDS)
    for user, date_us, codenum, breaks in conn.execute(query):
        line = lines.get(user)
        if line is None:
            line = lines[user] = ProgressPoints(user)
        elif breaks:
            line.times.append(None)
            line.codenums.append(None)
        line.times.append(_local(date_us, zone))
        line.codenums.append(codenum)
    return [lines[name] for name in names if name in lines]


def _view(
    conn: Connection,
    kind: ChartKind,
    request: ChartRequest,
    now: dt.datetime,
    zone: dt.tzinfo,
    translate: Translate,
    compact: bool,
    people: dict[Filters, list[Any]] | None = None,
) -> ChartView:
    """One chart over ``conn``; ``people`` keeps the per-user rows of a window for its other chart."""
    filters = request.filters(now)
    cache = people if people is not None else {}

    def per_user() -> list[Any]:
        if filters not in cache:
            cache[filters] = [tuple(r) for r in conn.execute(per_user_query(filters))]
        return cache[filters]

    if kind is ChartKind.OKERROR:
        total, ok, _users = conn.execute(totals_query(filters)).one()
        return ChartView(kind, okerror_figure(int(ok), int(total) - int(ok), translate=translate, compact=compact))
    if kind is ChartKind.CELLS:
        rows = [(nb, num, int(o), int(e)) for nb, num, o, e in conn.execute(per_codenum_query(filters))]
        pages = paging(len(rows), request.page, BARS_PER_PAGE)
        start = (pages.page - 1) * BARS_PER_PAGE
        notebooks = sorted({nb for nb, *_rest in rows if nb is not None})
        figure = cells_figure(rows[start : start + BARS_PER_PAGE], translate=translate, compact=compact)
        return ChartView(kind, figure, pages, notebooks)
    if kind is ChartKind.USERS:
        everyone = per_user()
        pages = paging(len(everyone), request.page, BARS_PER_PAGE)
        start = (pages.page - 1) * BARS_PER_PAGE
        page_rows = [(u, int(o), int(e)) for u, o, e in everyone[start : start + BARS_PER_PAGE]]
        return ChartView(kind, users_figure(page_rows, translate=translate, compact=compact), pages)
    users = [u for u, *_rest in per_user()]
    pages = paging(len(users), request.page, LINES_PER_PAGE)
    start = (pages.page - 1) * LINES_PER_PAGE
    lines = _progress_lines(conn, filters, users[start : start + LINES_PER_PAGE], zone)
    since, until = request.window(now)
    x_range = (_wall(since, zone), _wall(until or now, zone)) if request.realtime else None
    figure = progress_figure(lines, x_range=x_range, translate=translate, compact=compact)
    return ChartView(kind, figure, pages)


def chart(
    store: Store,
    kind: ChartKind,
    request: ChartRequest,
    *,
    now: dt.datetime | None = None,
    zone: dt.tzinfo = dt.UTC,
    translate: Translate = _identity,
    compact: bool = False,
) -> ChartView:
    """One chart of ``request`` (its window at ``now``, default the current time). Raises :class:`StoreError`."""
    moment = now or dt.datetime.now(dt.UTC)
    try:
        with store.engine.connect() as conn:
            return _view(conn, kind, request, moment, zone, translate, compact)
    except SQLAlchemyError as exc:
        raise StoreError(f"execution-log query failed ({str(exc).splitlines()[0]})") from None


def dashboard(
    store: Store,
    course: str | None,
    *,
    now: dt.datetime | None = None,
    zone: dt.tzinfo = dt.UTC,
    translate: Translate = _identity,
    parts: tuple[str, ...] = ("realtime", "period"),
) -> Dashboard:
    """The dashboard of ``course`` (``None``: every course): four small charts for the last 90 minutes
    and four for the last 7 days, the first page of each. ``parts`` limits which are computed (the
    live refresh asks for ``("realtime",)``). Raises :class:`StoreError`.

    Per window: totals, per code cell and per user (GROUP BY) and the progress points of the first
    page's users: the statements of :mod:`ipynb_tools.execlog.query` (benchmarks/console_bench.py
    times this against those statements run bare).
    """
    moment = now or dt.datetime.now(dt.UTC)
    realtime = ChartRequest(course, realtime=True)
    period = ChartRequest(course, realtime=False)
    views: dict[str, dict[ChartKind, ChartView]] = {"realtime": {}, "period": {}}
    try:
        with store.engine.connect() as conn:
            for part, request in (("realtime", realtime), ("period", period)):
                if part not in parts:
                    continue
                people: dict[Filters, list[Any]] = {}
                for kind in ChartKind:
                    views[part][kind] = _view(conn, kind, request, moment, zone, translate, True, people)
    except SQLAlchemyError as exc:
        raise StoreError(f"execution-log query failed ({str(exc).splitlines()[0]})") from None
    return Dashboard(views["realtime"], views["period"], realtime, period)


def to_json(value: Any) -> str:
    """``value`` (figures, :meth:`ChartView.to_json` dictionaries) as JSON safe inside an HTML ``<script>``.

    Plotly's encoder (numbers, dates); ``<``, ``>`` and ``&`` are written as ``\\u003c``... so no
    student text can close the script element.
    """
    from plotly.io.json import to_json_plotly

    text: str = to_json_plotly(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
