"""The four execution-log charts of the old Moodle module, drawn with matplotlib (Agg) as inline SVG.

1. OK vs error overall (pie);
2. activity per code cell: stacked OK/error bars by codenum;
3. activity per user: stacked OK/error bars;
4. user progress: codenum over time, one line per user, broken after gaps of
   more than 30 minutes.

Each function takes the joined executions of :mod:`.logs` and returns SVG text
(``<svg ...>...</svg>``, no XML prolog) ready to be put inside an HTML page:
text stays text (``svg.fonttype: none``) and element ids are salted per chart so
several charts can share a page. No pyplot: no global figure state, no GUI.

Labels are student text (user names, the ``filename:`` of a cell): they are drawn as plain
text (``text.parse_math`` off, so a ``$`` is a dollar sign, never mathtext that can fail to
parse) and shortened by :func:`.display.chart_label`.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..notebook import NOTEBOOK_SUFFIX
from .display import chart_label

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from ..execlog.query import ProgressLine, Stats

OK_COLOR = "#43a047"
ERROR_COLOR = "#e53935"
#: A gap longer than this breaks a user's line on the progress chart (as in the old module).
PROGRESS_GAP_SECONDS = 30 * 60
NO_CODENUM = "none"
NO_USER = "(unknown)"
MAX_LEGEND_USERS = 20


def _plain_text(draw: Callable[..., str]) -> Callable[..., str]:
    """Run a chart function with mathtext off: every text it creates is drawn as given."""

    @functools.wraps(draw)
    def wrapper(executions: pd.DataFrame, *args: Any, **kwargs: Any) -> str:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(executions, *args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_svg(fig: Figure, salt: str) -> str:
    """The figure as inline SVG (ids salted with ``salt``; no date, so output is repeatable)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _no_data(ax: Any, message: str = "no executions in the log") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


@_plain_text
def ok_error_chart(executions: pd.DataFrame) -> str:
    """Chart 1: how many executions ended OK and how many in an error."""
    ok = int(executions["ok"].sum()) if not executions.empty else 0
    return ok_error_svg(ok, int(len(executions) - ok))


def ok_error_svg(ok: int, errors: int) -> str:
    """Chart 1 from its two counts."""
    fig = _figure(4.8, 3.6)
    ax = fig.add_subplot()
    ax.set_title("OK vs error (all executions)")
    if ok + errors == 0:
        _no_data(ax)
    else:
        values, labels, colors = [], [], []
        for value, label, color in ((ok, "OK", OK_COLOR), (errors, "ERROR", ERROR_COLOR)):
            if value:
                values.append(value)
                labels.append(f"{label} {value}")
                colors.append(color)
        ax.pie(values, labels=labels, colors=colors, autopct="%1.0f%%", startangle=90, counterclock=False)
        ax.set_aspect("equal")
    return to_svg(fig, "ok-error")


def _stacked_counts(executions: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """OK and error counts per value of ``key`` (a frame with columns ok, error)."""
    import pandas as pd

    frame = pd.DataFrame({"key": key.to_numpy(), "ok": executions["ok"].to_numpy()})
    counts = frame.groupby(["key", "ok"], sort=False).size().unstack(fill_value=0)
    return (
        pd.DataFrame({"ok": counts.get(True, 0), "error": counts.get(False, 0)}, index=counts.index)
        .fillna(0)
        .astype(int)
    )


def _empty_counts() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"ok": pd.Series([], dtype="int64"), "error": pd.Series([], dtype="int64")})


def _stacked_bars(counts: pd.DataFrame, title: str, ylabel: str, salt: str) -> str:
    rows = len(counts)
    fig = _figure(7.2, min(2.0 + 0.28 * max(rows, 1), 40.0))
    ax = fig.add_subplot()
    ax.set_title(title)
    if rows == 0:
        _no_data(ax)
        return to_svg(fig, salt)
    positions = list(range(rows))
    labels = [chart_label(k) for k in counts.index]
    ax.barh(positions, counts["ok"], color=OK_COLOR, label="OK")
    ax.barh(positions, counts["error"], left=counts["ok"], color=ERROR_COLOR, label="ERROR")
    ax.set_yticks(positions, labels=labels, fontsize=8 if rows > 30 else 10)
    ax.invert_yaxis()
    ax.set_ylabel(ylabel)
    ax.set_xlabel("executions")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return to_svg(fig, salt)


def _cell_labels(executions: pd.DataFrame) -> tuple[pd.Series, list[Any]]:
    """Label per execution (``NNN``, or ``file NNN`` when several notebooks) and the label order."""
    import pandas as pd

    files = executions["filename"].fillna("")
    several = files[files != ""].nunique() > 1
    numbers = executions["codenum"]
    text = numbers.map(lambda n: NO_CODENUM if pd.isna(n) else f"{int(n):03d}")
    labels = (files.str.replace(r"\.ipynb$", "", regex=True) + " " + text) if several else text
    order_frame = pd.DataFrame({"label": labels, "file": files, "n": numbers.fillna(10**9)})
    order = order_frame.sort_values(["file", "n"]).drop_duplicates("label")["label"].tolist()
    return labels, order


@_plain_text
def cell_activity_chart(executions: pd.DataFrame) -> str:
    """Chart 2: executions per code cell, OK and error stacked, by codenum."""
    if executions.empty:
        return _stacked_bars(_empty_counts(), "Activity per code cell", "code cell", "cells")
    labels, order = _cell_labels(executions)
    counts = _stacked_counts(executions, labels).reindex(order, fill_value=0)
    return _stacked_bars(counts, "Activity per code cell", "code cell (codenum)", "cells")


