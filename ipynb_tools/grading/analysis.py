"""Submission analysis: one tidy row per (user, notebook, codenum), and summaries (SPEC 7).

Columns of :attr:`Analysis.cells`:

- ``user``, ``notebook`` (the task notebook name), ``codenum``;
- ``present``: the submission has a code cell with that number;
- ``changed``: its source differs from the task version (trailing white space
  ignored); missing (``<NA>``) when there is no task version to compare with;
- ``executed``: it has an execution count or outputs;
- ``execution_count`` (``<NA>`` when never run);
- ``error_name``: the ``ename`` of its first error output (``<NA>`` when none);
- ``output_bytes``: UTF-8 size of the output content (stream text, data
  values, tracebacks), not of the JSON around it;
- ``copies``: how many cells carry that number (students duplicate cells and
  the tags go with them; the row then merges them: present, changed and
  executed if any copy is, the highest count, the first error, the sum of bytes).

With a task directory every numbered cell of the task notebook gets a row for
every submission of it, so cells a student deleted show as not present.
Notebooks are read with :mod:`ipynb_tools.notebook` (plain json, no nbformat):
analysing a course's hand-ins must stay close to the cost of reading them.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IpynbToolsError
from ..notebook import cell_source, read_notebook
from ..tags import cell_codenum, codenum_in
from .collect import Submission, collect_submissions
from .display import shown, spreadsheet_text
from .submissions import iter_notebook_files, normalise_base

if TYPE_CHECKING:
    import pandas as pd

CELL_COLUMNS = [
    "user",
    "notebook",
    "codenum",
    "present",
    "changed",
    "executed",
    "execution_count",
    "error_name",
    "output_bytes",
    "copies",
]

Progress = Callable[[int, int, Path], None]
#: An execution count outside 0..this is student text, not a count (it would not fit the Int64 column).
MAX_EXECUTION_COUNT = 2**31 - 1
#: Error names (``ename``, the student's output) are shortened to this many characters.
MAX_ERROR_NAME = 100


@dataclass
class Analysis:
    """The result of :func:`analyze_submissions`."""

    cells: pd.DataFrame
    submissions: pd.DataFrame
    problems: list[tuple[Path, str]] = field(default_factory=list)
    task_dir: Path | None = None
    #: The file of each row of ``submissions`` (its ``file`` column is the name made showable).
    paths: list[Path] = field(default_factory=list)

    def per_cell(self) -> pd.DataFrame:
        """Per (notebook, codenum): submissions, present, changed, executed, errors, mean output bytes."""
        return summarise(self.cells, ["notebook", "codenum"])

    def per_user(self) -> pd.DataFrame:
        """Per user: notebooks handed in, and the same counts over all their cells."""
        table = summarise(self.cells, ["user"])
        if not self.cells.empty:
            notebooks = self.cells.groupby("user")["notebook"].nunique()
            table.insert(1, "notebooks", table["user"].map(notebooks).astype("int64"))
        else:
            table.insert(1, "notebooks", [])
        return table

    def problems_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"path": [shown(p, 4096) for p, _ in self.problems], "problem": [shown(m, 4096) for _, m in self.problems]},
            columns=["path", "problem"],
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data (records; missing values as null)."""
        return {
            "cells": _records(self.cells),
            "per_cell": _records(self.per_cell()),
            "per_user": _records(self.per_user()),
            "submissions": _records(self.submissions),
            "problems": [{"path": shown(p, 4096), "problem": shown(m, 4096)} for p, m in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    def to_csv(self) -> str:
        """The tidy cells table as CSV text (student text never starts a formula: see display.py)."""
        return _safe_for_spreadsheet(self.cells).to_csv(index=False, lineterminator="\n")

    def to_xlsx(self) -> bytes:
        """A workbook with the sheets cells, per_cell, per_user, submissions, problems (needs openpyxl)."""
        import io

        try:
            import openpyxl  # noqa: F401 - only asks whether it is installed
        except ImportError:
            raise IpynbToolsError("Excel output needs the openpyxl package (pip install openpyxl)") from None
        import pandas as pd

        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            for name, table in (
                ("cells", self.cells),
                ("per_cell", self.per_cell()),
                ("per_user", self.per_user()),
                ("submissions", self.submissions),
                ("problems", self.problems_table()),
            ):
                _safe_for_spreadsheet(table).to_excel(writer, sheet_name=name, index=False)
        return buffer.getvalue()


def _safe_for_spreadsheet(table: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text columns hold :func:`.display.spreadsheet_text` values."""
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) == "string":
            out[col] = out[col].map(spreadsheet_text, na_action="ignore")
    return out


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(table.to_json(orient="records", force_ascii=False))
    return records


def summarise(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts of the tidy table grouped by ``keys``."""
    import pandas as pd

    columns = [*keys, "rows", "present", "changed", "executed", "errors", "output_bytes"]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    frame = cells.assign(errors=cells["error_name"].notna(), changed=cells["changed"].fillna(False).astype(bool))
    grouped = frame.groupby(keys, sort=True)
    table = grouped.agg(
        rows=("present", "size"),
        present=("present", "sum"),
        changed=("changed", "sum"),
        executed=("executed", "sum"),
        errors=("errors", "sum"),
        output_bytes=("output_bytes", "sum"),
    ).reset_index()
    for col in ("rows", "present", "changed", "executed", "errors", "output_bytes"):
        table[col] = table[col].astype("int64")
    return table


def summarise_outputs(outputs: list[Any]) -> tuple[int, str | None]:
    """(output bytes, error name) of a cell's outputs, in one pass (the per-cell hot path).

    Output bytes are the UTF-8 size of the content (see the module doc); the
    error name is the ``ename`` of the first error output, or None.
    """
    total = 0
    ename: str | None = None
    for out in outputs:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            total += _text_bytes(out.get("text"))
        elif kind == "error":
            total += _text_bytes(out.get("traceback"))
            if ename is None:
                name = out.get("ename")
                ename = shown(name, MAX_ERROR_NAME) if isinstance(name, str) and name else "Error"
        else:
            data = out.get("data")
            if isinstance(data, dict):
                for value in data.values():
                    total += _text_bytes(value) if isinstance(value, (str, list)) else _json_bytes(value)
    return total, ename


def _json_bytes(value: Any) -> int:
    """Size of a JSON data value (``application/json``) as text; a value too deep for json is counted by walking it."""
    try:
        return len(json.dumps(value))
    except RecursionError:
        total, stack = 0, [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                total += 2 + 2 * len(item)
                for key, child in item.items():
                    total += len(str(key)) + 2
                    stack.append(child)
            elif isinstance(item, list):
                total += 2 + len(item)
                stack.extend(item)
            else:
                total += len(json.dumps(item))
        return total


def output_bytes(outputs: list[Any]) -> int:
    """UTF-8 size of the content of a cell's outputs (see the module doc)."""
    return summarise_outputs(outputs)[0]


def _text_bytes(value: Any) -> int:
    if isinstance(value, list):
        try:
            value = "".join(value)
        except TypeError:
            value = "".join(v for v in value if isinstance(v, str))
    if isinstance(value, str):
        # isascii() is a flag check in CPython: no encoding for the common case
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    return 0


def error_name(outputs: list[Any]) -> str | None:
    """The ``ename`` of the first error output, or None."""
    return summarise_outputs(outputs)[1]


def read_task_versions(
    task_dir: str | os.PathLike[str], on_problem: Callable[[Path, str], None] | None = None
) -> dict[str, dict[int, str]]:
    """notebook name -> {codenum: source} of the task notebooks in ``task_dir``."""
    versions: dict[str, dict[int, str]] = {}
    for path in iter_notebook_files(task_dir):
        try:
            nb = read_notebook(path)
        except IpynbToolsError as exc:
            if on_problem is not None:
                on_problem(path, str(exc))
            continue
        numbered: dict[int, str] = {}
        for cell in nb.get("cells", ()):
            if cell.get("cell_type") == "code":
                number = cell_codenum(cell)
                if number is not None and number not in numbered:
                    numbered[number] = _normal(cell_source(cell))
        versions[normalise_base(path.name)] = numbered
    return versions


def _normal(source: str) -> str:
    return source.replace("\r\n", "\n").rstrip()


class _Columns:
    """Rows of the tidy table as tuples (cheaper than a dict per row), turned into columns at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *row: Any) -> None:
        self.rows.append(row)

    def extend(self, other: _Columns) -> None:
        self.rows.extend(other.rows)

    @property
    def data(self) -> dict[str, list[Any]]:
        columns = list(zip(*self.rows, strict=True)) if self.rows else [() for _ in CELL_COLUMNS]
        return {name: list(values) for name, values in zip(CELL_COLUMNS, columns, strict=True)}


def _submission_rows(sub: Submission, task: dict[int, str] | None, cols: _Columns) -> int:
    """Add the rows of one submission; return its number of code cells."""
    found: dict[int, list[Any]] = {}
    code = 0
    for cell in sub.nb["cells"]:
        if not isinstance(cell, dict):
            raise TypeError("a cell is not an object")
        if cell.get("cell_type") != "code":
            continue
        code += 1
        meta = cell.get("metadata")
        tags = meta.get("tags") if isinstance(meta, dict) else None
        number = codenum_in(tags) if isinstance(tags, list) else None
        if number is None:
            continue
        outputs = cell.get("outputs") or []
        if not isinstance(outputs, list):
            raise TypeError(f"cell {number} has outputs that are not a list")
        count = cell.get("execution_count")
        if type(count) is not int or not 0 <= count <= MAX_EXECUTION_COUNT:  # bool is no count
            count = None
        executed = count is not None or bool(outputs)
        size, ename = summarise_outputs(outputs) if outputs else (0, None)
        expected = task.get(number) if task is not None else None
        changed: bool | None = None if expected is None else _normal(cell_source(cell)) != expected
        old = found.get(number)
        if old is None:
            found[number] = [changed, executed, count, ename, size, 1]
        else:
            if changed is not None:
                old[0] = bool(old[0]) or changed
            old[1] = old[1] or executed
            if count is not None and (old[2] is None or count > old[2]):
                old[2] = count
            old[3] = old[3] or ename
            old[4] += size
            old[5] += 1
    numbers = sorted(set(found) | set(task or ()))
    for number in numbers:
        got = found.get(number)
        if got is None:
            cols.rows.append((sub.user, sub.notebook, number, False, None, False, None, None, 0, 0))
        else:
            cols.rows.append((sub.user, sub.notebook, number, True, *got))
    return code


def analyze_submissions(
    submit_dir: str | os.PathLike[str],
    task_dir: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
) -> Analysis:
    """Analyse every submission in ``submit_dir`` (against the task notebooks in ``task_dir``).

    Files that cannot be read or identified are listed in ``problems``; they
    never stop the analysis.
    """
    import pandas as pd

    problems: list[tuple[Path, str]] = []

    def problem(path: Path, message: str) -> None:
        problems.append((path, message))

    versions = read_task_versions(task_dir, problem) if task_dir is not None else None

    def digest(sub: Submission) -> tuple[_Columns, int]:
        rows = _Columns()
        task = versions.get(sub.notebook) if versions is not None else None
        return rows, _submission_rows(sub, task, rows)

    # Parsed notebooks are acyclic and dropped as soon as digested: the cyclic GC
    # would only rescan the millions of fresh JSON containers, costing more than the parse.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        subs = collect_submissions(
            submit_dir, bases=list(versions or ()), on_problem=problem, progress=progress, digest=digest
        )
    finally:
        if was_enabled:
            gc.enable()
    cols = _Columns()
    paths: list[Path] = []
    sub_rows: dict[str, list[Any]] = {
        k: [] for k in ("user", "notebook", "file", "submitted_at", "bytes", "code_cells", "in_task")
    }
    for sub in subs:
        task = versions.get(sub.notebook) if versions is not None else None
        if versions is not None and task is None:
            problem(sub.path, f"no task notebook {sub.notebook} in {task_dir}; not compared")
        rows, code = sub.digest
        cols.extend(rows)
        for key, value in zip(
            sub_rows,
            (sub.user, sub.notebook, shown(sub.path.name, 1024), sub.when, sub.size, code, task is not None),
            strict=True,
        ):
            sub_rows[key].append(value)
        paths.append(sub.path)
    data = cols.data
    cells = pd.DataFrame(
        {
            "user": pd.Series(data["user"], dtype="object"),
            "notebook": pd.Series(data["notebook"], dtype="object"),
            "codenum": pd.Series(data["codenum"], dtype="int64"),
            "present": pd.Series(data["present"], dtype="bool"),
            "changed": pd.Series(data["changed"], dtype="boolean"),
            "executed": pd.Series(data["executed"], dtype="bool"),
            "execution_count": pd.Series(data["execution_count"], dtype="Int64"),
            "error_name": pd.Series(data["error_name"], dtype="string"),
            "output_bytes": pd.Series(data["output_bytes"], dtype="int64"),
            "copies": pd.Series(data["copies"], dtype="int64"),
        }
    )
    submissions = pd.DataFrame(sub_rows)
    problems.sort(key=lambda p: (str(p[0]), p[1]))
    return Analysis(cells, submissions, problems, Path(task_dir) if task_dir is not None else None, paths)
