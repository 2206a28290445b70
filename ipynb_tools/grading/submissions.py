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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FileProblem
from ..notebook import NOTEBOOK_SUFFIX, Notebook
from ..tags import cell_filename

#: ``metadata[METADATA_KEY][SUBMISSION_KEY]`` holds the record ipynb_submit writes.
METADATA_KEY = "ipynb_tools"
SUBMISSION_KEY = "submission"

#: Called with (path, problem) for a file that is skipped; the work goes on.
ProblemHandler = Callable[[Path, str], None]


@dataclass(frozen=True)
class SubmissionInfo:
    """What ipynb_submit recorded in a submission (any field may be missing in old files)."""

    user: str | None = None
    submitted_at: str | None = None
    source_sha256: str | None = None
    source_name: str | None = None
    #: The account the submission was made from (``ipynb_submit`` records it beside ``user``).
    os_user: str | None = None


def normalise_base(base: str) -> str:
    """``kadai-1`` and ``kadai-1.ipynb`` both mean the notebook ``kadai-1.ipynb``."""
    name = os.path.basename(base.rstrip("/"))
    return name if name.endswith(NOTEBOOK_SUFFIX) else name + NOTEBOOK_SUFFIX


def submission_info(nb: Notebook) -> SubmissionInfo:
    """The submission record in a notebook's metadata (empty when there is none)."""
    meta = nb.get("metadata")
    record: Any = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
    record = record.get(SUBMISSION_KEY) if isinstance(record, dict) else None
    if not isinstance(record, dict):
        return SubmissionInfo()

    def text(*keys: str) -> str | None:
        for key in keys:
            value = record.get(key)
            if isinstance(value, str) and value:
                return value
        return None

    return SubmissionInfo(
        user=text("user", "username"),
        submitted_at=text("submitted_at", "time", "date"),
        source_sha256=text("source_sha256", "sha256"),
        source_name=text("source_name", "source", "notebook"),
        os_user=text("os_user"),
    )


def user_from_name(filename: str, base: str) -> str | None:
    """The user in ``<stem>_<user>.ipynb`` or ``<user>_<stem>.ipynb`` for notebook ``base``, or None."""
    if not filename.endswith(NOTEBOOK_SUFFIX):
        return None
    stem = normalise_base(base)[: -len(NOTEBOOK_SUFFIX)]
    name = filename[: -len(NOTEBOOK_SUFFIX)]
    if name.startswith(stem + "_") and len(name) > len(stem) + 1:
        return name[len(stem) + 1 :]
    if name.endswith("_" + stem) and len(name) > len(stem) + 1:
        return name[: -len(stem) - 1]
    return None


def tagged_notebook_name(nb: Notebook) -> str | None:
    """The task notebook named by the first ``filename:`` tag of a code cell (what deploy wrote)."""
    for cell in nb.get("cells", ()):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            name = cell_filename(cell)
            if name:
                return name
    return None


def identify(path: Path, nb: Notebook, bases: Iterable[str] = ()) -> tuple[str, str, SubmissionInfo]:
    """(user, task notebook name, recorded info) of one submission, or raise :class:`FileProblem`.

    The metadata record wins; otherwise the notebook is the one its ``filename:``
    tags name or one of ``bases`` (the task notebooks), and the user is the rest
    of the file name in the suffix or the prefix form.
    """
    info = submission_info(nb)
    candidates = [normalise_base(b) for b in bases]
    notebook = info.source_name
    if notebook is None:
        tagged = tagged_notebook_name(nb)
        if tagged is not None:
            candidates.insert(0, tagged)
        for candidate in candidates:
            if user_from_name(path.name, candidate) is not None:
                notebook = candidate
                break
        else:
            notebook = candidates[0] if candidates else None
    if notebook is None:
        raise FileProblem(path, "cannot tell which notebook this is (no submission metadata, no filename: tags)")
    notebook = normalise_base(notebook)
    user = info.user or user_from_name(path.name, notebook)
    if not user:
        raise FileProblem(path, f"cannot tell the user: no submission metadata and the name is not {_forms(notebook)}")
    return user, notebook, info


def _forms(notebook: str) -> str:
    stem = notebook[: -len(NOTEBOOK_SUFFIX)]
    return f"'{stem}_<user>.ipynb' or '<user>_{stem}.ipynb'"


def iter_notebook_files(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """The non-hidden ``*.ipynb`` entries of ``directory`` (not recursive), sorted by name."""
    root = Path(directory)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        raise FileProblem(root, "no such directory") from None
    except NotADirectoryError:
        raise FileProblem(root, "is not a directory") from None
    except OSError as exc:
        raise FileProblem(root, f"cannot list directory ({exc.strerror or exc})") from None
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(NOTEBOOK_SUFFIX):
            continue
        if entry.is_dir():
            continue
        yield Path(entry.path)
