"""``ipynb-tools console``: settings it cannot run with are one line and a non-zero exit, before listening."""

from __future__ import annotations

from click.testing import CliRunner

from ipynb_tools.cli.main import cli

HUB = {"JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api", "JUPYTERHUB_API_TOKEN": "t0ken"}


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(
        cli,
        ["console", *args],
        prog_name="ipynb-tools",
        env={"JUPYTERHUB_API_URL": "", "JUPYTERHUB_API_TOKEN": "", **env},
    )


def test_refusals_are_one_line(tmp_path) -> None:
    db = str(tmp_path / "console.sqlite")
    for args, env, words in (
        (["--db", db], {}, "no hub API URL or token"),
        ([], HUB, "give --db URL"),
        (["--db", db, "--timezone", "Mars/Olympus"], HUB, "'Mars/Olympus' is not a time zone name"),
    ):
        result = run(args, env)
        assert result.exit_code != 0
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ipynb-tools console: error: ") and words in lines[0], (
            result.output
        )
        assert "t0ken" not in result.output
