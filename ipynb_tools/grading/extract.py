"""``extract``: one grading notebook from chosen numbered cells of every submission (SPEC 7).

For notebook BASE and numbers N1 N2 ..., the grading notebook ``NNN-BASE.ipynb``
(NNN = N1 zero-padded to 3) has, per student in username order::

    ## <user>                       (markdown)
    <the student's code cells numbered N1, N2, ... with their outputs, in document order>
    #### Score:                     (markdown)
    0                               (code, tags "user: <user>", "codenum:999")
    <hr size="2">                   (markdown)

``tocsv`` reads the score cells back. The layout is the old ``ipynb_extract``'s;
what is new: the output is a valid nbformat 4.5 notebook whose cell ids are
unique and stable (the same input gives the same bytes), students are known
from the submission metadata before the file name, and re-extracting over a
grading notebook keeps the scores already entered (only with ``force``; by
default an existing grading notebook is never replaced).
"""

from __future__ import annotations

import copy
import hashlib
import html
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IpynbToolsError, UsageError
from ..notebook import Notebook, cell_source, code_cells, read_notebook, write_notebook
from ..submit.record import METADATA_KEY
from ..tags import USER_PREFIX, cell_codenum, cell_tags, cell_user, codenum_tag
from .collect import Submission, collect_submissions
from .submissions import ProblemHandler, normalise_base

#: Deepest JSON nesting copied from a student's cell into the grading notebook; deeper outputs are
#: replaced by a note (Python's own json, copy and Jupyter's reader recurse once per level).
MAX_JSON_DEPTH = 100
#: The codenum of the score cell of each student.
SCORE_CODENUM = 999
SCORE_HEADING = "#### Score:"
RULE = '<hr size="2">'
INITIAL_SCORE = "0"
NBFORMAT_MINOR = 5


class ExtractError(IpynbToolsError):
    """Extract cannot produce a grading notebook (nothing to extract, output exists...)."""


@dataclass
class ExtractResult:
    """What an extract produced."""

    path: Path
    users: list[str] = field(default_factory=list)
    cells: int = 0
    kept_scores: int = 0
    problems: list[tuple[Path, str]] = field(default_factory=list)


def grading_name(base: str, codenums: Iterable[int]) -> str:
    """``NNN-BASE.ipynb`` for the first of ``codenums``."""
    numbers = list(codenums)
    if not numbers:
        raise UsageError("give at least one CODENUM")
    return f"{numbers[0]:03d}-{normalise_base(base)}"


def cell_id(user: str, role: str, index: int = 0) -> str:
    """A stable, valid nbformat cell id for cell ``index`` of ``role`` in ``user``'s part."""
    digest = hashlib.sha256(f"{user}\0{role}\0{index}".encode()).hexdigest()
    return digest[:16]


