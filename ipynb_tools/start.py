"""Container start setup (SPEC 3.3): run as root before the Jupyter server starts.

Reads the start environment (:class:`ipynb_tools.environ.StartEnvironment`) and,
one logged step at a time:

1. ``user``      makes sure the user, their group and the teachers' group exist in the
                 container's ``/etc/passwd``/``/etc/group`` (``/etc/shadow`` when present),
                 the way docker-stacks' ``start.sh`` does: a missing user is added (a uid
                 already used by another name, such as ``jovyan``, is allowed, as
                 ``useradd --non-unique`` does); an existing one gets NB_UID/NB_GID.
                 A teacher is a member of the teachers' group, a student is not.
2. ``home``      creates the home, ``jupyter/works`` and ``works/.volumes``, owned by the user.
3. ``umask``     writes the user's umask (teachers 0033, students 0037, or NB_UMASK) to
                 ``~/.ipynb-tools/umask`` (:attr:`ipynb_tools.environ.UserPaths.umask_file`) for
                 the server extension, and to ``/etc/profile.d/ipynb-tools-umask.sh`` for shells.
4. ``links``     removes stale links in ``works/`` and ``works/.volumes/`` (dangling ones, and
                 access links this tool made for volumes no longer given), then
                 makes ``works/<access>`` and ``works/.volumes/<access>`` for every entry
                 unless the name exists (first wins). ``-access``: teachers only on task
                 and personal volumes (on submit volumes the ``-`` is dropped and everyone gets
                 the link: students must reach it to submit). ``.``: the full name.
5. ``task``      task volumes: the first teacher to start owns the volume root, group
                 teachers, directories 2775, files 0664 (0775 when executable); root-owned
                 entries go to the volume owner. Symlinks are never followed.
6. ``submit``    submit volumes: group teachers, mode 3777; a teacher's start takes ownership;
                 a shared ``.ipynb_checkpoints`` (3777) inside so every student can save.
7. ``personal``  personal directories, 0700, owned by the user.
8. ``sync``      the task volume of the same NAME copied into each personal directory
                 (:mod:`ipynb_tools.sync`), run in a child process as the user.

Every step is logged (time, step, ``ok``/``FAILED``, message) to stderr and to
``~/.ipynb-tools/setup.log`` (owned by the user). A failing step is logged and
the others still run; :attr:`SetupReport.ok` (and the exit code of
``ipynb-tools setup``) says whether any failed.

Security: the home belongs to the user, who may plant symlinks there between
starts. Everything below the home is opened relative to directory file
descriptors with ``O_NOFOLLOW``; ownership and modes are changed with
``fchown``/``fchmod`` on opened descriptors, never by path.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import TEMP_SUFFIX, atomic_write_bytes
from .deploy import CHECKPOINTS
from .environ import VOLUMES_DIR, AccessName, StartEnvironment, UserPaths, VolumeEntry
from .errors import IpynbToolsError

LOG_MAX_BYTES = 1 << 20
#: Shell snippet that gives login shells the user's umask.
PROFILE_SNIPPET = Path("profile.d") / "ipynb-tools-umask.sh"

TASK_DIR_MODE = 0o2775
TASK_FILE_MODE = 0o664
TASK_EXEC_MODE = 0o775
SUBMIT_MODE = 0o3777
PERSONAL_MODE = 0o700
NEW_DIR_MODE = 0o755

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SetupError(IpynbToolsError):
    """A setup step that cannot be done."""


@dataclass
class Step:
    """One logged step."""

    name: str
    ok: bool
    message: str


@dataclass
class SetupReport:
    """All steps of one setup run."""

    steps: list[Step] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]

    @property
    def ok(self) -> bool:
        return not self.failed


class SetupLog:
    """Log lines to stderr (the container log) and to the user's setup log file."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.fd: int | None = None
        self.pending: list[str] = []
        self.echo = echo if echo is not None else (lambda line: print(line, file=sys.stderr, flush=True))

    def line(self, step: str, ok: bool, message: str) -> None:
        text = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {step}: {'ok' if ok else 'FAILED'}: {message}"
        self.echo(text)
        data = (text + "\n").encode("utf-8", "replace")
        if self.fd is None:
            self.pending.append(text)
        else:
            try:
                os.write(self.fd, data)
            except OSError:
                pass

    def attach(self, fd: int) -> None:
        """Start writing to ``fd``; lines logged before are written first."""
        self.fd = fd
        for text in self.pending:
            try:
                os.write(fd, (text + "\n").encode("utf-8", "replace"))
            except OSError:
                pass
        self.pending.clear()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# -- /etc/passwd and /etc/group ---------------------------------------------------------------------


