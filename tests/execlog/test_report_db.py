"""``report --db``: the four charts drawn from the store's aggregates, times in the chosen zone."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.execlog.records import CLIENT, SERVER, SESSION, ExecRecord, parse_date
from ipynb_tools.execlog.store import Launch, Store

DATA = Path(__file__).resolve().parents[1] / "data" / "grading" / "logs"


def test_report_from_the_store_matches_stats_and_draws_in_the_zone(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite"
    runner = CliRunner()
    assert runner.invoke(cli, ["logs", "import", str(DATA / "proxy.jsonl"), "--db", str(db)]).exit_code == 0
    figures = json.loads(runner.invoke(cli, ["logs", "stats", "--db", str(db), "--json"]).stdout)
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", "--db", str(db), "--tz", "Asia/Tokyo", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert f"executions: <strong>{figures['executions']}</strong>" in page
    assert f"OK {figures['ok']}" in page and f"ERROR {figures['error']}" in page
    assert "User progress (codenum over time, Asia/Tokyo)" in page
    for row in figures["per_user"]:
        assert row["user"] in page


def test_class_in_japan_reads_its_own_clock(tmp_path: Path) -> None:
    """A run at 00:10 UTC is drawn at 09:10 in Asia/Tokyo (the old module used the LMS's zone)."""
    db = tmp_path / "logs.sqlite"
    with Store.open(db) as store:
        store.record_launch(Launch("t", "98", "7", "3", 0))
        when = parse_date("2024-04-17T00:10:00Z") or 0
        store.ingest(
            [ExecRecord(kind=SESSION, session="s", lti_id="7")]
            + [
                ExecRecord(
                    kind=SERVER, session="s", message=f"m{i}", status="ok", username="u", date_us=when + i * 60_000_000
                )
                for i in range(3)
            ]
            + [
                ExecRecord(kind=CLIENT, session="s", message=f"m{i}", codenum=i + 1, filename="k.ipynb", date_us=when)
                for i in range(3)
            ]
        )
    out = tmp_path / "r.html"
    runner = CliRunner()
    for zone, hour in (("Asia/Tokyo", "09:1"), ("UTC", "00:1")):
        result = runner.invoke(cli, ["report", "--db", str(db), "--course", "98", "--tz", zone, "-q", "-o", str(out)])
        assert result.exit_code == 0, result.output
        page = out.read_text()
        assert "executions: <strong>3</strong>" in page
        assert hour in page and f"codenum over time, {zone}" in page
    both = runner.invoke(cli, ["report", "--db", str(db), "--log", str(DATA / "proxy.jsonl"), "-o", str(out)])
    assert both.exit_code == 2 and "not both" in both.stderr
    assert re.search(r"--db", runner.invoke(cli, ["report", "--help"]).stdout)
