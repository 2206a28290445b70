"""``ipynb_submit`` / ``ipynb-tools submit``."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..i18n import _
from .errors import report_errors

if TYPE_CHECKING:
    from ..submit.results import Receipt


class OneShotCommand(click.Command):
    """A command that is the whole process when run as a console script (``args`` not given).

    Then the garbage collector is switched off (parsing a big notebook makes
    many objects and triggers needless collections) and every object is frozen
    before exit, so the interpreter's final collection does not walk them
    (about 10 ms saved when it was added; the whole command's figure is in
    docs/submit.md, measured by benchmarks/submit_startup.py). Called
    with explicit ``args`` (tests, other Python code) it behaves normally.
    """

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        if args is not None:
            return super().main(args, *rest, **kwargs)
        gc.disable()
        try:
            return super().main(args, *rest, **kwargs)
        finally:
            gc.freeze()


#: The command's help (click shows it for --help): translatable, so not the docstring; the
#: ``\b`` (click's "keep this paragraph as it is") stays out of the messages.
HELP = "\n\n".join(
    [
        _("Hand in a notebook: a copy named with your user name goes to the submit directory."),
        "\b\n"
        + _(
            "  ipynb_submit kadai-1.ipynb 課題1提出用   copy as 課題1提出用/kadai-1_alice.ipynb\n"
            "  ipynb_submit kadai-1.ipynb               the only submit target, if there is one\n"
            "  ipynb_submit --all [TARGET]              every notebook of your personal directory\n"
            "  ipynb_submit --list                      what you have handed in (time, size, SHA-256)"
        ),
        _(
            "A receipt is printed and appended to ~/.ipynb-tools/submit.log; every submission is also kept in "
            "~/.ipynb-tools/submissions/."
        ),
    ]
)


@click.command(cls=OneShotCommand, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, metavar="FILE [TARGET] | --all [TARGET] | --list")
@click.option("--all", "all_", is_flag=True, help=_("Submit every notebook of the personal directory."))
@click.option("--list", "list_", is_flag=True, help=_("Show your submissions: time, size, SHA-256."))
@click.option("--history", is_flag=True, help=_("With --list: also the earlier copies kept in ~/.ipynb-tools."))
@click.option("--targets", is_flag=True, help=_("Show the known submit targets and their closing times."))
@click.option(
    "--name-format",
    metavar="FORMAT",
    help=_(
        "Name of the copy: 'suffix' (kadai-1_alice.ipynb, default), 'prefix' (alice_kadai-1.ipynb) "
        "or a pattern with {stem} {user} {suffix} {name}. Default: $IPYNB_SUBMIT_NAME_FORMAT or suffix."
    ),
)
@click.option("-q", "--quiet", is_flag=True, help=_("Print only the receipt line(s), warnings and errors."))
@click.version_option(__version__, "-V", "--version", prog_name="ipynb_submit")
@report_errors
def main(
    args: tuple[str, ...],
    all_: bool,
    list_: bool,
    history: bool,
    targets: bool,
    name_format: str | None,
    quiet: bool,
) -> None:
    """Hand in a notebook (the help is :data:`HELP`)."""
    from .. import submit as lib
    from ..errors import UsageError
    from ..submit.results import FAILED, UNCHANGED

    if list_ or targets:
        if args:
            raise UsageError(_("--list and --targets take no arguments"))
        if targets:
            for t in lib.known_targets():
                state = _("closed") if t.closed else (_("open") if t.exists else _("missing"))
                close = "  " + _("closes %(time)s") % {"time": t.close_text()} if t.close_time is not None else ""
                click.echo(f"{t.access}\t{t.path}\t{state}{close}")
        if list_:
            subs = lib.list_submissions(history=history)
            if not subs:
                click.echo(_("no submissions"))
            for sub in subs:
                click.echo(sub.line())
        return

    if all_:
        if len(args) > 1:
            raise UsageError(_("--all takes at most one argument, the TARGET"))
        report = lib.submit_all(args[0] if args else None, name_format=name_format)
        for result in report.results:
            if result.status == FAILED:
                click.secho(_("failed: %(message)s") % {"message": result.message}, fg="red", err=True)
            elif result.status == UNCHANGED:
                click.secho(_("warning: %(message)s") % {"message": result.message}, fg="yellow", err=True)
            elif result.receipt is not None:  # SUBMITTED: always with its receipt
                _show(result.receipt, quiet)
        click.echo(report.summary())
        if not report.ok:
            sys.exit(1)
        return

    if not args or len(args) > 2:
        raise UsageError(_("give FILE [TARGET] (or --all [TARGET], or --list)"))
    receipt = lib.submit_notebook(args[0], args[1] if len(args) > 1 else None, name_format=name_format)
    _show(receipt, quiet)


def _show(receipt: Receipt, quiet: bool) -> None:
    for warning in receipt.warnings:
        click.secho(_("warning: %(message)s") % {"message": warning}, fg="yellow", err=True)
    click.echo(receipt.line())
    if not quiet and receipt.kept:
        click.echo("  " + _("kept in %(path)s; receipt logged") % {"path": receipt.kept})


if __name__ == "__main__":
    main()
