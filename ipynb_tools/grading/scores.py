"""``tocsv``: the scores of the grading notebooks ``NNN-BASE.ipynb`` as one table (SPEC 7).

Columns ``Name, P<NNN>..., Total`` (the old ``ipynb_tocsv``'s), one row per user
in username order, problems in numeric order. A user missing from a grading
notebook scores 0 there (no hand-in, as before). A score cell whose source is
not a number (a trailing ``# comment`` is allowed) is an error naming the user
and the file: the old tool silently counted it as 0.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import FileProblem, IpynbToolsError
from ..notebook import NOTEBOOK_SUFFIX, cell_source, code_cells, read_notebook
from ..tags import cell_codenum, cell_user
from .display import shown, spreadsheet_text
from .extract import SCORE_CODENUM
from .submissions import normalise_base

if TYPE_CHECKING:
    import pandas as pd


class ScoresError(IpynbToolsError):
    """Scores that cannot be tabulated; ``problems`` lists each (file, user, problem)."""

    def __init__(self, message: str, problems: list[tuple[Path, str, str]] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


@dataclass
class ScoreSheet:
    """The scores read from the grading notebooks of one BASE."""

    base: str
    problems_numbers: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: (user, problem number) -> score
    scores: dict[tuple[str, int], float | int] = field(default_factory=dict)


def grading_files(base: str, directory: str | os.PathLike[str] = ".") -> list[tuple[int, Path]]:
    """(number, path) of every ``NNN-BASE.ipynb`` in ``directory``, by number."""
    name = normalise_base(base)
    pattern = re.compile(r"(\d+)-" + re.escape(name))
    root = Path(directory)
    if not root.is_dir():
        raise FileProblem(root, "no such directory")
    found = []
    for path in root.iterdir():
        m = pattern.fullmatch(path.name)
        if m and not path.name.startswith("."):
            found.append((int(m.group(1)), path))
    return sorted(found)


#: The largest score (in absolute value) a score cell may hold: totals must fit the int64 column.
MAX_SCORE = 10**9


def parse_score(text: str) -> int | float | None:
    """The number in a score cell's source, or None when it is not one (empty counts as not one).

    A number beyond :data:`MAX_SCORE` (``99999999999999999999``, ``1e308``) is no score: it would
    overflow the table's column (or its total) and stop every student's scores.
    """
    value = text.split("#", 1)[0].strip()
    if not value or len(value) > 64:
        return None
    number: int | float
    try:
        number = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            return None
    if math.isnan(number) or abs(number) > MAX_SCORE:
        return None
    return number


def _not_a_score(text: str) -> str:
    try:
        float(text.split("#", 1)[0])
    except ValueError:
        return "is not a number"
    return f"is not a number from -{MAX_SCORE:,} to {MAX_SCORE:,}"


def read_scores(base: str, directory: str | os.PathLike[str] = ".") -> ScoreSheet:
    """Read every grading notebook of ``base``; raise :class:`ScoresError` listing every bad score."""
    files = grading_files(base, directory)
    if not files:
        raise ScoresError(f"{Path(directory)}: no grading notebooks NNN-{normalise_base(base)} (run extract first)")
    sheet = ScoreSheet(normalise_base(base))
    bad: list[tuple[Path, str, str]] = []
    for number, path in files:
        nb = read_notebook(path)
        if number in sheet.problems_numbers:
            raise ScoresError(f"{path}: a second grading notebook for problem {number:03d}")
        sheet.problems_numbers.append(number)
        sheet.files.append(path)
        for cell in code_cells(nb):
            user = cell_user(cell)
            if not user or cell_codenum(cell) != SCORE_CODENUM:
                continue
            source = cell_source(cell)
            score = parse_score(source)
            if score is None:
                text = shown(source.strip(), 60)
                bad.append((path, user, f"score {text!r} {_not_a_score(text)}" if text else "score is empty"))
                continue
            if (user, number) in sheet.scores:
                bad.append((path, user, "has two score cells"))
                continue
            sheet.scores[(user, number)] = score
    if bad:
        first = "; ".join(f"{p.name}: {u}: {m}" for p, u, m in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise ScoresError(f"{len(bad)} score cell(s) cannot be read: {first}{more}", bad)
    return sheet


def scores_table(base: str, directory: str | os.PathLike[str] = ".") -> pd.DataFrame:
    """The table ``Name, P<NNN>..., Total`` of ``base``'s grading notebooks (a pandas DataFrame)."""
    import pandas as pd

    sheet = read_scores(base, directory)
    users = sorted({u for u, _ in sheet.scores})
    columns = {}
    for number in sheet.problems_numbers:
        columns[f"P{number:03d}"] = [sheet.scores.get((u, number), 0) for u in users]
    table = pd.DataFrame({"Name": users, **columns})
    problem_columns = list(columns)
    table["Total"] = table[problem_columns].sum(axis=1) if problem_columns else 0
    for col in [*problem_columns, "Total"]:
        if (table[col] % 1 == 0).all():
            table[col] = table[col].astype("int64")
    return table


def csv_text(table: pd.DataFrame) -> str:
    """The table as CSV text (comma separated, header row, no index; whole numbers without ``.0``)."""
    import pandas as pd

    out = table.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            values = [int(v) if float(v).is_integer() else v for v in out[col]]
            out[col] = pd.Series(values, index=out.index, dtype=object)
    out["Name"] = out["Name"].map(spreadsheet_text)
    return out.to_csv(index=False, lineterminator="\n")


def xlsx_bytes(table: pd.DataFrame, sheet_name: str = "scores") -> bytes:
    """The table as an Excel workbook (needs openpyxl)."""
    try:
        import openpyxl  # noqa: F401 - only asks whether it is installed
    except ImportError:
        raise IpynbToolsError("--xlsx needs the openpyxl package (pip install openpyxl)") from None
    buffer = io.BytesIO()
    table = table.assign(Name=table["Name"].map(spreadsheet_text))
    table.to_excel(buffer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


def write_scores(
    base: str,
    directory: str | os.PathLike[str] = ".",
    *,
    out: str | os.PathLike[str] | None = None,
    xlsx: bool = False,
) -> list[Path]:
    """Write ``BASE.csv`` (and ``BASE.xlsx`` with ``xlsx``) beside the grading notebooks; return the paths.

    ``out`` overrides the CSV path (the spreadsheet goes beside it). Nothing is
    written when any score is unreadable.
    """
    table = scores_table(base, directory)
    stem = normalise_base(base)[: -len(NOTEBOOK_SUFFIX)]
    csv_path = Path(out) if out is not None else Path(directory) / f"{stem}.csv"
    written = [csv_path]
    data = xlsx_bytes(table, stem) if xlsx else None
    atomic_write_text(csv_path, csv_text(table))
    if data is not None:
        xlsx_path = csv_path.with_suffix(".xlsx")
        atomic_write_bytes(xlsx_path, data)
        written.append(xlsx_path)
    return written
