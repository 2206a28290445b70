"""The Submissions page's work (ipynb_tools.console.submissions) on the real hand-ins of tests/data/grading,
laid out as a course's task and submit volumes (their mount points), without the engine (the browser test
reads them from volumes on the private engine)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from ipynb_tools.console.submissions import (
    SubmissionsUnavailable,
    Table,
    analyze_volume,
    in_zone,
    render_submission,
    submit_names,
    table_of,
)
from ipynb_tools.volumes.course import CourseVolume
from ipynb_tools.volumes.naming import VolumeKind

GRADING = Path(__file__).resolve().parents[1] / "data" / "grading"
HOST = "lms.example.ac.jp"


def volume(kind: VolumeKind, name: str, mountpoint: Path | None) -> CourseVolume:
    return CourseVolume(
        full_name=f"lms_{kind}_{name}_98_{HOST}",
        kind=kind,
        name=name,
        course="98",
        host=HOST,
        labels={},
        created=None,
        mountpoint=None if mountpoint is None else str(mountpoint),
        driver="local",
    )


@pytest.fixture
def volumes(tmp_path: Path) -> list[CourseVolume]:
    shutil.copytree(GRADING / "submit", tmp_path / "submit")
    shutil.copytree(GRADING / "task", tmp_path / "task")
    return [
        volume(VolumeKind.TASK, "kadai1", tmp_path / "task"),
        volume(VolumeKind.SUBMIT, "kadai1", tmp_path / "submit"),
        volume(VolumeKind.SUBMIT, "remote", None),
    ]


def test_tables_per_student_and_per_cell(volumes) -> None:  # type: ignore[no-untyped-def]
    assert submit_names(volumes) == ["kadai1", "remote"]
    analysis = analyze_volume(volumes, "kadai1")
    assert analysis.task_dir is not None  # compared with the task volume of the same NAME
    per_user = table_of(analysis.per_user())
    assert per_user.columns[:2] == ("user", "notebooks")
    assert [row[0] for row in per_user.rows] == ["alice", "bob", "carol", "dave"]
    per_cell = table_of(analysis.per_cell())
    assert ("kadai-1.ipynb", 3) in {(row[0], row[1]) for row in per_cell.rows}
    # missing values are shown empty, never as <NA>/nan
    cells = table_of(analysis.cells)
    assert all(v != "<NA>" and v == v for row in cells.rows for v in row)
    assert analysis.problems and all(path.suffix == ".ipynb" for path, _ in analysis.problems)  # readme.txt is ignored


def test_downloads(volumes) -> None:  # type: ignore[no-untyped-def]
    import openpyxl
    import pandas as pd

    analysis = analyze_volume(volumes, "kadai1")
    frame = pd.read_csv(io.StringIO(analysis.to_csv()))
    assert set(frame.user) == {"alice", "bob", "carol", "dave"}
    book = openpyxl.load_workbook(io.BytesIO(analysis.to_xlsx()))
    assert book.sheetnames == ["cells", "per_cell", "per_user", "submissions", "problems"]


def test_rendering(volumes) -> None:  # type: ignore[no-untyped-def]
    analysis = analyze_volume(volumes, "kadai1")
    html = render_submission(analysis, 0)
    assert "<html" in html.lower() and "<script" not in html.lower()
    with pytest.raises(IndexError):
        render_submission(analysis, len(analysis.paths))


def test_unreadable_or_missing_volumes(volumes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SubmissionsUnavailable, match="not readable on this host"):
        analyze_volume(volumes, "remote")
    with pytest.raises(SubmissionsUnavailable, match="there is no submit volume"):
        analyze_volume(volumes, "nothere")
    # without its task volume the analysis still runs; 'changed' is unknown
    only_submit = [v for v in volumes if v.kind is VolumeKind.SUBMIT]
    assert analyze_volume(only_submit, "kadai1").task_dir is None


def test_handin_times_in_the_site_zone(volumes) -> None:  # type: ignore[no-untyped-def]
    """The hand-ins' submitted_at (UTC in the records, '...Z' or '+00:00') in the site's zone (issue 15)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from ipynb_tools.console.formats import Formats

    tokyo = ZoneInfo("Asia/Tokyo")
    handins = in_zone(table_of(analyze_volume(volumes, "kadai1").submissions), "submitted_at", tokyo)
    at = handins.columns.index("submitted_at")
    alice = next(row for row in handins.rows if row[0] == "alice")
    assert alice[at] == datetime(2024, 4, 17, 19, 5, tzinfo=tokyo) and alice[at].utcoffset() == timedelta(hours=9)
    # shown for the viewer's locale with seconds (a hand-in near its deadline)
    assert Formats("ja", tokyo).cell(alice[at]) == "2024年4月17日 19:05:00"
    assert Formats("en", tokyo).cell(alice[at]) == "Apr 17, 2024, 7:05:00\u202fPM"
    # a value a student forged (no time, or no offset) is shown as it is
    forged = Table(("user", "submitted_at"), (("x", "<b>soon</b>"), ("y", "2024-04-17T10:05:00"), ("z", "")))
    assert in_zone(forged, "submitted_at", ZoneInfo("Asia/Tokyo")) == forged
    assert in_zone(forged, "no such column", ZoneInfo("UTC")) == forged
