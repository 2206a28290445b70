"""``ipynb-tools report [--log FILE]... | [--db URL --course C ...] [--submissions DIR] [-o report.html]``."""

from __future__ import annotations

import sys
from typing import Any

import click

from .errors import report_errors
from .logs import DB_HELP, filter_options, filters_from


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log",
    "logs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Execution log (JSON lines or form-encoded nb_logs posts); repeatable.",
)
@click.option(
    "--submissions",
    "submit_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Submit directory to summarise and render.",
)
@click.option(
    "--task", "task_dir", type=click.Path(file_okay=False), default=None, help="Task notebooks to compare with."
)
@click.option(
    "-o",
    "--out",
    default="report.html",
    show_default=True,
    help="The report; renderings go to <name>_notebooks/ beside it.",
)
@click.option("--db", default=None, help="Read the execution log from this store instead of --log. " + DB_HELP)
@filter_options
@click.option("--no-render", is_flag=True, help="Do not render the submissions to HTML.")
@click.option("--title", default="Course report", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@report_errors
def main(
    logs: tuple[str, ...],
    submit_dir: str | None,
    task_dir: str | None,
    out: str,
    no_render: bool,
    title: str,
    quiet: bool,
    db: str | None,
    **given: Any,
) -> None:
    """Write a self-contained HTML report: log charts, submission summary, notebook renderings."""
    from ..grading.report import build_report

    if not logs and db is None and submit_dir is None:
        click.echo("report: nothing to report: give --log FILE (or --db URL) and/or --submissions DIR", err=True)
        sys.exit(2)
    filters, zone = filters_from(**given)
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet or total <= 0:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = click.progressbar(length=total, label=f"{stage:<12}", file=sys.stderr, show_pos=True)
            bar.__enter__()
            bars[stage] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    try:
        result = build_report(
            out,
            submit_dir=submit_dir,
            task_dir=task_dir,
            log_paths=logs,
            render=not no_render,
            title=title,
            progress=progress,
            db=db,
            filters=filters,
            zone=zone,
        )
    finally:
        for bar in bars.values():
            if bar.pos < bar.length:
                bar.__exit__(None, None, None)
    from ..grading.display import shown

    for where, problem in result.problems:
        click.secho(f"problem: {shown(where, 1000)}: {shown(problem, 1000)}", fg="yellow", err=True)
    click.echo(f"wrote {result.path}" + (f" and {len(result.renderings)} rendering(s)" if result.renderings else ""))
