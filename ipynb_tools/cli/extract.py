"""``ipynb-tools extract BASE CODENUM... [--from SUBMIT_DIR] [--nonum]``."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("base")
@click.argument("codenums", nargs=-1, required=True, type=int, metavar="CODENUM...")
@click.option(
    "--from", "submit_dir", default=".", show_default=True, metavar="SUBMIT_DIR", help="Directory of the submissions."
)
@click.option("-o", "--out-dir", default=".", show_default=True, help="Where NNN-BASE.ipynb is written.")
@click.option("--nonum", is_flag=True, help="Also take code cells that have no codenum: tag.")
@click.option("--force", is_flag=True, help="Rebuild an existing grading notebook, keeping the scores entered in it.")
@report_errors
def main(base: str, codenums: tuple[int, ...], submit_dir: str, out_dir: str, nonum: bool, force: bool) -> None:
    """Build the grading notebook NNN-BASE.ipynb from the cells numbered CODENUM... of every submission.

    \b
      ipynb-tools extract kadai-1.ipynb 3 4 --from 課題1提出用
    reads kadai-1_<user>.ipynb (and <user>_kadai-1.ipynb) and writes 003-kadai-1.ipynb.
    """
    from ..grading.display import shown
    from ..grading.extract import extract_notebook

    def problem(path: Path, message: str) -> None:
        click.secho(f"skipped {shown(path, 1000)}: {shown(message, 1000)}", fg="yellow", err=True)

    result = extract_notebook(base, codenums, submit_dir, out_dir, nonum=nonum, force=force, on_problem=problem)
    kept = f", kept {result.kept_scores} score(s)" if result.kept_scores else ""
    click.echo(f"wrote {result.path}: {len(result.users)} student(s), {result.cells} cell(s){kept}")
