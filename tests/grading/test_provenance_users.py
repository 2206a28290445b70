"""A hand-in is what it claims to be, and no one can block another's (issue 12, items 5 and 6).

Real, different Unix users (the fixtures of tests/test_submit_users.py: ipt_alice, ipt_bob,
ipt_carol in a real 3777 submit volume) hand in with the real ``ipynb_submit``, or write into the
volume directly the way a student who wants to cheat would; the teacher's grading (extract and
analyze, run here as root) must grade each student from their own file and report every forged
or squatting file. Marked ``root`` (fails in CI when not root, as the submit user tests).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.grading.collect import collect_submissions
from tests import test_submit_users as submit_users
from tests.test_submit_users import ACCESS, NAMED, Course, make_nb

pytestmark = pytest.mark.root

# the real users and the runner of tests/test_submit_users.py (module fixtures, shared by name)
users = submit_users.users
user_bin = submit_users.user_bin


@pytest.fixture
def submit_course(users, user_bin):
    """A course with a real 3777 submit volume and real student accounts (see tests/test_submit_users.py)."""
    base = Path(tempfile.mkdtemp(prefix="ipt-grade-"))
    try:
        yield Course(base, users, user_bin)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def forge(course: Course, writer: str, name: str, record: dict, text: str = "bob's code") -> Path:
    """``writer`` writes ``name`` straight into the submit volume (no ipynb_submit), with ``record``."""
    nb = make_nb(text)
    nb["metadata"]["ipynb_tools"] = {"submission": record}
    staged = course.home(writer) / "forged.json"
    staged.write_text(json.dumps(nb), encoding="utf-8")
    os.chown(staged, course.uid(writer), -1)
    target = course.volume / name
    r = course.as_user(writer, ["sh", "-c", f"umask 027; cat '{staged}' > '{target}'"])
    assert r.returncode == 0, r.stderr
    assert os.lstat(target).st_uid == course.uid(writer)
    return target


def grade(course: Course, out: Path):
    result = CliRunner().invoke(
        cli,
        ["extract", "kadai-1", "1", "--from", str(course.volume), "-o", str(out), "--force"],
        catch_exceptions=False,
    )
    assert "Traceback" not in result.output
    return result


def graded_text(out: Path) -> dict[str, str]:
    nb = json.loads((out / "001-kadai-1.ipynb").read_text(encoding="utf-8"))
    found, user = {}, None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell["source"].startswith("## "):
            user = cell["source"][3:]
        elif cell["cell_type"] == "code" and "codenum:999" not in cell["metadata"]["tags"]:
            found[user] = "".join(cell["source"])
    return found


# -- item 5 ----------------------------------------------------------------------------------------------
def test_a_record_claiming_another_student_is_never_graded_as_them(submit_course: Course, tmp_path: Path) -> None:
    course = submit_course
    course.notebook("ipt_alice", text="alice's code")
    assert course.submit("ipt_alice", "kadai-1.ipynb", ACCESS).returncode == 0
    later = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + 3600))
    forge(
        course,
        "ipt_bob",
        "alice_kadai-1.ipynb",
        {"user": "ipt_alice", "submitted_at": later, "source_name": "kadai-1.ipynb"},
    )
    forge(
        course,
        "ipt_bob",
        "kadai-1_x.ipynb",
        {"user": "ipt_alice", "uid": NAMED["ipt_alice"], "os_user": "ipt_alice", "source_name": "kadai-1.ipynb"},
    )
    result = grade(course, tmp_path)
    assert result.exit_code == 0, result.output
    assert graded_text(tmp_path) == {"ipt_alice": "alice's code"}  # her own hand-in, not bob's "later" one
    lines = [line for line in result.output.splitlines() if "not graded as ipt_alice" in line]
    assert len(lines) == 2, result.output
    forged_later = next(line for line in lines if "alice_kadai-1.ipynb" in line)
    assert "ipt_alice is uid 7101, but the file belongs to uid 7102 (ipt_bob)" in forged_later
    assert "after the file was written" in forged_later  # its record's time is later than the file
    forged_uid = next(line for line in lines if "kadai-1_x.ipynb" in line)
    assert "its record says uid 7101, but the file belongs to uid 7102 (ipt_bob)" in forged_uid
    assert "older" not in result.output


def test_without_account_names_the_other_hand_ins_decide(submit_course: Course) -> None:
    """Where this machine knows no student accounts (a teacher's container), the hand-ins themselves tell."""
    course = submit_course
    for user in ("ipt_alice", "ipt_bob"):
        course.notebook(user, text=f"{user}'s code")
        assert course.submit(user, "kadai-1.ipynb", ACCESS).returncode == 0
    forge(course, "ipt_bob", "alice_kadai-1.ipynb", {"user": "ipt_alice", "source_name": "kadai-1.ipynb"})
    seen: list[tuple[str, str]] = []
    subs = collect_submissions(
        course.volume, base="kadai-1", accounts={}, on_problem=lambda p, m: seen.append((p.name, m))
    )
    assert [(s.user, s.path.name) for s in subs] == [
        ("ipt_alice", "kadai-1_ipt_alice.ipynb"),
        ("ipt_bob", "kadai-1_ipt_bob.ipynb"),
    ]
    ((name, message),) = seen
    assert name == "alice_kadai-1.ipynb"
    assert "uid 7102 (ipt_bob) also hands in as ipt_bob, and ipt_alice hands in from 2 accounts" in message


def test_a_late_file_with_an_early_record_is_reported(submit_course: Course, tmp_path: Path) -> None:
    course = submit_course
    course.notebook("ipt_alice", text="alice's code")
    assert course.submit("ipt_alice", "kadai-1.ipynb", ACCESS).returncode == 0
    time.sleep(1.1)
    close = int(time.time())  # after alice's hand-in, before bob's file
    time.sleep(1.1)
    (course.volume / ".ipynb_submit_close").write_text(str(close))  # the teacher's (root's) close file
    early = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(close - 3600))
    path = forge(course, "ipt_bob", "kadai-1_ipt_bob.ipynb", {"user": "ipt_bob", "submitted_at": early}, "late work")
    # bob even sets the file's time back: its change time (ctime) still says when it was written
    r = course.as_user("ipt_bob", ["touch", "-d", f"@{close - 3600}", str(path)])
    assert r.returncode == 0, r.stderr
    result = grade(course, tmp_path)
    assert result.exit_code == 0, result.output
    assert graded_text(tmp_path) == {"ipt_alice": "alice's code"}
    (line,) = [line for line in result.output.splitlines() if "kadai-1_ipt_bob.ipynb" in line]
    assert "not graded as ipt_bob" in line and "after the close" in line


