"""``ipynb-tools analyze SUBMIT_DIR [--task TASK_DIR] [--csv FILE] [--json FILE] [--xlsx FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("submit_dir", type=click.Path(file_okay=False))
@click.option(
    "--task",
    "task_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory of the task notebooks: adds 'changed' and rows for deleted cells.",
)
@click.option(
    "--csv", "csv_path", default=None, metavar="FILE", help="Write the tidy table (one row per user, notebook, cell)."
)
@click.option(
    "--json",
    "json_path",
    default=None,
    metavar="FILE",
    help="Write everything as JSON: cells, per_cell, per_user, submissions, problems ('-' for stdout).",
)
@click.option("--xlsx", "xlsx_path", default=None, metavar="FILE", help="Write an Excel workbook with all tables.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the summaries.")
@report_errors
def main(
    submit_dir: str,
    task_dir: str | None,
    csv_path: str | None,
    json_path: str | None,
    xlsx_path: str | None,
    quiet: bool,
) -> None:
    """Analyse every submission cell by cell: present, changed, executed, errors, output size."""
    import pandas as pd

    from ..atomic import atomic_write_bytes, atomic_write_text
    from ..grading.analysis import analyze_submissions
    from ..grading.display import shown

    analysis = analyze_submissions(submit_dir, task_dir)
    for path, problem in analysis.problems:
        click.secho(f"problem: {shown(path, 1000)}: {shown(problem, 1000)}", fg="yellow", err=True)
    if json_path == "-":
        click.echo(analysis.to_json(), nl=False)
        quiet = True
    elif json_path:
        atomic_write_text(json_path, analysis.to_json())
    if csv_path:
        atomic_write_text(csv_path, analysis.to_csv())
    if xlsx_path:
        atomic_write_bytes(xlsx_path, analysis.to_xlsx())
    if not quiet:
        with pd.option_context("display.width", 160, "display.max_rows", 200, "display.max_columns", 20):
            click.echo("Per student:")
            click.echo(analysis.per_user().to_string(index=False))
            click.echo("\nPer code cell:")
            click.echo(analysis.per_cell().to_string(index=False))
    for written in (csv_path, None if json_path == "-" else json_path, xlsx_path):
        if written:
            click.echo(f"wrote {Path(written)}", err=json_path == "-")
    if analysis.submissions.empty:
        click.echo(f"analyze: no usable submissions in {submit_dir}", err=True)
        sys.exit(1)
