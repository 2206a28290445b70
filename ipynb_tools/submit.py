"""``ipynb_submit``: hand in a notebook without losing or leaking a student's work (SPEC 3.2).

The one implementation behind the ``ipynb_submit`` command and the server
extension's submit endpoint. Public API:

- :func:`submit_notebook` one notebook -> :class:`Receipt`
- :func:`submit_all` every notebook of the personal directory -> :class:`SubmitAllReport`
- :func:`known_targets` the submit directories this user can hand in to -> [:class:`SubmitTarget`]
- :func:`resolve_target` an access name, a path or nothing -> :class:`SubmitTarget`
- :func:`list_submissions` what this user has handed in (and kept) -> [:class:`Submission`]

Safety design, for a shared directory of mode 3777 (setgid + sticky, group
teachers) written by many students at once:

- The copy is built in memory and checked (it must parse back to the student's
  notebook with only the notebook-level ``metadata.ipynb_tools.submission``
  record added), then written to an *anonymous* file in the submit directory
  (``O_TMPFILE``: it has no name until it is complete, so a kill or a full
  disk can never leave a partial notebook there), fsynced, and only then given
  its name. Where ``O_TMPFILE`` is not supported a hidden temp file
  (``O_CREAT|O_EXCL|O_NOFOLLOW``, random name) is used instead; any such
  leftover of the same user is removed by their next submission.
- A new name is made with ``link()``, which fails when the name exists: a
  file or symlink another student plants at the last moment is never replaced
  nor written through. An existing name is replaced (``rename``) only when
  ``lstat`` shows a regular file owned by the submitting user; a symlink (even
  our own), a directory or another user's file is refused with a message
  naming the owner. Nothing ever opens the final name for writing, so no link
  is ever followed. In a sticky directory the kernel would also refuse the
  rename over another user's file; we say so clearly instead of ``EPERM``.
- Mode ``0640`` set explicitly (whatever the umask): the group is the
  directory's (inherited through setgid: the teachers); other users get
  nothing. If the group could not be the directory's, the copy is ``0600`` and
  the receipt carries a warning, because a private primary group shared by
  students must never be able to read it.
- Every submission is also kept in the user's home,
  ``~/.ipynb-tools/submissions/<target>/<UTC stamp>_<sha>_<name>``, before it
  is handed in; a submission that replaces an earlier one first archives the
  earlier file if it is not already there. A JSON-lines receipt log is
  appended to ``~/.ipynb-tools/submit.log``. So a student can always show
  what they handed in, and when, with its SHA-256.
- Submissions of one user are serialised by a lock in their home, so "the
  latest wins": the file in the submit directory is always the one with the
  latest ``submitted_at``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import pwd
import re
import stat
import string
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

from . import __version__
from .atomic import atomic_write_bytes
from .environ import NB_PRSNALS, NB_SUBMITS, NB_SUBMITS_CLOSE, NB_USER, NB_WRKDIR, VOLUMES_DIR, WORKS_RELATIVE
from .environ import parse_close_times, parse_entries
from .errors import FileProblem, IpynbToolsError, TooLargeError
from .notebook import Notebook, check_notebook_shape, notebook_bytes, parse_notebook, read_bytes_safely

NOTEBOOK_SUFFIX = ".ipynb"
#: ``metadata[METADATA_KEY][SUBMISSION_KEY]``: the record in every copy (read by grading/).
METADATA_KEY = "ipynb_tools"
SUBMISSION_KEY = "submission"
#: Name formats; placeholders {stem} {user} {suffix} {name}. The default puts the user last.
SUFFIX_FORMAT = "{stem}_{user}{suffix}"
PREFIX_FORMAT = "{user}_{stem}{suffix}"
NAME_FORMATS = {"suffix": SUFFIX_FORMAT, "prefix": PREFIX_FORMAT}
DEFAULT_NAME_FORMAT = SUFFIX_FORMAT
#: Environment variables of this tool.
ENV_NAME_FORMAT = "IPYNB_SUBMIT_NAME_FORMAT"
ENV_MAX_MB = "IPYNB_SUBMIT_MAX_MB"
#: Default size limit of a submitted notebook.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: A file in the submit volume giving its closing time (unix time or ISO 8601; naive = UTC).
#: Trusted only when owned by root or by the directory's owner (students can create files there).
CLOSE_FILE = ".ipynb_submit_close"
#: Per-user state in the home: history, receipt log, lock.
STATE_DIR = ".ipynb-tools"
HISTORY_DIR = "submissions"
LOG_FILE = "submit.log"
LOCK_FILE = "submit.lock"
TEMP_PREFIX = ".ipynb_submit."
TEMP_SUFFIX = ".tmp"
NAME_MAX = 255

SUBMITTED = "submitted"
UNCHANGED = "unchanged"
FAILED = "failed"


# -- errors --------------------------------------------------------------------------------
class SubmitError(IpynbToolsError):
    """A submission that cannot be made; nothing was written to the submit directory."""


class UnknownTargetError(SubmitError):
    """TARGET names no known submit directory (the message lists the known ones)."""


class SubmitClosedError(SubmitError):
    """The target's closing time has passed."""


