"""The HTML report: one self-contained page with the log charts, the submission summary and links.

The page needs no network to be viewed: charts are inline SVG, the style is
inline, there is no script at all. Per-notebook renderings (nbconvert, HTML
sanitised because student outputs may carry any HTML) are written into
``<report stem>_notebooks/`` beside the report and linked from it; their MathJax
require.js, mermaid and widget references to a CDN are removed, so they too open offline.
A notebook that cannot be rendered is listed, not fatal.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import IpynbToolsError, TooLargeError, UsageError
from ..notebook import check_json_budget, read_bytes_safely
from .charts import CHARTS, progress_chart
from .display import shown

if TYPE_CHECKING:
    import pandas as pd

    from ..execlog.query import Filters, ProgressLine, Stats
    from .analysis import Analysis
    from .logs import LogData

#: Largest notebook rendered to HTML, and its JSON value budget (nbconvert needs ~10x in memory).
MAX_RENDER_BYTES = 25 * 1024 * 1024
MAX_RENDER_VALUES = 500_000
#: Called as (stage, done, total) while the report is built.
ReportProgress = Callable[[str, int, int], None]

OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK JP", sans-serif;
       margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2.2rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure.chart { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; background: #fff; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
table { border-collapse: collapse; font-size: .9rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.facts { display: flex; gap: 1.5rem; flex-wrap: wrap; padding: 0; list-style: none; }
.facts li { background: #f6f6f6; padding: .4rem .8rem; border-radius: 4px; }
.problems li { color: #a00; } .muted { color: #666; }
"""


@dataclass
class ReportResult:
    """What :func:`write_report` wrote."""

    path: Path
    renderings: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def renderings_dir(out: Path) -> Path:
    """Where the per-notebook renderings of report ``out`` go."""
    return out.with_name(out.stem + "_notebooks")


def _exporter() -> Any:
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"ipynb_tools_offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="ipynb_tools_offline.html.j2",
        sanitize_html=True,
        embed_images=True,
    )


def render_notebook(path: Path, out: Path, exporter: Any | None = None) -> Path:
    """Render one notebook to HTML at ``out`` (atomically); raise :class:`IpynbToolsError` on failure.

    nbformat and nbconvert take about ten times a notebook's size in memory: a file over
    :data:`MAX_RENDER_BYTES` or over the JSON value budget is listed, not rendered.
    """
    import nbformat

    raw, _ = read_bytes_safely(path)
    if len(raw) > MAX_RENDER_BYTES:
        raise TooLargeError(path, f"is {len(raw) / 1e6:.1f} MB; not rendered (over {MAX_RENDER_BYTES / 1e6:.0f} MB)")
    check_json_budget(raw, path, MAX_RENDER_VALUES)
    try:
        nb = nbformat.reads(raw.decode("utf-8-sig"), as_version=4)
        body, _ = (exporter or _exporter()).from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    except IpynbToolsError:
        raise
    except Exception as exc:  # nbconvert/nbformat raise many kinds; one bad notebook must not stop the report
        raise IpynbToolsError(shown(f"{path}: cannot render ({type(exc).__name__}: {exc})".splitlines()[0])) from exc
    atomic_write_bytes(out, body.encode("utf-8", "replace"))  # a lone surrogate in an output becomes "?"
    return out


def _table(frame: pd.DataFrame, caption: str | None = None) -> str:
    if frame is None or frame.empty:
        return '<p class="muted">(none)</p>'
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object or str(frame[col].dtype) == "string":
            frame[col] = frame[col].map(shown, na_action="ignore")
    text = frame.to_html(index=False, na_rep="", border=0, escape=True)
    return (f"<h3>{html.escape(caption)}</h3>" if caption else "") + text


def _facts(items: Iterable[tuple[str, Any]]) -> str:
    return (
        '<ul class="facts">'
        + "".join(f"<li>{html.escape(shown(k))}: <strong>{html.escape(shown(v))}</strong></li>" for k, v in items)
        + "</ul>"
    )


def _problems(problems: list[tuple[str, str]], limit: int = 200) -> str:
    if not problems:
        return ""
    items = "".join(
        f"<li>{html.escape(shown(w, 1000))}: {html.escape(shown(m, 1000))}</li>" for w, m in problems[:limit]
    )
    more = f"<li>... and {len(problems) - limit} more</li>" if len(problems) > limit else ""
    return f'<h3>Problems ({len(problems)})</h3><ul class="problems">{items}{more}</ul>'


@dataclass
class StoreLogs:
    """The execution-log figures read from the store (:mod:`ipynb_tools.execlog.query`), for the page."""

    figures: Stats
    lines: list[ProgressLine]
    zone: dt.tzinfo
    source: str


