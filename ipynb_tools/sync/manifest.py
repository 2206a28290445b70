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
from collections.abc import Container, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from ..atomic import current_umask
from ..errors import os_reason
from ..fileops import open_regular, read_all, replace_file

#: The manifest, hidden in the personal directory's top level.
MANIFEST_NAME = ".ipynb-tools-sync.json"
#: 2: XXH3-128 digests (``xxh128:...``) and ``kept``; version 1's SHA-256 digests are still read.
MANIFEST_VERSION = 2
#: A larger manifest is never read (set aside and rebuilt), whatever the task: about 1,000,000 task files' records.
MANIFEST_MAX_BYTES = 512 << 20
#: What a record may hold beyond its task files' entries (bytes; the header, entries of files the
#: teacher removed since the last sync): see :func:`record_limit`.
MANIFEST_BASE_BYTES = 1 << 20
#: The room one task file's entry may take (bytes): an entry with a pending copy and a kept stat is
#: about 400 bytes plus its path (UTF-8).
MANIFEST_BYTES_PER_FILE = 1 << 10


def record_limit(task_files: int) -> int:
    """The largest record (bytes) read for a task of ``task_files`` files: 1 MiB + 1 KiB per file.

    The record only holds entries for the task's files (others are pruned when it is read), so a
    larger one is not sync's: a student's junk (a valid 30 MB record of 2.5 million entries took
    79 s and 506 MB at every start, issue 12 item 9's kind) is set aside without being parsed.
    """
    return min(MANIFEST_MAX_BYTES, MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_FILE * max(0, task_files))


Fingerprint = list[int]


