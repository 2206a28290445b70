"""Syncing one task tree into a personal directory: the walk, the decision for each file, the copy.

See the package doc (:mod:`ipynb_tools.sync`) for the rules and the speed design.

Size (over ~450 lines): the walk, the per-file decision and the copy share the open directory
descriptors and the manifest's pending copies of one run; kept together so that no descriptor or
pending entry crosses a module boundary.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..atomic import current_umask
from ..errors import FileProblem, IpynbToolsError, os_reason
from ..fileops import (
    TEMP_SUFFIX,
    fsync_directory_fd,
    open_regular,
    open_temp,
    read_all,
    remove_stale_temps,
    rename_into_place,
    rename_no_replace,
    syncfs,
    unlink_quiet,
    write_all,
)
from ..notebook import CHECKPOINTS, NOTEBOOK_SUFFIX
from ..numbering import fix_notebook_tags
from . import digest
from .digest import Digests
from .manifest import (
    MANIFEST_NAME,
    Entry,
    Fingerprint,
    Manifest,
    Pending,
    fingerprint,
    read_manifest,
    record_limit,
    write_manifest,
)
from .report import (
    ADOPTED,
    COPIED,
    FAILED,
    KEPT,
    MOVED_ASIDE,
    PRUNED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    FileSync,
    SyncError,
    SyncReport,
)
from .workers import WorkerLost, default_workers, run_split, split

#: Copies are placed (recorded as pending, renamed) in runs of this many files or bytes (see _batches).
#: Each run writes the whole record once more: 2,000 files in runs of 1,000 made three writes of a
#: 500 KB record, 7% of a first sync's Python time. A larger run only means more to redo after a kill.
PLACE_BATCH_FILES = 4000
PLACE_BATCH_BYTES = 256 << 20
KEPT_DETAIL = "changed by the student; the task version was not copied over it"
#: How every directory of the personal directory is opened: never through a symlink.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: How the task directory itself is opened (it may be reached through a link, as its path always was).
_ROOT_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


# -- what a task file becomes in the personal directory -------------------------------------------


@dataclass
class Rendered:
    """A task file as it would arrive: digests of the source and of the bytes written."""

    src: Digests
    dst: Digests
    data: bytes | None  # the bytes to write when they differ from the source (notebooks); else stream


def render(src: Path, name: str, algorithms: Iterable[str] | None = None) -> Rendered:
    """Digest a task file (and, for notebooks, compute the corrected bytes) without writing.

    ``algorithms``: those of the recorded digests it is compared with (:func:`digest.kinds`;
    the one written by default).
    """
    fd, _ = open_regular(src)
    try:
        if name.endswith(NOTEBOOK_SUFFIX):
            raw = read_all(fd)
            src_digests = digest.of_bytes(raw, algorithms)
            fixed = fix_notebook_tags(raw, name)
            if fixed is None:
                return Rendered(src_digests, src_digests, None)
            return Rendered(src_digests, digest.of_bytes(fixed, algorithms), fixed)
        digests = digest.of_fd(fd, algorithms)
        return Rendered(digests, digests, None)
    finally:
        os.close(fd)


#: What a copy that was not ``size`` bytes as read "digests" to: it matches no recorded digest.
CHANGED_WHILE_READ = "changed-while-read"


def digest_file(name: str, dir_fd: int, algorithms: Iterable[str], size: int) -> Digests:
    """The digests of a copy in the personal directory, opened with :func:`open_regular` (no link, no FIFO).

    ``size``: its size (bytes) when the decision to read it was made; no more than that is read
    (the student's ``truncate -s 1T`` right after that check had sync hash a terabyte): a copy
    of another length as read "digests" to :data:`CHANGED_WHILE_READ` (the student's: kept).
    """
    fd, _ = open_regular(name, dir_fd=dir_fd)
    try:
        found = digest.of_fd(fd, algorithms, limit=size + 1)
    finally:
        os.close(fd)
    if found.length != size:
        return Digests(dict.fromkeys({*found, digest.WRITTEN}, CHANGED_WHILE_READ))
    return found


def _recorded(known: Entry) -> list[str]:
    """Every digest ``known`` holds (their algorithms are the ones a comparison needs)."""
    found = [known.src_sha, known.dst_sha]
    if known.pending is not None:
        found += [known.pending.src_sha, known.pending.dst_sha]
    return found


# -- the walk ----------------------------------------------------------------------------------------


def _skipped_name(name: str) -> bool:
    return name.startswith(".") or name == CHECKPOINTS or name.endswith(TEMP_SUFFIX)


def iter_task_files(source: Path) -> Iterator[tuple[str, os.stat_result | OSError | None]]:
    """(relative path, its ``lstat`` or the ``OSError`` taking it) of every non-hidden file under ``source``,
    in name order, depth first; each directory as (``rel/``, None) before its files.

    Every directory is opened (sub-directories with ``O_NOFOLLOW``, relative to their parent's
    descriptor) and listed through its descriptor, and its files' ``lstat`` taken through it
    (one name looked up, not the whole path: the benchmark task's 2,000 ``lstat`` calls took
    16-18 ms by path, 13-16 ms so). A directory's descriptor is closed once its files and
    sub-directories are walked: as many are open at once as the tree is deep, whatever the
    number of directories (a container's limit on open files is often 1,024).
    Raises :class:`FileProblem` for a directory that cannot be opened or listed.
    """
    yield from _walk_task(source, "", None)


def _walk_task(source: Path, rel: str, parent: int | None) -> Iterator[tuple[str, os.stat_result | OSError | None]]:
    """:func:`iter_task_files` below ``rel`` (``""``: ``source``), opened in ``parent`` (None: by path)."""
    where = source / rel if rel else source
    try:
        fd = os.open(_basename(rel), _DIR_FLAGS, dir_fd=parent) if parent is not None else os.open(source, _ROOT_FLAGS)
    except OSError as exc:
        raise FileProblem(where, f"cannot list directory ({os_reason(exc)})") from None
    try:
        try:
            with os.scandir(fd) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            raise FileProblem(where, f"cannot list directory ({os_reason(exc)})") from None
        for entry in entries:
            if _skipped_name(entry.name):
                continue
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield path + "/", None
                yield from _walk_task(source, path, fd)
                continue
            st: os.stat_result | OSError
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                st = exc
            yield path, st
    finally:
        os.close(fd)


#: A copy job: (relative path, the task file's stat, the manifest entry, the planned action).
Job = tuple[str, os.stat_result, Entry | None, str]


@dataclass
class Staged:
    """A task file copied to a temp file beside its target, waiting to be renamed into place."""

    rel: str
    dir: str  # the personal directory it is in, relative ("": the root); reopened to place it
    dir_id: tuple[int, int]  # that directory's (st_dev, st_ino) when the temp file was written in it
    name: str
    temp: str
    entry: Entry
    action: str
    detail: str
    written: os.stat_result  # the temp file's fstat once written: what must arrive under ``name``
    #: The stat of the copy the decision saw at ``name`` (an untouched copy being updated), or None
    #: when nothing was there: anything else there when the copy is placed is the student's.
    expect: Fingerprint | None = None
    #: ``dir``'s ancestors' (st_dev, st_ino), outermost first (not the root's): how the temp file is
    #: found again when the student renamed one of them meanwhile (:meth:`_Syncer.remove_stranded`).
    up_ids: tuple[tuple[int, int], ...] = ()


class _DestDirs:
    """The personal directory's sub-directories, opened one component at a time without following a link.

    Every read, write, rename and clean-up in the personal directory goes through these
    descriptors (issue 12, item 10): a directory the student replaced by a symlink is never
    read, written or cleaned through; :meth:`make` sets it aside and makes a real one.

    Only one chain is open: the root and the ancestors of the directory last looked up (and
    it). Looking up another closes those off its path, so a sync holds as many descriptors
    as the tree is deep, not as it has directories (a container's limit on open files is
    often 1,024; a task of more directories failed every file). A descriptor one of these
    methods returned is valid until the next :meth:`lookup`/:meth:`make` of a directory not
    below it; the sync's walk and placement go depth first, so each directory is opened once
    per visit.
    """

    def __init__(self, dest: Path) -> None:
        try:
            root = os.open(dest, _DIR_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                raise SyncError(f"{dest}: personal directory does not exist (or is not a directory)") from None
            raise SyncError(f"{dest}: cannot open the personal directory ({os_reason(exc)})") from None
        self.fds: dict[str, int] = {"": root}  # the open chain: relative directory -> descriptor
        self.ids: dict[str, tuple[int, int]] = {}  # (st_dev, st_ino) of open ones, as asked for (identity)

    @property
    def root(self) -> int:
        return self.fds[""]

    def _reach(self, rel_dir: str, open_one: Callable[[int, str, str], int | None]) -> int | None:
        """The descriptor of ``rel_dir``, opening the components not open yet with ``open_one``
        (parent descriptor, name, relative path -> descriptor, or None: stop, ``rel_dir`` is not there).

        Closes first every open directory that is not ``rel_dir``'s ancestor.
        """
        found = self.fds.get(rel_dir)
        if found is not None:
            return found
        prefix = rel_dir + "/"
        for other in [k for k in self.fds if k and not prefix.startswith(k + "/")]:
            os.close(self.fds.pop(other))
            self.ids.pop(other, None)
        fd, at = self.fds[""], ""
        for name in rel_dir.split("/"):
            at = f"{at}/{name}" if at else name
            found = self.fds.get(at)
            if found is None:
                found = open_one(fd, name, at)
                if found is None:
                    return None
                self.fds[at] = found
            fd = found
        return fd

    def identity(self, rel_dir: str) -> tuple[int, int]:
        """``(st_dev, st_ino)`` of the open directory ``rel_dir`` (one ``fstat`` while it stays open)."""
        found = self.ids.get(rel_dir)
        if found is None:
            st = os.fstat(self.fds[rel_dir])
            found = self.ids[rel_dir] = (st.st_dev, st.st_ino)
        return found

    def lookup(self, rel_dir: str) -> int | None:
        """The open directory ``rel_dir`` (``""``: the root), or None when missing, a link or not a directory."""
        return self._reach(rel_dir, _open_dir_at)

    def make(
        self, rel_dir: str, move_aside: Callable[[int, str, str], tuple[str, str]]
    ) -> tuple[int, list[tuple[str, str]]]:
        """Open ``rel_dir``, making missing directories and moving aside whatever else is in the way."""
        moved: list[tuple[str, str]] = []

        def open_or_make(parent: int, name: str, at: str) -> int:
            for _attempt in range(3):
                try:
                    return os.open(name, _DIR_FLAGS, dir_fd=parent)
                except FileNotFoundError:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o777, dir_fd=parent)
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    moved.append(move_aside(parent, name, at))
                    continue
            raise FileProblem(at, "cannot make this directory in the personal directory")

        fd = self._reach(rel_dir, open_or_make)
        assert fd is not None  # open_or_make returns a descriptor or raises
        return fd, moved

    def close(self) -> None:
        for fd in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()
        self.ids.clear()


def _open_dir_at(parent: int, name: str, _rel: str) -> int | None:
    """``name`` in ``parent`` opened as a directory, never through a link; None when missing, a link or a file."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return None
        raise


class _Syncer:
    def __init__(
        self,
        source: Path,
        dest: Path,
        *,
        durable: bool,
        workers: int,
        progress: Callable[[FileSync], None] | None,
        now: float | None,
    ) -> None:
        self.source = source
        self.dest = dest
        self.durable = durable
        self.workers = workers
        self.progress = progress
        self.stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        self.umask = current_umask()
        self.report = SyncReport(source, dest)
        self.buffer = bytearray(digest.CHUNK)  # the copy buffer, reused for every file
        self.dirs: _DestDirs | None = None
        #: Entries the parent moved aside making a run's directories before splitting it among copy
        #: processes (relative directory -> moves): reported with that directory's first copied file.
        self.premoved: dict[str, list[tuple[str, str]]] = {}
        #: Directories renamed during the sync, by their identity when copies were staged in them:
        #: where they are now (relative), or None when not found (:meth:`remove_stranded`).
        self.stranded: dict[tuple[int, int], str | None] = {}
        #: ((head, its identity), its ancestors' identities) of the directory last made (:meth:`up_ids`).
        self.up_ids_of: tuple[tuple[str, tuple[int, int]], tuple[tuple[int, int], ...]] = (("", (0, 0)), ())

    def add(self, rel: str, action: str, detail: str = "") -> None:
        result = FileSync(rel, action, detail)
        self.report.results.append(result)
        if self.progress and action != UNCHANGED:
            self.progress(result)

    def run(self) -> SyncReport:
        start = time.monotonic()
        if not self.source.is_dir():
            raise SyncError(f"{self.source}: task directory does not exist")
        self.dirs = _DestDirs(self.dest)
        # A sync makes a few objects per file and frees them all at its end: the cyclic
        # collector's passes over them (and over the parsed record) found nothing to collect and
        # cost 5-7% of a first sync's CPU and a quarter of parsing the record.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.sync(self.dirs)
        finally:
            if collecting:
                gc.enable()
            self.dirs.close()
        self.report.seconds = time.monotonic() - start
        return self.report

    def sync(self, dirs: _DestDirs) -> None:
        # The task is listed first: the record is read only up to the size its files' entries
        # can take, and keeps entries for them only (a student's junk costs no start its time).
        walk = list(iter_task_files(self.source))
        task_files = {rel for rel, st in walk if st is not None}
        manifest, problem = read_manifest(
            self.dest, dir_fd=dirs.root, max_bytes=record_limit(len(task_files)), keep=task_files
        )
        if manifest.pruned:
            self.add(MANIFEST_NAME, PRUNED, f"{manifest.pruned} record entries naming no task file dropped")
        rewrite = False
        if problem:  # unusable (a FIFO, a link, garbage): kept aside, rebuilt (issue 12, item 9)
            rewrite = True
            try:
                _, aside = self.move_aside(dirs.root, MANIFEST_NAME, MANIFEST_NAME)
                self.add(MANIFEST_NAME, MOVED_ASIDE, f"{problem}; set aside as {aside}, rebuilt")
            except (OSError, IpynbToolsError) as exc:
                self.add(MANIFEST_NAME, FAILED, f"{problem}; cannot set it aside ({_reason(exc)})")
                return
        jobs: list[Job] = []
        self.remove_temp_files("")
        # The walk gives a directory's files together: its descriptor (or None: missing, or a link
        # or file the copy will move aside) is looked up once per directory, not once per file.
        last_head: str | None = None
        parent: int | None = None
        # The loop an unchanged re-sync spends its Python time in: names bound once.
        results, unchanged, is_reg = self.report.results, manifest.unchanged, stat.S_ISREG
        for rel, task_st in walk:
            if task_st is None:
                self.remove_temp_files(rel.rstrip("/"))
                last_head = None  # that lookup may have closed ``parent`` (it is off the directory's path)
                continue  # directories are made when a file needs them
            if isinstance(task_st, OSError):  # the walk's lstat of it failed (gone meanwhile, ...)
                self.add(rel, FAILED, _reason(task_st))
                continue
            st = task_st
            try:
                if not is_reg(st.st_mode):
                    self.add(rel, SKIPPED, "not a regular file (symlinks and special files are not copied)")
                    continue
                head, _, name = rel.rpartition("/")
                if head != last_head:
                    parent, last_head = dirs.lookup(head), head
                dst_st = _lstat_at(parent, name)
                if (
                    dst_st is not None
                    and is_reg(dst_st.st_mode)
                    and unchanged(rel, fingerprint(st), fingerprint(dst_st))
                ):
                    # What plan() decides for it, without making its entry (nor telling progress).
                    results.append(FileSync(rel, UNCHANGED))
                    continue
                job = self.plan(rel, st, parent, dst_st, manifest.get(rel), manifest)
                if job is not None:
                    jobs.append(job)
            except (OSError, IpynbToolsError) as exc:
                self.add(rel, FAILED, _reason(exc))
        for batch in _batches(jobs):
            staged = self.copy_run(batch)
            if staged:
                self.place(staged, manifest)
        if rewrite or manifest.changed():
            try:
                write_manifest(self.dest, manifest, self.source, dir_fd=dirs.root, durable=self.durable)
            except OSError as exc:  # e.g. the student made the personal directory read-only
                self.add(MANIFEST_NAME, FAILED, f"cannot write the sync record ({_reason(exc)})")

    def place(self, staged: list[Staged], manifest: Manifest) -> None:
        """Record what is about to arrive, then rename every staged copy into place (issue 12, item 11).

        The manifest is written first with each file's coming copy as ``pending`` (its
        hashes), so a sync killed between a rename and the final manifest write still knows
        the copy is the task's, not the student's, and the next sync keeps it following the task.
        """
        if self.durable:
            syncfs(self.dest)  # the copies' data before the record that vouches for them
        for s in staged:
            old = manifest.get(s.rel)
            manifest[s.rel] = Entry(
                old.src if old else [],
                old.src_sha if old else "",
                old.dst if old else [],
                old.dst_sha if old else "",
                pending=Pending(s.entry.src, s.entry.src_sha, s.entry.dst_sha, s.written.st_size, s.written.st_ino),
            )
        try:
            write_manifest(
                self.dest, manifest, self.source, dir_fd=self.dirs.root if self.dirs else None, durable=self.durable
            )
            if self.durable and self.dirs is not None:
                fsync_directory_fd(self.dirs.root)
        except OSError as exc:
            # Without the pending record a placed copy could later pass for the student's: place nothing.
            for s in staged:
                with contextlib.suppress(OSError):
                    dir_fd = self.staged_dir(s)
                    if dir_fd is not None:
                        unlink_quiet(s.temp, dir_fd=dir_fd)
                    else:
                        self.remove_stranded(s)
                self.add(s.rel, FAILED, f"cannot record the copy before placing it ({_reason(exc)})")
                old = manifest.get(s.rel)
                if old is not None:
                    settled = _settled(old)
                    if settled is None:
                        del manifest[s.rel]
            return
        for s in staged:
            dir_fd = None
            try:
                dir_fd = self.staged_dir(s)
                if dir_fd is None:
                    self.remove_stranded(s)
                    raise FileProblem(s.dir, "moved or replaced during the sync; the copy in it was not placed")
                # What the decision saw must still be there: a student's save (or a new file) since,
                # while the copies were made, is never replaced (it is kept; looked at next time).
                now_st = None if s.expect is None else _lstat_at(dir_fd, s.name)
                if now_st is None:
                    rename_into_place(s.temp, s.name, dir_fd=dir_fd, replace=False)
                elif fingerprint(now_st) != s.expect:
                    raise FileExistsError(errno.EEXIST, "changed during the sync", s.name)
                else:
                    rename_into_place(s.temp, s.name, dir_fd=dir_fd)
                st = os.stat(s.name, dir_fd=dir_fd, follow_symlinks=False)
            except (OSError, IpynbToolsError) as exc:
                if isinstance(exc, FileExistsError) and dir_fd is not None:
                    unlink_quiet(s.temp, dir_fd=dir_fd)
                    self.add(
                        s.rel, KEPT, "changed by the student during the sync; the task version was not copied over it"
                    )
                else:
                    self.add(s.rel, FAILED, _reason(exc))
                pending = manifest[s.rel]
                if not pending.src_sha and not pending.dst_sha:
                    del manifest[s.rel]
                else:
                    pending.pending = None
                continue
            w = s.written
            # Written to between the rename and the stat (the student's editor saving that very
            # moment, or a file renamed over it): that stat must not pass for sync's own copy.
            # Recorded without one, the copy's content is looked at next time.
            same = (st.st_ino, st.st_size, st.st_mtime_ns) == (w.st_ino, w.st_size, w.st_mtime_ns)
            s.entry.dst = fingerprint(st) if same else []
            manifest[s.rel] = s.entry
            self.add(s.rel, s.action, s.detail)

    def copy_run(self, batch: list[Job]) -> list[Staged]:
        """Copy one placement run's files to temp files beside their targets; what was staged, in order.

        A large run is split among copy processes (:mod:`.workers`), each taking whole directories:
        the directories are made here first, in order (whatever is in their way moved aside once,
        reported with the directory's first file), so the processes never make the same one.
        """
        runs = split(batch, self.workers, lambda job: job[1].st_size, _job_dir)
        if len(runs) == 1:
            return [s for s in map(self.copy_job, batch) if s is not None]
        assert self.dirs is not None
        heads = list(dict.fromkeys(map(_job_dir, batch)))
        for head in heads:
            with contextlib.suppress(OSError, IpynbToolsError):  # that directory's files fail with the reason
                _, moved = self.dirs.make(head, self.move_aside)
                if moved:
                    self.premoved[head] = moved
        staged: list[Staged] = []
        for run, result in zip(runs, run_split(runs, self.copy_part), strict=True):
            if isinstance(result, WorkerLost):
                for job in run:
                    self.add(job[0], FAILED, f"{result}; not copied")
                for head in dict.fromkeys(map(_job_dir, run)):
                    # What was moved aside for it, reported by no one else (that process is gone).
                    for was, now in self.premoved.pop(head, []):
                        self.add(was, MOVED_ASIDE, f"student's {was} moved to {now}")
                    self.remove_temp_files(head)  # the dead process's (it is reaped: its pid is no writer)
                continue
            done, results = result
            staged += done
            for r in results:
                self.add(r.rel, r.action, r.detail)
        for head in heads:
            # A copy process reported its directories' moves; this process's copy of them is done with
            # (left here, a later run into the same directory reported the move again).
            self.premoved.pop(head, None)
        return staged

    def copy_part(self, run: list[Job], in_child: bool) -> tuple[list[Staged], list[FileSync]]:
        """Copy ``run`` (:meth:`copy_job` each); in a copy process, also return what it reported (its
        failures), for the parent to report: a child tells no one itself."""
        if not in_child:
            return [s for s in map(self.copy_job, run) if s is not None], []
        self.progress = None
        before = len(self.report.results)
        staged = [s for s in map(self.copy_job, run) if s is not None]
        return staged, self.report.results[before:]

    def staged_dir(self, s: Staged) -> int | None:
        """The directory ``s``'s temp file was written in, opened again (the copies of a run span more
        directories than may be open at once); None when it is no longer there under its name.
        """
        assert self.dirs is not None
        dir_fd = self.dirs.lookup(s.dir)
        return dir_fd if dir_fd is not None and self.dirs.identity(s.dir) == s.dir_id else None

    def up_ids(self, head: str, dir_id: tuple[int, int]) -> tuple[tuple[int, int], ...]:
        """The identities of ``head``'s ancestors below the root, outermost first (all open: ``head``,
        of identity ``dir_id``, was just made)."""
        assert self.dirs is not None
        if "/" not in head:
            return ()
        if self.up_ids_of[0] != (head, dir_id):
            parts = head.split("/")[:-1]
            ids = tuple(self.dirs.identity("/".join(parts[: i + 1])) for i in range(len(parts)))
            self.up_ids_of = ((head, dir_id), ids)
        return self.up_ids_of[1]

    def remove_stranded(self, s: Staged) -> None:
        """Remove ``s``'s temp file when the directory it was written in is no longer at its name (the
        student renamed it, or a directory above it, during the sync: ``mv week1 week1-old``): each
        directory on its path is looked for by its identity beside its old name, never through a link.
        Left there, the temp file stayed for good (later syncs clean the task's directories only),
        as large as the task file.

        Best effort: a directory moved to another parent keeps it.
        """
        assert self.dirs is not None
        if not s.dir:
            return
        where = ""
        for name, identity in zip(s.dir.split("/"), (*s.up_ids, s.dir_id), strict=True):
            if identity not in self.stranded:
                here = f"{where}/{name}" if where else name
                self.stranded[identity] = here if self.is_dir(here, identity) else self.find_dir(where, identity)
            found = self.stranded[identity]
            if found is None:
                return
            where = found
        with contextlib.suppress(OSError):
            dir_fd = self.dirs.lookup(where)
            if dir_fd is not None and self.dirs.identity(where) == s.dir_id:
                unlink_quiet(s.temp, dir_fd=dir_fd)

    def is_dir(self, rel: str, identity: tuple[int, int]) -> bool:
        """True when the directory at ``rel`` (not through a link) is the one of ``identity``."""
        assert self.dirs is not None
        try:
            return self.dirs.lookup(rel) is not None and self.dirs.identity(rel) == identity
        except OSError:
            return False

    def find_dir(self, up: str, identity: tuple[int, int]) -> str | None:
        """The relative path of the directory ``(st_dev, st_ino)`` ``identity`` in the personal
        directory's ``up`` (``""``: its root); None when it is not there (or ``up`` cannot be listed)."""
        assert self.dirs is not None
        try:
            up_fd = self.dirs.lookup(up)
            if up_fd is None:
                return None
            with os.scandir(up_fd) as listing:
                for entry in listing:
                    with contextlib.suppress(OSError):
                        st = entry.stat(follow_symlinks=False)
                        if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) == identity:
                            return f"{up}/{entry.name}" if up else entry.name
        except OSError:
            pass
        return None

    def remove_temp_files(self, rel: str) -> None:
        """Remove the temp files a killed sync left in one destination directory (never through a link).

        Only a dead writer's (:func:`ipynb_tools.fileops.remove_stale_temps`): a sync still
        running in this directory (a second start of the same server) keeps its temp files.
        """
        assert self.dirs is not None
        try:
            fd = self.dirs.lookup(rel)
        except OSError:
            return  # unreadable (the student's chmod 000): its files fail one by one, with the reason
        if fd is not None:
            remove_stale_temps(fd)

    # -- deciding ------------------------------------------------------------------------------
    def plan(
        self,
        rel: str,
        src_st: os.stat_result,
        parent: int | None,
        dst_st: os.stat_result | None,
        known: Entry | None,
        manifest: Manifest,
    ) -> Job | None:
        """Decide for one file; return a copy job, or None when done here.

        ``parent``: the open directory the copy belongs in (None: missing, or a link or file in the
        way); ``dst_st``: the ``lstat`` of the copy there (None: missing).
        """
        name = _basename(rel)
        if dst_st is None:
            return (rel, src_st, _settled(known), COPIED)
        if not stat.S_ISREG(dst_st.st_mode):
            return (rel, src_st, _settled(known), MOVED_ASIDE)
        dst_fp = fingerprint(dst_st)
        if known is not None and known.dst and dst_fp == known.dst:
            # The student has not touched the copy.
            known.pending = None
            return self.plan_untouched(rel, src_st, known, "", "task file touched, content unchanged")
        if known is not None and known.kept is not None and known.pending is None and dst_fp == known.kept:
            # The student's changed copy, as it was when it was last looked at: not read again.
            self.add(rel, KEPT, KEPT_DETAIL)
            return None
        # The copy's stat changed (or there is no record): look at the content.
        assert parent is not None
        if known is not None and known.pending is not None and known.pending.size not in (None, dst_st.st_size):
            # Not the size of the copy an interrupted sync was placing: that copy never arrived, or
            # the student changed it since (a 1 TB sparse file is not read to find that out).
            if self.arrived_and_changed(rel, known, dst_st, manifest):
                return None
            known = _settled(known)
            if known is None:
                manifest.pop(rel, None)
        recorded = _recorded(known) if known is not None else []
        algorithms = digest.kinds(recorded)
        rendered: Rendered | None = None
        if known is None or known.pending is None:
            # Only a copy of a size we know can hold content we know: a student's 1 TB sparse
            # file at a task file's name is never hashed (it took minutes at every start).
            sizes = {known.dst[0]} if known is not None and known.dst and type(known.dst[0]) is int else set()
            if name.endswith(NOTEBOOK_SUFFIX):
                rendered = render(self.source / rel, _basename(rel), algorithms)
                sizes.add(src_st.st_size if rendered.data is None else len(rendered.data))
            else:
                sizes.add(src_st.st_size)
            if dst_st.st_size not in sizes:
                known = _settled(known)
                if known is None:
                    manifest.pop(rel, None)
                    return (rel, src_st, known, MOVED_ASIDE)
                self.keep(rel, known, dst_fp)
                return None
        if known is not None and known.pending is not None and not digest.comparable([known.pending.dst_sha]):
            # An interrupted sync's copy that cannot be checked here (no xxhash): kept for now,
            # and its pending record kept for a sync that can check it.
            self.add(rel, KEPT, KEPT_DETAIL)
            return None
        dst = digest_file(name, parent, algorithms, dst_st.st_size)
        if known is not None and known.pending is not None and dst.matches(known.pending.dst_sha):
            # The copy an interrupted sync put there: the task's, as its record says.
            known = manifest[rel] = Entry(known.pending.src, known.pending.src_sha, dst_fp, dst.current)
            return self.plan_untouched(rel, src_st, known, "", "content unchanged")
        if known is not None and self.arrived_and_changed(rel, known, dst_st, manifest):
            return None
        known = _settled(known)
        if known is None:
            manifest.pop(rel, None)
        if known is not None and dst.matches(known.dst_sha):
            known.dst, known.dst_sha, known.kept = dst_fp, dst.current, None
            return self.plan_untouched(rel, src_st, known, "copy touched, content unchanged", "content unchanged")
        if rendered is None:
            rendered = render(self.source / rel, _basename(rel), algorithms)
        if dst.current == rendered.dst.current:
            manifest[rel] = Entry(fingerprint(src_st), rendered.src.current, dst_fp, dst.current)
            self.add(rel, ADOPTED, "already equal to the task file")
            return None
        if known is not None:
            # Unequal only because a recorded digest cannot be computed here (no xxhash): kept,
            # but not remembered as kept, so a sync that can compute it looks again.
            self.keep(rel, known, dst_fp, remember=digest.comparable(recorded))
            return None
        return (rel, src_st, known, MOVED_ASIDE)

    def arrived_and_changed(self, rel: str, known: Entry, dst_st: os.stat_result, manifest: Manifest) -> bool:
        """True (reported kept, recorded) when the file at ``rel`` is the first copy an interrupted sync
        placed there (``known.pending``'s inode: the rename keeps the temp file's) and its content is
        no longer that copy's: the student changed the task's copy, as after a sync that finished.

        Without this, a first copy that had no settled record was taken for the student's own file in
        the way: moved aside and the task's version put at its name, where a finished sync keeps it.
        (An update's copy keeps its earlier settled record, so a change to it was always kept.)
        """
        pending = known.pending
        if pending is None or pending.ino is None or pending.ino != dst_st.st_ino or known.src_sha or known.dst_sha:
            return False
        entry = manifest[rel] = Entry(pending.src, pending.src_sha, [], pending.dst_sha)
        self.keep(rel, entry, fingerprint(dst_st))
        return True

    def keep(self, rel: str, known: Entry, dst_fp: Fingerprint, *, remember: bool = True) -> None:
        """Report a copy the student changed as kept, and record its stat, so that while it stays
        as it is the next syncs keep it without reading it (a changed copy was hashed at every start).

        A stat the student cannot forge (the ctime and inode change with any write or replacement)
        decides only "kept" again, the direction that never overwrites anything.
        """
        known.kept = dst_fp if remember else None
        self.add(rel, KEPT, KEPT_DETAIL)

    def plan_untouched(
        self, rel: str, src_st: os.stat_result, known: Entry, same_stat: str, same_content: str
    ) -> Job | None:
        """The student's copy is what was copied: update it if the task file's content changed.

        ``same_stat``/``same_content`` are the report details when the task file is unchanged
        by its stat data or, after a look at its content, by its hash.
        """
        if fingerprint(src_st) == known.src:
            self.add(rel, UNCHANGED, same_stat)
            return None
        rendered = render(self.source / rel, _basename(rel), digest.kinds([known.src_sha]))
        if rendered.src.matches(known.src_sha):
            known.src, known.src_sha = fingerprint(src_st), rendered.src.current
            self.add(rel, UNCHANGED, same_content)
            return None
        return (rel, src_st, known, UPDATED)

    # -- doing -----------------------------------------------------------------------------------
    def copy_job(self, job: Job) -> Staged | None:
        rel, _src_st, _known, action = job
        assert self.dirs is not None
        try:
            head, _, name = rel.rpartition("/")
            parent, moved = self.dirs.make(head, self.move_aside)
            moved = self.premoved.pop(head, []) + moved
            if action == MOVED_ASIDE:
                try:
                    os.stat(name, dir_fd=parent, follow_symlinks=False)
                    moved.append(self.move_aside(parent, name, rel))
                except FileNotFoundError:
                    pass
            dir_id = self.dirs.identity(head)
            detail = ""
            if moved:
                detail = "student's " + ", ".join(f"{a} moved to {b}" for a, b in moved)
                if action != UPDATED:
                    action = MOVED_ASIDE
            temp, entry, written = self.copy_file(rel, parent, name)
            expect = job[2].dst if action == UPDATED and job[2] is not None and not moved else None
            up_ids = self.up_ids(head, dir_id)
            return Staged(rel, head, dir_id, name, temp, entry, action, detail, written, expect, up_ids)
        except (OSError, IpynbToolsError) as exc:
            self.add(rel, FAILED, _reason(exc))
            return None

    def move_aside(self, dir_fd: int, name: str, rel: str) -> tuple[str, str]:
        """Rename the student's entry ``name`` (at ``rel``) in ``dir_fd`` to a free ``<stem>.<stamp><suffix>``."""
        stem, suffix = _split_suffix(name)
        for n in range(1000):
            extra = f"-{n}" if n else ""
            candidate = f"{stem}.{self.stamp}{extra}{suffix}"
            try:
                # Never over an entry at the candidate name (one the student makes meanwhile too).
                rename_no_replace(name, candidate, dir_fd)
            except FileExistsError:
                continue
            return rel, str(Path(rel).with_name(candidate))
        raise FileProblem(self.dest / rel, "cannot find a free name to move it aside")

    def copy_file(self, rel: str, dir_fd: int, name: str) -> tuple[str, Entry, os.stat_result]:
        """Copy one task file to a temp file beside its target (in ``dir_fd``); return the temp name,
        its entry and its ``fstat`` once written.

        The entry's ``dst`` is filled in when the temp file is renamed into place (:meth:`place`).
        """
        src_fd, st = open_regular(f"{self.source}/{rel}")
        try:
            mode = (stat.S_IMODE(st.st_mode) | 0o600) & ~self.umask & 0o777
            fd, tmp = open_temp(name, dir_fd=dir_fd, mode=mode)  # the mode from the start: no fchmod
            try:
                if name.endswith(NOTEBOOK_SUFFIX):
                    raw = read_all(src_fd)
                    src_sha = digest.of_bytes(raw).current
                    fixed = fix_notebook_tags(raw, name)
                    write_all(fd, raw if fixed is None else fixed)
                    dst_sha = src_sha if fixed is None else digest.of_bytes(fixed).current
                else:
                    src_sha = dst_sha = digest.copy_fd(src_fd, fd, self.buffer)
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
                written = os.fstat(fd)
            except BaseException:
                os.close(fd)
                unlink_quiet(tmp, dir_fd=dir_fd)
                raise
            os.close(fd)
        finally:
            os.close(src_fd)
        # The source's stat as it was when it was opened: if the teacher changed it during
        # the copy, the next sync sees a different stat and looks again.
        return tmp, Entry(fingerprint(st), src_sha, [], dst_sha), written


def _batches(jobs: list[Job]) -> Iterator[list[Job]]:
    """``jobs`` in runs of at most :data:`PLACE_BATCH_FILES` files / about :data:`PLACE_BATCH_BYTES` bytes.

    Each run is copied, recorded as pending and placed before the next starts, so a killed
    first copy of a large task keeps what it placed, at one manifest write per run.
    """
    batch: list[Job] = []
    size = 0
    for job in jobs:
        batch.append(job)
        size += job[1].st_size
        if len(batch) >= PLACE_BATCH_FILES or size >= PLACE_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _settled(known: Entry | None) -> Entry | None:
    """``known`` without its pending copy (that copy never arrived); None when nothing had arrived before."""
    if known is None or known.pending is None:
        return known
    known.pending = None
    return known if (known.dst_sha or known.src_sha) else None


def _lstat_at(dir_fd: int | None, name: str) -> os.stat_result | None:
    """``lstat`` of ``name`` in the open directory ``dir_fd``; None when either is missing."""
    if dir_fd is None:
        return None
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _job_dir(job: Job) -> str:
    """The relative directory (``""``: the root) a copy job's file belongs in."""
    return job[0].rpartition("/")[0]


def _basename(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def _split_suffix(name: str) -> tuple[str, str]:
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, "." + suffix


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{os_reason(exc)}"
    return str(exc)


def sync_tree(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    durable: bool = True,
    workers: int | None = None,
    progress: Callable[[FileSync], None] | None = None,
    now: float | None = None,
) -> SyncReport:
    """Sync task directory ``source`` into personal directory ``dest`` (see the module doc).

    ``durable`` flushes the destination filesystem once before the manifest is
    written, so a power loss cannot leave a manifest that describes copies
    the disk does not have. ``workers``: copy processes for a large run (default: one per CPU
    available, at most four: :func:`.workers.default_workers`; 1: never fork). ``now`` fixes the
    move-aside timestamp (tests).
    """
    syncer = _Syncer(
        Path(source), Path(dest), durable=durable, workers=workers or default_workers(), progress=progress, now=now
    )
    return syncer.run()