def read_store_logs(
    db: str | os.PathLike[str], filters: Filters | None = None, zone: dt.tzinfo | None = None
) -> StoreLogs:
    """Totals, per cell, per user and the progress series of the store ``db``, aggregated by the database.

    Raises :class:`ipynb_tools.execlog.store.StoreError`.
    """
    from ..execlog.query import Filters, progress, stats, timezone
    from ..execlog.store import Store, database_url

    wanted = filters or Filters()
    tz = zone or timezone(None)
    with Store.open(db, create=False) as store:
        figures = stats(store, wanted)
        lines = progress(store, wanted, zone=tz)
    shown = database_url(db).split("@")[-1]
    return StoreLogs(figures, lines, tz, shown)


def _store_log_section(logs: StoreLogs, progress: ReportProgress | None) -> str:
    from .charts import store_charts

    f = logs.figures
    intro = _facts(
        [("store", logs.source), ("executions", f.executions), ("OK", f.ok), ("errors", f.error), ("users", f.users)]
    )
    svgs = store_charts(f, logs.lines, logs.zone)
    figures = []
    for index, ((chart_id, caption, _draw), svg) in enumerate(zip(CHARTS, svgs, strict=True), 1):
        figures.append(
            f'<figure class="chart" id="{chart_id}"><figcaption>{html.escape(caption)}</figcaption>{svg}</figure>'
        )
        if progress is not None:
            progress("charts", index, len(CHARTS))
    return f'<section id="logs"><h2>Execution log</h2>{intro}<div class="charts">{"".join(figures)}</div></section>'


def log_section(
    logs: LogData | StoreLogs | None, progress: ReportProgress | None = None, zone: dt.tzinfo = dt.UTC
) -> str:
    """The execution-log part: facts and the four charts (drawn empty when there is no log).

    From a log file (pandas, :mod:`.logs`) or from the store (counts made by the database);
    progress times are drawn in ``zone`` (the store's figures carry their own).
    """
    import functools

    import pandas as pd

    from .logs import EXECUTION_COLUMNS

    if isinstance(logs, StoreLogs):
        return _store_log_section(logs, progress)
    if logs is None:
        executions = pd.DataFrame({c: pd.Series([], dtype="object") for c in EXECUTION_COLUMNS})
        executions["ok"] = executions["ok"].astype(bool)
        intro = '<p class="muted">No execution log was given; the charts are empty.</p>'
    else:
        executions = logs.executions
        ok = int(executions["ok"].sum())
        intro = _facts(
            [
                ("records read", logs.records),
                ("executions", len(executions)),
                ("OK", ok),
                ("errors", len(executions) - ok),
                ("without client record (/nc)", int((~executions["paired"]).sum())),
                ("unanswered runs", logs.unanswered),
                ("users", executions["username"].nunique()),
            ]
        )
    figures = []
    for index, (chart_id, caption, draw) in enumerate(CHARTS, 1):
        if draw is progress_chart:
            draw = functools.partial(progress_chart, zone=zone)
        figures.append(
            f'<figure class="chart" id="{chart_id}"><figcaption>{html.escape(caption)}</figcaption>'
            f"{draw(executions)}</figure>"
        )
        if progress is not None:
            progress("charts", index, len(CHARTS))
    problems = _problems(logs.problems) if logs is not None else ""
    charts = "".join(figures)
    return f'<section id="logs"><h2>Execution log</h2>{intro}<div class="charts">{charts}</div>{problems}</section>'


def submission_section(analysis: Analysis | None) -> str:
    """The submission summary: facts, per-user and per-cell tables, problems."""
    if analysis is None:
        return (
            '<section id="submissions"><h2>Submissions</h2><p class="muted">No submissions were analysed.</p></section>'
        )
    cells = analysis.cells
    facts = _facts(
        [
            ("submissions", len(analysis.submissions)),
            ("students", analysis.submissions["user"].nunique() if not analysis.submissions.empty else 0),
            ("notebooks", analysis.submissions["notebook"].nunique() if not analysis.submissions.empty else 0),
            ("cells with an error", int(cells["error_name"].notna().sum()) if not cells.empty else 0),
        ]
    )
    problems = _problems([(str(p), m) for p, m in analysis.problems])
    return (
        '<section id="submissions"><h2>Submissions</h2>'
        + facts
        + _table(analysis.per_user(), "Per student")
        + _table(analysis.per_cell(), "Per code cell")
        + problems
        + "</section>"
    )


def notebooks_section(links: list[tuple[str, str]], problems: list[tuple[str, str]]) -> str:
    if not links and not problems:
        return ""
    items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(shown(name))}</a></li>' for name, href in links)
    return f'<section id="notebooks"><h2>Notebooks ({len(links)})</h2><ul>{items}</ul>{_problems(problems)}</section>'


