"""The bounded on-disk spool of the server extension: records wait here until the collector has them.

Layout of the spool directory (mode 0700, default ``~/.ipynb-tools/execlog-spool``):

- ``current.jsonl``: records appended as JSON lines as they are captured (flushed at each append);
- ``<19-digit sequence>.jsonl``: sealed segments, sent oldest first and deleted once the
  collector has answered 2xx; what a crash or a collector outage leaves is sent after restart.

A line cut short by a crash is skipped when read. The spool is bounded: when the sealed segments
exceed ``max_bytes``, the oldest are deleted (and counted in :attr:`Spool.dropped`), so a
collector that stays away cannot fill the user's disk. A record may be sent twice (a crash
between the collector's answer and the deletion); the collector stores it once.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from ..errors import IpynbToolsError, os_reason
from ..fileops import NotRegularFileError, open_no_follow

CURRENT = "current.jsonl"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: A sealed segment's target size: well under the collector's 1 MB body limit.
SEGMENT_BYTES = 256 * 1024


class Spool:
    """A spool directory. Not thread-safe: one thread (the sender's) uses it."""

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.dropped = 0
        self._seq = 0
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.dir.is_symlink() or not self.dir.is_dir():
                raise IpynbToolsError(f"{self.dir}: the execution-log spool must be a directory, not a link")
        except OSError as exc:
            raise IpynbToolsError(f"{self.dir}: cannot make the execution-log spool ({os_reason(exc)})") from None

    @property
    def current(self) -> Path:
        return self.dir / CURRENT

    def append(self, records: list[dict[str, Any]]) -> None:
        """Append records (JSON-ready dicts) to the current segment; seal it when it is big enough."""
        if not records:
            return
        data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode()
        # the spool is in the user's home: no link followed, no wait on a FIFO put there (fileops)
        fd = open_no_follow(self.current, flags=os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotRegularFileError(self.current)
            os.write(fd, data)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size >= SEGMENT_BYTES:
            self.seal()

    def seal(self) -> Path | None:
        """Turn the current segment into a sealed one (if it has anything); enforce the bound."""
        try:
            if self.current.stat().st_size == 0:
                return None
        except FileNotFoundError:
            return None
        self._seq = max(self._seq + 1, time.time_ns())
        target = self.dir / f"{self._seq:019d}.jsonl"
        os.replace(self.current, target)
        self._enforce_bound()
        return target

    def pending(self) -> list[Path]:
        """The sealed segments, oldest first."""
        return sorted(p for p in self.dir.glob("[0-9]*.jsonl") if p.is_file())

    @staticmethod
    def read(segment: Path) -> list[dict[str, Any]]:
        """The records of a segment; lines that are not whole JSON objects (a crash mid-write) are skipped."""
        out = []
        for line in segment.read_bytes().splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    @staticmethod
    def remove(segment: Path) -> None:
        segment.unlink(missing_ok=True)

    def size(self) -> int:
        """Bytes held (sealed segments and the current one)."""
        total = 0
        for p in [*self.pending(), self.current]:
            with contextlib.suppress(FileNotFoundError):
                total += p.stat().st_size
        return total

    def _enforce_bound(self) -> None:
        segments = self.pending()
        sizes = {p: p.stat().st_size for p in segments}
        total = sum(sizes.values())
        for p in segments[:-1]:  # never the newest
            if total <= self.max_bytes:
                break
            self.dropped += len(self.read(p))
            total -= sizes[p]
            self.remove(p)
