"""``ipynb-tools sync``: copy a task volume into a personal directory without losing anything."""

from __future__ import annotations

import sys

import click

from .errors import report_errors


def _report_child(ok: bool, message: str) -> None:
    """What the user's child process reports (an exception that ended it): one line on stderr."""
    if not ok:
        click.secho(f"sync: {message}", fg="red", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("source", required=False, metavar="[TASK_DIR")
@click.argument("dest", required=False, metavar="PERSONAL_DIR]")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary and problems.")
@click.option("--no-flush", is_flag=True, help="Do not flush the filesystem before writing the manifest.")
@report_errors
def main(source: str | None, dest: str | None, quiet: bool, no_flush: bool) -> None:
    """Copy TASK_DIR into PERSONAL_DIR: new and deleted files come back, files the
    teacher changed are updated unless the student changed them, a student's file
    in the way is renamed aside; nothing is deleted.

    Without arguments, every personal directory of the NB_* environment is synced
    from its task volume (as $NB_USER when run as root).
    """
    from ..errors import UsageError
    from ..sync import COPIED, FAILED, UNCHANGED, FileSync, SyncReport, sync_tree

    def show(result: FileSync) -> None:
        if result.action == FAILED:
            click.secho(f"failed: {result.rel}: {result.detail}", fg="red", err=True)
        elif not quiet or result.action not in (COPIED, UNCHANGED):
            click.echo(f"{result.action}: {result.rel}" + (f" ({result.detail})" if result.detail else ""))

    def one(src: str, dst: str) -> bool:
        report: SyncReport = sync_tree(src, dst, durable=not no_flush, progress=show)
        click.echo(report.summary())
        return report.ok

    if source is not None and dest is not None:
        ok = one(source, dest)
    elif source is None and dest is None:
        from ..environ import StartEnvironment
        from ..start import run_as, task_copies

        env = StartEnvironment.from_environ()
        pairs = [(str(c.source), str(c.dest)) for c in task_copies(env) if c.source is not None]
        if not pairs:
            click.echo("sync: no personal directory has a mounted task volume; nothing to do")
            return
        ok = run_as(env, lambda emit: all([one(s, d) for s, d in pairs]), report=_report_child)  # noqa: C419 - a list: every pair syncs
    else:
        raise UsageError("give both TASK_DIR and PERSONAL_DIR, or neither (use the NB_* environment)")
    if not ok:
        sys.exit(1)
