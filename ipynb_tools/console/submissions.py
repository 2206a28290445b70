"""The work behind the console's Submissions page (issue 15; SPEC 7): a course's submit volumes, the
analysis of one (:func:`ipynb_tools.grading.analysis.analyze_submissions`, against the task volume of
the same NAME when there is one), its tables per student and per cell, the CSV and Excel downloads
(:meth:`~ipynb_tools.grading.analysis.Analysis.to_csv`, ``to_xlsx``: student text never starts a
spreadsheet formula) and one hand-in rendered to HTML (:func:`ipynb_tools.grading.report.render_notebook`:
nbconvert, sanitised, images embedded).

The volumes are the engine's (:func:`ipynb_tools.volumes.course.list_volumes`); their files are read
at the volume's mount point on this host, so the console runs beside the engine (a remote engine's
volumes are listed but not read: :class:`SubmissionsUnavailable`). Everything in a submit volume is
student-controlled: the grading library opens each file without following links and reports what it
cannot use instead of failing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IpynbToolsError
from ..i18n import N_
from ..volumes.naming import VolumeKind
from .formats import aware

if TYPE_CHECKING:
    import pandas as pd

    from ..grading.analysis import Analysis
    from ..volumes.course import CourseVolume


#: What the page shows for each column of the analysis tables (display only: the CSV and Excel downloads
#: keep the analysis's own English column names, which scripts read; docs/languages.md). Translated in
#: the ``console`` domain where the page shows them; a column not listed is shown by its name.
COLUMN_LABELS: dict[str, str] = {
    "user": N_("Student"),
    "notebooks": N_("Notebooks"),
    "notebook": N_("Notebook"),
    "codenum": N_("Code cell"),
    "rows": N_("Cells"),
    "present": N_("Present"),
    "changed": N_("Changed"),
    "executed": N_("Executed"),
    "errors": N_("Errors"),
    "output_bytes": N_("Output (bytes)"),
    "file": N_("File"),
    "submitted_at": N_("Handed in at"),
    "bytes": N_("Size (bytes)"),
    "code_cells": N_("Code cells"),
    "in_task": N_("In the task"),
}


class SubmissionsUnavailable(IpynbToolsError):
    """The submit volume's files cannot be read here (no such volume, or its mount point is not on this host)."""


@dataclass(frozen=True)
class Table:
    """A table for a page: ``columns`` and ``rows`` of display values (missing values as ``""``)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def table_of(frame: pd.DataFrame) -> Table:
    """A DataFrame as a :class:`Table` (``<NA>``/NaN shown empty, booleans as they are)."""
    import pandas as pd

    rows = []
    for record in frame.itertuples(index=False, name=None):
        rows.append(tuple("" if (not isinstance(v, (list, tuple)) and pd.isna(v)) else v for v in record))
    return Table(tuple(str(c) for c in frame.columns), tuple(rows))


def in_zone(table: Table, column: str, zone: tzinfo) -> Table:
    """``table`` with the ISO 8601 times of ``column`` as times in the site's ``zone`` (issue 15: times in
    the site's zone; the page shows them for the viewer's locale, :meth:`ipynb_tools.console.formats.
    Formats.cell`). The hand-in records keep UTC (``...Z`` or ``+00:00``); a value that is no time with
    an offset (a student wrote the record) is kept as it is."""
    if column not in table.columns:
        return table
    at = table.columns.index(column)

    def shown(value: Any) -> Any:
        moment = aware(value)
        return value if moment is None else moment.astimezone(zone)

    return replace(table, rows=tuple((*row[:at], shown(row[at]), *row[at + 1 :]) for row in table.rows))


def course_volumes(engine: Any, course: str, host: str) -> list[CourseVolume]:
    """The course's task and submit volumes on ``engine`` (without asking which containers use them)."""
    from ..volumes.course import list_volumes

    return list_volumes(engine, course, host, with_containers=False)


def submit_names(volumes: list[CourseVolume]) -> list[str]:
    """The NAMEs of the submit volumes among ``volumes``, sorted."""
    return sorted({v.name for v in volumes if v.kind is VolumeKind.SUBMIT})


def _directory(volume: CourseVolume | None, what: str) -> Path:
    if volume is None:
        raise SubmissionsUnavailable(f"there is no {what}")
    path = Path(volume.mountpoint or "")
    if not volume.mountpoint or not path.is_dir():
        raise SubmissionsUnavailable(
            f"the {what} {volume.full_name} is not readable on this host (its engine is elsewhere)"
        )
    return path


def analyze_volume(volumes: list[CourseVolume], name: str) -> Analysis:
    """The analysis of the submit volume ``name`` among ``volumes``, against the task volume of that NAME
    when it exists and is readable. SubmissionsUnavailable when the submit volume is not there or not
    readable here."""
    from ..grading.analysis import analyze_submissions

    by_kind = {(v.kind, v.name): v for v in volumes}
    submit = _directory(by_kind.get((VolumeKind.SUBMIT, name)), f"submit volume {name!r}")
    task: Path | None
    try:
        task = _directory(by_kind.get((VolumeKind.TASK, name)), f"task volume {name!r}")
    except SubmissionsUnavailable:
        task = None
    return analyze_submissions(submit, task)


def render_submission(analysis: Analysis, index: int) -> str:
    """The HTML rendering of hand-in ``index`` (a row of ``analysis.submissions``): nbconvert's
    sanitised HTML with images embedded. IndexError for an index that is not a row; IpynbToolsError
    when the notebook cannot be rendered (too large, not a notebook)."""
    from ..grading.report import render_notebook

    if not 0 <= index < len(analysis.paths):
        raise IndexError(index)
    with tempfile.TemporaryDirectory(prefix="ipynb-tools-console-") as tmp:
        out = render_notebook(analysis.paths[index], Path(tmp) / "rendered.html")
        return out.read_text(encoding="utf-8", errors="replace")
