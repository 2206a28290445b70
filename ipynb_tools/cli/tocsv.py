"""``ipynb-tools tocsv BASE [--dir DIR] [--xlsx]``."""

from __future__ import annotations

import sys

import click

from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("base")
@click.option("-d", "--dir", "directory", default=".", show_default=True, help="Directory of the NNN-BASE.ipynb files.")
@click.option("-o", "--out", default=None, help="CSV file to write (default: BASE.csv in that directory).")
@click.option("--xlsx", is_flag=True, help="Also write an Excel workbook beside the CSV (needs openpyxl).")
@report_errors
def main(base: str, directory: str, out: str | None, xlsx: bool) -> None:
    """Collect the scores of every NNN-BASE.ipynb into BASE.csv: Name, P<NNN>..., Total."""
    from ..grading.scores import ScoresError, write_scores

    try:
        paths = write_scores(base, directory, out=out, xlsx=xlsx)
    except ScoresError as exc:
        for path, user, problem in exc.problems:
            click.secho(f"{path}: {user}: {problem}", fg="red", err=True)
        if exc.problems:
            click.echo(f"tocsv: error: {len(exc.problems)} score(s) are not numbers; nothing written", err=True)
            sys.exit(1)
        raise
    for path in paths:
        click.echo(f"wrote {path}")
