"""The sync manifest: what was copied, so the next sync tells a student's change from a teacher's.

A hidden JSON file in the personal directory's top level (:data:`MANIFEST_NAME`),
written atomically: per task file, the stat data ("not touched since") and the
SHA-256 of the task file and of the copy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..errors import os_reason
from ..fileops import read_file

#: The manifest, hidden in the personal directory's top level.
MANIFEST_NAME = ".ipynb-tools-sync.json"
MANIFEST_VERSION = 1

Fingerprint = list[int]


def fingerprint(st: os.stat_result) -> Fingerprint:
    """The stat data that says "not touched since": size, mtime, ctime, inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclass
class Entry:
    """What the manifest remembers about one copied file."""

    src: Fingerprint
    src_sha: str
    dst: Fingerprint
    dst_sha: str

    def to_json(self) -> dict[str, object]:
        return {"src": self.src, "src_sha": self.src_sha, "dst": self.dst, "dst_sha": self.dst_sha}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Entry:
        return cls(list(data["src"]), str(data["src_sha"]), list(data["dst"]), str(data["dst_sha"]))  # type: ignore[call-overload]


def read_manifest(dest: Path) -> tuple[dict[str, Entry], str | None]:
    """The manifest of ``dest`` (empty when missing) and a warning when it was unusable."""
    path = dest / MANIFEST_NAME
    try:
        raw = read_file(path)
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"{path}: unusable manifest ({os_reason(exc)}); starting afresh"
    try:
        data = json.loads(raw)
        files = data["files"]
        return {rel: Entry.from_json(e) for rel, e in files.items()}, None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return {}, f"{path}: unusable manifest ({exc.__class__.__name__}); starting afresh"


def write_manifest(dest: Path, entries: dict[str, Entry], source: Path) -> None:
    """Write the manifest atomically."""
    data = {
        "version": MANIFEST_VERSION,
        "source": str(source),
        "files": {rel: entries[rel].to_json() for rel in sorted(entries)},
    }
    atomic_write_bytes(
        dest / MANIFEST_NAME, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), replace_symlink=True
    )
