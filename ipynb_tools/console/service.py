"""The running console's shared parts: settings, launches store, hub API client, engine, LMS, viewers.

One :class:`Console` per process, made by :func:`ipynb_tools.console.app.make_app` and reached by
every handler as ``self.console``. Slow or optional parts (the container engine, the Moodle
database) are opened on first use, so a console without an engine or an LMS still serves the pages
that need neither.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .access import Viewer
from .config import ConsoleConfig
from .hubapi import HubAPI
from .launches import LaunchStore

if TYPE_CHECKING:
    from ..lms.database import MoodleDatabase
    from ..volumes.engine import Engine

#: How long a viewer's hub admin flag is reused (seconds): a hub admin made or unmade shows within this
#: time. The courses taught are read from the launch store on every request, so a teacher's new launch
#: opens its course's pages at once.
VIEWER_TTL = 30.0


class Console:
    """What the handlers share (see the module docstring)."""

    def __init__(self, config: ConsoleConfig, *, store: LaunchStore | None = None, hub: HubAPI | None = None) -> None:
        self.config = config
        self.store = store if store is not None else LaunchStore.open(config.launches_url)
        self.hub = hub if hub is not None else HubAPI(config.hub_api_url, config.hub_api_token)
        self._engine: Engine | None = None
        self._admins: dict[str, tuple[float, bool]] = {}

    def engine(self) -> Engine:
        """The container engine of the volumes (connected on first use); EngineError when unreachable."""
        if self._engine is None:
            from ..volumes.engine import connect

            self._engine = connect(self.config.engine_url or None, use_ssh_client=self.config.engine_ssh_client)
        return self._engine

    def moodle(self) -> MoodleDatabase:
        """A new connection to the Moodle database (the LMS adapter); the caller closes it.

        Raises :class:`~ipynb_tools.errors.UsageError` when the LMS adapter is not configured.
        """
        import os

        from ..lms.database import open_moodle

        return open_moodle(
            moodle_config=self.config.moodle_config or None,
            db=self.config.lms_db or None,
            prefix=self.config.lms_prefix or None,
            wwwroot=self.config.lms_wwwroot or None,
            password=os.environ.get("IPYNB_TOOLS_MOODLE_DB_PASSWORD"),
        )

    def course_host(self, course: str) -> str | None:
        """The LMS host in ``course``'s volume names: the site's ``lms_host``, else its latest launch's host."""
        return self.config.lms_host or self.store.host_of(course)

    async def viewer(self, name: str) -> Viewer:
        """Who ``name`` is for the access rules: hub admin from the hub API, courses taught from the launches.

        The admin flag is cached for :data:`VIEWER_TTL` seconds; the courses taught are read from the
        launch store each time (an indexed query), so a launch recorded a moment ago counts. Raises
        HubAPIError when the hub cannot be asked.
        """
        now = time.monotonic()
        cached = self._admins.get(name)
        if cached is not None and now - cached[0] < VIEWER_TTL:
            admin = cached[1]
        else:
            user = await self.hub.user(name)
            admin = bool(user and user.admin)
            self._admins[name] = (now, admin)
        return Viewer(name, admin=admin, taught=frozenset(self.store.courses_taught(name)))

    def forget_viewers(self) -> None:
        """Drop the cached admin flags (tests; after a change of roles)."""
        self._admins.clear()

    def close(self) -> None:
        self.store.close()
        if self._engine is not None:
            self._engine.close()
