"""What one sync did: the action of every task file (SPEC 3.3) and the summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IpynbToolsError

# Actions reported per file.
COPIED = "copied"  # new in the personal directory (or came back after a delete)
UPDATED = "updated"  # the teacher changed it, the student had not
KEPT = "kept"  # the student changed it: their version stays
ADOPTED = "adopted"  # already equal to what would be copied (an earlier cp, an interrupted sync)
MOVED_ASIDE = "moved-aside"  # a student's own entry was in the way; renamed, then copied
UNCHANGED = "unchanged"
SKIPPED = "skipped"  # symlinks and special files in the task volume
FAILED = "failed"
PRUNED = "pruned"  # the sync record's entries naming no task file, dropped (reported on the record's name)


class SyncError(IpynbToolsError):
    """A sync that cannot start (missing source, destination not a directory...)."""


@dataclass
class FileSync:
    """What happened to one task file."""

    rel: str
    action: str
    detail: str = ""


@dataclass
class SyncReport:
    """The per-file results of one sync."""

    source: Path
    dest: Path
    results: list[FileSync] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, action: str) -> int:
        return sum(1 for r in self.results if r.action == action)

    @property
    def changed(self) -> list[FileSync]:
        """Results other than unchanged."""
        return [r for r in self.results if r.action != UNCHANGED]

    @property
    def ok(self) -> bool:
        return self.count(FAILED) == 0

    def summary(self) -> str:
        parts = [
            f"{a} {self.count(a)}"
            for a in (COPIED, UPDATED, KEPT, ADOPTED, MOVED_ASIDE, UNCHANGED, SKIPPED, PRUNED, FAILED)
            if self.count(a)
        ]
        return (
            f"sync {self.source} -> {self.dest}: " + (", ".join(parts) or "nothing to do") + f" ({self.seconds:.2f}s)"
        )
