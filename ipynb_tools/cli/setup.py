"""``ipynb-tools setup``: container start setup, run as root before the server starts."""

from __future__ import annotations

import sys

import click

from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--etc", metavar="DIR", default="/etc", show_default=True, help="Where passwd, group and profile.d are.")
@click.option("--no-sync", is_flag=True, help="Do not copy task volumes into personal directories.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failed steps (the log file still gets everything).")
@report_errors
def main(etc: str, no_sync: bool, quiet: bool) -> None:
    """Prepare the container for $NB_USER from the NB_* environment (SPEC 3.3).

    The home is $NB_HOME (default /home/$NB_USER), the works directory $NB_WRKDIR.

    Makes the user, the works directory, the access links, sets ownership and
    modes of task and submit volumes, creates personal directories, copies the
    task volumes into them and leaves the umask in ~/.ipynb-tools/umask. Every
    step is logged to stderr and ~/.ipynb-tools/setup.log; a failing step does
    not stop the others; the exit code is 1 when any step failed.
    """
    from ..start import setup

    def echo(line: str) -> None:
        if not quiet or ": FAILED: " in line:
            click.echo(line, err=True)

    report = setup(etc=etc, sync=not no_sync, echo=echo)
    if not report.ok:
        sys.exit(1)