def fingerprint(st: os.stat_result) -> Fingerprint:
    """The stat data that says "not touched since": size, mtime, ctime, inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclass
class Pending:
    """A copy a sync is about to rename into place: the task file's stat and hash, the copy's hash
    and size in bytes (None in records written before the size was: the copy is then read whatever its size),
    and its inode (the temp file's, which the rename keeps; None in older records): a file at the name
    with that inode is the copy that arrived, even when the student has changed its content since."""

    src: Fingerprint
    src_sha: str
    dst_sha: str
    size: int | None = None
    ino: int | None = None


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
            pending: dict[str, object] = {"src": p.src, "src_sha": p.src_sha, "dst_sha": p.dst_sha}
            if p.size is not None:
                pending["size"] = p.size
            if p.ino is not None:
                pending["ino"] = p.ino
            data["pending"] = pending
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
            size, ino = p.get("size"), p.get("ino")
            pending = Pending(
                _ints(p["src"]),
                str(p["src_sha"]),
                str(p["dst_sha"]),
                size if type(size) is int else None,
                ino if type(ino) is int else None,
            )
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


class Manifest(MutableMapping[str, Entry]):
    """The record as read: relative path -> :class:`Entry`, each made from its JSON on first use.

    An unchanged re-sync compares the stat data with the JSON as read (:meth:`unchanged`) and
    makes no entry at all (building 2,000 entries and a copy of them to detect changes was a
    third of a re-sync). An entry whose JSON is malformed counts as no record of that file (what
    setting the whole record aside gave it too) and is dropped at the next write.
    """

    def __init__(self, files: dict[str, object] | None = None, pruned: int = 0) -> None:
        self._raw: dict[str, object] = files if files is not None else {}
        self._entries: dict[str, Entry] = {}
        self._gone: set[str] = set()  # read or dropped keys no longer in the record
        #: Entries of the record as read that named no task file, dropped (written without them).
        self.pruned = pruned

    def unchanged(self, rel: str, src: Fingerprint, dst: Fingerprint) -> bool:
        """True when the record, as read, has ``rel``'s task file and copy with these stats and no pending copy."""
        if rel in self._entries or rel in self._gone:
            return False
        raw = self._raw.get(rel)
        return type(raw) is dict and raw.get("dst") == dst and raw.get("src") == src and "pending" not in raw

    def get(self, rel: str, default: Entry | None = None) -> Entry | None:  # type: ignore[override]
        found = self._entries.get(rel)
        if found is not None or rel in self._gone:
            return found if found is not None else default
        raw = self._raw.get(rel)
        if raw is None:
            return default
        try:
            if not isinstance(raw, dict):
                raise TypeError("an entry is not an object")
            found = self._entries[rel] = Entry.from_json(raw)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            self._gone.add(rel)
            return default
        return found

    def __getitem__(self, rel: str) -> Entry:
        found = self.get(rel)
        if found is None:
            raise KeyError(rel)
        return found

    def __setitem__(self, rel: str, entry: Entry) -> None:
        self._entries[rel] = entry
        self._gone.discard(rel)

    def __delitem__(self, rel: str) -> None:
        if self.get(rel) is None:
            raise KeyError(rel)
        del self._entries[rel]
        self._gone.add(rel)

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from (rel for rel in self._raw if rel not in self._entries and rel not in self._gone)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def changed(self) -> bool:
        """True when the record differs from what was read (an entry changed, added, dropped or pruned)."""
        return (
            bool(self.pruned)
            or any(rel in self._raw for rel in self._gone)
            or any(self._raw.get(rel) != entry.to_json() for rel, entry in self._entries.items())
        )

    def files_json(self) -> dict[str, object]:
        """The ``files`` object to write, sorted by path (entries never made are written as read)."""
        out: dict[str, object] = {rel: entry.to_json() for rel, entry in self._entries.items()}
        for rel, raw in self._raw.items():
            if rel not in out and rel not in self._gone:
                out[rel] = raw
        return {rel: out[rel] for rel in sorted(out)}


def read_manifest(
    dest: Path,
    *,
    dir_fd: int | None = None,
    max_bytes: int = MANIFEST_MAX_BYTES,
    keep: Container[str] | None = None,
) -> tuple[Manifest, str | None]:
    """The manifest of ``dest`` (empty when missing) and the problem when it was unusable.

    With ``dir_fd`` (``dest`` opened), it is read there. A link, a FIFO, a directory, a file
    over ``max_bytes`` (:func:`record_limit` of the task; at most :data:`MANIFEST_MAX_BYTES`)
    or garbage at the name is a problem (never followed, never waited on, never read, or
    parsed, whole): the caller sets it aside and rebuilds. With ``keep`` (the task's relative
    paths), entries naming anything else are dropped as read (:attr:`Manifest.pruned` counts them).
    """
    path = dest / MANIFEST_NAME
    try:
        fd, st = open_regular(MANIFEST_NAME, dir_fd=dir_fd) if dir_fd is not None else open_regular(path)
    except FileNotFoundError:
        return Manifest(), None
    except OSError as exc:
        return Manifest(), f"{path}: unusable manifest ({os_reason(exc)})"
    try:
        max_bytes = min(max_bytes, MANIFEST_MAX_BYTES)
        if st.st_size > max_bytes:  # a student's 10 GB sparse file, or 30 MB of junk, is never read
            return Manifest(), f"{path}: unusable manifest ({st.st_size} bytes, over the {max_bytes} this task allows)"
        # Read no further than the limit: the student can grow the file after the fstat above.
        raw = read_all(fd, max_bytes + 1)
        if len(raw) > max_bytes:
            return (
                Manifest(),
                f"{path}: unusable manifest (grew over the {max_bytes} bytes this task allows as it was read)",
            )
    except OSError as exc:
        return Manifest(), f"{path}: unusable manifest ({os_reason(exc)})"
    finally:
        os.close(fd)
    try:
        # Decoded first: json.loads of bytes decodes with "surrogatepass", twice as slow here.
        files = json.loads(raw.decode())["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
        if keep is None:
            return Manifest(files), None
        kept = {rel: entry for rel, entry in files.items() if rel in keep}
        return Manifest(kept, len(files) - len(kept)), None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # RecursionError: a student's "[[[[...]]]]" nested past the parser's depth limit.
        return Manifest(), f"{path}: unusable manifest ({exc.__class__.__name__})"


def write_manifest(
    dest: Path,
    entries: Manifest | dict[str, Entry],
    source: Path,
    *,
    dir_fd: int | None = None,
    durable: bool = True,
) -> None:
    """Write the manifest atomically (temp file, fsync, rename; a link at the name is replaced, never followed).

    With ``dir_fd`` (``dest`` opened), it is written there; ``durable=False`` skips the fsync.
    Raises ``OSError``.
    """
    files: dict[str, object] = (
        entries.files_json()
        if isinstance(entries, Manifest)
        else {rel: entries[rel].to_json() for rel in sorted(entries)}
    )
    try:
        raw = _encode(files, source)
    except (RecursionError, ValueError):
        # An entry read as JSON and written back as it was can be nested too deep to write
        # again (a student's edit that the parser still took): such entries are dropped, like
        # any malformed entry, rather than failing this write and every later one.
        raw = _encode({rel: entry for rel, entry in files.items() if _encodable(entry)}, source)
    mode = 0o666 & ~current_umask()
    if dir_fd is not None:
        replace_file(MANIFEST_NAME, raw, mode=mode, dir_fd=dir_fd, fsync=durable)
    else:
        replace_file(str(dest / MANIFEST_NAME), raw, mode=mode, fsync=durable)


def _encode(files: dict[str, object], source: Path) -> bytes:
    data = {"version": MANIFEST_VERSION, "source": str(source), "files": files}
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A file name whose bytes are not UTF-8 (a lone surrogate, PEP 383) has no UTF-8 form:
        # escaped as \udcXX, which json.loads reads back as the same name.
        return json.dumps(data, separators=(",", ":")).encode()


def _encodable(value: object, depth: int = 6) -> bool:
    """True when ``value`` nests at most ``depth`` levels (an entry's JSON needs 3), so it can be written."""
    if isinstance(value, dict):
        return depth > 0 and all(_encodable(v, depth - 1) for v in value.values())
    if isinstance(value, list):
        return depth > 0 and all(_encodable(v, depth - 1) for v in value)
    return True
