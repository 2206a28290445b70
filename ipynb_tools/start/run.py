"""The orchestrator of container start setup: the declared steps, run in order, each logged.

:data:`STEPS` is the list in :mod:`ipynb_tools.start`'s docstring, one to one
(a test checks it). A step logs one line per thing it touches (``task
<full name>``, ``link works/<name>``...); a failing line does not stop the
others. A step that needs the home or the works directory is skipped when the
``home`` step could not open them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..environ import EnvironmentContractError, StartEnvironment, VolumeEntry
from ..errors import IpynbToolsError, os_reason
from ..i18n import _, ngettext
from .directories import OpenDirs, open_home, open_state_dir
from .links import WORKS, Link, make_link, planned_links, remove_stale_links
from .log import SetupLog, SetupReport, Step, open_log_file
from .modes import (
    PERSONAL_MODE,
    TASK_DIR_MODE,
    TASK_FILE_MODE,
    fix_submit_volume,
    fix_task_tree,
    make_personal_dir,
    open_volume,
)
from .taskcopy import copy_as_user, task_copies
from .umask import write_umask
from .users import ensure_user
from .validate import SetupEnvironmentError, check_environment


class SetupRun:
    """One run of setup: the environment, the open directories, the log and the report."""

    def __init__(self, env: StartEnvironment, etc: Path, log: SetupLog, do_sync: bool) -> None:
        self.env = env
        self.paths = env.paths
        self.etc = etc
        self.log = log
        self.do_sync = do_sync
        self.report = SetupReport()
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.owner = (env.uid, env.gid)
        self.dirs = OpenDirs()
        self.home_ok = False  # the home step succeeded (the log file goes in the home)
        self.ready: list[str] = []  # personal directories whose own step succeeded
        self.mounted: set[str] = set()  # task volumes whose step found them mounted

    def step(self, name: str, func: Callable[[], str | None]) -> bool:
        """Run one logged step; an error becomes a FAILED line, never an exception."""
        try:
            message = func() or _("done")
            ok = True
        except IpynbToolsError as exc:
            ok, message = False, str(exc)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            ok, message = False, f"{where}{os_reason(exc)}"
        except Exception as exc:  # noqa: BLE001 - one failing step must not stop the others
            ok, message = False, f"{exc.__class__.__name__}: {exc}"
        self.report.steps.append(Step(name, ok, message))
        self.log.line(name, ok, message)
        return ok

    def run(self) -> SetupReport:
        env = self.env
        self.log.line(
            "start",
            True,
            (
                _("user %(user)s (%(uid)s:%(gid)s) teacher, home %(home)s, works %(works)s")
                if env.teacher
                else _("user %(user)s (%(uid)s:%(gid)s) student, home %(home)s, works %(works)s")
            )
            % {"user": env.user, "uid": env.uid, "gid": env.gid, "home": self.paths.home, "works": self.paths.works},
        )
        try:
            for declared in STEPS:
                if declared.needs == "home" and not self.home_ok:
                    continue
                if declared.needs == "works" and (self.dirs.works is None or self.dirs.volumes is None):
                    continue
                declared.run(self)
        finally:
            self.dirs.close()
        failed = self.report.failed
        self.log.line(
            "end",
            self.report.ok,
            _("all steps ok")
            if not failed
            else _("%(count)s step(s) failed: %(steps)s")
            % {"count": len(failed), "steps": ", ".join(s.name for s in failed)},
        )
        return self.report

    # -- the steps, in the order of STEPS ---------------------------------------------------------

    def user(self) -> None:
        self.step("user", lambda: ensure_user(self.env, self.paths.home, self.etc))

    def home(self) -> None:
        self.home_ok = self.step("home", lambda: open_home(self.paths, self.owner, self.dirs, self.stamp))

    def log_file(self) -> None:
        def attach() -> str:
            state = open_state_dir(self.paths, self.dirs, self.owner, self.stamp)
            try:
                fd = open_log_file(state, self.paths.setup_log.name, owner=self.owner, stamp=self.stamp)
            finally:
                os.close(state)
            self.log.attach(fd)
            self.report.log_path = self.paths.setup_log
            return str(self.paths.setup_log)

        self.step("log", attach)

    def umask(self) -> None:
        def write() -> str:
            state = (
                open_state_dir(self.paths, self.dirs, self.owner, self.stamp) if self.dirs.home is not None else None
            )
            try:
                return write_umask(self.env.umask, self.paths, state, self.etc, stamp=self.stamp)
            finally:
                if state is not None:
                    os.close(state)

        self.step("umask", write)

    def stale_links(self) -> None:
        def clean() -> str:
            works, volumes = self.dirs.need_works()
            removed = remove_stale_links(works, volumes, planned_links(self.env)[0])
            return _("removed %(links)s") % {"links": ", ".join(removed)} if removed else _("no stale links")

        self.step("stale-links", clean)

    def tasks(self) -> None:
        env = self.env
        for entry in env.tasks:

            def fix(entry: VolumeEntry = entry) -> str:
                fd = open_volume(self.dirs.need_works()[1], entry, "task", self.paths)
                try:
                    teacher_uid = env.uid if env.teacher else None
                    owner, changed = fix_task_tree(fd, teacher_uid=teacher_uid, teachers_gid=env.teachers_gid)
                finally:
                    os.close(fd)
                return ngettext(
                    "owner uid %(owner)s, group %(group)s, dirs %(dirs)s, files %(files)s; %(changed)s entry changed",
                    "owner uid %(owner)s, group %(group)s, dirs %(dirs)s, files %(files)s; %(changed)s entries changed",
                    changed,
                ) % {
                    "owner": owner,
                    "group": env.teachers_gid,
                    "dirs": f"{TASK_DIR_MODE:04o}",
                    "files": f"{TASK_FILE_MODE:04o}",
                    "changed": changed,
                }

            if self.step(f"task {entry.full_name}", fix):
                self.mounted.add(entry.full_name)

    def submits(self) -> None:
        env = self.env
        for entry in env.submits:

            def fix(entry: VolumeEntry = entry) -> str:
                fd = open_volume(self.dirs.need_works()[1], entry, "submit", self.paths)
                try:
                    teacher_uid = env.uid if env.teacher else None
                    return fix_submit_volume(
                        fd, teacher_uid=teacher_uid, teachers_gid=env.teachers_gid, stamp=self.stamp
                    )
                finally:
                    os.close(fd)

            self.step(f"submit {entry.full_name}", fix)

    def personals(self) -> None:
        env = self.env
        for entry in env.personals:

            def make(entry: VolumeEntry = entry) -> str:
                note = make_personal_dir(self.dirs.need_works()[1], entry, self.owner, stamp=self.stamp)
                done = _("%(path)s: %(mode)s, owner %(uid)s:%(gid)s") % {
                    "path": self.paths.volume(entry.full_name),
                    "mode": f"{PERSONAL_MODE:04o}",
                    "uid": env.uid,
                    "gid": env.gid,
                }
                return f"{done}; {note}" if note else done

            if self.step(f"personal {entry.full_name}", make):
                self.ready.append(entry.full_name)

    def links(self) -> None:
        links, notes = planned_links(self.env)
        for note in notes:

            def say(note: str = note) -> str:
                return note

            self.step("links", say)
        for link in links:

            def make(link: Link = link) -> str:
                works, volumes = self.dirs.need_works()
                return make_link(link, works if link.where == WORKS else volumes, self.owner)

            self.step(f"link {link.where}/{link.name}", make)

    def sync(self) -> None:
        if not self.do_sync:
            return
        for entry in self.env.personals:
            if entry.full_name not in self.ready:  # not into a personal directory that failed its own step
                continue
            name = f"sync {entry.full_name}"

            def copy(entry: VolumeEntry = entry, name: str = name) -> str:
                (pair,) = task_copies(self.env, [entry])
                if pair.task is not None and pair.task not in self.mounted:
                    return _("task volume %(name)s is not mounted (see its task step); nothing copied") % {
                        "name": pair.task
                    }
                return copy_as_user(self.env, pair, lambda ok, message: self.log.line(name, ok, message))

            self.step(name, copy)


@dataclass(frozen=True)
class DeclaredStep:
    """One step of the docstring's list: its name, what runs it, and what it needs open first."""

    name: str
    run: Callable[[SetupRun], None]
    needs: str | None = None  # "home" (the home step succeeded), "works" (works and .volumes open) or None


