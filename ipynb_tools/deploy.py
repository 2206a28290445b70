"""``ipynb_deploy``: number every code cell with ``filename:``/``codenum:`` tags (SPEC 3.1).

The tagging is a pure function (:func:`ipynb_tools.numbering.number_cells`); :class:`Deployer` walks
sources, writes results atomically, keeps a backup of anything it replaces in
place, and reports per file. A second run over its own output changes no byte.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .atomic import atomic_copy_file, atomic_write_bytes
from .errors import FileProblem, IpynbToolsError, UsageError, os_reason
from .fileops import read_all, remove_stale_temps
from .i18n import _
from .notebook import CHECKPOINTS, NOTEBOOK_SUFFIX, notebook_bytes, read_notebook_file
from .numbering import number_cells, numbering_of, shifted_cells

#: Hidden directory (skipped by every tool) where in-place deploys keep what they replaced.
BACKUP_DIR = ".ipynb_deploy_backup"
#: Backup generations kept per directory: a deploy that makes a new one removes all but the newest
#: this many (``ipynb_deploy --keep-backups N``; 0 keeps every generation). See README (ipynb_deploy).
KEEP_BACKUPS = 10

NUMBERED = "numbered"
COPIED = "copied"
UNCHANGED = "unchanged"
FAILED = "failed"


class DeployError(IpynbToolsError):
    """A deploy that cannot start (missing destination, bad step...)."""


@dataclass
class FileResult:
    """What happened to one source file."""

    source: Path
    target: Path
    action: str
    cells: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class DeployReport:
    """Per-file results and the summary counts."""

    results: list[FileResult] = field(default_factory=list)
    dry_run: bool = False
    backup: Path | None = None
    #: Temp files of killed earlier runs (this user's) removed from the directories written to.
    stale_temps: list[Path] = field(default_factory=list)
    #: Backup generations removed by the retention rule (:data:`KEEP_BACKUPS`).
    pruned_backups: list[Path] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.results if r.action == action)

    @property
    def cells(self) -> int:
        return sum(r.cells for r in self.results if r.action in (NUMBERED, UNCHANGED))

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        counts = {
            "numbered": self.count(NUMBERED),
            "cells": self.cells,
            "copied": self.count(COPIED),
            "unchanged": self.count(UNCHANGED),
            "failed": self.failed,
        }
        if self.dry_run:
            return (
                _(
                    "dry run: would have numbered %(numbered)s file(s), %(cells)s cell(s); copied %(copied)s; "
                    "unchanged %(unchanged)s; failed %(failed)s"
                )
                % counts
            )
        return (
            _(
                "numbered %(numbered)s file(s), %(cells)s cell(s); copied %(copied)s; unchanged %(unchanged)s; "
                "failed %(failed)s"
            )
            % counts
        )


def iter_sources(root: Path, *, recursive: bool) -> Iterator[Path]:
    """Non-hidden files under ``root`` in a stable order (directories only when recursive).

    Besides regular files (and symlinks) this yields FIFOs, sockets and devices too, so a deploy
    reports them as failed (``x.ipynb`` made a FIFO must not vanish from the summary without a word).
    """
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise FileProblem(root, _("cannot list directory (%(reason)s)") % {"reason": os_reason(exc)}) from None
    for entry in entries:
        if entry.name.startswith(".") or entry.name == CHECKPOINTS:
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if recursive:
                yield from iter_sources(path, recursive=True)
        else:
            yield path


class Deployer:
    """One deploy run: in place, or from sources into a destination directory."""

    def __init__(
        self,
        *,
        step: int = 1,
        recursive: bool = False,
        dry_run: bool = False,
        backup: bool = True,
        keep_backups: int = KEEP_BACKUPS,
        world_readable: bool = False,
        progress: Callable[[FileResult], None] | None = None,
    ) -> None:
        if step < 1:
            raise DeployError(_("step must be a positive integer, not %(step)s") % {"step": step})
        if keep_backups < 0:
            raise DeployError(_("keep_backups must be 0 (keep all) or more, not %(keep)s") % {"keep": keep_backups})
        self.step = step
        self.recursive = recursive
        self.dry_run = dry_run
        self.backup = backup
        self.keep_backups = keep_backups
        self._backup_roots: set[Path] = set()
        self.world_readable = world_readable
        self.progress = progress
        self.report = DeployReport(dry_run=dry_run)
        self._stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")

    # -- planning -----------------------------------------------------------------
    def plan(self, sources: Iterable[Path], dest: Path | None) -> list[tuple[Path, Path, Path | None]]:
        """(source, target, backup root) for every file to handle; directories expanded."""
        jobs: list[tuple[Path, Path, Path | None]] = []
        for src in sources:
            if src.is_dir() and not src.is_symlink():
                for file in iter_sources(src, recursive=self.recursive):
                    if dest is None and file.suffix != NOTEBOOK_SUFFIX:
                        continue  # in place only notebooks change
                    rel = file.relative_to(src)
                    jobs.append((file, (dest / rel) if dest else file, None if dest else src))
            else:
                if dest is None and src.suffix != NOTEBOOK_SUFFIX:
                    continue  # in place only notebooks change; nothing else to do
                jobs.append((src, (dest / src.name) if dest else src, None if dest else src.parent))
        return jobs

    # -- running ------------------------------------------------------------------
    def run(
        self, sources: Iterable[str | os.PathLike[str]], dest: str | os.PathLike[str] | None = None
    ) -> DeployReport:
        """Deploy ``sources`` (files or directories) in place (``dest`` None) or into ``dest``."""
        dest_path = Path(dest) if dest is not None else None
        if dest_path is not None and not dest_path.is_dir():
            raise DeployError(_("%(path)s: destination directory does not exist") % {"path": dest_path})
        srcs = [Path(s) for s in sources]
        for s in srcs:
            if not s.exists() and not s.is_symlink():
                raise DeployError(_("%(path)s: no such file or directory") % {"path": s})
        jobs = self.plan(srcs, dest_path)
        if not self.dry_run:
            for folder in dict.fromkeys(target.parent for _source, target, _backup in jobs):
                self.report.stale_temps += [folder / name for name in remove_stale_temps(folder)]
        for source, target, backup_root in jobs:
            result = self._one(source, target, backup_root)
            self.report.results.append(result)
            if self.progress:
                self.progress(result)
        for root in sorted(self._backup_roots):
            self.report.pruned_backups += prune_backups(root, self.keep_backups)
        return self.report

    def _one(self, source: Path, target: Path, backup_root: Path | None) -> FileResult:
        try:
            if source.suffix == NOTEBOOK_SUFFIX:
                return self._notebook(source, target, backup_root)
            return self._copy(source, target)
        except IpynbToolsError as exc:
            return FileResult(source, target, FAILED, error=str(exc))
        except OSError as exc:
            return FileResult(source, target, FAILED, error=f"{source}: {os_reason(exc)}")

    def _notebook(self, source: Path, target: Path, backup_root: Path | None) -> FileResult:
        nbfile = read_notebook_file(source)
        nb = nbfile.notebook
        old_target = nbfile if target == source else _read_existing(target)
        old_numbering = numbering_of(old_target.notebook) if old_target is not None else []
        cells = number_cells(nb, target.name, self.step)
        data = notebook_bytes(nb)
        mode = self._mode(nbfile.mode, target)
        result = FileResult(source, target, NUMBERED, cells=cells)
        if old_target is not None:
            shifts = shifted_cells(old_numbering, nb)
            if shifts:
                moves = ", ".join(f"{a}->{b}" for a, b in shifts[:5]) + (" ..." if len(shifts) > 5 else "")
                result.warnings.append(
                    _(
                        "%(path)s: re-deploy changes the numbers of %(count)s existing cell(s) (%(moves)s); "
                        "copies students already have keep the old numbers"
                    )
                    % {"path": target, "count": len(shifts), "moves": moves}
                )
            if old_target.raw == data and (mode is None or old_target.mode == mode):
                result.action = UNCHANGED
                return result
        if self.dry_run:
            return result
        if old_target is not None and backup_root is not None and self.backup:
            self._backup(old_target.raw, target, backup_root)
        self._make_parent(target)
        atomic_write_bytes(target, data, mode=mode)
        return result

    def _copy(self, source: Path, target: Path) -> FileResult:
        st = os.stat(source)
        if not stat.S_ISREG(st.st_mode):
            # opening a FIFO would wait for a writer forever; a device is no course material
            raise FileProblem(source, _("is not a regular file (a FIFO, socket or device); not copied"))
        mode = self._mode(stat.S_IMODE(st.st_mode), target)
        result = FileResult(source, target, COPIED)
        if target.exists() and _same_content(source, target) and stat.S_IMODE(os.stat(target).st_mode) == mode:
            result.action = UNCHANGED
            return result
        if self.dry_run:
            return result
        self._make_parent(target)
        atomic_copy_file(source, target, mode=mode)
        return result

    def _make_parent(self, target: Path) -> None:
        """Create sub-directories of a recursive deploy (world-readable when the files are)."""
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            if self.world_readable:
                os.chmod(target.parent, target.parent.stat().st_mode | 0o555)

    def _mode(self, source_mode: int, target: Path) -> int | None:
        """The mode to give ``target``: None keeps its own (or the umask's for a new file)."""
        return source_mode | 0o444 if self.world_readable else None

    def _backup(self, raw: bytes, target: Path, root: Path) -> None:
        """Keep the file a deploy is about to replace: ``<root>/.ipynb_deploy_backup/<stamp>/<rel>``.

        A hard link costs no copy: the deploy then renames a new inode over
        ``target``, so the linked old inode is reachable only from the backup
        and nothing edits it later. Where links are not allowed, the bytes are
        written instead.
        """
        rel = target.relative_to(root) if target.is_relative_to(root) else Path(target.name)
        backup = root / BACKUP_DIR / self._stamp / rel
        backup.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, backup, follow_symlinks=False)
        except FileExistsError:
            pass  # the same run saw this file already (listed twice); the first copy is the old one
        except OSError:
            atomic_write_bytes(backup, raw)
        self.report.backup = root / BACKUP_DIR / self._stamp
        self._backup_roots.add(root)


