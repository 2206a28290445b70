"""Execution logs: both record forms, the client/server join, /nc, and malformed input reported."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ipynb_tools.errors import FileProblem
from ipynb_tools.grading.logs import load_logs, numbering_from_tags, parse_form_line, read_logs
from ipynb_tools.grading.samplelog import form_encoded, sample_log, write_sample_log


@pytest.fixture
def logs(grading_data: Path):
    return load_logs([grading_data / "logs" / "proxy.jsonl", grading_data / "logs" / "proxy-posts.log"])


def by_message(executions: pd.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["session"], r["message"]): r for r in executions.to_dict("records")}


def test_records_joined_by_session_and_message(logs) -> None:
    rows = by_message(logs.executions)
    assert set(rows) == {("s1", "m1"), ("s1", "m2"), ("s1", "m9"), ("s1", "m3"), ("s2", "m1"), ("s2", "m4")}
    m1 = rows[("s1", "m1")]
    assert (m1["username"], m1["status"], m1["ok"], m1["paired"], m1["codenum"], m1["filename"], m1["cell_id"]) == (
        "alice",
        "ok",
        True,
        True,
        1,
        "kadai-1.ipynb",
        "c-1",
    )
    assert m1["date"] == pd.Timestamp("2024-04-17T09:00:01.250Z")
    assert m1["client_date"] == pd.Timestamp("2024-04-17T09:00:00Z")
    assert rows[("s1", "m2")]["status"] == "error" and not rows[("s1", "m2")]["ok"]
    assert rows[("s1", "m2")]["codenum"] == 2  # tags given as a JSON list work too
    # same message id in another session is another execution
    assert rows[("s2", "m1")]["username"] == "bob" and rows[("s2", "m1")]["codenum"] == 1


def test_server_record_without_client_record_is_marked_nc(logs) -> None:
    m9 = by_message(logs.executions)[("s1", "m9")]
    assert m9["status"] == "ok/nc"
    assert m9["ok"] and not m9["paired"]
    assert pd.isna(m9["codenum"])


def test_client_without_tags_takes_the_numbering_of_its_cell(logs) -> None:
    m3 = by_message(logs.executions)[("s1", "m3")]
    assert m3["paired"] and m3["codenum"] == 2 and m3["filename"] == "kadai-1.ipynb"


def test_form_encoded_posts(logs, grading_data: Path) -> None:
    m4 = by_message(logs.executions)[("s2", "m4")]
    assert (m4["username"], m4["status"], m4["codenum"]) == ("bob", "error", 4)
    line = (grading_data / "logs" / "proxy-posts.log").read_text().splitlines()[0]
    records = parse_form_line(line)
    assert [r["host"] for r in records] == ["server", "client"]
    assert "wstoken" not in records[0]


def test_counts(logs) -> None:
    assert logs.records == 13
    assert logs.ignored == 1  # the ltictr session record
    assert logs.unanswered == 1  # s2/m5 never answered
    assert logs.problems == []
    executions = logs.executions
    assert executions["date"].is_monotonic_increasing
    assert int(executions["ok"].sum()) == 4 and len(executions) == 6


def test_malformed_lines_reported_not_fatal(grading_data: Path) -> None:
    data = load_logs(grading_data / "logs" / "broken.jsonl")
    assert sorted(data.executions["message"]) == ["x1", "x4"]
    x4 = data.executions.set_index("message").loc["x4"]
    assert pd.isna(x4["date"])  # kept for the counts, not placed on the timeline
    problems = {where.rsplit(":", 1)[1]: text for where, text in data.problems}
    assert problems["2"].startswith("not valid JSON")
    assert problems["3"] == "neither a JSON record nor a form-encoded nb_logs post"
    assert problems["4"] == "server record without message id"
    assert problems["5"] == "server record without status"
    assert problems["6"] == "date 'yesterday-ish' cannot be read"
    assert problems["7"] == "neither a JSON record nor a form-encoded nb_logs post"
    assert problems["8"] == "form-encoded line without nb_logs[i][field] values"
    assert all(where.startswith(str(grading_data / "logs" / "broken.jsonl")) for where, _ in data.problems)


def test_read_logs_and_missing_file(grading_data: Path, tmp_path: Path) -> None:
    frame = read_logs(grading_data / "logs" / "broken.jsonl")
    assert len(frame) == 2 and len(frame.attrs["problems"]) == 7
    with pytest.raises(FileProblem, match="no such log file"):
        read_logs(tmp_path / "none.log")
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert read_logs(empty).empty


def test_whole_file_json_array(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text(json.dumps(sample_log(["u1"], codenums=[1, 2]), indent=2))
    assert read_logs(path)["username"].unique().tolist() == ["u1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["filename:a.ipynb", "codenum:12"]', ("a.ipynb", 12)),
        ('["other", "codenum:x"]', (None, None)),
        ("filename:b.ipynb, codenum:3", ("b.ipynb", 3)),
        ("", (None, None)),
    ],
)
def test_numbering_from_tags(text: str, expected) -> None:
    assert numbering_from_tags(text) == expected


def test_sample_log_is_plausible_and_readable(tmp_path: Path) -> None:
    users = ["alice", "bob", "carol", "dave"]
    count = write_sample_log(tmp_path / "s.jsonl", users, "kadai-1.ipynb", range(1, 8), seed=3)
    posts = tmp_path / "s.log"
    posts.write_text("\n".join(form_encoded(sample_log(users, codenums=range(1, 8), seed=3), per_post=3)) + "\n")
    a, b = load_logs(tmp_path / "s.jsonl"), load_logs(posts)
    assert a.records == b.records == count
    pd.testing.assert_frame_equal(a.executions, b.executions)
    ex = a.executions
    assert sorted(ex["username"].unique()) == users
    assert set(ex["status"]) <= {"ok", "error", "ok/nc", "error/nc"}
    assert ex["ok"].any() and (~ex["ok"]).any()
    assert ex["codenum"].dropna().between(1, 7).all()
    assert sample_log(users, seed=3) == sample_log(users, seed=3)  # repeatable
