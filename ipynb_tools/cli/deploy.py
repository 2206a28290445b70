"""``ipynb_deploy`` / ``ipynb-tools deploy``."""

from __future__ import annotations

import sys

import click

from .. import __version__
from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, metavar="[. | DEST [STEP] | SRC...]")
@click.option("--to", "to", metavar="DEST", help="Destination directory; all arguments are sources.")
@click.option("--in-place", is_flag=True, help="Number the given sources where they are.")
@click.option("--step", type=click.IntRange(min=1), default=None, help="Number cells step, 2*step, ... (default 1).")
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-directories.")
@click.option("-n", "--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--no-backup", is_flag=True, help="In place: do not keep the replaced files in .ipynb_deploy_backup/.")
@click.option(
    "--keep-backups",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="In place: keep the newest N backup generations per directory (default 10; 0 keeps all).",
)
@click.option(
    "--undo", "undo_dir", metavar="DIR", help="Restore the files replaced by the last in-place deploy of DIR."
)
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings, errors and the summary.")
@click.version_option(__version__, "-V", "--version", prog_name="ipynb_deploy")
@report_errors
def main(
    args: tuple[str, ...],
    to: str | None,
    in_place: bool,
    step: int | None,
    recursive: bool,
    dry_run: bool,
    no_backup: bool,
    keep_backups: int | None,
    undo_dir: str | None,
    quiet: bool,
) -> None:
    """Number every code cell of notebooks with filename:/codenum: tags.

    \b
      ipynb_deploy .                 number the notebooks here, in place
      ipynb_deploy DEST [STEP]       number the notebooks here into DEST, copy other files
      ipynb_deploy SRC... --to DEST  number the given files/directories into DEST
    """
    from ..deploy import FAILED, KEEP_BACKUPS, UNCHANGED, Deployer, FileResult, resolve_legacy_arguments, undo

    if undo_dir is not None:
        restored = undo(undo_dir)
        for path in restored:
            click.echo(f"restored {path}")
        click.echo(f"undo: restored {len(restored)} file(s)")
        return

    sources, dest, legacy_step = resolve_legacy_arguments(list(args), to, in_place)

    def show(result: FileResult) -> None:
        for warning in result.warnings:
            click.secho(f"warning: {warning}", fg="yellow", err=True)
        if result.action == FAILED:
            click.secho(f"failed: {result.error}", fg="red", err=True)
        elif not quiet:
            detail = f" ({result.cells} cells)" if result.cells else ""
            shown = result.target if result.action != UNCHANGED else result.source
            click.echo(f"{result.action}: {shown}{detail}")

    deployer = Deployer(
        step=step or legacy_step or 1,
        recursive=recursive,
        dry_run=dry_run,
        backup=not no_backup,
        keep_backups=KEEP_BACKUPS if keep_backups is None else keep_backups,
        world_readable=dest is not None,
        progress=show,
    )
    report = deployer.run(sources, dest)
    if report.backup is not None and not quiet:
        click.echo(f"replaced files kept in {report.backup} (undo: ipynb_deploy --undo DIR)")
    if report.pruned_backups and not quiet:
        click.echo(f"removed {len(report.pruned_backups)} old backup generation(s) (keeping the newest)")
    if report.stale_temps:
        click.echo(f"removed {len(report.stale_temps)} temp file(s) left by an interrupted deploy")
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
