"""Read the submissions of a directory once: parsed, identified, one per (user, notebook).

Shared by extract (one notebook) and the submission analysis (all notebooks).
A file that cannot be read or identified is reported through ``on_problem``
and skipped: one bad hand-in must not stop the grading of the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
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
from .provenance import Claim, FileFacts, mismatches, owner_text, parse_time, trusted_owners
from .submissions import (
    ProblemHandler,
    identify_submission,
    iter_notebook_files,
    name_readings,
    nfc,
    normalise_base,
    submission_record,
    tagged_notebook_name,
)


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
    #: Owner and times of the file (what the record is checked against).
    facts: FileFacts = field(default_factory=lambda: FileFacts(-1, 0.0, 0.0))
    #: What the teacher should know about how it was read (a renamed file graded by its tags...).
    notes: list[str] = field(default_factory=list)
    #: Identified by its file name alone (no submission record, no ``filename:`` tags).
    by_name: bool = False

    @property
    def order(self) -> tuple[float, str]:
        """Which of two hand-ins is the later: the recorded time when readable, else the file's; then the name."""
        moment = parse_time(self.info.submitted_at)
        return (moment.timestamp() if moment is not None else self.mtime, self.path.name)

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
    close_time: float | None = None,
    accounts: Mapping[str, int] | None = None,
) -> list[Submission]:
    """The submissions in ``submit_dir``, sorted by (notebook, user); every other file is reported.

    With ``base`` only submissions of that notebook are kept and only files whose
    name fits it are reported when unusable. ``bases`` are known task notebook
    names that help read old-style file names. Each hand-in is checked against its file
    (:mod:`.provenance`: owner, times, ``close_time``, by default the volume's closing time):
    one that does not match is reported and never graded as its claimed user. When a user
    handed in the same notebook more than once, the latest is used and each other one is
    reported naming the one used. With ``digest`` each notebook is reduced as soon as it is
    read and not kept (``nb`` is None): a whole course then never sits in memory at once.
    """
    wanted = normalise_base(base) if base else None
    known = [wanted] if wanted else [normalise_base(b) for b in bases]
    files = list(iter_notebook_files(submit_dir, with_directories=True))  # a squatting directory is named
    close = close_time if close_time is not None else directory_close_time(Path(submit_dir))

    def problem(path: Path, message: str) -> None:
        if on_problem is not None:
            on_problem(path, message)

    found: list[Submission] = []
    unusable: list[tuple[Path, str]] = []
    seen: set[str] = set()  # the notebooks the records and tags of every file read name
    for index, path in enumerate(files, 1):
        if progress is not None:
            progress(index, len(files), path)
        relevant = wanted is None or bool(name_readings(path.name, wanted))
        try:
            sub = _one_submission(path, known, wanted, digest, seen)
        except IpynbToolsError as exc:
            if relevant or isinstance(exc, _NumberedForWanted):
                unusable.append((path, _problem_text(exc, path)))
            continue
        except Exception as exc:  # noqa: BLE001 - one file must never stop a class's grading (issue 12 C)
            unusable.append((path, f"cannot be used ({type(exc).__name__}: {exc})"))
            continue
        if sub is not None:
            found.append(sub)
    if wanted is not None:
        found = _without_ambiguous_names(found, wanted, seen, unusable)
    claims = [Claim(i, s.user, s.info.uid, s.info.submitted_at, s.facts) for i, s in enumerate(found)]
    forged = mismatches(claims, close_time=close, accounts=accounts)
    chosen: dict[tuple[str, str], Submission] = {}
    for i, sub in enumerate(found):
        for note in sub.notes:
            problem(sub.path, note)
        if i in forged:
            problem(sub.path, f"not graded as {sub.user}: " + "; ".join(forged[i]))
            continue
        key = (sub.notebook, sub.user)
        old = chosen.get(key)
        if old is None:
            chosen[key] = sub
            continue
        newer, older = (sub, old) if sub.order > old.order else (old, sub)
        chosen[key] = newer
        problem(
            older.path,
            f"not used: {sub.user} handed in {sub.notebook} again; the grading uses {_told_apart(newer, older)} "
            f"(handed in {newer.when}), not this one{_form_note(older, newer)} (handed in {older.when})",
        )
    graded = [chosen[k] for k in sorted(chosen)]
    for path, message in unusable:
        problem(path, message + _squat_note(path, graded, known))
    for sub in impersonations(graded):
        problem(
            sub.path, f"handed in from the account of {sub.info.os_user}, not of {sub.user}: check with both students"
        )
    return graded


