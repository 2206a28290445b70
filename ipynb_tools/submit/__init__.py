"""``ipynb_submit``: hand in a notebook without losing or leaking a student's work (SPEC 3.2).

The one implementation behind the ``ipynb_submit`` command and the server
extension's submit endpoint. Public API:

- :func:`submit_notebook` one notebook -> :class:`Receipt`
- :func:`submit_all` every notebook of the personal directory -> :class:`SubmitAllReport`
- :func:`known_targets` the submit directories this user can hand in to -> [:class:`SubmitTarget`]
- :func:`resolve_target` an access name, a path or nothing -> :class:`SubmitTarget`
- :func:`list_submissions` what this user has handed in (and kept) -> [:class:`Submission`]

This package holds the operations above (and :func:`read_log`) and re-exports
every name of its modules' API, one module per concern:

- ``errors``      SubmitError and its kinds
- ``results``     Receipt, SubmitResult, SubmitAllReport, Submission; the submit_all statuses
- ``environment`` the environment mapping, the OS user, home/works/personal directories
- ``times``       UTC moments, ISO stamps, times shown to people
- ``targets``     SubmitTarget, known_targets, resolve_target, closing times (NB_SUBMITS_CLOSE, CLOSE_FILE)
- ``naming``      current_user/check_user, name formats, submission_name
- ``record``      the size limit, build_copy (the metadata record), reading an earlier copy's record
- ``history``     the user's state in the home: kept copies, receipt log, lock
- ``shareddir``   the safe write into the shared 3777 submit directory (its safety design)
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..environ import UserPaths, format_close_time, is_past_close
from ..errors import FileProblem, IpynbToolsError, TooLargeError, os_reason
from ..fileops import fsync_directory_fd, hash_file, read_file, sha256_hex, unlink_quiet
from ..i18n import _
from ..notebook import NOTEBOOK_SUFFIX, read_bytes_safely

# The names in __all__ are the package's API (what the CLI, the server extension and the tests use);
# everything else is imported from its module.
from .environment import _environ, _os_user, personal_dir
from .errors import (
    BadNameError,
    ForeignFileError,
    NotSubmitTargetError,
    SubmitClosedError,
    SubmitError,
    TargetAccessError,
    UnknownTargetError,
)
from .history import HISTORY_DIR, LOG_FILE, _stamp_iso, _UserState
from .naming import (
    PREFIX_FORMAT,
    SUFFIX_FORMAT,
    check_user,
    current_user,
    name_format_from,
    submission_name,
)
from .record import (
    METADATA_KEY,
    SUBMISSION_KEY,
    SubmissionRecord,
    _previous_record,
    build_copy,
    max_submit_bytes,
)
from .results import FAILED, SUBMITTED, UNCHANGED, Receipt, Submission, SubmitAllReport, SubmitResult
from .shareddir import TEMP_PREFIX, TEMP_SUFFIX, _claim_name, _clean_own_temps, _install, _read_own
from .targets import CLOSE_FILE, SubmitTarget, is_submit_volume, known_targets, resolve_target
from .times import _iso, _utc


def submit_notebook(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str] | SubmitTarget | None = None,
    *,
    user: str | None = None,
    name_format: str | None = None,
    now: datetime | float | None = None,
    env: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    skip_unchanged: bool = False,
) -> Receipt:
    """Hand in ``source`` to ``target`` and return the :class:`Receipt`.

    ``target``: an access name, a directory, a :class:`SubmitTarget`, or None
    when exactly one is known. ``user`` defaults to :func:`current_user`.
    ``now`` (for tests and the server) is the submission time. With
    ``skip_unchanged`` a notebook whose source hash equals the current
    submission's is not submitted again (``receipt.unchanged`` is True).
    Raises a :class:`SubmitError` (or a notebook error) with nothing written.
    """
    e = _environ(env)
    user = check_user(user) if user is not None else current_user(e)
    fmt = name_format_from(name_format, e)
    src = Path(source)
    name = submission_name(src.name, user, fmt)
    tgt = target if isinstance(target, SubmitTarget) else resolve_target(target, e, now=now)
    limit = max_submit_bytes(e) if max_bytes is None else max_bytes
    try:
        raw = read_bytes_safely(src, max_bytes=limit)[0]
    except TooLargeError as exc:
        raise TooLargeError(
            src, _("%(problem)s; clear large outputs and submit again") % {"problem": exc.problem}
        ) from None
    source_sha = sha256_hex(raw)

    with _UserState(UserPaths.from_environ(e).state) as state:
        moment = _utc(now) if now is not None else datetime.now(UTC)
        if tgt.close_time is not None and is_past_close(tgt.close_time, moment.timestamp()):
            raise SubmitClosedError(
                _("%(target)s: submissions closed at %(time)s; nothing was submitted")
                % {"target": tgt.access, "time": format_close_time(tgt.close_time, env=e)}
            )
        try:
            dfd = os.open(tgt.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise SubmitError(
                _("%(path)s: cannot open the submit directory (%(reason)s)")
                % {"path": tgt.path, "reason": os_reason(exc)}
            ) from None
        try:
            shown = tgt.path / name

            def receipt_of(when: str, copy: bytes, sha: str, **more: Any) -> Receipt:
                """The receipt for a copy in the submit directory (this one, or the current one when unchanged)."""
                return Receipt(
                    user, os.geteuid(), src, source_sha, tgt.access, tgt.path, shown, name, when, len(copy), sha,
                    close_time=tgt.close_time, **more,
                )  # fmt: skip

            dst = os.fstat(dfd)
            name, existing, taken = _claim_name(dfd, name, tgt.path / name, user)
            shown = tgt.path / name
            previous = _read_own(dfd, name, 4 * limit + (1 << 20)) if existing is not None else None
            prev_source, prev_when = _previous_record(previous)
            unchanged = previous is not None and prev_source == source_sha
            if unchanged and skip_unchanged:
                assert previous is not None and existing is not None
                when = prev_when or _iso(datetime.fromtimestamp(existing.st_mtime, UTC))
                return receipt_of(when, previous, sha256_hex(previous), unchanged=True)
            _clean_own_temps(dfd)
            record = SubmissionRecord(
                user=user,
                os_user=_os_user(),
                uid=os.geteuid(),
                submitted_at=_iso(moment),
                source_name=src.name,
                source_sha256=source_sha,
                target=tgt.access,
                tool=f"ipynb_submit {__version__}",
            )
            data = build_copy(raw, src, record)
            sha = sha256_hex(data)
            previous_kept = None
            if previous is not None and existing is not None:  # a previous copy was read from existing
                prev_time = datetime.fromtimestamp(existing.st_mtime, UTC)
                previous_kept = state.keep(tgt, name, previous, sha256_hex(previous), prev_time)
            kept = state.keep(tgt, name, data, sha, moment)
            try:
                warnings, name = _install(dfd, name, shown, data, dst.st_gid, existing is not None)
                shown = tgt.path / name
                if taken:
                    warnings.insert(0, taken)
            except OSError as exc:
                unlink_quiet(kept)
                raise SubmitError(
                    _("%(path)s: could not write the copy (%(reason)s); nothing was submitted")
                    % {"path": shown, "reason": os_reason(exc)}
                ) from None
            except BaseException:
                unlink_quiet(kept)
                raise
            fsync_directory_fd(dfd)
        finally:
            os.close(dfd)
        if unchanged:
            warnings.append(_("%(name)s: no changes since your last submission") % {"name": src.name})
        receipt = receipt_of(
            _iso(moment),
            data,
            sha,
            replaced=existing is not None,
            unchanged=unchanged,
            kept=kept,
            previous_kept=previous_kept,
            warnings=warnings,
        )
        try:
            state.log({"event": "submit", **receipt.to_json()})
        except OSError as exc:
            receipt.warnings.append(
                _("could not append to %(path)s (%(reason)s)")
                % {"path": state.root / LOG_FILE, "reason": os_reason(exc)}
            )
    return receipt


def notebooks_in(directory: Path) -> list[Path]:
    """The visible ``.ipynb`` regular files (or own symlinks) of ``directory``, sorted."""
    try:
        entries = sorted(os.scandir(directory), key=lambda d: d.name)
    except OSError as exc:
        raise FileProblem(directory, _("cannot list directory (%(reason)s)") % {"reason": os_reason(exc)}) from None
    return [
        Path(e.path)
        for e in entries
        if e.name.endswith(NOTEBOOK_SUFFIX) and not e.name.startswith(".") and (e.is_file() or e.is_symlink())
    ]


def submit_all(
    target: str | os.PathLike[str] | SubmitTarget | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    user: str | None = None,
    name_format: str | None = None,
    now: datetime | float | None = None,
    env: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
) -> SubmitAllReport:
    """Submit every notebook of the personal directory (or ``directory``) to ``target``.

    A notebook identical to its last submission is not submitted again
    (status ``unchanged``, "no changes"); a notebook that fails does not stop
    the others (status ``failed`` with the one-line reason).
    """
    e = _environ(env)
    tgt = target if isinstance(target, SubmitTarget) else resolve_target(target, e, now=now)
    folder = Path(directory) if directory is not None else personal_dir(e)
    report = SubmitAllReport(folder, tgt)
    for path in notebooks_in(folder):
        try:
            receipt = submit_notebook(
                path, tgt, user=user, name_format=name_format, now=now, env=e, max_bytes=max_bytes, skip_unchanged=True
            )
        except SubmitClosedError:
            raise
        except IpynbToolsError as exc:
            report.results.append(SubmitResult(path, FAILED, None, str(exc)))
            continue
        if receipt.unchanged:
            report.results.append(
                SubmitResult(
                    path,
                    UNCHANGED,
                    receipt,
                    _("%(name)s: no changes since your last submission (%(time)s)")
                    % {"name": path.name, "time": receipt.submitted_at},
                )
            )
        else:
            report.results.append(SubmitResult(path, SUBMITTED, receipt, receipt.line()))
    return report


def list_submissions(
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    history: bool = False,
) -> list[Submission]:
    """The user's current submissions in every known target (files they own), and with
    ``history`` the copies kept in ``~/.ipynb-tools/submissions``; time, size, SHA-256."""
    e = _environ(env)
    user = check_user(user) if user is not None else current_user(e)
    result: list[Submission] = []
    for tgt in known_targets(e):
        try:
            entries = sorted(os.scandir(tgt.path), key=lambda d: d.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(NOTEBOOK_SUFFIX):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                continue
            sha = _hash_file(Path(entry.path))
            if sha is None:
                continue
            when = _iso(datetime.fromtimestamp(st.st_mtime, UTC))
            result.append(Submission(tgt.access, Path(entry.path), entry.name, when, st.st_size, sha))
    if history:
        root = UserPaths.from_environ(e).state / HISTORY_DIR
        for folder in _listing(root):
            for path in _listing(folder):
                stamp, _sep, rest = path.name.partition("_")
                name = rest.partition("_")[2]
                sha = _hash_file(path)
                if sha is None:
                    continue
                try:
                    size = os.lstat(path).st_size
                except OSError:
                    continue
                when = _stamp_iso(stamp)
                result.append(Submission(folder.name, path, name, when, size, sha, kept=True))
    return result


def _listing(directory: Path) -> list[Path]:
    """The entries of a directory, sorted; none when it is missing, not a directory or unreadable."""
    try:
        return sorted(Path(entry.path) for entry in os.scandir(directory))
    except OSError:
        return []


def _hash_file(path: Path) -> str | None:
    """The SHA-256 of a regular file (no link followed), or None when it cannot be read."""
    try:
        return hash_file(path)
    except OSError:
        return None


def read_log(env: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """The receipts recorded in ``~/.ipynb-tools/submit.log`` (skipping damaged lines)."""
    path = UserPaths.from_environ(env).state / LOG_FILE
    try:
        # not through a link, never waiting on a FIFO; a damaged byte spoils only its own line
        text = read_file(path).decode("utf-8", "replace")
    except OSError:
        return
    for line in text.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


__all__ = [
    "CLOSE_FILE",
    "FAILED",
    "METADATA_KEY",
    "PREFIX_FORMAT",
    "SUBMISSION_KEY",
    "SUBMITTED",
    "SUFFIX_FORMAT",
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "UNCHANGED",
    "BadNameError",
    "ForeignFileError",
    "NotSubmitTargetError",
    "Receipt",
    "Submission",
    "SubmissionRecord",
    "SubmitAllReport",
    "SubmitClosedError",
    "SubmitError",
    "SubmitResult",
    "SubmitTarget",
    "TargetAccessError",
    "UnknownTargetError",
    "build_copy",
    "check_user",
    "current_user",
    "is_submit_volume",
    "known_targets",
    "list_submissions",
    "max_submit_bytes",
    "name_format_from",
    "personal_dir",
    "read_log",
    "resolve_target",
    "submission_name",
    "submit_all",
    "submit_notebook",
]
