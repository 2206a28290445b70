"""``ipynb-tools logs import/stats/prune``: the command edge (one-line errors, JSON keys)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ipynb_tools.cli.main import cli

DATA = Path(__file__).resolve().parents[1] / "data" / "grading" / "logs"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_then_stats_json(tmp_path: Path) -> None:
    db = str(tmp_path / "logs.sqlite")
    code, out, _ = run("logs", "import", str(DATA / "proxy.jsonl"), str(DATA / "proxy-posts.log"), "--db", db)
    assert code == 0 and "stored" in out
    code, out, _ = run("logs", "import", str(DATA / "proxy.jsonl"), "--db", db)
    assert code == 0 and ", 0 stored," in out
    code, out, err = run("logs", "stats", "--db", db, "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert set(figures) == {"executions", "ok", "error", "users", "per_codenum", "per_user"}
    assert figures["executions"] == figures["ok"] + figures["error"] > 0
    assert sum(r["ok"] + r["error"] for r in figures["per_user"]) == figures["executions"]
    assert all(set(r) == {"notebook", "codenum", "ok", "error"} for r in figures["per_codenum"])
    code, out, _ = run("logs", "stats", "--db", db, "--json", "--user", "bob")
    assert {r["user"] for r in json.loads(out)["per_user"]} == {"bob"}


def test_errors_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite"
    code, _, err = run("logs", "stats", "--db", str(db), "--json")
    assert code == 1 and err.count("\n") == 1 and "no execution-log store" in err and not db.exists()
    code, _, err = run("logs", "import", str(DATA / "broken.jsonl"), "--db", str(db))
    assert code == 1 and err.count("\n") == 1 and "broken.jsonl:" in err
    run("logs", "import", str(DATA / "proxy.jsonl"), "--db", str(db))
    code, _, err = run("logs", "stats", "--db", str(db), "--tz", "Mars/Olympus")
    assert code == 2 and "unknown time zone" in err
    code, _, err = run("logs", "stats", "--db", str(db), "--since", "last week")
    assert code == 2 and "ISO 8601" in err


def test_prune(tmp_path: Path) -> None:
    db = str(tmp_path / "logs.sqlite")
    run("logs", "import", str(DATA / "proxy.jsonl"), "--db", db)
    code, out, _ = run("logs", "prune", "--db", db, "--before", "2030-01-01", "--tz", "UTC")
    assert code == 0 and "deleted" in out
    code, out, _ = run("logs", "stats", "--db", db, "--json")
    assert json.loads(out)["executions"] == 0
