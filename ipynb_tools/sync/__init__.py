"""Task-to-personal sync: copy a task volume into a personal directory, losing nothing (SPEC 3.3).

The old start script ran ``cp --no-clobber``: a file the teacher fixed never
reached students who already had a copy. This package keeps a manifest (a
hidden JSON file in the personal directory, written atomically) of what it
copied, so it can tell apart, for every task file:

- a file the student never had, or deleted: copied (it comes back);
- a copy the student has not changed: updated when the teacher changed the task file;
- a copy the student changed: never overwritten;
- a student's own file (or directory, or link) in the way of a task file: renamed aside
  as ``<stem>.<YYYYmmdd-HHMMSS><suffix>``, then the task file is copied.

Nothing in the personal directory is ever deleted. Hidden files and
``.ipynb_checkpoints`` are skipped. Notebooks arrive with ``filename:`` tags
that name the file they arrive as (fixed when the teacher renamed a deployed
notebook; numbered when it was never deployed).

Every file is written to a temporary file in its final directory and renamed,
so an interrupted sync leaves whole files only, and the next run finishes the
job: a file already equal to what would be copied is adopted into the manifest
instead of being copied again or renamed aside. Before copies are renamed into
place the manifest records them as ``pending`` (their hashes), so a sync killed
before its final manifest write still recognises its own copies, and an untouched
copy keeps following the task (issue 12, item 11).

Speed: a re-sync compares ``lstat`` data of both sides with the manifest and
reads only files whose stat changed; a copy the student changed is read once,
then kept by its recorded stat while that stays. A first copy stays near
``cp -a``: each data file is read once, into a cache-sized buffer that is
digested (XXH3-128, :mod:`.digest` says why that keeps the guarantees) and
written; a large run of copies is split among a few processes, one per CPU available
(:mod:`.workers`: threads share one interpreter lock and did not help). The task tree is
listed through directory descriptors (each ``lstat`` looks up one name; each
descriptor is closed once its files and sub-directories are walked), and the cyclic garbage
collector is paused while a sync runs. The record holds entries for the task's
files only and is read only up to the size those can take
(:func:`.manifest.record_limit`): a student's junk costs no start its time.
Figures and where the time goes: docs/container-start.md.

This package must run as the owner of the personal directory (``setup`` drops
privileges before calling it); it never follows a symlink in the personal
directory: every directory there is opened with ``O_NOFOLLOW`` and everything is
done through those descriptors (issue 12, item 10). On both sides a sync holds as
many directories open as the tree is deep, not one per directory: a tree of more
directories than the limit on open files (often 1,024 in a container) syncs. An unusable manifest (a FIFO,
a link, garbage) is moved aside and rebuilt, never waited on (item 9).

Modules: ``report`` (the actions and :class:`SyncReport`), ``manifest`` (what was
copied), ``digest`` (the record's content digest), ``tree`` (the walk, the decisions, the copy; :func:`sync_tree`),
``workers`` (the copy processes). The
names below are the package's API.
"""

from __future__ import annotations

from .manifest import MANIFEST_NAME, Entry, read_manifest, write_manifest
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
from .tree import iter_task_files, sync_tree
from .workers import default_workers

__all__ = [
    "ADOPTED",
    "COPIED",
    "FAILED",
    "KEPT",
    "MANIFEST_NAME",
    "MOVED_ASIDE",
    "PRUNED",
    "SKIPPED",
    "UNCHANGED",
    "UPDATED",
    "Entry",
    "FileSync",
    "SyncError",
    "SyncReport",
    "default_workers",
    "iter_task_files",
    "read_manifest",
    "sync_tree",
    "write_manifest",
]