@_plain_text
def user_activity_chart(executions: pd.DataFrame) -> str:
    """Chart 3: executions per user, OK and error stacked."""
    if executions.empty:
        return _stacked_bars(_empty_counts(), "Activity per user", "user", "users")
    users = executions["username"].fillna(NO_USER)
    counts = _stacked_counts(executions, users).sort_index()
    return _stacked_bars(counts, "Activity per user", "user", "users")


def progress_lines(
    executions: pd.DataFrame, gap_seconds: int = PROGRESS_GAP_SECONDS, zone: dt.tzinfo = dt.UTC
) -> dict[str, tuple[list[Any], list[float]]]:
    """user -> (times, codenums) with a NaN point inserted after every gap longer than ``gap_seconds``.

    Times are wall-clock times in ``zone`` (naive, for the axis). Executions without a date or a
    codenum are left out (they cannot be placed).
    """
    frame = executions[executions["date"].notna() & executions["codenum"].notna()]
    lines: dict[str, tuple[list[Any], list[float]]] = {}
    if frame.empty:
        return lines
    frame = frame.assign(username=frame["username"].fillna(NO_USER)).sort_values(["username", "date"], kind="stable")
    for user, group in frame.groupby("username", sort=True):
        times = group["date"].dt.tz_convert(zone).dt.tz_localize(None).tolist()
        values = group["codenum"].astype("float64").tolist()
        xs: list[Any] = []
        ys: list[float] = []
        previous = None
        for when, value in zip(times, values, strict=True):
            if previous is not None and (when - previous).total_seconds() > gap_seconds:
                xs.append(previous + (when - previous) / 2)
                ys.append(float("nan"))
            xs.append(when)
            ys.append(value)
            previous = when
        lines[str(user)] = (xs, ys)
    return lines


@_plain_text
def progress_chart(executions: pd.DataFrame, zone: dt.tzinfo = dt.UTC) -> str:
    """Chart 4: which cell each user ran over time; a line per user, broken after 30-minute gaps."""
    return progress_svg(progress_lines(executions, zone=zone), zone_name(zone))


def zone_name(zone: dt.tzinfo) -> str:
    """How a time zone is named on a chart (``Asia/Tokyo``, ``UTC``)."""
    return str(getattr(zone, "key", None) or dt.datetime.now(zone).tzname() or zone)


def progress_svg(lines: dict[str, tuple[list[Any], list[float]]], zone_label: str) -> str:
    """Chart 4 from the lines of :func:`progress_lines` (naive wall-clock times in ``zone_label``)."""
    import matplotlib.dates as mdates

    fig = _figure(9.0, 4.8)
    ax = fig.add_subplot()
    ax.set_title(f"User progress (codenum over time, {zone_label})")
    if not lines:
        _no_data(ax, "no dated executions of numbered cells")
        return to_svg(fig, "progress")
    for user, (xs, ys) in lines.items():
        ax.plot(xs, ys, marker="o", markersize=2.5, linewidth=1.2, label=chart_label(user))
    ax.set_ylabel("code cell (codenum)")
    ax.set_xlabel("time")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    # the default y locator is an AutoLocator, a MaxNLocator (the stubs type it as the base Locator)
    cast("MaxNLocator", ax.yaxis.get_major_locator()).set_params(integer=True)
    ax.grid(alpha=0.3)
    if len(lines) <= MAX_LEGEND_USERS:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return to_svg(fig, "progress")


def _counts_frame(rows: list[tuple[Any, int, int]]) -> pd.DataFrame:
    import pandas as pd

    if not rows:
        return _empty_counts()
    return pd.DataFrame({"ok": [r[1] for r in rows], "error": [r[2] for r in rows]}, index=[r[0] for r in rows])


def store_charts(figures: Stats, lines: list[ProgressLine], zone: dt.tzinfo) -> list[str]:
    """The four charts (SVG, in :data:`CHARTS` order) from the store's aggregates (:mod:`ipynb_tools.execlog.query`).

    Nothing here sees single executions: the database counted them.
    """
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        notebooks = {r["notebook"] for r in figures.per_codenum if r["notebook"]}
        cells = []
        for r in figures.per_codenum:
            number = NO_CODENUM if r["codenum"] is None else f"{int(r['codenum']):03d}"
            name = str(r["notebook"] or "").removesuffix(NOTEBOOK_SUFFIX)
            cells.append((f"{name} {number}" if len(notebooks) > 1 else number, r["ok"], r["error"]))
        users = [(r["user"] if r["user"] is not None else NO_USER, r["ok"], r["error"]) for r in figures.per_user]
        drawn: dict[str, tuple[list[Any], list[float]]] = {}
        for line in lines:
            xs: list[Any] = []
            ys: list[float] = []
            for segment in line.segments:
                if xs:  # a gap: a NaN point between the segments breaks the line
                    xs.append(xs[-1] + (segment[0][0].replace(tzinfo=None) - xs[-1]) / 2)
                    ys.append(float("nan"))
                for when, codenum in segment:
                    xs.append(when.replace(tzinfo=None))
                    ys.append(float(codenum))
            drawn[str(line.user) if line.user is not None else NO_USER] = (xs, ys)
        return [
            ok_error_svg(figures.ok, figures.error),
            _stacked_bars(_counts_frame(cells), "Activity per code cell", "code cell (codenum)", "cells"),
            _stacked_bars(_counts_frame(users), "Activity per user", "user", "users"),
            progress_svg(drawn, zone_name(zone)),
        ]


#: (element id, caption, function) of the four charts, in report order.
CHARTS = (
    ("chart-ok-error", "OK vs error overall", ok_error_chart),
    ("chart-cells", "Activity per code cell", cell_activity_chart),
    ("chart-users", "Activity per user", user_activity_chart),
    ("chart-progress", "User progress", progress_chart),
)
