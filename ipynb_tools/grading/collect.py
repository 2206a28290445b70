"""Read the submissions of a directory once: parsed, identified, one per (user, notebook).

Shared by extract (one notebook) and the submission analysis (all notebooks).
A file that cannot be read or identified is reported through ``on_problem``
and skipped: one bad hand-in must not stop the grading of the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IpynbToolsError
from ..notebook import (
    Notebook,
    NotebookFile,
    check_json_budget,
    parse_notebook,
    read_bytes_safely,
    read_notebook_file,
)
from ..submit.record import SubmissionRecord
from .submissions import ProblemHandler, identify, iter_notebook_files, normalise_base, user_from_name


@dataclass
class Submission:
    """One usable submission: who, which task notebook, the parsed notebook."""

    path: Path
    user: str
    notebook: str
    nb: Notebook
    info: SubmissionRecord
    size: int
    mtime: float
    #: What ``digest`` made of the notebook when ``collect_submissions`` was given one (``nb`` is then None).
    digest: Any = None

    @property
    def when(self) -> str:
        """When it was handed in: the recorded time, else the file's modification time (UTC ISO)."""
        if self.info.submitted_at:
            return self.info.submitted_at
        import datetime as _dt

        return _dt.datetime.fromtimestamp(self.mtime, _dt.UTC).isoformat(timespec="seconds")


def collect_submissions(
    submit_dir: str | os.PathLike[str],
    *,
    base: str | None = None,
    bases: Iterable[str] = (),
    on_problem: ProblemHandler | None = None,
    progress: Callable[[int, int, Path], None] | None = None,
    digest: Callable[[Submission], Any] | None = None,
) -> list[Submission]:
    """The submissions in ``submit_dir``, sorted by (notebook, user).

    With ``base`` only submissions of that notebook are kept and only files whose
    name fits it are reported when unusable. ``bases`` are known task notebook
    names that help read old-style file names. When a user handed in the same
    notebook more than once, the newest is kept and the others are reported.
    With ``digest`` each notebook is reduced as soon as it is read and not kept
    (``nb`` is None): a whole course then never sits in memory at once.
    """
    wanted = normalise_base(base) if base else None
    known = [wanted] if wanted else [normalise_base(b) for b in bases]
    files = list(iter_notebook_files(submit_dir))
    chosen: dict[tuple[str, str], Submission] = {}

    def problem(path: Path, message: str) -> None:
        if on_problem is not None:
            on_problem(path, message)

    for index, path in enumerate(files, 1):
        if progress is not None:
            progress(index, len(files), path)
        relevant = wanted is None or user_from_name(path.name, wanted) is not None
        try:
            sub = _one_submission(path, known, wanted, digest)
        except IpynbToolsError as exc:
            if relevant:
                problem(path, _problem_text(exc, path))
            continue
        except Exception as exc:  # noqa: BLE001 - one file must never stop a class's grading (issue 12 C)
            problem(path, f"cannot be used ({type(exc).__name__}: {exc})")
            continue
        if sub is None:
            continue
        key = (sub.notebook, sub.user)
        old = chosen.get(key)
        if old is None:
            chosen[key] = sub
            continue
        newer, older = (sub, old) if (sub.when, sub.path.name) > (old.when, old.path.name) else (old, sub)
        chosen[key] = newer
        problem(older.path, f"older submission of {sub.notebook} by {sub.user}; using {newer.path.name}")
    found = [chosen[k] for k in sorted(chosen)]
    for sub in impersonations(found):
        problem(
            sub.path, f"handed in from the account of {sub.info.os_user}, not of {sub.user}: check with both students"
        )
    return found


def _one_submission(
    path: Path, known: list[str], wanted: str | None, digest: Callable[[Submission], Any] | None
) -> Submission | None:
    """Read, identify (and digest) one file; None when it is another notebook's; raise on a bad file."""
    nbfile = _read_fast(path) if digest is not None else read_notebook_file(path)
    user, notebook, info = identify(path, nbfile.notebook, known)
    if wanted is not None and notebook != wanted:
        return None
    st = os.stat(path)
    sub = Submission(path, user, notebook, nbfile.notebook, info, len(nbfile.raw), st.st_mtime)
    if digest is not None:
        try:
            sub.digest = digest(sub)
        except (TypeError, AttributeError, ValueError, KeyError, RecursionError) as exc:
            # the fast read skipped the full shape check: let it name the problem
            parse_notebook(nbfile.raw, path)
            raise IpynbToolsError(f"cannot be analysed ({type(exc).__name__}: {exc})") from None
        sub.nb = None  # type: ignore[assignment]
    return sub


def impersonations(subs: list[Submission]) -> list[Submission]:
    """Submissions made from another student's account.

    ``$JUPYTERHUB_USER`` is the student's to set, so a submission's ``user`` can
    be forged; the account it was made from (``os_user``) cannot. A generic
    account shared by everyone (docker-stacks' ``jovyan``) is no student, so
    only an account that is itself another submitter's name is reported.
    """
    users = {s.user for s in subs}
    return [s for s in subs if s.info.os_user and s.info.os_user != s.user and s.info.os_user in users]


def _read_fast(path: Path) -> NotebookFile:
    """Read a notebook safely but check only its outline (version, a list of cells).

    The full per-cell shape check of :func:`parse_notebook` costs more than the
    JSON parse itself; the analysis handles odd cells on its own and falls back
    to the full check to name the problem of a file it cannot use.
    """
    raw, mode = read_bytes_safely(path)
    check_json_budget(raw, path)
    try:
        nb = json.loads(raw)
    except (ValueError, RecursionError):
        nb = None
    if not (
        isinstance(nb, dict)
        and nb.get("nbformat") == 4
        and isinstance(nb.get("cells"), list)
        and isinstance(nb.get("metadata", {}), dict)
    ):
        nb = parse_notebook(raw, path)  # raises the precise error
    return NotebookFile(path, nb, raw, mode)


def _problem_text(exc: IpynbToolsError, path: Path) -> str:
    """The problem part of an error about ``path`` (without repeating the path)."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