#: The steps of ``ipynb_tools.start``'s docstring, in order, one to one.
STEPS: tuple[DeclaredStep, ...] = (
    DeclaredStep("user", SetupRun.user),
    DeclaredStep("home", SetupRun.home),
    DeclaredStep("log", SetupRun.log_file, needs="home"),
    DeclaredStep("umask", SetupRun.umask),
    DeclaredStep("stale-links", SetupRun.stale_links, needs="works"),
    DeclaredStep("task", SetupRun.tasks, needs="works"),
    DeclaredStep("submit", SetupRun.submits, needs="works"),
    DeclaredStep("personal", SetupRun.personals, needs="works"),
    DeclaredStep("links", SetupRun.links, needs="works"),
    DeclaredStep("sync", SetupRun.sync, needs="works"),
)


def setup(
    env: StartEnvironment | None = None,
    *,
    etc: str | os.PathLike[str] = "/etc",
    sync: bool = True,
    echo: Callable[[str], None] | None = None,
) -> SetupReport:
    """Run container start setup for ``env`` (default: read from ``os.environ``).

    The home and works directories are the contract's (``env.paths``: ``NB_HOME``,
    default ``/home/<NB_USER>``; ``NB_WRKDIR``); ``etc`` is where ``passwd``,
    ``group`` and ``profile.d`` live (tests point it at a temp directory).
    ``echo`` receives every log line (default: stderr). Never raises for a
    failing step: see :attr:`SetupReport.ok`. Raises
    :class:`ipynb_tools.start.validate.SetupEnvironmentError` (exit code 2), before
    anything is changed, when a value of ``env`` is refused (:mod:`.validate`) or, reading
    ``os.environ``, a variable does not follow the contract (a bad ``NB_GROUP``, ``NB_UID=abc``).
    """
    if env is None:
        try:
            env = StartEnvironment.from_environ()
        except EnvironmentContractError as exc:  # exit 2 like every refused value: the server is not started
            raise SetupEnvironmentError(
                _("refusing to set up, nothing changed: %(problem)s") % {"problem": exc}
            ) from None
    check_environment(env, Path(etc))
    log = SetupLog(echo)
    try:
        return SetupRun(env, Path(etc), log, sync).run()
    finally:
        log.close()
