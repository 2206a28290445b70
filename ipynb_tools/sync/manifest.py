"""The sync manifest: what was copied, so the next sync tells a student's change from a teacher's.

A hidden JSON file in the personal directory's top level (:data:`MANIFEST_NAME`),
written atomically: per task file, the stat data ("not touched since") and the
content digest (:mod:`.digest`; the fields keep their version-1 names ``src_sha`` and
``dst_sha``) of the task file and of the copy; while a sync is placing a new copy,
that copy's digests as ``pending`` (written before the copy is renamed into place, so
an interrupted sync still recognises its own copy: issue 12, item 11); and for a copy
the student changed, its stat data when it was found changed, as ``kept`` (while the
copy keeps that stat it is kept without being read again).

Read and written in the opened personal directory (``dir_fd``), without following a
link, waiting on a FIFO or reading a file too large to be a record
(:func:`ipynb_tools.fileops.open_regular`, :func:`ipynb_tools.fileops.replace_file`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..atomic import current_umask
from ..errors import os_reason
from ..fileops import open_regular, read_all, replace_file

#: The manifest, hidden in the personal directory's top level.
MANIFEST_NAME = ".ipynb-tools-sync.json"
#: 2: XXH3-128 digests (``xxh128:...``) and ``kept``; version 1's SHA-256 digests are still read.
MANIFEST_VERSION = 2
#: A larger manifest is not read (set aside and rebuilt): about 1,000,000 task files' records.
MANIFEST_MAX_BYTES = 512 << 20

Fingerprint = list[int]


def fingerprint(st: os.stat_result) -> Fingerprint:
    """The stat data that says "not touched since": size, mtime, ctime, inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclass
class Pending:
    """A copy a sync is about to rename into place: the task file's stat and hash, the copy's hash."""

    src: Fingerprint
    src_sha: str
    dst_sha: str


@dataclass
class Entry:
    """What the manifest remembers about one copied file (``src``/``dst`` empty: nothing arrived yet)."""

    src: Fingerprint
    src_sha: str
    dst: Fingerprint
    dst_sha: str
    pending: Pending | None = None
    kept: Fingerprint | None = None  # the stat of the student's changed copy when it was last looked at

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"src": self.src, "src_sha": self.src_sha, "dst": self.dst, "dst_sha": self.dst_sha}
        if self.pending is not None:
            p = self.pending
            data["pending"] = {"src": p.src, "src_sha": p.src_sha, "dst_sha": p.dst_sha}
        if self.kept is not None:
            data["kept"] = self.kept
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Entry:
        """Raises ``KeyError``/``TypeError``/``ValueError`` for a malformed entry."""
        p = data.get("pending")
        pending = None
        if p is not None:
            if not isinstance(p, dict):
                raise TypeError("pending is not an object")
            pending = Pending(_ints(p["src"]), str(p["src_sha"]), str(p["dst_sha"]))
        kept = data.get("kept")
        return cls(
            _ints(data["src"]),
            str(data["src_sha"]),
            _ints(data["dst"]),
            str(data["dst_sha"]),
            pending,
            None if kept is None else _ints(kept),
        )

    def copy(self) -> Entry:
        """An independent copy (the lists are new; a pending record is shared, it is never changed in place)."""
        return Entry(list(self.src), self.src_sha, list(self.dst), self.dst_sha, self.pending, self.kept)


def _ints(value: object) -> Fingerprint:
    """A fingerprint as read (a list; anything else in it only ever compares unequal: "changed")."""
    if type(value) is not list:
        raise TypeError("a fingerprint is not a list")
    return value


def read_manifest(dest: Path, *, dir_fd: int | None = None) -> tuple[dict[str, Entry], str | None]:
    """The manifest of ``dest`` (empty when missing) and the problem when it was unusable.

    With ``dir_fd`` (``dest`` opened), it is read there. A link, a FIFO, a directory, a file
    over :data:`MANIFEST_MAX_BYTES` or garbage at the name is a problem (never followed, never
    waited on, never read whole): the caller sets it aside and rebuilds.
    """
    path = dest / MANIFEST_NAME
    try:
        fd, st = open_regular(MANIFEST_NAME, dir_fd=dir_fd) if dir_fd is not None else open_regular(path)
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"{path}: unusable manifest ({os_reason(exc)})"
    try:
        if st.st_size > MANIFEST_MAX_BYTES:  # a student's 10 GB sparse file must not be read into memory
            return {}, f"{path}: unusable manifest (larger than {MANIFEST_MAX_BYTES >> 20} MB)"
        raw = read_all(fd)
    except OSError as exc:
        return {}, f"{path}: unusable manifest ({os_reason(exc)})"
    finally:
        os.close(fd)
    try:
        data = json.loads(raw)
        files = data["files"]
        return {str(rel): Entry.from_json(e) for rel, e in files.items()}, None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return {}, f"{path}: unusable manifest ({exc.__class__.__name__})"


def write_manifest(
    dest: Path, entries: dict[str, Entry], source: Path, *, dir_fd: int | None = None, durable: bool = True
) -> None:
    """Write the manifest atomically (temp file, fsync, rename; a link at the name is replaced, never followed).

    With ``dir_fd`` (``dest`` opened), it is written there; ``durable=False`` skips the fsync.
    Raises ``OSError``.
    """
    data = {
        "version": MANIFEST_VERSION,
        "source": str(source),
        "files": {rel: entries[rel].to_json() for rel in sorted(entries)},
    }
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    mode = 0o666 & ~current_umask()
    if dir_fd is not None:
        replace_file(MANIFEST_NAME, raw, mode=mode, dir_fd=dir_fd, fsync=durable)
    else:
        replace_file(str(dest / MANIFEST_NAME), raw, mode=mode, fsync=durable)