def write_report(
    out: str | os.PathLike[str],
    *,
    logs: LogData | StoreLogs | None = None,
    analysis: Analysis | None = None,
    notebooks: Iterable[str | os.PathLike[str]] = (),
    title: str = "Course report",
    progress: ReportProgress | None = None,
    zone: dt.tzinfo = dt.UTC,
) -> ReportResult:
    """Write the report to ``out`` and renderings of ``notebooks`` beside it; see the module doc.

    ``logs`` from a log file or from the store (:func:`read_store_logs`); ``zone``: the time zone
    of the progress chart of a log file.

    ``notebooks`` defaults to nothing; the command renders every submission
    analysed. Renderings are written before the page that links to them.
    """
    out_path = Path(out)
    if not out_path.parent.is_dir():
        raise IpynbToolsError(f"{out_path.parent}: output directory does not exist")
    result = ReportResult(out_path)
    paths = [Path(p) for p in notebooks]
    links: list[tuple[str, str]] = []
    render_problems: list[tuple[str, str]] = []
    if paths:
        target_dir = renderings_dir(out_path)
        target_dir.mkdir(exist_ok=True)
        exporter = _exporter()
        used: set[str] = set()
        for index, path in enumerate(paths, 1):
            name = _unique(_rendering_name(path.name), used)
            try:
                rendered = render_notebook(path, target_dir / name, exporter)
            except IpynbToolsError as exc:
                render_problems.append((str(path), str(exc).removeprefix(f"{path}: ")))
            except Exception as exc:  # noqa: BLE001 - one notebook must never stop the report
                render_problems.append((str(path), f"cannot render ({type(exc).__name__}: {exc})"))
            else:
                result.renderings.append(rendered)
                links.append((path.name, f"{quote(target_dir.name)}/{quote(name)}"))
            if progress is not None:
                progress("notebooks", index, len(paths))
    result.problems.extend(render_problems)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f'<h1>{html.escape(title)}</h1><p class="muted">Generated {stamp} by ipynb-tools.</p>'
        + log_section(logs, progress, zone)
        + submission_section(analysis)
        + notebooks_section(links, render_problems)
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
    atomic_write_text(out_path, page.encode("utf-8", "replace").decode("utf-8"))
    return result


def _rendering_name(filename: str) -> str:
    """The rendering's file name: the notebook's, made showable (a student's file name may not be UTF-8)."""
    stem = re.sub(r"\.ipynb$", "", shown(filename, 200)).replace("/", "_").lstrip(".") or "notebook"
    return stem + ".html"


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = re.sub(r"(\.html)$", f"-{n}\\1", name)
    used.add(candidate)
    return candidate


def build_report(
    out: str | os.PathLike[str],
    *,
    submit_dir: str | os.PathLike[str] | None = None,
    task_dir: str | os.PathLike[str] | None = None,
    log_paths: Iterable[str | os.PathLike[str]] = (),
    render: bool = True,
    title: str = "Course report",
    progress: ReportProgress | None = None,
    db: str | os.PathLike[str] | None = None,
    filters: Filters | None = None,
    zone: dt.tzinfo | None = None,
) -> ReportResult:
    """Everything the ``report`` command does: read logs, analyse submissions, render them, write the page.

    The execution log comes from ``log_paths`` (files) or from the store ``db`` (with ``filters``);
    times are drawn in ``zone`` (default the site's, :func:`ipynb_tools.execlog.query.timezone`).
    """
    from ..execlog.query import timezone
    from .analysis import analyze_submissions
    from .logs import load_logs

    tz = zone or timezone(None)
    logs: LogData | StoreLogs | None = None
    log_list = list(log_paths)
    if db is not None:
        if log_list:
            raise UsageError("give the execution log as --log files or as --db, not both")
        logs = read_store_logs(db, filters, tz)
    if log_list:
        if progress is not None:
            progress("logs", 0, 1)
        logs = load_logs(log_list)
        if progress is not None:
            progress("logs", 1, 1)
    analysis = None
    notebooks: list[Path] = []
    if submit_dir is not None:

        def counted(done: int, total: int, _path: Path) -> None:
            if progress is not None:
                progress("submissions", done, total)

        analysis = analyze_submissions(submit_dir, task_dir, progress=counted)
        if render:
            notebooks = list(analysis.paths)
    result = write_report(
        out, logs=logs, analysis=analysis, notebooks=notebooks, title=title, progress=progress, zone=tz
    )
    if analysis is not None:  # every file that could not be used is named on the terminal too, not only on the page
        result.problems[:0] = [(str(path), message) for path, message in analysis.problems]
    return result
