"""What the operations return: a submission's receipt, submit_all's report, a listed submission."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import _
from .targets import SubmitTarget

SUBMITTED = "submitted"
UNCHANGED = "unchanged"
FAILED = "failed"


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
        fields = {
            "source": self.source.name,
            "target": self.target,
            "name": self.name,
            "time": self.submitted_at,
            "size": self.size,
            "sha256": self.sha256,
        }
        if self.replaced:
            return (
                _(
                    "submitted %(source)s -> %(target)s/%(name)s at %(time)s: %(size)s bytes, sha256 %(sha256)s "
                    "(replaces your earlier copy, kept)"
                )
                % fields
            )
        return _("submitted %(source)s -> %(target)s/%(name)s at %(time)s: %(size)s bytes, sha256 %(sha256)s") % fields

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
        return _(
            "submitted %(submitted)s, unchanged %(unchanged)s, failed %(failed)s (from %(directory)s to %(target)s)"
        ) % {
            "submitted": self.count(SUBMITTED),
            "unchanged": self.count(UNCHANGED),
            "failed": self.count(FAILED),
            "directory": self.directory,
            "target": self.target.access,
        }


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
        where = _("kept") if self.kept else _("current")
        return f"{where:<7} {self.time}  {self.size:>10}  {self.sha256}  {self.target}/{self.name}"
