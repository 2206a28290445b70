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
from pathlib import Path

from ..errors import FileProblem, os_reason
from ..notebook import NOTEBOOK_SUFFIX, Notebook
from ..submit.record import SubmissionRecord
from ..tags import cell_filename

#: Called with (path, problem) for a file that is skipped; the work goes on.
ProblemHandler = Callable[[Path, str], None]


def normalise_base(base: str) -> str:
    """``kadai-1`` and ``kadai-1.ipynb`` both mean the notebook ``kadai-1.ipynb``."""
    name = os.path.basename(base.rstrip("/"))
    return name if name.endswith(NOTEBOOK_SUFFIX) else name + NOTEBOOK_SUFFIX


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


def identify(path: Path, nb: Notebook, bases: Iterable[str] = ()) -> tuple[str, str, SubmissionRecord]:
    """(user, task notebook name, recorded info) of one submission, or raise :class:`FileProblem`.

    The metadata record wins; otherwise the notebook is the one its ``filename:``
    tags name or one of ``bases`` (the task notebooks), and the user is the rest
    of the file name in the suffix or the prefix form.
    """
    info = SubmissionRecord.from_notebook(nb)
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
        raise FileProblem(root, f"cannot list directory ({os_reason(exc)})") from None
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(NOTEBOOK_SUFFIX):
            continue
        if entry.is_dir():
            continue
        yield Path(entry.path)
