"""One lock for tests that add users and groups to this host's /etc/passwd and /etc/group.

Two pytest runs on one machine (developers' parallel worktrees; never CI, which runs one) would
otherwise race: both see a test user missing and one ``useradd`` fails ("UID ... is not unique"),
or one run's teardown deletes users the other is still using. Fixtures that create host users
hold this lock from creation until after their teardown.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

LOCK_PATH = "/run/lock/ipynb-tools-test-users.lock"


@contextmanager
def host_users_lock() -> Iterator[None]:
    """Hold the machine-wide test-users lock (blocking) for the ``with`` body."""
    with open(LOCK_PATH, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
