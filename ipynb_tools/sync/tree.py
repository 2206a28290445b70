"""Syncing one task tree into a personal directory: the walk, the decision for each file, the copy.

See the package doc (:mod:`ipynb_tools.sync`) for the rules and the speed design.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..atomic import current_umask
from ..errors import FileProblem, IpynbToolsError, os_reason
from ..fileops import (
    TEMP_SUFFIX,
    copy_and_hash,
    copy_fd,
    hash_file,
    open_regular,
    open_temp,
    read_all,
    read_file,
    rename_into_place,
    sha256_hex,
    syncfs,
    unlink_quiet,
    write_all,
)
from ..notebook import CHECKPOINTS, NOTEBOOK_SUFFIX
from ..numbering import fix_notebook_tags
from .manifest import MANIFEST_NAME, Entry, fingerprint, read_manifest, write_manifest
from .report import (
    ADOPTED,
    COPIED,
    FAILED,
    KEPT,
    MOVED_ASIDE,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    FileSync,
    SyncError,
    SyncReport,
)

#: Data files up to this size are copied in the kernel and hashed on a second thread (_Syncer.hash_later).
DEFERRED_HASH_MAX = 8 << 20
DEFERRED_HASH_QUEUE = 32


# -- what a task file becomes in the personal directory -------------------------------------------


@dataclass
class Rendered:
    """A task file as it would arrive: hashes of the source and of the bytes written."""

    src_sha: str
    dst_sha: str
    data: bytes | None  # the bytes to write when they differ from the source (notebooks); else stream


def render(src: Path, name: str) -> Rendered:
    """Hash a task file (and, for notebooks, compute the corrected bytes) without writing."""
    if name.endswith(NOTEBOOK_SUFFIX):
        raw = read_file(src)
        src_sha = sha256_hex(raw)
        fixed = fix_notebook_tags(raw, name)
        if fixed is None:
            return Rendered(src_sha, src_sha, None)
        return Rendered(src_sha, sha256_hex(fixed), fixed)
    sha = hash_file(src)
    return Rendered(sha, sha, None)


# -- the walk ----------------------------------------------------------------------------------------


def _skipped_name(name: str) -> bool:
    return name.startswith(".") or name == CHECKPOINTS or name.endswith(TEMP_SUFFIX)


def iter_task_files(source: Path, rel: str = "") -> Iterator[tuple[str, os.DirEntry[str] | None]]:
    """(relative path, entry) of every non-hidden file under ``source``; directories as (rel/, None)."""
    try:
        entries = sorted(os.scandir(source / rel if rel else source), key=lambda e: e.name)
    except OSError as exc:
        raise FileProblem(source / rel, f"cannot list directory ({os_reason(exc)})") from None
    for entry in entries:
        if _skipped_name(entry.name):
            continue
        path = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield path + "/", None
            yield from iter_task_files(source, path)
        else:
            yield path, entry


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
        self.lock = threading.Lock()
        self.wrote = False
        self.ready_dirs: set[str] = {""}
        self.hasher: ThreadPoolExecutor | None = None
        self.pending: deque[tuple[Entry, Future[str]]] = deque()

    def add(self, rel: str, action: str, detail: str = "") -> None:
        result = FileSync(rel, action, detail)
        with self.lock:
            self.report.results.append(result)
        if self.progress and action != UNCHANGED:
            self.progress(result)

    def run(self) -> SyncReport:
        start = time.monotonic()
        if not self.source.is_dir():
            raise SyncError(f"{self.source}: task directory does not exist")
        dst_st = os.lstat(self.dest) if os.path.lexists(self.dest) else None
        if dst_st is None or not stat.S_ISDIR(dst_st.st_mode):
            raise SyncError(f"{self.dest}: personal directory does not exist (or is not a directory)")
        manifest, warning = read_manifest(self.dest)
        if warning:
            self.add(MANIFEST_NAME, FAILED, warning)
        original = {rel: Entry.from_json(e.to_json()) for rel, e in manifest.items()}
        jobs: list[tuple[str, os.stat_result, Entry | None, str]] = []
        self.remove_temp_files("")
        for rel, entry in iter_task_files(self.source):
            if entry is None:
                self.remove_temp_files(rel.rstrip("/"))
                continue  # directories are made when a file needs them
            try:
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    self.add(rel, SKIPPED, "not a regular file (symlinks and special files are not copied)")
                    continue
                job = self.plan(rel, st, manifest.get(rel), manifest)
                if job is not None:
                    jobs.append(job)
            except (OSError, IpynbToolsError) as exc:
                self.add(rel, FAILED, _reason(exc))
        if jobs:
            if self.workers > 1 and len(jobs) > 1:
                with ThreadPoolExecutor(self.workers) as pool:
                    for rel, entry_ in zip([j[0] for j in jobs], pool.map(self.copy_job, jobs), strict=True):
                        if entry_ is not None:
                            manifest[rel] = entry_
            else:
                for job in jobs:
                    entry_ = self.copy_job(job)
                    if entry_ is not None:
                        manifest[job[0]] = entry_
        self.finish_hashes()
        if self.wrote and self.durable:
            syncfs(self.dest)
        if manifest != original or not (self.dest / MANIFEST_NAME).exists():
            write_manifest(self.dest, manifest, self.source)
        self.report.seconds = time.monotonic() - start
        return self.report

    def remove_temp_files(self, rel: str) -> None:
        """Remove the temporary files an interrupted sync left in one destination directory."""
        try:
            with os.scandir(self.dest / rel if rel else self.dest) as it:
                for entry in it:
                    if (
                        entry.name.startswith(".")
                        and entry.name.endswith(TEMP_SUFFIX)
                        and entry.is_file(follow_symlinks=False)
                    ):
                        unlink_quiet(entry.path)
        except (FileNotFoundError, NotADirectoryError):
            pass

    # -- deciding ------------------------------------------------------------------------------
    def plan(
        self, rel: str, src_st: os.stat_result, known: Entry | None, manifest: dict[str, Entry]
    ) -> tuple[str, os.stat_result, Entry | None, str] | None:
        """Decide for one file; return a copy job, or None when done here."""
        target = f"{self.dest}/{rel}"
        try:
            dst_st: os.stat_result | None = os.lstat(target)
        except FileNotFoundError:
            dst_st = None
        except NotADirectoryError:
            dst_st = None  # a parent is a file: ensure_parents moves it aside
        if dst_st is None:
            return (rel, src_st, known, COPIED)
        if not stat.S_ISREG(dst_st.st_mode):
            return (rel, src_st, known, MOVED_ASIDE)
        if known is not None and fingerprint(dst_st) == known.dst:
            # The student has not touched the copy.
            return self.plan_untouched(rel, src_st, known, "", "task file touched, content unchanged")
        # The copy's stat changed (or there is no record): look at the content.
        dst_sha = hash_file(target)
        if known is not None and dst_sha == known.dst_sha:
            known.dst = fingerprint(dst_st)
            return self.plan_untouched(rel, src_st, known, "copy touched, content unchanged", "content unchanged")
        rendered = render(self.source / rel, _basename(rel))
        if dst_sha == rendered.dst_sha:
            manifest[rel] = Entry(fingerprint(src_st), rendered.src_sha, fingerprint(dst_st), dst_sha)
            self.add(rel, ADOPTED, "already equal to the task file")
            return None
        if known is not None:
            self.add(rel, KEPT, "changed by the student; the task version was not copied over it")
            return None
        return (rel, src_st, known, MOVED_ASIDE)

    def plan_untouched(
        self, rel: str, src_st: os.stat_result, known: Entry, same_stat: str, same_content: str
    ) -> tuple[str, os.stat_result, Entry | None, str] | None:
        """The student's copy is what was copied: update it if the task file's content changed.

        ``same_stat``/``same_content`` are the report details when the task file is unchanged
        by its stat data or, after a look at its content, by its hash.
        """
        if fingerprint(src_st) == known.src:
            self.add(rel, UNCHANGED, same_stat)
            return None
        rendered = render(self.source / rel, _basename(rel))
        if rendered.src_sha == known.src_sha:
            known.src = fingerprint(src_st)
            self.add(rel, UNCHANGED, same_content)
            return None
        return (rel, src_st, known, UPDATED)

    # -- doing -----------------------------------------------------------------------------------
    def copy_job(self, job: tuple[str, os.stat_result, Entry | None, str]) -> Entry | None:
        rel, src_st, _known, action = job
        try:
            detail = ""
            with self.lock:
                moved = self.ensure_parents(rel)
                if action == MOVED_ASIDE:
                    moved.append(self.move_aside(rel))
            if moved:
                detail = "student's " + ", ".join(f"{a} moved to {b}" for a, b in moved)
                if action != UPDATED:
                    action = MOVED_ASIDE
            entry = self.copy_file(rel, src_st)
            self.add(rel, action, detail)
            return entry
        except (OSError, IpynbToolsError) as exc:
            self.add(rel, FAILED, _reason(exc))
            return None

    def ensure_parents(self, rel: str) -> list[tuple[str, str]]:
        """Make the directories of ``rel`` in the destination; move aside what is in the way."""
        moved: list[tuple[str, str]] = []
        parts = rel.split("/")[:-1]
        for i in range(len(parts)):
            sub = "/".join(parts[: i + 1])
            if sub in self.ready_dirs:
                continue
            path = self.dest / sub
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISDIR(st.st_mode):
                moved.append(self.move_aside(sub))
                st = None
            if st is None:
                os.mkdir(path, 0o777)
            self.ready_dirs.add(sub)
        return moved

    def move_aside(self, rel: str) -> tuple[str, str]:
        """Rename the student's entry at ``rel`` to a free ``<stem>.<stamp><suffix>`` name."""
        path = self.dest / rel
        stem, suffix = _split_suffix(path.name)
        for n in range(1000):
            extra = f"-{n}" if n else ""
            candidate = path.with_name(f"{stem}.{self.stamp}{extra}{suffix}")
            if not os.path.lexists(candidate):
                os.rename(path, candidate)
                return rel, str(Path(rel).with_name(candidate.name))
        raise FileProblem(path, "cannot find a free name to move it aside")

    def copy_file(self, rel: str, src_st: os.stat_result) -> Entry:
        """Copy one task file to a temp file beside its target, then rename it into place."""
        src_path = f"{self.source}/{rel}"
        target = f"{self.dest}/{rel}"
        name = _basename(rel)
        src_fd, st = open_regular(src_path)
        try:
            mode = (stat.S_IMODE(st.st_mode) | 0o600) & ~self.umask & 0o777
            fd, tmp = open_temp(target)
            try:
                if name.endswith(NOTEBOOK_SUFFIX):
                    raw = read_all(src_fd)
                    src_sha = sha256_hex(raw)
                    fixed = fix_notebook_tags(raw, name)
                    write_all(fd, raw if fixed is None else fixed)
                    dst_sha = src_sha if fixed is None else sha256_hex(fixed)
                elif st.st_size <= DEFERRED_HASH_MAX:
                    copy_fd(src_fd, fd, st.st_size)
                    src_sha = dst_sha = ""  # filled in by finish_hashes()
                else:
                    src_sha = dst_sha = copy_and_hash(src_fd, fd)
                os.fchmod(fd, mode)
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            except BaseException:
                os.close(fd)
                unlink_quiet(tmp)
                raise
            os.close(fd)
            rename_into_place(tmp, target)
        finally:
            os.close(src_fd)
        self.wrote = True
        # The source's stat as it was when it was opened: if the teacher changed it during
        # the copy, the next sync sees a different stat and looks again.
        entry = Entry(fingerprint(st), src_sha, fingerprint(os.lstat(target)), dst_sha)
        if not dst_sha:
            self.hash_later(entry, target)
        return entry

    def hash_later(self, entry: Entry, copy: str) -> None:
        """Hash a file just copied to ``copy`` on a second thread.

        The copy itself stays in the kernel, as ``cp``'s does, and the hash,
        which would cost a third of a first sync, overlaps it (read back from
        the page cache). A copy that cannot be read back gets no hash, so a
        later sync treats it as changed by the student and keeps it. The manifest is written only after every
        hash is in (:meth:`finish_hashes`). At most :data:`DEFERRED_HASH_QUEUE` files wait.
        """
        with self.lock:
            if self.hasher is None:
                self.hasher = ThreadPoolExecutor(1, thread_name_prefix="sync-hash")
            self.pending.append((entry, self.hasher.submit(_sha256_of_copy, copy)))
            while len(self.pending) > DEFERRED_HASH_QUEUE:
                self._resolve_oldest()

    def finish_hashes(self) -> None:
        """Wait for the deferred hashes and put them into their manifest entries."""
        with self.lock:
            while self.pending:
                self._resolve_oldest()
            if self.hasher is not None:
                self.hasher.shutdown()
                self.hasher = None

    def _resolve_oldest(self) -> None:
        entry, future = self.pending.popleft()
        entry.src_sha = entry.dst_sha = future.result()


def _sha256_of_copy(path: str) -> str:
    """SHA-256 of a file sync just wrote, or "" when it cannot be read back (see hash_later)."""
    try:
        return hash_file(path)
    except OSError:
        return ""


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


def default_workers() -> int:
    """Copy threads: 1 on small machines (threads measured slower on 2 CPUs), up to 4 on larger ones.

    Threads help where each file costs latency (network or overlay filesystems);
    read, hash and write release the GIL.
    """
    cpus = os.cpu_count() or 1
    return 1 if cpus < 4 else min(4, cpus // 2)


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
    the disk does not have. ``now`` fixes the move-aside timestamp (tests).
    """
    syncer = _Syncer(
        Path(source), Path(dest), durable=durable, workers=workers or default_workers(), progress=progress, now=now
    )
    return syncer.run()
