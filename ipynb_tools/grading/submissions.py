"""Who handed in what: recognise the submissions in a submit directory.

A submission is a copy of a student's notebook named ``<base>_<user>.ipynb``
(the default suffix form) or ``<user>_<base>.ipynb`` (the old prefix form).
``ipynb_submit`` also records who, when and from which notebook in the notebook
metadata (``metadata.ipynb_tools.submission``); that record is trusted first,
because a file name alone is ambiguous when user or notebook names contain
``_``. Only the file name is needed to list candidates; the metadata is read
by the callers that open the notebooks anyway.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import FileProblem, os_reason
from ..notebook import NOTEBOOK_SUFFIX, Notebook
from ..submit.naming import without_fallback_mark
from ..submit.record import SubmissionRecord
from ..tags import FILENAME_PREFIX
from ..usernames import user_name_problem

#: Called with (path, problem) for a file that is skipped; the work goes on.
ProblemHandler = Callable[[Path, str], None]


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: macOS hands in names in NFD; one name must be one name (issue 12, item 1)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def normalise_base(base: str) -> str:
    """``kadai-1`` and ``kadai-1.ipynb`` both mean the notebook ``kadai-1.ipynb``."""
    name = nfc(os.path.basename(base.rstrip("/")))
    return name if name.endswith(NOTEBOOK_SUFFIX) else name + NOTEBOOK_SUFFIX


def submission_record(nb: Notebook) -> SubmissionRecord:
    """The record ``ipynb_submit`` wrote (:class:`SubmissionRecord`), its user and notebook names in NFC."""
    record = SubmissionRecord.from_notebook(nb)
    user, source = record.user, record.source_name
    if (user is None or user.isascii()) and (source is None or source.isascii()):
        return record
    return replace(record, user=nfc(user) if user else None, source_name=nfc(source) if source else None)


def name_readings(filename: str, base: str) -> list[str]:
    """Every user ``filename`` can name for notebook ``base``: ``<stem>_<user>`` and ``<user>_<stem>``.

    Names are compared in NFC, and the fallback marker ``~<16 hex>`` of ``ipynb_submit``
    (a name another user squatted) is read off first.
    """
    if not filename.endswith(NOTEBOOK_SUFFIX):
        return []
    stem = normalise_base(base)[: -len(NOTEBOOK_SUFFIX)]
    name = without_fallback_mark(nfc(filename[: -len(NOTEBOOK_SUFFIX)]))
    found = []
    if name.startswith(stem + "_") and len(name) > len(stem) + 1:
        found.append(name[len(stem) + 1 :])
    if name.endswith("_" + stem) and len(name) > len(stem) + 1 and name[: -len(stem) - 1] not in found:
        found.append(name[: -len(stem) - 1])
    return found


def user_from_name(filename: str, base: str) -> str | None:
    """The user in ``<stem>_<user>.ipynb`` or ``<user>_<stem>.ipynb`` for notebook ``base``, or None."""
    found = name_readings(filename, base)
    return found[0] if found else None


def _filename_tag(cell: Any) -> str | None:
    """The raw ``filename:...`` tag of a code cell, or None (fast: this runs per cell of a class)."""
    try:
        if cell["cell_type"] != "code":
            return None
        tags = cell["metadata"]["tags"]
    except (KeyError, TypeError, IndexError):
        return None
    if tags.__class__ is list:
        for tag in tags:
            if tag.__class__ is str and tag.startswith(FILENAME_PREFIX):
                return tag
    return None


def tagged_notebook_name(nb: Notebook) -> str | None:
    """The task notebook the code cells' ``filename:`` tags name (what deploy wrote; the most common one).

    On the analysis' hot path: when the first, middle and last tagged cells agree (a deployed
    notebook: every cell carries the same tag) that is the answer; only cells that disagree are
    all counted. Only the winner's name is checked.
    """
    cells = nb.get("cells")
    if not isinstance(cells, list):
        return None
    n = len(cells)
    starts = (range(n), range(n // 2, n), range(n - 1, -1, -1))  # first, middle, last tagged code cell
    tagged = [next((t for i in order if (t := _filename_tag(cells[i]))), None) for order in starts]
    counts: Counter[str] = Counter()
    if tagged[0] is not None and tagged[0] == tagged[1] == tagged[2]:
        counts[tagged[0]] = 1
    else:
        counts.update(t for t in map(_filename_tag, cells) if t)
    for tag, _ in counts.most_common():
        name = nfc(tag[len(FILENAME_PREFIX) :])
        if notebook_name_problem(name) is None:
            return name
    return None


def notebook_name_problem(name: str) -> str | None:
    """Why ``name`` (from a tag or a record: student text) cannot name a task notebook, or None."""
    if not name.endswith(NOTEBOOK_SUFFIX) or "/" in name or "\\" in name or name.startswith("."):
        return "is not a notebook file name"
    if len(name.encode("utf-8", "surrogatepass")) > 255 or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        return "is not a usable file name"
    return None


@dataclass(frozen=True)
class Identity:
    """Who handed in which task notebook, and what a teacher should know about how that was read."""

    user: str
    notebook: str
    info: SubmissionRecord
    notes: tuple[str, ...] = ()


def identify_submission(path: Path, nb: Notebook, bases: Iterable[str] = ()) -> Identity:
    """Read who handed in which notebook; raise :class:`FileProblem` when it cannot be told.

    The notebook is the one the code cells' ``filename:`` tags name (the numbering the cells
    carry, issue 12 item 4), else the record's ``source_name``, else the one of ``bases`` the
    file name fits. The user is the record's, else read from the file name for that notebook.
    Without a record or tags, a name that fits several ``bases`` (``kadai_1_alice.ipynb`` for
    ``kadai`` and ``kadai_1``) is ambiguous and reported with every reading, never guessed
    (item 2). Every name is compared in NFC (item 1).
    """
    info = submission_record(nb)
    known = [normalise_base(b) for b in bases]
    tagged = tagged_notebook_name(nb)
    recorded = info.source_name if info.source_name and notebook_name_problem(info.source_name) is None else None
    notes: list[str] = []
    name = nfc(path.name)
    if tagged is not None:
        notebook = tagged
        if recorded is not None and recorded != tagged:
            notes.append(f"handed in from {recorded}, but its cells are numbered for {tagged}: graded as {tagged}")
        elif recorded is None and not name_readings(name, tagged):
            notes.append(f"its name does not fit {tagged}, but its cells are numbered for it: graded as {tagged}")
    elif recorded is not None:
        notebook = recorded
    else:
        readings = [(b, u) for b in dict.fromkeys(known) for u in name_readings(name, b)]
        if len(readings) > 1:
            both = " or ".join(f"user {u!r} of {b}" for b, u in readings)
            raise FileProblem(path, f"ambiguous name: {both} (no submission record and no filename: tags tell)")
        if not readings:
            if not known:
                raise FileProblem(
                    path, "cannot tell which notebook this is (no submission metadata, no filename: tags)"
                )
            return _user_or_raise(path, info.user, known[0], info, notes, known)
        notebook = readings[0][0]
    return _user_or_raise(path, info.user, notebook, info, notes, known)


def _user_or_raise(
    path: Path, user: str | None, notebook: str, info: SubmissionRecord, notes: list[str], known: list[str]
) -> Identity:
    if user is None:
        readings = name_readings(nfc(path.name), notebook)
        if not readings:  # renamed: the tags say the notebook, the name may still say the user
            readings = list(dict.fromkeys(u for b in known for u in name_readings(nfc(path.name), b)))
        if len(readings) > 1:
            both = " or ".join(repr(u) for u in readings)
            raise FileProblem(path, f"ambiguous name: user {both} of {notebook} (no submission record tells)")
        user = readings[0] if readings else None
    if not user:
        raise FileProblem(path, f"cannot tell the user: no submission metadata and the name is not {_forms(notebook)}")
    problem = user_name_problem(user)
    if problem:
        raise FileProblem(path, f"the user name it gives {problem}; not graded")
    return Identity(user, notebook, info, tuple(notes))


def identify(path: Path, nb: Notebook, bases: Iterable[str] = ()) -> tuple[str, str, SubmissionRecord]:
    """(user, task notebook name, recorded info) of one submission (see :func:`identify_submission`)."""
    who = identify_submission(path, nb, bases)
    return who.user, who.notebook, who.info


def _forms(notebook: str) -> str:
    stem = notebook[: -len(NOTEBOOK_SUFFIX)]
    return f"'{stem}_<user>.ipynb' or '<user>_{stem}.ipynb'"


def iter_notebook_files(directory: str | os.PathLike[str], *, with_directories: bool = False) -> Iterator[Path]:
    """The non-hidden ``*.ipynb`` entries of ``directory`` (not recursive), sorted by name.

    Directories (and links to them) are left out unless ``with_directories``: in a submit volume a
    directory named like a hand-in is a classmate squatting that name, which grading reports.
    """
    root = Path(directory)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        raise FileProblem(root, "no such directory") from None
    except NotADirectoryError:
        raise FileProblem(root, "is not a directory") from None
    except OSError as exc:
        raise FileProblem(root, f"cannot list directory ({os_reason(exc)})") from None
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(NOTEBOOK_SUFFIX):
            continue
        if entry.is_dir() and not with_directories:
            continue
        yield Path(entry.path)
