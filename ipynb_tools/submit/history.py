"""The user's state in their home, ``~/.ipynb-tools``: kept copies, the receipt log, the lock.

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

import contextlib
import fcntl
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes
from ..errors import os_reason
from ..fileops import open_no_follow, write_all
from ..i18n import _
from .errors import SubmitError
from .targets import SubmitTarget
from .times import _iso

#: Per-user state in the contract's state directory (``UserPaths.state``): history, receipt log, lock.
HISTORY_DIR = "submissions"
LOG_FILE = "submit.log"
LOCK_FILE = "submit.lock"


class _UserState:
    """``~/.ipynb-tools``: the per-user lock, the kept copies and the receipt log."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir
        self.fd: int | None = None

    def __enter__(self) -> _UserState:
        try:
            for d in (self.root, self.root / HISTORY_DIR):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(d, 0o700)
            lst = os.lstat(self.root)
            if not stat.S_ISDIR(lst.st_mode) or lst.st_uid != os.geteuid():
                raise SubmitError(
                    _("%(path)s: not a directory of yours; cannot keep your submissions there") % {"path": self.root}
                )
            self.fd = open_no_follow(self.root / LOCK_FILE, flags=os.O_RDWR | os.O_CREAT)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise SubmitError(
                _("%(path)s: cannot keep your submission history there (%(reason)s); nothing was submitted")
                % {"path": self.root, "reason": os_reason(exc)}
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
        fd = open_no_follow(self.root / LOG_FILE, flags=os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            write_all(fd, line)
        finally:
            os.close(fd)


def _stamp_iso(stamp: str) -> str:
    try:
        return _iso(datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC))
    except ValueError:
        return stamp