# -- item 6 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("squat", ["touch", "symlink", "directory", "fifo", "notebook"])
def test_a_squatted_name_never_blocks_a_hand_in_and_is_reported(
    submit_course: Course, tmp_path: Path, squat: str
) -> None:
    course = submit_course
    name = course.volume / "kadai-1_ipt_carol.ipynb"
    plant = {
        "touch": ["touch", str(name)],
        "symlink": ["ln", "-s", "/etc/passwd", str(name)],
        "directory": ["mkdir", str(name)],
        "fifo": ["mkfifo", str(name)],
    }
    if squat == "notebook":  # a valid notebook without a record: its name says carol
        staged = course.home("ipt_bob") / "n.json"
        staged.write_text(json.dumps(make_nb("bob posing as carol")))
        os.chown(staged, course.uid("ipt_bob"), -1)
        plant[squat] = ["sh", "-c", f"cat '{staged}' > '{name}'"]
    assert course.as_user("ipt_bob", plant[squat]).returncode == 0
    course.notebook("ipt_carol", text="carol's code")
    r = course.submit("ipt_carol", "kadai-1.ipynb", ACCESS)
    assert r.returncode == 0, r.stderr
    assert "kadai-1_ipt_carol.ipynb is taken by" in r.stderr and "ipt_bob (uid 7102)" in r.stderr
    copies = [n for n in os.listdir(course.volume) if re.fullmatch(r"kadai-1_ipt_carol~[0-9a-f]{16}\.ipynb", n)]
    assert len(copies) == 1 and os.lstat(course.volume / copies[0]).st_uid == NAMED["ipt_carol"]
    # bob cannot take the fallback copy away (sticky directory) and carol hands in again into it
    assert course.as_user("ipt_bob", ["rm", "-f", str(course.volume / copies[0])]).returncode != 0
    course.notebook("ipt_carol", text="carol's final code")
    assert course.submit("ipt_carol", "kadai-1.ipynb", ACCESS).returncode == 0
    assert [n for n in os.listdir(course.volume) if "~" in n] == copies
    result = grade(course, tmp_path)
    assert result.exit_code == 0, result.output
    assert graded_text(tmp_path) == {"ipt_carol": "carol's final code"}
    if squat != "directory":  # a directory is no notebook file at all
        (line,) = [line for line in result.output.splitlines() if "kadai-1_ipt_carol.ipynb:" in line]
        assert "uid 7102 (ipt_bob)" in line, line