class BadNameError(SubmitError):
    """A user name, file name or name format that would not give one safe file name."""


class ForeignFileError(FileProblem, SubmitError):
    """The final name is taken by something the submitting user does not own (or by a symlink)."""


# -- values --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubmitTarget:
    """A submit directory: access name, path, full volume name, closing time."""

    access: str
    path: Path
    full_name: str | None = None
    close_time: int | None = None
    #: Where it is known from: "env" (NB_SUBMITS), "link" (works directory) or "path" (given).
    source: str = "env"
    closed: bool = False

    @property
    def exists(self) -> bool:
        return self.path.is_dir()

    @property
    def key(self) -> str:
        """A stable name for the history directory."""
        return _safe_component(self.full_name or self.access or self.path.name)

    def close_text(self) -> str:
        return format_time(self.close_time) if self.close_time is not None else ""


@dataclass
class Receipt:
    """What a submission did: who, what, where, when, size and hashes."""

    user: str
    uid: int
    source: Path
    source_sha256: str
    target: str
    target_path: Path
    path: Path
    name: str
    submitted_at: str
    size: int
    sha256: str
    replaced: bool = False
    unchanged: bool = False
    kept: Path | None = None
    previous_kept: Path | None = None
    close_time: int | None = None
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one receipt line printed to the student."""
        again = " (replaces your earlier copy, kept)" if self.replaced else ""
        return (
            f"submitted {self.source.name} -> {self.target}/{self.name} at {self.submitted_at}: "
            f"{self.size} bytes, sha256 {self.sha256}{again}"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        return data


@dataclass
class SubmitResult:
    """One notebook of :func:`submit_all`."""

    source: Path
    status: str
    receipt: Receipt | None = None
    message: str = ""


@dataclass
class SubmitAllReport:
    """What :func:`submit_all` did for each notebook of the personal directory."""

    directory: Path
    target: SubmitTarget
    results: list[SubmitResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count(FAILED) == 0

    def summary(self) -> str:
        return (
            f"submitted {self.count(SUBMITTED)}, unchanged {self.count(UNCHANGED)}, "
            f"failed {self.count(FAILED)} (from {self.directory} to {self.target.access})"
        )


@dataclass(frozen=True)
class Submission:
    """A notebook the user has handed in: current (in a submit directory) or kept (in the home)."""

    target: str
    path: Path
    name: str
    time: str
    size: int
    sha256: str
    kept: bool = False

    def line(self) -> str:
        where = "kept   " if self.kept else "current"
        return f"{where} {self.time}  {self.size:>10}  {self.sha256}  {self.target}/{self.name}"


# -- environment ---------------------------------------------------------------------------
def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def current_user(env: Mapping[str, str] | None = None) -> str:
    """``$JUPYTERHUB_USER``, then ``$NB_USER``, then the OS user; checked by :func:`check_user`."""
    e = _environ(env)
    name = e.get("JUPYTERHUB_USER") or e.get(NB_USER) or _os_user()
    return check_user(name)


def _os_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def check_user(name: str) -> str:
    """Refuse a user name that cannot be part of one file name (``/``, ``..``, control chars...)."""
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name:
        raise BadNameError(f"user name {name!r} cannot be used in a file name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadNameError(f"user name {name!r} contains control characters")
    return name


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$HOME``, else the password entry's home."""
    e = _environ(env)
    if e.get("HOME"):
        return Path(e["HOME"])
    try:
        return Path(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        return Path(os.path.expanduser("~"))


def works_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$NB_WRKDIR``, else ``~/jupyter/works``."""
    e = _environ(env)
    return Path(e[NB_WRKDIR]) if e.get(NB_WRKDIR) else home_dir(env) / WORKS_RELATIVE


def personal_dir(env: Mapping[str, str] | None = None) -> Path:
    """The personal directory: the first ``NB_PRSNALS`` volume, else the current directory."""
    entries = parse_entries(_environ(env).get(NB_PRSNALS))
    if not entries:
        return Path.cwd()
    works = works_dir(env)
    mount = works / entries[0].mount_relative
    if mount.is_dir():
        return mount
    link = works / entries[0].link_name
    return link if link.is_dir() else mount


# -- time ----------------------------------------------------------------------------------
def _utc(now: datetime | float | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if isinstance(now, (int, float)):
        return datetime.fromtimestamp(now, timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def format_time(unix: float) -> str:
    """``2024-05-01 12:00 UTC`` plus the local time when the local zone is not UTC."""
    utc = datetime.fromtimestamp(unix, timezone.utc)
    text = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    local = datetime.fromtimestamp(unix).astimezone()
    if local.utcoffset():
        text += local.strftime(" (%Y-%m-%d %H:%M:%S %Z)")
    return text


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_close_value(text: str) -> int:
    """A closing time: unix seconds or ISO 8601 (naive means UTC)."""
    text = text.strip()
    try:
        return int(float(text))
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _close_from_file(directory: Path) -> int | None:
    """The closing time written in ``<directory>/.ipynb_submit_close`` by a teacher or root."""
    path = directory / CLOSE_FILE
    try:
        lst = os.lstat(path)
        owner = os.stat(directory).st_uid
    except OSError:
        return None
    if not stat.S_ISREG(lst.st_mode) or lst.st_uid not in (0, owner):
        return None  # planted by a student, or a symlink: ignored
    try:
        raw, _ = read_bytes_safely(path, max_bytes=4096, follow_symlinks=False)
        return parse_close_value(raw.decode("utf-8"))
    except (IpynbToolsError, ValueError, UnicodeDecodeError):
        return None


# -- targets -------------------------------------------------------------------------------
def known_targets(env: Mapping[str, str] | None = None, *, now: datetime | float | None = None) -> list[SubmitTarget]:
    """The submit directories known from ``NB_SUBMITS`` and from links in the works directory.

    A link in the works directory counts when it points to a sticky directory
    (submit volumes are 3777; task volumes are 2775). Closing times come from
    ``NB_SUBMITS_CLOSE`` (by full volume name), else from the volume's
    ``.ipynb_submit_close`` file.
    """
    e = _environ(env)
    works = works_dir(env)
    closes = parse_close_times(e.get(NB_SUBMITS_CLOSE))
    moment = _utc(now).timestamp()
    found: list[SubmitTarget] = []
    seen: set[str] = set()

    def add(access: str, path: Path, full: str | None, source: str) -> None:
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        close = closes.get(full) if full else None
        if close is None:
            close = closes.get(os.path.basename(real))
        if close is None:
            close = _close_from_file(Path(real))
        found.append(SubmitTarget(access, path, full, close, source, close is not None and moment >= close))

    for entry in parse_entries(e.get(NB_SUBMITS)):
        add(entry.link_name, works / entry.mount_relative, entry.full_name, "env")
    try:
        entries = sorted(os.scandir(works), key=lambda d: d.name)
    except OSError:
        entries = []
    for item in entries:
        if not item.is_symlink() or item.name.startswith("."):
            continue
        try:
            st = os.stat(item.path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            real = Path(os.path.realpath(item.path))
            full = real.name if real.parent.name == VOLUMES_DIR else None
            add(item.name, Path(item.path), full, "link")
    return found


def resolve_target(
    target: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None = None,
    *,
    now: datetime | float | None = None,
) -> SubmitTarget:
    """An access name, a directory path, or None when exactly one target is known."""
    targets = known_targets(env, now=now)
    if target is None or target == "":
        if len(targets) == 1:
            return _check_exists(targets[0])
        if not targets:
            raise UnknownTargetError(
                f"no submit target known ({NB_SUBMITS} is empty and {works_dir(env)} has no submit links); "
                "give the submit directory"
            )
        raise UnknownTargetError(f"several submit targets; choose one of: {_names(targets)}")
    text = os.fspath(target)
    for t in targets:
        if text in (t.access, t.full_name):
            return _check_exists(t)
    path = Path(text).expanduser()
    if path.is_dir():
        real = os.path.realpath(path)
        for t in targets:
            if os.path.realpath(t.path) == real:
                return t
        closes = parse_close_times(_environ(env).get(NB_SUBMITS_CLOSE))
        close = closes.get(os.path.basename(real))
        if close is None:
            close = _close_from_file(Path(real))
        closed = close is not None and _utc(now).timestamp() >= close
        return SubmitTarget(path.name or text, path, None, close, "path", closed)
    known = f"; known targets: {_names(targets)}" if targets else f" (no submit targets known in {works_dir(env)})"
    raise UnknownTargetError(f"unknown submit target {text!r}{known}")


def _names(targets: list[SubmitTarget]) -> str:
    return ", ".join(t.access for t in targets)


def _check_exists(t: SubmitTarget) -> SubmitTarget:
    if not t.exists:
        raise SubmitError(f"{t.access}: submit directory {t.path} does not exist (volume not mounted?)")
    return t


# -- names ---------------------------------------------------------------------------------
def name_format_from(name_format: str | None, env: Mapping[str, str] | None = None) -> str:
    """The name format in force: argument, ``$IPYNB_SUBMIT_NAME_FORMAT``, default (suffix)."""
    fmt = name_format or _environ(env).get(ENV_NAME_FORMAT) or DEFAULT_NAME_FORMAT
    return NAME_FORMATS.get(fmt, fmt)


def submission_name(source_name: str, user: str, name_format: str | None = None) -> str:
    """``kadai-1.ipynb`` + ``alice`` -> ``kadai-1_alice.ipynb`` (or as ``name_format`` says).

    The result must be one visible ``.ipynb`` file name that contains the user
    name; anything else (a ``/``, ``..``, a hidden name, a format without
    ``{user}``) is refused.
    """
    check_user(user)
    fmt = NAME_FORMATS.get(name_format or DEFAULT_NAME_FORMAT, name_format or DEFAULT_NAME_FORMAT)
    base = os.path.basename(source_name)
    if not base.endswith(NOTEBOOK_SUFFIX) or base == NOTEBOOK_SUFFIX:
        raise BadNameError(f"{source_name}: only .ipynb notebooks can be submitted")
    fields = {"stem": base[: -len(NOTEBOOK_SUFFIX)], "user": user, "suffix": NOTEBOOK_SUFFIX, "name": base}
    used = set()
    try:
        for _, field_name, spec, conv in string.Formatter().parse(fmt):
            if field_name is None:
                continue
            if field_name not in fields or spec or conv:
                raise BadNameError(f"name format {fmt!r}: use only {{stem}} {{user}} {{suffix}} {{name}}")
            used.add(field_name)
    except ValueError as exc:
        raise BadNameError(f"name format {fmt!r} is not valid ({exc})") from None
    if "user" not in used:
        raise BadNameError(f"name format {fmt!r} must contain {{user}} (or students would overwrite each other)")
    name = fmt.format_map(fields)
    if not name.endswith(NOTEBOOK_SUFFIX):
        name += NOTEBOOK_SUFFIX
    if "/" in name or "\0" in name or name in (".", "..") or name.startswith("."):
        raise BadNameError(f"submission name {name!r} would not be a visible file in the submit directory")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadNameError(f"submission name {name!r} contains control characters")
    if len(name.encode("utf-8")) > NAME_MAX:
        raise BadNameError(f"submission name {name!r} is too long for a file name")
    return name


def _safe_component(text: str) -> str:
    return re.sub(r"[/\x00-\x1f]", "_", text).lstrip(".") or "_"


# -- the copy ------------------------------------------------------------------------------
def max_submit_bytes(env: Mapping[str, str] | None = None) -> int:
    """``$IPYNB_SUBMIT_MAX_MB`` or 20 MB."""
    value = _environ(env).get(ENV_MAX_MB)
    if value:
        try:
            return int(float(value) * 1024 * 1024)
        except ValueError:
            raise SubmitError(f"{ENV_MAX_MB}={value!r} is not a number of megabytes") from None
    return DEFAULT_MAX_BYTES


def build_copy(raw: bytes, name: str | os.PathLike[str], record: dict[str, Any]) -> bytes:
    """The submitted bytes: ``raw`` with ``record`` at ``metadata.ipynb_tools.submission``.

    Fast path: the top-level object is walked with the json scanner and only the
    ``metadata`` value is re-serialised, in the indentation the file uses; the
    cells stay byte for byte (for a notebook Jupyter wrote, the result is what
    ``dumps_notebook`` would give). Whenever the layout is unusual (duplicate
    keys, no metadata...) the whole notebook is re-serialised with
    :func:`notebook_bytes` instead. Re-serialising 1 MB with ``indent=1`` takes
    longer than the rest of a submission (json's C encoder does not indent),
    which is why the fast path exists (benchmarks/submit_startup.py).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        parse_notebook(raw, name)  # raises the clear error
        raise
    top = _walk_top(text)
    if top is None:
        nb = parse_notebook(raw, name)
        return notebook_bytes(_with_record(nb, record))
    values, spans, indent = top
    check_notebook_shape(values, name)
    expected = _with_record(values, record)
    if "metadata" in spans:
        start, end = spans["metadata"]
        meta = expected["metadata"]
        if indent is not None:
            meta_text = json.dumps(meta, indent=indent, sort_keys=True, ensure_ascii=False).replace("\n", "\n" + indent)
        else:
            meta_text = json.dumps(meta, sort_keys=True, ensure_ascii=False)
        # Replacing one JSON value by another in a valid document keeps it valid; the
        # spans come from the decoder itself, so checking the new value is enough.
        if json.loads(meta_text) == meta:
            bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
            bstart = bom + (start if text.isascii() else len(text[:start].encode("utf-8")))
            bend = bstart + len(text[start:end].encode("utf-8"))
            return raw[bom:bstart] + meta_text.encode("utf-8") + raw[bend:]
    return notebook_bytes(expected)


_WS = re.compile(r"[ \t\n\r]*")


def _walk_top(text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]], str | None] | None:
    """Top-level keys of a JSON object with the span of each value, and the indent unit; None if unusual."""
    from json.decoder import scanstring

    decoder = json.JSONDecoder()
    try:
        i = _WS.match(text, 0).end()  # type: ignore[union-attr]
        if text[i] != "{":
            return None
        i += 1
        values: dict[str, Any] = {}
        spans: dict[str, tuple[int, int]] = {}
        indent: str | None = None
        while True:
            j = _WS.match(text, i).end()  # type: ignore[union-attr]
            if text[j] == "}" and not values:
                end = j
                break
            if text[j] != '"':
                return None
            if indent is None and not values:
                lead = text[i:j]
                indent = lead.rsplit("\n", 1)[1] if "\n" in lead else None
                if indent is not None and indent.strip(" \t"):
                    return None
            key, k = scanstring(text, j + 1)
            k = _WS.match(text, k).end()  # type: ignore[union-attr]
            if text[k] != ":":
                return None
            start = _WS.match(text, k + 1).end()  # type: ignore[union-attr]
            value, stop = decoder.raw_decode(text, start)
            if key in values:
                return None  # duplicate keys: let the plain path decide
            values[key] = value
            spans[key] = (start, stop)
            n = _WS.match(text, stop).end()  # type: ignore[union-attr]
            if text[n] == ",":
                i = n + 1
                continue
            if text[n] == "}":
                end = n
                break
            return None
        if text[end + 1:].strip(" \t\n\r"):
            return None
        return values, spans, indent or None
    except (ValueError, IndexError, RecursionError):
        return None


