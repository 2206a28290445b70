"""The activity and memory limits of a single-user server, enforced inside the container (issue 16 item 7).

The old system (SPEC 12) ran a health check in the container: at 90% of the activity limit
(``lms_actlimit``, ``NB_ACTLIMIT`` seconds) and at 90% of the memory limit the user got a notice
(a toast, then a sticky "your server will stop" notice), and the container stopped 120 s after the
limit. Here the server extension does the same, so the limit holds when the hub restarts or
loses track of the container:

* the clock starts when the server starts (``NB_ACTLIMIT`` missing, empty or ``0``: no limit;
  the spawner passes its site default ``LTIContainerSpawner.actlimit_default`` when the activity
  sets none);
* at :data:`NOTICE_FRACTION` of the limit the state served at ``<base_url>ipynb-tools/api/limits``
  (:class:`~ipynb_tools.serverext.handlers.LimitsHandler`) carries a toast notice; from the limit
  on a sticky one ("your server will stop at HH:MM") and ``save: true``, on which the front-end
  extension (``labextension/``) saves every open document that has unsaved changes;
* at the limit plus the grace period (``IPYNB_ACTLIMIT_GRACE`` seconds, default 120) the server
  stops itself the way jupyter_server's ``/api/shutdown`` does (kernels shut down, the process
  exits, and with it the container, whose start script ``exec`` s the server);
* the container's memory (cgroup v2 ``memory.current`` / ``memory.max``, cgroup v1
  ``memory.usage_in_bytes`` / ``memory.limit_in_bytes``) is sampled with each check; reaching
  :data:`NOTICE_FRACTION` of the limit gives a toast notice (again after falling below
  :data:`MEMORY_REARM_FRACTION`). Memory is only noticed: the engine's OOM killer enforces it.

Every text the user sees is made here (:func:`notice_texts`), so it is translated server-side and
the front end shows what it gets.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..environ.variables import DEFAULT_ACTLIMIT_GRACE, IPYNB_ACTLIMIT_GRACE, NB_ACTLIMIT, EnvironmentContractError
from ..i18n import _

log = logging.getLogger(__name__)

#: The share of a limit at which the user gets a notice (SPEC 12: 90%).
NOTICE_FRACTION = 0.9
#: After a memory notice, the share the use must fall below before a new one is given.
MEMORY_REARM_FRACTION = 0.8
#: A cgroup directory read instead of the process's own (tests; a site with an unusual mount).
CGROUP_ENV = "IPYNB_LIMITS_CGROUP"
#: Where the cgroup file systems are mounted.
CGROUP_MOUNT = Path("/sys/fs/cgroup")
#: The shortest and longest poll interval given to the front end, in seconds.
POLL_MIN, POLL_MAX = 2.0, 30.0
#: A cgroup v1 limit at or above this many bytes means "no limit" (the kernel's PAGE_COUNTER_MAX).
V1_UNLIMITED = 1 << 60

#: The phases of the activity limit, in order.
RUNNING, WARNING, GRACE, STOPPING = "running", "warning", "grace", "stopping"


def notice_texts() -> dict[str, str]:
    """The notice texts with ``{placeholders}``, translated (domain ``ipynb_tools``, the container's
    language); the one home of what the user reads. ``{share}`` is ``90%``, ``{percent}`` e.g. ``93%``
    (no literal ``%`` in a msgid: translators see only named fields)."""
    return {
        "time-90": _(
            "Your server has used {share} of its time limit. It will stop at {time}: save your work before then."
        ),
        "time-limit": _(
            "Your server has reached its time limit and will stop at {time}. "
            "Your open notebooks are saved now; save any other work."
        ),
        "stopped": _(
            "Your server has stopped at its time limit; your open notebooks were saved. "
            "Start it again from the course page."
        ),
        "memory-90": _(
            "Your server uses {percent} of its memory limit ({used} of {limit}). Save your work: "
            "a kernel that needs more memory will be stopped."
        ),
    }


def _seconds(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EnvironmentContractError(f"${name}={raw!r}: not a number of seconds") from None
    if value < 0 or value != value or value == float("inf"):
        raise EnvironmentContractError(f"${name}={raw!r}: must be 0 or a positive number of seconds")
    return value


@dataclass(frozen=True)
class LimitSettings:
    """What the spawner set: the activity limit and the grace period (seconds), the cgroup to read."""

    #: Seconds the server may run; None: no activity limit (``NB_ACTLIMIT`` unset, empty or 0).
    actlimit: float | None = None
    #: Seconds between the limit and the stop.
    grace: float = DEFAULT_ACTLIMIT_GRACE
    #: The cgroup directory to read memory from; None: the process's own.
    cgroup: Path | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> LimitSettings:
        """Read ``NB_ACTLIMIT``, ``IPYNB_ACTLIMIT_GRACE``, ``IPYNB_LIMITS_CGROUP``.

        Raises :class:`EnvironmentContractError` (one line naming the variable) for a value that
        is not a non-negative number.
        """
        e = os.environ if env is None else env
        limit = _seconds(e, NB_ACTLIMIT, None)
        grace = _seconds(e, IPYNB_ACTLIMIT_GRACE, DEFAULT_ACTLIMIT_GRACE)
        cgroup = e.get(CGROUP_ENV, "").strip()
        return cls(actlimit=limit or None, grace=grace or 0.0, cgroup=Path(cgroup) if cgroup else None)

    @property
    def enabled(self) -> bool:
        """True when there is an activity limit to enforce."""
        return self.actlimit is not None


def _read_int(path: Path) -> int | None:
    """The integer in a cgroup file; None when missing or ``max`` (no limit)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def own_cgroup_dirs(mount: Path = CGROUP_MOUNT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> list[Path]:
    """The directories that may hold this process's memory counters, the likeliest first.

    cgroup v2: ``<mount>/<path of the 0:: line>``, then the mount itself (inside a container with
    its own cgroup namespace the path is ``/``); cgroup v1: ``<mount>/memory/<path>``, then
    ``<mount>/memory``.
    """
    dirs: list[Path] = []
    try:
        lines = proc_cgroup.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        rel = parts[2].lstrip("/")
        if parts[0] == "0" and parts[1] == "":
            dirs.append(mount / rel)
        elif "memory" in parts[1].split(","):
            dirs.append(mount / "memory" / rel)
    dirs += [mount, mount / "memory"]
    return list(dict.fromkeys(dirs))


def read_memory(dirs: list[Path]) -> tuple[int, int | None] | None:
    """``(bytes in use, limit in bytes or None for no limit)`` from the first cgroup directory that has them.

    cgroup v2 files ``memory.current`` / ``memory.max``; v1 ``memory.usage_in_bytes`` /
    ``memory.limit_in_bytes`` (a limit of 2^60 bytes or more is v1's "no limit"). None when no
    directory has the counters (no cgroup memory controller visible).
    """
    for d in dirs:
        used = _read_int(d / "memory.current")
        if used is not None:
            return used, _read_int(d / "memory.max")
        used = _read_int(d / "memory.usage_in_bytes")
        if used is not None:
            limit = _read_int(d / "memory.limit_in_bytes")
            return used, None if limit is None or limit >= V1_UNLIMITED else limit
    return None


def human_bytes(n: int) -> str:
    """``n`` bytes as people read it: ``512 MB``, ``1.5 GB`` (powers of 1024, one decimal over 1 GB)."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GB"
    return f"{round(n / (1 << 20))} MB"


@dataclass
class Notice:
    """One notice for the front end: shown once per ``id``; a sticky one stays until dismissed."""

    id: str
    message: str
    sticky: bool = False
    level: str = "warning"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "message": self.message, "sticky": self.sticky, "level": self.level}


@dataclass
class LimitWatch:
    """The clock and the memory samples of one server; :meth:`state` is what the endpoint serves.

    ``clock`` is monotonic seconds (the limit), ``wall`` the epoch seconds shown as the stop time
    (formatted in the container's zone, ``TZ``).
    """

    settings: LimitSettings
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    memory: Callable[[], tuple[int, int | None] | None] | None = None
    started: float = field(init=False)
    started_wall: float = field(init=False)
    memory_notices: int = field(init=False, default=0)
    memory_armed: bool = field(init=False, default=True)
    last_memory: tuple[int, int | None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.started_wall = self.wall()
        if self.memory is None:
            dirs = [self.settings.cgroup] if self.settings.cgroup is not None else own_cgroup_dirs()
            self.memory = lambda: read_memory(dirs)

    # -- time -------------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Seconds since the server started."""
        return self.clock() - self.started

    def stop_after(self) -> float | None:
        """Seconds after the start at which the server stops (limit + grace); None: never."""
        limit = self.settings.actlimit
        return None if limit is None else limit + self.settings.grace

    def phase(self) -> str:
        """:data:`RUNNING`, :data:`WARNING` (from 90%), :data:`GRACE` (from the limit), :data:`STOPPING`."""
        limit = self.settings.actlimit
        if limit is None:
            return RUNNING
        t = self.elapsed()
        if t >= limit + self.settings.grace:
            return STOPPING
        if t >= limit:
            return GRACE
        if t >= NOTICE_FRACTION * limit:
            return WARNING
        return RUNNING

    def poll_seconds(self) -> float:
        """How often the front end asks: a 20th of the limit, within [2 s, 30 s]."""
        limit = self.settings.actlimit
        if limit is None:
            return POLL_MAX
        return max(POLL_MIN, min(POLL_MAX, limit / 20))

    def stop_time_text(self) -> str:
        """The stop time as ``HH:MM`` in the container's zone."""
        after = self.stop_after()
        assert after is not None
        return time.strftime("%H:%M", time.localtime(self.started_wall + after))

    # -- memory -----------------------------------------------------------------------------
    def sample_memory(self) -> tuple[int, int | None] | None:
        """Read the cgroup counters; count a new memory notice when the use crosses 90% of the limit."""
        assert self.memory is not None
        sample = self.memory()
        self.last_memory = sample
        if sample is None or not sample[1]:
            return sample
        fraction = sample[0] / sample[1]
        if fraction >= NOTICE_FRACTION and self.memory_armed:
            self.memory_notices += 1
            self.memory_armed = False
        elif fraction < MEMORY_REARM_FRACTION:
            self.memory_armed = True
        return sample

    # -- the endpoint's answer --------------------------------------------------------------
    def notices(self) -> list[Notice]:
        """The notices in force now (the front end shows each id once)."""
        texts = notice_texts()
        out: list[Notice] = []
        phase = self.phase()
        if phase in (WARNING, GRACE, STOPPING):
            out.append(
                Notice(
                    "time-90",
                    texts["time-90"].format(share=f"{round(NOTICE_FRACTION * 100)}%", time=self.stop_time_text()),
                )
            )
        if phase in (GRACE, STOPPING):
            out.append(Notice("time-limit", texts["time-limit"].format(time=self.stop_time_text()), sticky=True))
        sample = self.last_memory
        if self.memory_notices and sample is not None and sample[1]:
            used, limit = sample[0], sample[1]
            text = texts["memory-90"].format(
                percent=f"{int(100 * used / limit)}%", used=human_bytes(used), limit=human_bytes(limit)
            )
            out.append(Notice(f"memory-90-{self.memory_notices}", text))
        return out

    def state(self) -> dict[str, Any]:
        """What ``GET <base_url>ipynb-tools/api/limits`` answers (a fresh memory sample included).

        ``{"phase", "limit", "grace", "elapsed", "remaining", "stop_in", "stop_at", "save", "poll",
        "memory": {"used", "limit", "fraction"} | null, "notices": [{"id", "message", "sticky", "level"}],
        "stopped_message"}`` (what the front end shows once the server no longer answers after ``save``);
        times in seconds (``stop_at``: epoch seconds), ``null`` where there is no limit.
        """
        self.sample_memory()
        limit = self.settings.actlimit
        after = self.stop_after()
        elapsed = self.elapsed()
        sample = self.last_memory
        memory = None
        if sample is not None:
            memory = {
                "used": sample[0],
                "limit": sample[1],
                "fraction": round(sample[0] / sample[1], 4) if sample[1] else None,
            }
        phase = self.phase()
        return {
            "phase": phase,
            "limit": limit,
            "grace": self.settings.grace if limit is not None else None,
            "elapsed": round(elapsed, 1),
            "remaining": None if limit is None else round(max(0.0, limit - elapsed), 1),
            "stop_in": None if after is None else round(max(0.0, after - elapsed), 1),
            "stop_at": None if after is None else round(self.started_wall + after, 1),
            "save": phase in (GRACE, STOPPING),
            "poll": self.poll_seconds(),
            "memory": memory,
            "notices": [n.to_json() for n in self.notices()],
            "stopped_message": notice_texts()["stopped"] if limit is not None else None,
        }


class LimitEnforcer:
    """Runs a :class:`LimitWatch` in a server: samples memory, logs the phases, stops the server at the end.

    ``stop`` is called once, at limit + grace (in a server: ``serverapp.stop``, which shuts the
    kernels down and ends the process as ``/api/shutdown`` does).
    """

    def __init__(self, watch: LimitWatch, stop: Callable[[], None], log: logging.Logger | Any = log) -> None:
        self.watch = watch
        self._stop = stop
        self.log = log
        self._phase = RUNNING
        self._memory_notices = 0
        self.stopped = False

    def check(self) -> float | None:
        """One check: sample, log changes, stop when due; the seconds until the next check (None: stopped)."""
        watch = self.watch
        watch.sample_memory()
        if watch.memory_notices != self._memory_notices:
            self._memory_notices = watch.memory_notices
            used, mem_limit = watch.last_memory or (0, None)
            self.log.warning("ipynb-tools: memory at %s of %s bytes (90%% notice)", used, mem_limit)
        phase = watch.phase()
        if phase != self._phase:
            self._phase = phase
            self.log.warning(
                "ipynb-tools: activity limit: %s after %.0f s (limit %s s, grace %s s)",
                phase,
                watch.elapsed(),
                watch.settings.actlimit,
                watch.settings.grace,
            )
        if phase == STOPPING:
            if not self.stopped:
                self.stopped = True
                self.log.warning("ipynb-tools: activity limit and grace period over: stopping the server")
                self._stop()
            return None
        after = watch.stop_after()
        step = watch.poll_seconds()
        if after is not None:
            # wake exactly at the next phase boundary when it comes before the next poll
            elapsed = watch.elapsed()
            limit = watch.settings.actlimit or 0.0
            boundaries = [NOTICE_FRACTION * limit, limit, after]
            upcoming = [b - elapsed for b in boundaries if b > elapsed]
            if upcoming:
                step = min(step, max(0.05, min(upcoming)))
        return step


def install(serverapp: Any, env: Mapping[str, str] | None = None) -> LimitWatch | None:
    """Start the watch in a running jupyter_server; put it in the web app's settings for the endpoint.

    A bad ``NB_ACTLIMIT`` / ``IPYNB_ACTLIMIT_GRACE`` is logged and no activity limit is enforced
    (the server still starts); memory notices work without an activity limit.
    """
    import asyncio

    from tornado.ioloop import IOLoop

    try:
        settings = LimitSettings.from_environ(env)
    except EnvironmentContractError as exc:
        serverapp.log.error("ipynb-tools: no activity limit enforced: %s", exc)
        settings = LimitSettings()
    watch = LimitWatch(settings)
    serverapp.web_app.settings["ipynb_tools_limits"] = watch
    enforcer = LimitEnforcer(watch, lambda: serverapp.stop(), serverapp.log)

    async def run() -> None:
        while True:
            step = enforcer.check()
            if step is None:
                return
            await asyncio.sleep(step)

    if settings.enabled:
        serverapp.log.info(
            "ipynb-tools: activity limit %s s + grace %s s: the server stops at %s",
            settings.actlimit,
            settings.grace,
            watch.stop_time_text(),
        )
    IOLoop.current().add_callback(run)  # runs once the server's loop runs; errors are logged by tornado
    return watch
