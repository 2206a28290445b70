"""Running as the user (SPEC 3.3: the task copy never runs as root).

:func:`run_as` forks a child that drops to the user's uid, gid, groups (a
teacher keeps the teachers' group) and umask, runs a function there, and
passes its ``emit(ok, message)`` lines back through a pipe.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

from ..environ import StartEnvironment
from ..fileops import load_native_calls

#: What the child reports through: ``emit(ok, message)``.
Emit = Callable[[bool, str], None]


def run_as(
    env: StartEnvironment,
    func: Callable[[Emit], bool],
    report: Emit | None = None,
) -> bool:
    """Run ``func(emit)`` in a child process with the user's uid, gid, groups and umask.

    ``emit(ok, message)`` calls in the child reach ``report`` in this process
    (through a pipe). Returns what ``func`` returned (False when it raised or
    the child died). When this process already is the user, ``func`` runs here.
    As root, raises :class:`ipynb_tools.start.validate.SetupEnvironmentError` for ids
    setup would refuse (uid 0, a system account's, nobody), before forking.
    """
    emit_here = report if report is not None else (lambda ok, message: None)
    if os.geteuid() == 0:  # root drops only to ids setup would accept (never 0, never a system account's)
        from .validate import SetupEnvironmentError, id_problems

        problems = id_problems(env)
        if problems:
            raise SetupEnvironmentError("refusing to run as the user: " + "; ".join(problems))
    if os.geteuid() == env.uid and os.geteuid() != 0:
        old = os.umask(env.umask)
        try:
            return bool(func(emit_here))
        finally:
            os.umask(old)
    load_native_calls()  # the child may not be able to import it once it is the user
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        os.close(rfd)

        def emit(ok: bool, message: str) -> None:
            line = ("ok" if ok else "FAILED") + "\t" + message.replace("\n", " ") + "\n"
            data = line.encode("utf-8", "replace")
            while data:
                data = data[os.write(wfd, data) :]

        try:
            os.setgroups([env.teachers_gid] if env.teacher else [])
            os.setgid(env.gid)
            os.setuid(env.uid)
            os.umask(env.umask)
            code = 0 if func(emit) else 1
        except BaseException as exc:  # noqa: BLE001 - the child must always exit
            with contextlib.suppress(BaseException):
                emit(False, f"{exc.__class__.__name__}: {exc}")
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        for raw in pipe:
            status, _, message = raw.decode("utf-8", "replace").rstrip("\n").partition("\t")
            emit_here(status == "ok", message)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status) == 0