def _with_record(nb: Notebook, record: dict[str, Any]) -> Notebook:
    """A shallow copy of ``nb`` whose metadata carries the submission record (cells untouched)."""
    out = dict(nb)
    meta = dict(out.get("metadata") or {})
    ours = meta.get(METADATA_KEY)
    ours = dict(ours) if isinstance(ours, dict) else {}
    ours[SUBMISSION_KEY] = record
    meta[METADATA_KEY] = ours
    out["metadata"] = meta
    return out


# -- state in the home ---------------------------------------------------------------------
class _UserState:
    """``~/.ipynb-tools``: the per-user lock, the kept copies and the receipt log."""

    def __init__(self, home: Path) -> None:
        self.root = home / STATE_DIR
        self.fd: int | None = None

    def __enter__(self) -> "_UserState":
        try:
            for d in (self.root, self.root / HISTORY_DIR):
                try:
                    os.mkdir(d, 0o700)
                except FileExistsError:
                    pass
            lst = os.lstat(self.root)
            if not stat.S_ISDIR(lst.st_mode) or lst.st_uid != os.geteuid():
                raise SubmitError(f"{self.root}: not a directory of yours; cannot keep your submissions there")
            self.fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise SubmitError(
                f"{self.root}: cannot keep your submission history there ({exc.strerror or exc}); nothing was submitted"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None

    def history(self, target: SubmitTarget) -> Path:
        d = self.root / HISTORY_DIR / target.key
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    def keep(self, target: SubmitTarget, name: str, data: bytes, sha: str, moment: datetime) -> Path:
        """Store ``data`` as ``<stamp>_<sha12>_<name>`` unless a copy with this hash and name is kept."""
        d = self.history(target)
        tag = f"_{sha[:12]}_{name}"
        for existing in d.iterdir():
            if existing.name.endswith(tag):
                return existing
        path = d / (moment.strftime("%Y%m%dT%H%M%S.%fZ") + tag)
        atomic_write_bytes(path, data, mode=0o600)
        return path

    def log(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.root / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


# -- writing into the shared directory -----------------------------------------------------
def _owner_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _check_final(dfd: int, name: str, shown: Path) -> os.stat_result | None:
    """None when ``name`` is free; its lstat when it is our own regular file; else refuse."""
    try:
        st = os.lstat(name, dir_fd=dfd)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise ForeignFileError(
            shown, f"is a symlink made by {_owner_name(st.st_uid)}; not writing through or over it (ask a teacher to remove it)"
        )
    if not stat.S_ISREG(st.st_mode):
        raise ForeignFileError(shown, "exists and is not a regular file; not replacing it (ask a teacher)")
    if st.st_uid != os.geteuid():
        raise ForeignFileError(
            shown, f"belongs to {_owner_name(st.st_uid)}; not replacing another user's file (ask a teacher)"
        )
    return st


def _read_own(dfd: int, name: str, limit: int) -> bytes | None:
    """Our earlier submission's bytes (opened without following links), or None."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dfd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > limit:
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


_RECORD_SHA = re.compile(rb'"source_sha256": *"([0-9a-f]{64})"')


def _previous_record(data: bytes | None) -> tuple[str | None, str | None]:
    """(source_sha256, submitted_at) of our earlier copy, without parsing all of it.

    The record sits in the notebook-level metadata, which follows the cells in
    the sorted layout, so the last occurrence is ours; a miss only means no
    "no changes" warning.
    """
    if not data:
        return None, None
    matches = list(_RECORD_SHA.finditer(data, max(0, len(data) - 8192)))
    if not matches:
        return None, None
    when = re.findall(rb'"submitted_at": *"([0-9T:.Z-]+)"', data[max(0, len(data) - 8192):])
    return matches[-1].group(1).decode(), (when[-1].decode() if when else None)


def _clean_own_temps(dfd: int) -> None:
    """Remove hidden temp files this user left behind (a killed submission); we hold the user lock."""
    prefix = f"{TEMP_PREFIX}{os.geteuid()}."
    try:
        names = [n for n in os.listdir(dfd) if n.startswith(prefix) and n.endswith(TEMP_SUFFIX)]
    except OSError:
        return
    for n in names:
        try:
            st = os.lstat(n, dir_fd=dfd)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                os.unlink(n, dir_fd=dfd)
        except OSError:
            pass


def _temp_name() -> str:
    return f"{TEMP_PREFIX}{os.geteuid()}.{os.urandom(8).hex()}{TEMP_SUFFIX}"


def _write_complete(dfd: int, dir_gid: int, data: bytes) -> tuple[int, str | None, list[str]]:
    """An fd of a complete, fsynced, 0640 file in the directory: anonymous if possible, else a temp name."""
    warnings: list[str] = []
    temp: str | None = None
    try:
        fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dfd)
    except (OSError, AttributeError):
        temp = _temp_name()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        mode = 0o640
        if os.fstat(fd).st_gid != dir_gid:
            try:
                os.fchown(fd, -1, dir_gid)
            except OSError:
                mode = 0o600
                warnings.append(
                    "the copy could not get the submit directory's group; it is private (0600) and teachers may not read it"
                )
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        if temp is not None:
            _unlink_quiet(dfd, temp)
        raise
    return fd, temp, warnings


def _unlink_quiet(dfd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dfd)
    except OSError:
        pass


def _link_new(dfd: int, fd: int, temp: str | None, name: str) -> None:
    """Give the complete file the name ``name``, failing if the name exists (never replaces)."""
    if temp is None:
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dfd, follow_symlinks=True)
    else:
        try:
            os.link(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
        finally:
            _unlink_quiet(dfd, temp)


def _replace_own(dfd: int, fd: int, temp: str | None, name: str) -> None:
    """Rename the complete file over our own earlier submission ``name``."""
    if temp is None:
        temp = _temp_name()
        os.link(f"/proc/self/fd/{fd}", temp, dst_dir_fd=dfd, follow_symlinks=True)
    try:
        os.rename(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        _unlink_quiet(dfd, temp)
        raise


def _install(dfd: int, name: str, shown: Path, data: bytes, dir_gid: int, expect_own: bool) -> list[str]:
    """Write ``data`` and give it the name ``name`` in the directory ``dfd`` (see the module doc)."""
    fd, temp, warnings = _write_complete(dfd, dir_gid, data)
    try:
        try:
            if expect_own and _check_final(dfd, name, shown) is not None:
                _replace_own(dfd, fd, temp, name)
            else:
                _link_new(dfd, fd, temp, name)
        except FileExistsError:
            _check_final(dfd, name, shown)  # someone made it just now: say who
            raise SubmitError(f"{shown}: appeared while submitting; try again") from None
        except PermissionError:
            _check_final(dfd, name, shown)
            raise SubmitError(f"{shown}: permission denied by the submit directory") from None
    except BaseException:
        if temp is not None:
            _unlink_quiet(dfd, temp)  # a named temp is ours alone: never leave it behind on failure
        raise
    finally:
        os.close(fd)
    return warnings


# -- the submissions -----------------------------------------------------------------------
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
        raw, _ = read_bytes_safely(src, max_bytes=limit)
    except TooLargeError as exc:
        raise TooLargeError(src, f"{exc.problem}; clear large outputs and submit again") from None
    source_sha = hashlib.sha256(raw).hexdigest()

    with _UserState(home_dir(e)) as state:
        moment = _utc(now) if now is not None else datetime.now(timezone.utc)
        if tgt.close_time is not None and moment.timestamp() >= tgt.close_time:
            raise SubmitClosedError(f"{tgt.access}: submissions closed at {format_time(tgt.close_time)}; nothing was submitted")
        try:
            dfd = os.open(tgt.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise SubmitError(f"{tgt.path}: cannot open the submit directory ({exc.strerror or exc})") from None
        try:
            shown = tgt.path / name
            dst = os.fstat(dfd)
            existing = _check_final(dfd, name, shown)
            previous = _read_own(dfd, name, 4 * limit + (1 << 20)) if existing is not None else None
            prev_source, prev_when = _previous_record(previous)
            unchanged = previous is not None and prev_source == source_sha
            if unchanged and skip_unchanged:
                assert previous is not None and existing is not None
                return Receipt(
                    user, os.geteuid(), src, source_sha, tgt.access, tgt.path, shown, name,
                    prev_when or _iso(datetime.fromtimestamp(existing.st_mtime, timezone.utc)),
                    len(previous), hashlib.sha256(previous).hexdigest(), unchanged=True, close_time=tgt.close_time,
                )
            _clean_own_temps(dfd)
            record = {
                "user": user,
                "os_user": _os_user(),
                "uid": os.geteuid(),
                "submitted_at": _iso(moment),
                "source_name": src.name,
                "source_sha256": source_sha,
                "target": tgt.access,
                "tool": f"ipynb_submit {__version__}",
            }
            data = build_copy(raw, src, record)
            sha = hashlib.sha256(data).hexdigest()
            previous_kept = None
            if previous is not None:
                prev_time = datetime.fromtimestamp(existing.st_mtime, timezone.utc)  # type: ignore[union-attr]
                previous_kept = state.keep(tgt, name, previous, hashlib.sha256(previous).hexdigest(), prev_time)
            kept = state.keep(tgt, name, data, sha, moment)
            try:
                warnings = _install(dfd, name, shown, data, dst.st_gid, existing is not None)
            except OSError as exc:
                _unlink_quiet_path(kept)
                reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
                raise SubmitError(f"{shown}: could not write the copy ({reason}); nothing was submitted") from None
            except BaseException:
                _unlink_quiet_path(kept)
                raise
            try:
                os.fsync(dfd)
            except OSError:
                pass
        finally:
            os.close(dfd)
        if unchanged:
            warnings.append(f"{src.name}: no changes since your last submission")
        receipt = Receipt(
            user, os.geteuid(), src, source_sha, tgt.access, tgt.path, shown, name, _iso(moment), len(data), sha,
            replaced=existing is not None, unchanged=unchanged, kept=kept, previous_kept=previous_kept,
            close_time=tgt.close_time, warnings=warnings,
        )
        try:
            state.log({"event": "submit", **receipt.to_json()})
        except OSError as exc:
            receipt.warnings.append(f"could not append to {state.root / LOG_FILE} ({exc.strerror or exc})")
    return receipt


def _unlink_quiet_path(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def notebooks_in(directory: Path) -> list[Path]:
    """The visible ``.ipynb`` regular files (or own symlinks) of ``directory``, sorted."""
    try:
        entries = sorted(os.scandir(directory), key=lambda d: d.name)
    except OSError as exc:
        raise FileProblem(directory, f"cannot list directory ({exc.strerror or exc})") from None
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
                SubmitResult(path, UNCHANGED, receipt, f"{path.name}: no changes since your last submission ({receipt.submitted_at})")
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
            when = _iso(datetime.fromtimestamp(st.st_mtime, timezone.utc))
            result.append(Submission(tgt.access, Path(entry.path), entry.name, when, st.st_size, sha))
    if history:
        root = home_dir(e) / STATE_DIR / HISTORY_DIR
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                stamp, _, rest = path.name.partition("_")
                _, _, name = rest.partition("_")
                sha = _hash_file(path)
                if sha is None:
                    continue
                when = _stamp_iso(stamp)
                result.append(Submission(folder.name, path, name, when, path.stat().st_size, sha, kept=True))
    return result


def _stamp_iso(stamp: str) -> str:
    try:
        return _iso(datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=timezone.utc))
    except ValueError:
        return stamp


def _hash_file(path: Path) -> str | None:
    try:
        raw, _ = read_bytes_safely(path, max_bytes=1 << 40, follow_symlinks=False)
    except IpynbToolsError:
        return None
    return hashlib.sha256(raw).hexdigest()


def read_log(env: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """The receipts recorded in ``~/.ipynb-tools/submit.log`` (skipping damaged lines)."""
    path = home_dir(env) / STATE_DIR / LOG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


__all__ = [
    "Receipt", "SubmitTarget", "SubmitResult", "SubmitAllReport", "Submission",
    "SubmitError", "UnknownTargetError", "SubmitClosedError", "BadNameError", "ForeignFileError",
    "submit_notebook", "submit_all", "known_targets", "resolve_target", "list_submissions", "read_log",
    "submission_name", "current_user", "check_user", "personal_dir", "works_dir", "home_dir",
    "name_format_from", "max_submit_bytes", "build_copy", "format_time", "parse_close_value",
]
