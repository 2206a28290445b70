"""The sync record's content digest: XXH3-128, written while copying; SHA-256 still read from older records.

What the digest is for: telling "this copy still holds what sync wrote" (follow the task) from
"the student changed it" (never overwrite), and "the task file's content changed" from "only its
stat did". Only an *accidental* equality would break that, and XXH3-128 makes one as unlikely as
SHA-256 does for this use (2^-128 per comparison, on files whose sizes already match). A
*deliberate* collision buys nothing: the only person who can write the copies, and the record,
is the owner of the personal directory, and the most a forged equality does is let the task's
version replace that student's own copy of a task file (SPEC 3.3's guarantee protects a student's
work from the teacher's updates, not from the student); the task volume is the teachers'. So the
record does not need a cryptographic hash, and the one it used cost as much as the copy itself:
SHA-256 runs at ~1.5 GB/s per core with SHA-NI (0.3 GB/s on this shared machine under load),
XXH3-128 at ~6x that (measured: ``benchmarks/sync_bench.py``, docs/container-start.md).

A digest is stored as ``xxh128:<32 hex digits>``; a bare 64-hex-digit string is the SHA-256 of
manifest version 1, still compared (computed then, only for the files whose stat changed), so
an upgrade keeps every copy's history: a copy untouched since an old sync still follows the task.
Where the ``xxhash`` package is missing (an image built from the source without it), SHA-256 is
written instead: slower, the same guarantees, and a later sync with ``xxhash`` reads it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from types import ModuleType
from typing import Protocol

_xxhash: ModuleType | None
try:
    import xxhash as _xxhash
except ImportError:  # pragma: no cover - an image without the dependency: SHA-256 records
    _xxhash = None

#: XXH3-128, recorded with its prefix.
XXH128 = "xxh128"
#: Manifest version 1's digest (bare hex).
SHA256 = "sha256"
#: The digest written now.
WRITTEN = XXH128 if _xxhash is not None else SHA256
_PREFIX = XXH128 + ":"
#: Bytes read, digested and written per step: small enough to stay in the CPU's cache between
#: the digest and the write, large enough that a typical task file takes one read.
CHUNK = 256 << 10


class _Hash(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


def kind(digest: str) -> str:
    """The algorithm of a recorded digest: :data:`XXH128` (prefixed) or :data:`SHA256` (version 1)."""
    return XXH128 if digest.startswith(_PREFIX) else SHA256


def kinds(recorded: Iterable[str]) -> frozenset[str]:
    """The algorithms needed to compare a file with the ``recorded`` digests ("" ignored), :data:`WRITTEN` always."""
    return frozenset({WRITTEN, *(kind(d) for d in recorded if d)})


def comparable(recorded: Iterable[str]) -> bool:
    """True when every ``recorded`` digest ("" ignored) can be computed here (XXH3-128 needs ``xxhash``).

    A copy that only *seems* changed because its digest could not be computed is kept, never
    overwritten, but that verdict must not be remembered (``kept``): a later sync that can
    compute it must look again, or an untouched copy would stop following the task for good.
    """
    return _xxhash is not None or all(kind(d) != XXH128 for d in recorded if d)


class Digests(dict[str, str]):
    """A content's digests by algorithm (at least :data:`WRITTEN`): what it is compared and recorded as."""

    #: Bytes digested (:func:`of_fd`).
    length: int = 0

    @property
    def current(self) -> str:
        """The digest to record (:data:`WRITTEN`)."""
        return self[WRITTEN]

    def matches(self, recorded: str) -> bool:
        """True when ``recorded`` (any known algorithm; "" never matches) is this content's digest."""
        return bool(recorded) and self.get(kind(recorded)) == recorded


def _new(algorithm: str) -> _Hash:
    if algorithm == XXH128 and _xxhash is not None:
        h: _Hash = _xxhash.xxh3_128()
        return h
    return hashlib.sha256()


def _hashes(algorithms: Iterable[str]) -> dict[str, _Hash]:
    """A hash per algorithm; XXH3-128 left out without ``xxhash`` (a digest of it then matches nothing:
    the copy counts as changed, which keeps it, never overwrites it)."""
    return {a: _new(a) for a in algorithms if a != XXH128 or _xxhash is not None}


def _finish(hashes: dict[str, _Hash]) -> Digests:
    return Digests({a: (_PREFIX + h.hexdigest() if a == XXH128 else h.hexdigest()) for a, h in hashes.items()})


def of_bytes(data: bytes, algorithms: Iterable[str] | None = None) -> Digests:
    """The digests of ``data`` (``algorithms``: :data:`WRITTEN` by default)."""
    hashes = _hashes(algorithms or (WRITTEN,))
    for h in hashes.values():
        h.update(data)
    return _finish(hashes)


def of_fd(
    fd: int, algorithms: Iterable[str] | None = None, buf: bytearray | None = None, limit: int | None = None
) -> Digests:
    """The digests of the rest of the open file ``fd`` (read in :data:`CHUNK` pieces; :data:`WRITTEN` by default),
    or of its first ``limit`` bytes; their count is the result's :attr:`Digests.length`."""
    hashes = _hashes(algorithms or (WRITTEN,))
    buf = bytearray(CHUNK) if buf is None else buf
    view = memoryview(buf)
    total = 0
    while n := os.readv(fd, [buf if limit is None or limit - total >= len(buf) else view[: limit - total]]):
        total += n
        for h in hashes.values():
            h.update(view[:n])
    found = _finish(hashes)
    found.length = total
    return found


def copy_fd(src_fd: int, dst_fd: int, buf: bytearray) -> str:
    """Copy the rest of ``src_fd`` to ``dst_fd`` and return the recorded digest of the bytes written.

    One pass: each piece is read into ``buf``, digested and written while it is in the CPU's
    cache, so every byte is read from the source once (measured against an in-kernel
    ``copy_file_range`` followed by a digest that reads the bytes again, and against a digest
    of a memory map, which a concurrent truncation of the task file would turn into SIGBUS).
    """
    h = _new(WRITTEN)
    view = memoryview(buf)
    while n := os.readv(src_fd, [buf]):
        chunk = view[:n]
        h.update(chunk)
        while chunk:
            chunk = chunk[os.write(dst_fd, chunk) :]
        if n < len(buf):
            break  # a short read of a regular file is its end: no read just to be told so
    return _PREFIX + h.hexdigest() if WRITTEN == XXH128 else h.hexdigest()