def markdown_cell(source: str, cid: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": cid, "metadata": {}, "source": source}


def score_cell(user: str, score: str = INITIAL_SCORE) -> dict[str, Any]:
    """The code cell that holds ``user``'s score (tags ``user: <user>`` and ``codenum:999``)."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id(user, "score"),
        "metadata": {"tags": [f"{USER_PREFIX} {user}", codenum_tag(SCORE_CODENUM)]},
        "outputs": [],
        "source": score,
    }


def selected_cells(nb: Notebook, codenums: Iterable[int], nonum: bool = False) -> list[dict[str, Any]]:
    """The code cells of ``nb`` numbered in ``codenums`` (and unnumbered ones with ``nonum``), in order."""
    wanted = set(codenums)
    chosen = []
    for cell in code_cells(nb):
        number = cell_codenum(cell)
        if (number is None and nonum) or (number is not None and number in wanted):
            chosen.append(cell)
    return chosen


def json_depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar is 0, ``[]`` is 1), counted without recursion; stops past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def _omitted_output(depth: int) -> dict[str, Any]:
    text = f"[ipynb-tools: an output nested more than {MAX_JSON_DEPTH} levels deep was left out here]\n"
    return {"name": "stderr", "output_type": "stream", "text": text}


def _copied_cell(cell: dict[str, Any], user: str, index: int, notes: list[str] | None = None) -> dict[str, Any]:
    """A copy of a student's code cell fit for a 4.5 notebook: fresh id, required keys present.

    Outputs (and cell metadata) nested deeper than :data:`MAX_JSON_DEPTH` are left out with a
    visible note (and a line in ``notes``): they could not be written or read back (recursion),
    and one such output must not cost the student, or the class, the grading notebook.
    """
    outputs = cell.get("outputs")
    kept_outputs: list[Any] = []
    for output in outputs if isinstance(outputs, list) else []:
        depth = json_depth(output, MAX_JSON_DEPTH)
        if depth > MAX_JSON_DEPTH:
            kept_outputs.append(_omitted_output(depth))
            if notes is not None:
                notes.append(f"an output of cell {cell_codenum(cell)} is nested too deeply; left out")
        else:
            kept_outputs.append(output)
    rest = {k: v for k, v in cell.items() if k != "outputs"}
    if json_depth(rest, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        rest = {"cell_type": "code", "source": cell_source(cell), "metadata": {"tags": cell_tags(cell)}}
        if notes is not None:
            notes.append(f"the metadata of cell {cell_codenum(cell)} is nested too deeply; left out")
    new = copy.deepcopy(rest)
    new["outputs"] = copy.deepcopy(kept_outputs)
    new["id"] = cell_id(user, "cell", index)
    new.setdefault("metadata", {})
    new.setdefault("outputs", [])
    new.setdefault("execution_count", None)
    return new


def user_block(
    sub: Submission, codenums: Iterable[int], nonum: bool, score: str, notes: list[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The cells of one student's part of the grading notebook and how many were taken.

    The heading shows the user name HTML-escaped (it is the student's text, rendered as Markdown).
    """
    taken = selected_cells(sub.nb, codenums, nonum)
    cells = [markdown_cell(f"## {html.escape(sub.user, quote=False)}", cell_id(sub.user, "heading"))]
    cells += [_copied_cell(c, sub.user, i, notes) for i, c in enumerate(taken)]
    cells.append(markdown_cell(SCORE_HEADING, cell_id(sub.user, "score-heading")))
    cells.append(score_cell(sub.user, score))
    cells.append(markdown_cell(RULE, cell_id(sub.user, "rule")))
    return cells, len(taken)


def notebook_metadata(subs: list[Submission], base: str, codenums: list[int]) -> dict[str, Any]:
    """Kernel and language of the first submission (like the old tool), plus what was extracted."""
    meta: dict[str, Any] = {}
    if subs:
        first = subs[0].nb.get("metadata", {})
        for key in ("kernelspec", "language_info"):
            if key in first and json_depth(first[key], MAX_JSON_DEPTH) <= MAX_JSON_DEPTH:
                meta[key] = copy.deepcopy(first[key])
    meta[METADATA_KEY] = {"grading": {"base": base, "codenums": codenums}}
    return meta


def existing_scores(path: Path) -> dict[str, str]:
    """user -> score source of a grading notebook already on disk (empty when unreadable)."""
    try:
        nb = read_notebook(path, follow_symlinks=False)
    except IpynbToolsError:
        return {}
    scores = {}
    for cell in code_cells(nb):
        user = cell_user(cell)
        if user and cell_codenum(cell) == SCORE_CODENUM:
            scores[user] = cell_source(cell)
    return scores


def build_grading_notebook(
    subs: list[Submission],
    base: str,
    codenums: list[int],
    *,
    nonum: bool = False,
    scores: dict[str, str] | None = None,
    on_problem: ProblemHandler | None = None,
) -> tuple[Notebook, int]:
    """The grading notebook for ``subs`` (any order; written in username order) and the cells taken.

    Each student's part is built on its own: one that cannot be built is reported through
    ``on_problem`` and left out (their hand-in is named; the others are done).
    """
    cells: list[dict[str, Any]] = []
    taken = 0
    used: list[Submission] = []
    for sub in sorted(subs, key=lambda s: s.user):
        notes: list[str] = []
        try:
            block, n = user_block(sub, codenums, nonum, (scores or {}).get(sub.user, INITIAL_SCORE), notes)
        except Exception as exc:  # noqa: BLE001 - one hand-in must never cost the class its grading notebook
            if on_problem is not None:
                on_problem(sub.path, f"left out of the grading notebook ({type(exc).__name__}: {exc})")
            continue
        for note in notes:
            if on_problem is not None:
                on_problem(sub.path, note)
        cells += block
        taken += n
        used.append(sub)
    nb = {
        "cells": cells,
        "metadata": notebook_metadata(used, base, codenums),
        "nbformat": 4,
        "nbformat_minor": NBFORMAT_MINOR,
    }
    return nb, taken


def extract_notebook(
    base: str,
    codenums: Iterable[int],
    submit_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    nonum: bool = False,
    force: bool = False,
    on_problem: ProblemHandler | None = None,
) -> ExtractResult:
    """Write ``NNN-BASE.ipynb`` into ``out_dir`` (default: the current directory); see the module doc.

    An existing grading notebook is refused unless ``force``; with ``force`` the
    scores already entered in it are carried over by user.
    """
    base = normalise_base(base)
    numbers = [int(n) for n in codenums]
    out = Path(out_dir if out_dir is not None else ".") / grading_name(base, numbers)
    if not out.parent.is_dir():
        raise ExtractError(f"{out.parent}: output directory does not exist")
    if (out.exists() or out.is_symlink()) and not force:
        raise ExtractError(f"{out}: already exists (it may hold scores); use --force to rebuild it keeping them")
    problems: list[tuple[Path, str]] = []

    def problem(path: Path, message: str) -> None:
        problems.append((path, message))
        if on_problem is not None:
            on_problem(path, message)

    subs = collect_submissions(submit_dir, base=base, on_problem=problem)
    if not subs:
        raise ExtractError(f"{submit_dir}: no usable submissions of {base}")
    scores = existing_scores(out) if out.exists() else {}
    nb, taken = build_grading_notebook(subs, base, numbers, nonum=nonum, scores=scores, on_problem=problem)
    left_out = {p for p, _ in problems}
    subs = [s for s in subs if s.user in _users_in(nb)] if left_out else subs
    if not subs:
        raise ExtractError(f"{submit_dir}: no usable submissions of {base}")
    write_notebook(out, nb)
    kept = sum(1 for s in subs if s.user in scores)
    return ExtractResult(out, sorted(s.user for s in subs), taken, kept, problems)


def _users_in(nb: Notebook) -> set[str]:
    return {u for c in code_cells(nb) if (u := cell_user(c)) and cell_codenum(c) == SCORE_CODENUM}


def extract(
    base: str,
    codenums: Iterable[int],
    submit_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    nonum: bool = False,
    *,
    force: bool = False,
    on_problem: ProblemHandler | None = None,
) -> Path:
    """Library entry point: :func:`extract_notebook`, returning the path written."""
    return extract_notebook(base, codenums, submit_dir, out_dir, nonum=nonum, force=force, on_problem=on_problem).path