def _read_existing(path: Path) -> Any:
    """The notebook already at a destination, or None when there is none or it is unusable."""
    if not path.exists():
        return None
    try:
        return read_notebook_file(path, follow_symlinks=False)
    except IpynbToolsError:
        return None


def _same_content(a: Path, b: Path) -> bool:
    """True when the regular files ``a`` and ``b`` hold the same bytes (never waits on a FIFO)."""
    try:
        if not (stat.S_ISREG(os.stat(a).st_mode) and stat.S_ISREG(os.stat(b).st_mode)):
            return False
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        return read_file_following(a) == read_file_following(b)
    except OSError:
        return False


def read_file_following(path: Path) -> bytes:
    """The bytes of the regular file at ``path`` (a link is followed), opened without blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return read_all(fd)
    finally:
        os.close(fd)


def backup_generations(directory: str | os.PathLike[str]) -> list[Path]:
    """The backup generations of ``directory``, oldest first (their names are sortable time stamps)."""
    root = Path(directory) / BACKUP_DIR
    try:
        return sorted(Path(e.path) for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def prune_backups(directory: str | os.PathLike[str], keep: int = KEEP_BACKUPS) -> list[Path]:
    """Remove all but the newest ``keep`` backup generations of ``directory`` (0: keep all); return them.

    The retention rule of in-place deploys (README, ipynb_deploy): every deploy that replaces files
    keeps them in a new generation, then the oldest generations beyond ``keep`` go. ``--undo``
    restores the newest, so the last ``keep`` deploys can be undone one by one.
    """
    generations = backup_generations(directory)
    if keep <= 0 or len(generations) <= keep:
        return []
    removed = generations[: len(generations) - keep]
    for generation in removed:
        shutil.rmtree(generation, ignore_errors=True)  # never follows links out of the backup folder
    return removed


def latest_backup(directory: str | os.PathLike[str]) -> Path | None:
    """The newest backup made by an in-place deploy of ``directory``, or None."""
    root = Path(directory) / BACKUP_DIR
    if not root.is_dir():
        return None
    stamps = sorted(p for p in root.iterdir() if p.is_dir())
    return stamps[-1] if stamps else None


def undo(directory: str | os.PathLike[str]) -> list[Path]:
    """Restore the files of the newest backup of ``directory`` (atomically) and drop that backup.

    Returns the restored paths. Running it again restores the backup before that.
    """
    base = Path(directory)
    backup = latest_backup(base)
    if backup is None:
        raise DeployError(
            _("%(path)s: no deploy backup to undo (%(backup)s is empty or missing)")
            % {"path": base, "backup": BACKUP_DIR}
        )
    restored = []
    for file in sorted(p for p in backup.rglob("*") if p.is_file()):
        target = base / file.relative_to(backup)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, file.read_bytes())
        restored.append(target)
    shutil.rmtree(backup)
    return restored


def deploy(
    sources: Iterable[str | os.PathLike[str]],
    dest: str | os.PathLike[str] | None = None,
    **options: Any,
) -> DeployReport:
    """Library entry point: :class:`Deployer` with ``options``, run once.

    Into a destination the results are world-readable (students read them).
    """
    options.setdefault("world_readable", dest is not None)
    return Deployer(**options).run(sources, dest)


def resolve_legacy_arguments(
    args: list[str], to: str | None, in_place: bool
) -> tuple[list[str], str | None, int | None]:
    """Interpret the positional arguments of ``ipynb_deploy`` (the old and the new forms).

    Returns (sources, destination or None for in place, step from the old form or None).
    ``ipynb_deploy .`` and ``ipynb_deploy . STEP``: in place in the current directory.
    ``ipynb_deploy DEST [STEP]`` (DEST an existing directory or not a notebook): the old form.
    ``ipynb_deploy A.ipynb B.ipynb``: those notebooks in place. ``--to DEST``: all args are sources.
    """
    if to is not None or in_place:
        return (args or ["."]), to, None
    if not args:
        raise UsageError(_("nothing to deploy: give '.', a destination directory, or sources with --to DEST"))
    step: int | None = None
    if len(args) == 2 and args[1].isdigit() and not args[0].endswith(NOTEBOOK_SUFFIX):
        step = int(args[1])
        args = args[:1]
    if len(args) == 1 and not args[0].endswith(NOTEBOOK_SUFFIX):
        target = args[0]
        if Path(target).resolve() == Path.cwd().resolve():
            return ["."], None, step
        return ["."], target, step
    not_notebooks = [a for a in args if not a.endswith(NOTEBOOK_SUFFIX)]
    if not_notebooks:
        raise UsageError(
            _("%(arg)s: several arguments without --to must all be notebooks to number in place")
            % {"arg": not_notebooks[0]}
        )
    return args, None, step