def _read_db(path: Path) -> list[list[str]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [line.split(":") for line in text.splitlines() if line.strip()]


def _write_db(path: Path, rows: list[list[str]]) -> None:
    atomic_write_bytes(path, ("".join(":".join(r) + "\n" for r in rows)).encode())


def ensure_user(env: StartEnvironment, home: Path, etc: Path = Path("/etc")) -> str:
    """Make the user, their group and the teachers' group exist; return what changed."""
    done: list[str] = []
    groups = _read_db(etc / "group")
    changed_groups = False
    if not any(len(g) > 2 and g[2] == str(env.gid) for g in groups):
        name = env.user if not any(g[0] == env.user for g in groups) else f"{env.user}-{env.gid}"
        groups.append([name, "x", str(env.gid), ""])
        done.append(f"group {name} ({env.gid}) added")
        changed_groups = True
    thr = next((g for g in groups if len(g) > 3 and g[2] == str(env.teachers_gid)), None)
    if thr is None:
        if any(g[0] == env.teachers_group for g in groups):
            raise SetupError(
                f"{etc / 'group'}: group name {env.teachers_group} exists with another gid than {env.teachers_gid}"
            )
        thr = [env.teachers_group, "x", str(env.teachers_gid), ""]
        groups.append(thr)
        done.append(f"group {env.teachers_group} ({env.teachers_gid}) added")
        changed_groups = True
    members = [m for m in thr[3].split(",") if m]
    if env.teacher and env.user not in members:
        thr[3] = ",".join([*members, env.user])
        done.append(f"{env.user} added to group {thr[0]}")
        changed_groups = True
    elif not env.teacher and env.user in members:
        thr[3] = ",".join(m for m in members if m != env.user)
        done.append(f"{env.user} (not a teacher) removed from group {thr[0]}")
        changed_groups = True
    if changed_groups:
        _write_db(etc / "group", groups)

    users = _read_db(etc / "passwd")
    row = next((u for u in users if u[0] == env.user), None)
    if row is None:
        users.append([env.user, "x", str(env.uid), str(env.gid), "", str(home), "/bin/bash"])
        done.append(f"user {env.user} ({env.uid}:{env.gid}) added")
        _write_db(etc / "passwd", users)
        shadow = etc / "shadow"
        if shadow.exists() and not any(r[0] == env.user for r in _read_db(shadow)):
            days = str(int(time.time() // 86400))
            _write_db(shadow, [*_read_db(shadow), [env.user, "!", days, "0", "99999", "7", "", "", ""]])
    elif len(row) >= 7 and (row[2], row[3], row[5]) != (str(env.uid), str(env.gid), str(home)):
        row[2], row[3], row[5] = str(env.uid), str(env.gid), str(home)
        done.append(f"user {env.user} set to {env.uid}:{env.gid}, home {home}")
        _write_db(etc / "passwd", users)
    return "; ".join(done) or f"user {env.user} ({env.uid}:{env.gid}) and group {thr[0]} ({env.teachers_gid}) present"


# -- directories --------------------------------------------------------------------------------------


def _open_dir_at(
    parent_fd: int, name: str, *, create_mode: int | None, owner: tuple[int, int] | None, mode: int | None = None
) -> int:
    """Open directory ``name`` under ``parent_fd`` without following a symlink.

    Creates it with ``create_mode`` when missing (None: do not create); then
    sets ``owner`` and ``mode`` on the opened descriptor when they differ.
    """
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if create_mode is None:
            raise
        os.mkdir(name, create_mode, dir_fd=parent_fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        if mode is None:
            mode = create_mode
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # ELOOP, ENOTDIR: a symlink or a file where a directory belongs
            raise SetupError(f"{name}: is a symlink or not a directory; not touching it") from None
        raise
    try:
        _fix(fd, owner, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fix(fd: int, owner: tuple[int, int] | None, mode: int | None) -> bool:
    """fchown/fchmod ``fd`` when needed (chown first: it clears set-id bits); True if changed."""
    st = os.fstat(fd)
    changed = False
    if owner is not None and (st.st_uid, st.st_gid) != owner:
        os.fchown(fd, owner[0], owner[1])
        changed = True
    if mode is not None and (changed or stat.S_IMODE(st.st_mode) != mode):
        os.fchmod(fd, mode)
        changed = changed or stat.S_IMODE(st.st_mode) != mode
    return changed


def _open_path(path: Path) -> int:
    """Open a directory the user does not control (``/home``, a test's temp dir)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


# -- links ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One access link to make: ``<dir>/<name> -> <target>``."""

    where: str  # "works" or ".volumes"
    name: str
    target: str
    entry: VolumeEntry


def planned_links(env: StartEnvironment) -> tuple[list[Link], list[str]]:
    """The links SPEC 3.3 asks for, in order, first name wins; plus notes about skipped entries."""
    links: list[Link] = []
    notes: list[str] = []
    used: set[str] = set()
    for kind, entry in env.entries():
        access = AccessName(kind, entry.access)
        name = access.link_for(teacher=env.teacher, full_name=entry.full_name)
        if name is None:
            if not access.teacher_only or env.teacher:
                notes.append(f"{entry.format()}: access name {entry.access!r} cannot be a link name")
            continue
        if name in used:
            notes.append(f"{entry.format()}: link name {name} already taken by an earlier entry (first wins)")
            continue
        used.add(name)
        links.append(Link("works", name, f"{VOLUMES_DIR}/{entry.full_name}", entry))
        if name != entry.full_name:
            links.append(Link(VOLUMES_DIR, name, entry.full_name, entry))
    return links, notes


def _is_own_link_target(where: str, target: str) -> str | None:
    """The volume full name an access link made by setup points to, or None for other links."""
    from .volumes.naming import is_full_name

    if where == "works" and target.startswith(VOLUMES_DIR + "/"):
        full = target[len(VOLUMES_DIR) + 1 :]
    elif where == VOLUMES_DIR and "/" not in target:
        full = target
    else:
        return None
    return full if is_full_name(full) else None


def remove_stale_links(fds: dict[str, int], wanted: set[tuple[str, str, str]]) -> list[str]:
    """Remove dangling links, and our access links that are not wanted now; return their names."""
    removed = []
    for where, fd in fds.items():
        for name in sorted(os.listdir(fd)):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    continue
                target = os.readlink(name, dir_fd=fd)
                try:
                    os.stat(name, dir_fd=fd)
                    dangling = False
                except (FileNotFoundError, NotADirectoryError):
                    dangling = True
                except OSError:
                    dangling = False
                ours = _is_own_link_target(where, target) is not None
                if dangling or (ours and (where, name, target) not in wanted):
                    os.unlink(name, dir_fd=fd)
                    removed.append(f"{where}/{name} -> {target}")
            except FileNotFoundError:
                continue
    return removed


# -- volumes --------------------------------------------------------------------------------------------


def fix_task_tree(vol_fd: int, *, teacher_uid: int | None, thr_gid: int) -> tuple[int, int]:
    """Apply the task-volume ownership and modes below an opened volume root.

    Returns (volume owner uid, number of entries changed). The root goes to
    ``teacher_uid`` when it is still root's (the first teacher to start); any
    root-owned entry goes to the volume owner. Symlinks are left alone.
    """
    st = os.fstat(vol_fd)
    owner = st.st_uid
    if teacher_uid is not None and owner == 0:
        owner = teacher_uid
    changed = 0
    for _dirpath, _dirnames, filenames, dfd in os.fwalk(".", dir_fd=vol_fd, follow_symlinks=False):
        dst = os.fstat(dfd)
        uid = owner if dst.st_uid == 0 else dst.st_uid
        if _fix(dfd, (uid, thr_gid), TASK_DIR_MODE):
            changed += 1
        for name in filenames:
            try:
                fst = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(fst.st_mode):
                continue
            want_uid = owner if fst.st_uid == 0 else fst.st_uid
            want_mode = TASK_EXEC_MODE if fst.st_mode & 0o111 else TASK_FILE_MODE
            if (fst.st_uid, fst.st_gid, stat.S_IMODE(fst.st_mode)) == (want_uid, thr_gid, want_mode):
                continue
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode) and _fix(fd, (want_uid, thr_gid), want_mode):
                    changed += 1
            finally:
                os.close(fd)
    return owner, changed


def fix_submit_volume(vol_fd: int, *, teacher_uid: int | None, thr_gid: int, stamp: str) -> str:
    """Submit volume root: group teachers, 3777, a teacher's start owns it; shared checkpoints inside."""
    st = os.fstat(vol_fd)
    owner = teacher_uid if teacher_uid is not None else st.st_uid
    _fix(vol_fd, (owner, thr_gid), SUBMIT_MODE)
    notes = [f"owner uid {owner}, group {thr_gid}, mode {SUBMIT_MODE:04o}"]
    try:
        cst = os.stat(CHECKPOINTS, dir_fd=vol_fd, follow_symlinks=False)
    except FileNotFoundError:
        cst = None
    if cst is not None and not stat.S_ISDIR(cst.st_mode):
        aside = f"{CHECKPOINTS}.{stamp}"
        os.rename(CHECKPOINTS, aside, src_dir_fd=vol_fd, dst_dir_fd=vol_fd)
        notes.append(f"{CHECKPOINTS} was not a directory; moved to {aside}")
    cfd = _open_dir_at(vol_fd, CHECKPOINTS, create_mode=SUBMIT_MODE, owner=(owner, thr_gid), mode=SUBMIT_MODE)
    os.close(cfd)
    notes.append(f"{CHECKPOINTS} {SUBMIT_MODE:04o}")
    return "; ".join(notes)


# -- running as the user ------------------------------------------------------------------------------


def run_as(
    env: StartEnvironment,
    func: Callable[[Callable[[bool, str], None]], bool],
    report: Callable[[bool, str], None] | None = None,
) -> bool:
    """Run ``func(emit)`` in a child process with the user's uid, gid, groups and umask.

    ``emit(ok, message)`` calls in the child reach ``report`` in this process
    (through a pipe). Returns what ``func`` returned (False when it raised or
    the child died). When this process already is the user, ``func`` runs here.
    """
    emit_here = report if report is not None else (lambda ok, message: None)
    if os.geteuid() == env.uid and os.geteuid() != 0:
        old = os.umask(env.umask)
        try:
            return bool(func(emit_here))
        finally:
            os.umask(old)
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
            try:
                emit(False, f"{exc.__class__.__name__}: {exc}")
            except BaseException:
                pass
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        for raw in pipe:
            status, _, message = raw.decode("utf-8", "replace").rstrip("\n").partition("\t")
            emit_here(status == "ok", message)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


# -- the whole setup ------------------------------------------------------------------------------------


class _Setup:
    def __init__(self, env: StartEnvironment, paths: UserPaths, etc: Path, log: SetupLog, do_sync: bool) -> None:
        self.env = env
        self.paths = paths
        self.home = paths.home
        self.etc = etc
        self.log = log
        self.do_sync = do_sync
        self.report = SetupReport()
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.owner = (env.uid, env.gid)
        self.fds: dict[str, int] = {}

    def step(self, name: str, func: Callable[[], str | None]) -> bool:
        try:
            message = func() or "done"
            ok = True
        except IpynbToolsError as exc:
            ok, message = False, str(exc)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            ok, message = False, f"{where}{exc.strerror or exc}"
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
            f"user {env.user} ({env.uid}:{env.gid}) {'teacher' if env.teacher else 'student'}, "
            f"home {self.home}, works {self.works}",
        )
        self.step("user", lambda: ensure_user(env, self.home, self.etc))
        if self.step("home", self.make_home):
            self.step("log", self.open_log)
        self.step("umask", self.write_umask)
        if "works" in self.fds:
            links, notes = planned_links(env)
            self.step("stale-links", lambda: self.clean_links(links))
            for entry in env.tasks:
                self.step(f"task {entry.full_name}", lambda e=entry: self.task(e))
            for entry in env.submits:
                self.step(f"submit {entry.full_name}", lambda e=entry: self.submit(e))
            ready = [e for e in env.personals if self.step(f"personal {e.full_name}", lambda e=e: self.personal(e))]
            for note in notes:
                self.step("links", lambda n=note: n)
            for link in links:
                self.step(f"link {link.where}/{link.name}", lambda ln=link: self.make_link(ln))
            if self.do_sync:
                for entry in ready:  # not into a personal directory that failed its own step
                    self.step(f"sync {entry.full_name}", lambda e=entry: self.sync(e))
        self.log.line(
            "end",
            self.report.ok,
            "all steps ok"
            if self.report.ok
            else f"{len(self.report.failed)} step(s) failed: " + ", ".join(s.name for s in self.report.failed),
        )
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        return self.report

    @property
    def works(self) -> Path:
        return self.paths.works

    def make_home(self) -> str:
        self.home.parent.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)  # /home itself: root's
        parent = _open_path(self.home.parent)
        try:
            self.fds["home"] = _open_dir_at(parent, self.home.name, create_mode=NEW_DIR_MODE, owner=self.owner)
        finally:
            os.close(parent)
        try:
            rel = self.works.relative_to(self.home)
        except ValueError:
            rel = None
        if rel is not None and rel.parts:
            fd = self.fds["home"]
            opened: list[int] = []
            for part in rel.parts:
                fd = _open_dir_at(fd, part, create_mode=NEW_DIR_MODE, owner=self.owner)
                opened.append(fd)
            for extra in opened[:-1]:
                os.close(extra)
            self.fds["works"] = opened[-1]
        else:
            parent = _open_path(self.works.parent)
            try:
                self.fds["works"] = _open_dir_at(parent, self.works.name, create_mode=NEW_DIR_MODE, owner=self.owner)
            finally:
                os.close(parent)
        self.fds["volumes"] = _open_dir_at(self.fds["works"], VOLUMES_DIR, create_mode=NEW_DIR_MODE, owner=self.owner)
        return f"{self.home}, {self.works}, {self.works / VOLUMES_DIR} owned by {self.env.uid}:{self.env.gid}"

    def _tool_dir(self) -> int:
        return _open_dir_at(self.fds["home"], self.paths.state.name, create_mode=NEW_DIR_MODE, owner=self.owner)

    def open_log(self) -> str:
        dfd = self._tool_dir()
        try:
            name = self.paths.setup_log.name
            try:
                if os.stat(name, dir_fd=dfd, follow_symlinks=False).st_size > LOG_MAX_BYTES:
                    os.replace(name, name + ".1", src_dir_fd=dfd, dst_dir_fd=dfd)
            except FileNotFoundError:
                pass
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            try:
                fd = os.open(name, flags, 0o644, dir_fd=dfd)
            except OSError:
                fd = -1
            if fd >= 0:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid not in (self.env.uid, 0):
                    os.close(fd)
                    fd = -1
            if fd < 0:  # something planted in its place: start a fresh file
                try:
                    os.unlink(name, dir_fd=dfd)
                except (FileNotFoundError, IsADirectoryError, PermissionError):
                    os.rename(name, f"{name}.{self.stamp}", src_dir_fd=dfd, dst_dir_fd=dfd)
                fd = os.open(name, flags | os.O_EXCL, 0o644, dir_fd=dfd)
            os.fchown(fd, *self.owner)
        finally:
            os.close(dfd)
        self.log.attach(fd)
        self.report.log_path = self.paths.setup_log
        return str(self.report.log_path)

    def write_umask(self) -> str:
        text = f"{self.env.umask:04o}\n".encode()
        where = []
        if "home" in self.fds:
            dfd = self._tool_dir()
            try:
                _write_at(dfd, self.paths.umask_file.name, text, 0o644)
            finally:
                os.close(dfd)
            where.append(str(self.paths.umask_file))
        profile_dir = self.etc / PROFILE_SNIPPET.parent
        if profile_dir.is_dir():
            atomic_write_bytes(self.etc / PROFILE_SNIPPET, b"umask " + text, mode=0o644)
            where.append(str(self.etc / PROFILE_SNIPPET))
        if not where:
            raise SetupError("umask: nowhere to write it (no home, no profile.d)")
        return f"umask {self.env.umask:04o} written to " + ", ".join(where)

    def clean_links(self, links: list[Link]) -> str:
        wanted = {(ln.where if ln.where == VOLUMES_DIR else "works", ln.name, ln.target) for ln in links}
        removed = remove_stale_links({"works": self.fds["works"], VOLUMES_DIR: self.fds["volumes"]}, wanted)
        return ("removed " + ", ".join(removed)) if removed else "no stale links"

    def _open_volume(self, entry: VolumeEntry, what: str) -> int:
        try:
            return os.open(entry.full_name, _DIR_FLAGS, dir_fd=self.fds["volumes"])
        except FileNotFoundError:
            raise SetupError(f"{self.works / entry.mount_relative}: {what} volume is not mounted") from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise SetupError(
                    f"{self.works / entry.mount_relative}: is a symlink or not a directory; not touching it"
                ) from None
            raise

    def task(self, entry: VolumeEntry) -> str:
        fd = self._open_volume(entry, "task")
        try:
            owner, changed = fix_task_tree(
                fd, teacher_uid=self.env.uid if self.env.teacher else None, thr_gid=self.env.teachers_gid
            )
        finally:
            os.close(fd)
        return (
            f"owner uid {owner}, group {self.env.teachers_gid}, dirs {TASK_DIR_MODE:04o}, files "
            f"{TASK_FILE_MODE:04o}; {changed} entr{'y' if changed == 1 else 'ies'} changed"
        )

    def submit(self, entry: VolumeEntry) -> str:
        fd = self._open_volume(entry, "submit")
        try:
            return fix_submit_volume(
                fd,
                teacher_uid=self.env.uid if self.env.teacher else None,
                thr_gid=self.env.teachers_gid,
                stamp=self.stamp,
            )
        finally:
            os.close(fd)

    def personal(self, entry: VolumeEntry) -> str:
        fd = _open_dir_at(
            self.fds["volumes"], entry.full_name, create_mode=PERSONAL_MODE, owner=self.owner, mode=PERSONAL_MODE
        )
        os.close(fd)
        return f"{self.works / entry.mount_relative}: {PERSONAL_MODE:04o}, owner {self.env.uid}:{self.env.gid}"

    def make_link(self, link: Link) -> str:
        fd = self.fds["works"] if link.where == "works" else self.fds["volumes"]
        shown = f"{link.where}/{link.name} -> {link.target}"
        try:
            st = os.stat(link.name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISLNK(st.st_mode) and os.readlink(link.name, dir_fd=fd) == link.target:
                return f"{shown} (already there)"
            return f"{link.where}/{link.name} exists; not linked (first wins)"
        os.symlink(link.target, link.name, dir_fd=fd)
        os.chown(link.name, self.env.uid, self.env.gid, dir_fd=fd, follow_symlinks=False)
        return shown

    def sync(self, entry: VolumeEntry) -> str:
        from .volumes.naming import task_name_for_personal

        task = task_name_for_personal(entry.full_name)
        if task not in {v.full_name for v in self.env.tasks}:
            return f"no task volume {task} mounted; nothing to copy"
        vols = self.works / VOLUMES_DIR
        source, dest = vols / task, vols / entry.full_name
        step = f"sync {entry.full_name}"

        def work(emit: Callable[[bool, str], None]) -> bool:
            from .sync import COPIED, FAILED, UNCHANGED, FileSync, sync_tree

            def show(r: FileSync) -> None:
                if r.action not in (COPIED, UNCHANGED):  # those are counted in the summary line
                    emit(r.action != FAILED, f"{r.action}: {r.rel}" + (f" ({r.detail})" if r.detail else ""))

            report = sync_tree(source, dest, progress=show)
            emit(report.ok, report.summary())
            return report.ok

        # Load what the child needs while still root: after dropping privileges the
        # interpreter's own files may be unreadable (a Python under /root, say).
        import codecs

        from . import sync as _sync  # noqa: F401

        codecs.lookup("utf-8-sig")
        if not run_as(self.env, work, lambda ok, message: self.log.line(step, ok, message)):
            raise SetupError(f"sync {task} -> {entry.full_name}: some files failed (see the lines above)")
        return f"{task} -> {dest}"


def _write_at(dfd: int, name: str, data: bytes, mode: int) -> None:
    """Atomically replace ``name`` in the directory ``dfd`` (temp file, fsync, rename; no symlink followed)."""
    tmp = f".{name}.{os.getpid()}{TEMP_SUFFIX}"
    try:
        os.unlink(tmp, dir_fd=dfd)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dfd)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)


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
    ``echo`` receives every log line (default: stderr).
    """
    env = env if env is not None else StartEnvironment.from_environ()
    log = SetupLog(echo)
    try:
        return _Setup(env, env.paths, Path(etc), log, sync).run()
    finally:
        log.close()


def iter_log(report: SetupReport) -> Iterator[str]:
    """The report's steps as log-like lines (for callers that did not capture the log)."""
    for s in report.steps:
        yield f"{s.name}: {'ok' if s.ok else 'FAILED'}: {s.message}"
