"""``ipynb_deploy`` / ``ipynb-tools deploy``."""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..i18n import N_, _
from .errors import report_errors

#: The command's help (click shows it for --help): translatable, so not the docstring; ``\b`` is
#: click's "keep this paragraph as it is" and stays out of the messages.
HELP = "\n\n".join(
    [
        _("Number every code cell of notebooks with filename:/codenum: tags."),
        "\b\n"
        + _(
            "  ipynb_deploy .                 number the notebooks here, in place\n"
            "  ipynb_deploy DEST [STEP]       number the notebooks here into DEST, copy other files\n"
            "  ipynb_deploy SRC... --to DEST  number the given files/directories into DEST"
        ),
    ]
)

#: How each action of a file is shown (the action values themselves are the API's, untranslated).
ACTIONS = {"numbered": N_("numbered"), "copied": N_("copied"), "unchanged": N_("unchanged"), "failed": N_("failed")}


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, metavar="[. | DEST [STEP] | SRC...]")
@click.option("--to", "to", metavar="DEST", help=_("Destination directory; all arguments are sources."))
@click.option("--in-place", is_flag=True, help=_("Number the given sources where they are."))
@click.option("--step", type=click.IntRange(min=1), default=None, help=_("Number cells step, 2*step, ... (default 1)."))
@click.option("-r", "--recursive", is_flag=True, help=_("Descend into sub-directories."))
@click.option("-n", "--dry-run", is_flag=True, help=_("Report what would change; write nothing."))
@click.option("--no-backup", is_flag=True, help=_("In place: do not keep the replaced files in .ipynb_deploy_backup/."))
@click.option(
    "--keep-backups",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help=_("In place: keep the newest N backup generations per directory (default 10; 0 keeps all)."),
)
@click.option(
    "--undo", "undo_dir", metavar="DIR", help=_("Restore the files replaced by the last in-place deploy of DIR.")
)
@click.option("-q", "--quiet", is_flag=True, help=_("Print only warnings, errors and the summary."))
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
    """Number every code cell of notebooks (the help is :data:`HELP`)."""
    from ..deploy import FAILED, KEEP_BACKUPS, UNCHANGED, Deployer, FileResult, resolve_legacy_arguments, undo

    if undo_dir is not None:
        restored = undo(undo_dir)
        for path in restored:
            click.echo(_("restored %(path)s") % {"path": path})
        click.echo(_("undo: restored %(count)s file(s)") % {"count": len(restored)})
        return

    sources, dest, legacy_step = resolve_legacy_arguments(list(args), to, in_place)

    def show(result: FileResult) -> None:
        for warning in result.warnings:
            click.secho(_("warning: %(message)s") % {"message": warning}, fg="yellow", err=True)
        if result.action == FAILED:
            click.secho(_("failed: %(message)s") % {"message": result.error}, fg="red", err=True)
        elif not quiet:
            shown = result.target if result.action != UNCHANGED else result.source
            action = _(ACTIONS.get(result.action, result.action))
            if result.cells:
                line = _("%(action)s: %(path)s (%(cells)s cells)") % {
                    "action": action,
                    "path": shown,
                    "cells": result.cells,
                }
            else:
                line = _("%(action)s: %(path)s") % {"action": action, "path": shown}
            click.echo(line)

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
        click.echo(_("replaced files kept in %(path)s (undo: ipynb_deploy --undo DIR)") % {"path": report.backup})
    if report.pruned_backups and not quiet:
        click.echo(
            _("removed %(count)s old backup generation(s) (keeping the newest)") % {"count": len(report.pruned_backups)}
        )
    if report.stale_temps:
        click.echo(
            _("removed %(count)s temp file(s) left by an interrupted deploy") % {"count": len(report.stale_temps)}
        )
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