def _form_note(sub: Submission, other: Submission) -> str:
    """How ``sub``'s name differs from ``other``'s when both look the same (NFC vs NFD), else ''."""
    name, other_name = sub.path.name, other.path.name
    if name == other_name or nfc(name) != nfc(other_name):
        return ""
    return " (its name in Unicode NFC)" if name == nfc(name) else " (its name in Unicode NFD, as macOS writes it)"


def _told_apart(sub: Submission, other: Submission) -> str:
    """``sub``'s file name, with the Unicode form when ``other``'s looks the same (issue 12 items 1, 3)."""
    return sub.path.name + _form_note(sub, other)


def directory_close_time(directory: Path) -> float | None:
    """The closing time of a submit directory: ``NB_SUBMITS_CLOSE`` by its volume name, else its close file."""
    from ..environ import NB_SUBMITS_CLOSE, parse_close_times
    from ..submit.targets import close_time_of

    try:
        closes = parse_close_times(os.environ.get(NB_SUBMITS_CLOSE))
    except (IpynbToolsError, ValueError):
        closes = {}
    close = close_time_of(Path(os.path.realpath(directory)), closes)
    return float(close) if close is not None else None


def _squat_note(path: Path, graded: list[Submission], known: list[str]) -> str:
    """For an unusable file another account owns: whose it is, and whether it sits on someone's name."""
    try:
        owner = os.lstat(path).st_uid
    except OSError:
        return ""
    if owner in trusted_owners():
        return ""
    users = {u for b in known for u in name_readings(path.name, b)}
    for sub in graded:
        if sub.user in users and sub.facts.uid != owner:
            return (
                f"; it belongs to {owner_text(owner)}, but {sub.user}'s hand-in ({sub.path.name}) belongs to "
                f"{owner_text(sub.facts.uid)}: a file planted under {sub.user}'s name"
            )
    return f"; it belongs to {owner_text(owner)}"


class _NumberedForWanted(IpynbToolsError):
    """A file whose name fits another notebook but whose cells are numbered for the wanted one."""


def _without_ambiguous_names(
    found: list[Submission], wanted: str, seen: set[str], unusable: list[tuple[Path, str]]
) -> list[Submission]:
    """Only BASE given (extract): a hand-in read by its name alone whose name also fits another
    notebook the class's records or tags name (``kadai_1_alice.ipynb`` beside hand-ins of
    ``kadai_1.ipynb``) is moved to ``unusable`` with every reading, never graded as an invented
    user (issue 12 item 2)."""
    others = sorted(seen - {wanted})
    kept: list[Submission] = []
    for sub in found:
        readings = [(b, u) for b in others for u in name_readings(sub.path.name, b)] if sub.by_name else []
        if not readings:
            kept.append(sub)
            continue
        both = " or ".join(f"user {u!r} of {b}" for b, u in [(sub.notebook, sub.user), *readings])
        unusable.append((sub.path, f"ambiguous name: {both} (no submission record and no filename: tags tell)"))
    return kept


def _one_submission(
    path: Path,
    known: list[str],
    wanted: str | None,
    digest: Callable[[Submission], Any] | None,
    seen: set[str] | None = None,
) -> Submission | None:
    """Read, identify (and digest) one file; None when it is another notebook's; raise on a bad file.

    ``seen`` collects the notebook names the file's record and tags give.
    """
    nbfile = _read_fast(path) if digest is not None else read_notebook_file(path)
    tagged = tagged_notebook_name(nbfile.notebook)
    if seen is not None:
        seen.update(n for n in (tagged, submission_record(nbfile.notebook).source_name) if n)
    try:
        who = identify_submission(path, nbfile.notebook, known)
    except IpynbToolsError as exc:
        if wanted is not None and tagged == wanted:
            # its cells are numbered for the wanted notebook: its problem is reported whatever its name (item 4)
            raise _NumberedForWanted(str(exc)) from None
        raise
    if wanted is not None and who.notebook != wanted:
        return None
    facts = FileFacts.of(path)
    sub = Submission(path, who.user, who.notebook, nbfile.notebook, who.info, len(nbfile.raw), facts.mtime)
    sub.facts = facts
    sub.notes = list(who.notes)
    sub.by_name = tagged is None and not who.info.source_name
    if digest is not None:
        try:
            sub.digest = digest(sub)
        except (TypeError, AttributeError, ValueError, KeyError, RecursionError) as exc:
            # the fast read skipped the full shape check: let it name the problem
            parse_notebook(nbfile.raw, path)
            raise IpynbToolsError(f"cannot be analysed ({type(exc).__name__}: {exc})") from None
        sub.nb = None  # type: ignore[assignment]  # dropped once digested (memory; see Submission.digest)
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
