"""The ``ipynb_submit`` library as the current user: names, targets, the copy, receipts, history.

The rules that need several real users (planted links, reads by others, concurrency, kills) are
in ``test_submit_users.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ipynb_tools import submit as sub
from ipynb_tools.environ import parse_close_time
from ipynb_tools.errors import IpynbToolsError, NotebookVersionError, NotJSONError, TooLargeError
from ipynb_tools.notebook import dumps_notebook

FULL = "lms_sub_k1_42_lms.example.org"
ACCESS = "課題1提出用"


def make_nb(text: str = "print('hi')") -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# 課題"},
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "c1",
                "metadata": {"tags": ["filename:kadai-1.ipynb", "codenum:1"]},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["hi\n"]}],
                "source": [text],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def course(tmp_path: Path) -> dict:
    """A works directory with one 3777 submit volume and its access link, a home, a notebook."""
    works = tmp_path / "works"
    volume = works / ".volumes" / FULL
    volume.mkdir(parents=True)
    os.chmod(volume, 0o3777)
    (works / ACCESS).symlink_to(f".volumes/{FULL}")
    home = tmp_path / "home"
    home.mkdir()
    src = tmp_path / "kadai-1.ipynb"
    src.write_text(dumps_notebook(make_nb()), encoding="utf-8")
    env = {
        "HOME": str(home),
        "NB_WRKDIR": str(works),
        "NB_SUBMITS": f".volumes/{FULL}:{ACCESS}",
        "JUPYTERHUB_USER": "alice",
    }
    return {"works": works, "volume": volume, "home": home, "src": src, "env": env, "tmp": tmp_path}


# -- names and users -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (None, "kadai-1_alice.ipynb"),
        ("suffix", "kadai-1_alice.ipynb"),
        ("prefix", "alice_kadai-1.ipynb"),
        ("{user}_{stem}{suffix}", "alice_kadai-1.ipynb"),
        ("{stem}-{user}", "kadai-1-alice.ipynb"),
        ("{user}__{name}", "alice__kadai-1.ipynb"),
    ],
)
def test_submission_names(fmt: str | None, expected: str) -> None:
    assert sub.submission_name("dir/kadai-1.ipynb", "alice", fmt) == expected


def test_japanese_and_spaces_in_names() -> None:
    assert sub.submission_name("課題 1.ipynb", "山田", None) == "課題 1_山田.ipynb"


@pytest.mark.parametrize(
    ("source", "user", "fmt", "message"),
    [
        ("kadai-1.ipynb", "../bob", None, "cannot be used in a file name"),
        ("kadai-1.ipynb", "a/b", None, "cannot be used in a file name"),
        ("kadai-1.ipynb", "..", None, "cannot be used in a file name"),
        ("kadai-1.ipynb", "", None, "cannot be used in a file name"),
        ("kadai-1.ipynb", "al\nice", None, "control character"),
        # the one user-name rule (ipynb_tools.usernames), as the container spec applies it
        ("kadai-1.ipynb", "a:b", None, "contains ':'"),
        ("kadai-1.ipynb", "a b", None, "white space"),
        ("kadai-1.ipynb", "-alice", None, "starts with '-'"),
        ("kadai-1.ipynb", ".alice", None, "starts with '.'"),
        ("kadai-1.ipynb", "alice", "{stem}{suffix}", "must contain {user}"),
        ("kadai-1.ipynb", "alice", "../{user}{suffix}", "would not be a visible file"),
        ("kadai-1.ipynb", "alice", ".{user}{suffix}", "would not be a visible file"),
        ("kadai-1.ipynb", "alice", "{user.__class__}", "use only"),
        ("kadai-1.ipynb", "alice", "{user}{oops}", "use only"),
        ("kadai-1.ipynb", "alice", "{user", "not valid"),
        ("kadai-1.txt", "alice", None, "only .ipynb"),
        (".ipynb", "alice", None, "only .ipynb"),
        ("k" * 300 + ".ipynb", "alice", None, "too long"),
        (os.fsdecode(b"k\xff.ipynb"), "alice", None, "'k\\udcff.ipynb': the file name is not valid UTF-8"),
    ],
)
def test_names_that_would_escape_or_collide_are_refused(source: str, user: str, fmt: str | None, message: str) -> None:
    with pytest.raises(sub.BadNameError) as exc:
        sub.submission_name(source, user, fmt)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_user_comes_from_hub_then_nb_user_then_os() -> None:
    import pwd

    assert sub.current_user({"JUPYTERHUB_USER": "hub", "NB_USER": "nb"}) == "hub"
    assert sub.current_user({"NB_USER": "nb"}) == "nb"
    assert sub.current_user({}) == pwd.getpwuid(os.geteuid()).pw_name
    with pytest.raises(sub.BadNameError):
        sub.current_user({"JUPYTERHUB_USER": "../x"})


def test_name_format_from_environment(course: dict) -> None:
    env = {**course["env"], "IPYNB_SUBMIT_NAME_FORMAT": "prefix"}
    receipt = sub.submit_notebook(course["src"], ACCESS, env=env)
    assert receipt.name == "alice_kadai-1.ipynb"
    receipt = sub.submit_notebook(course["src"], ACCESS, env=env, name_format="suffix")
    assert receipt.name == "kadai-1_alice.ipynb"


# -- targets -------------------------------------------------------------------------------
def test_targets_from_environment_and_links(course: dict) -> None:
    works = course["works"]
    other = works / ".volumes" / "lms_sub_k2_42_lms.example.org"
    other.mkdir()
    os.chmod(other, 0o3777)
    (works / "課題2提出用").symlink_to(".volumes/lms_sub_k2_42_lms.example.org")
    task = works / ".volumes" / "lms_vol_k_42_lms.example.org"
    task.mkdir()
    os.chmod(task, 0o2775)
    (works / "教材").symlink_to(".volumes/lms_vol_k_42_lms.example.org")  # not sticky: not a submit target
    targets = sub.known_targets(course["env"])
    assert [(t.access, t.full_name, t.source) for t in targets] == [
        (ACCESS, FULL, "env"),
        ("課題2提出用", "lms_sub_k2_42_lms.example.org", "link"),
    ]
    with pytest.raises(sub.UnknownTargetError) as exc:
        sub.resolve_target(None, course["env"])
    assert f"several submit targets; choose one of: {ACCESS}, 課題2提出用" in str(exc.value)
    with pytest.raises(sub.UnknownTargetError) as exc:
        sub.resolve_target("教材", course["env"])
    assert f"unknown submit target '教材'; known targets: {ACCESS}, 課題2提出用" in str(exc.value)
    assert sub.resolve_target("課題2提出用", course["env"]).full_name == "lms_sub_k2_42_lms.example.org"
    assert sub.resolve_target(FULL, course["env"]).access == ACCESS
    # a path to a known directory is that target (with its closing time); any directory works
    assert sub.resolve_target(str(works / ACCESS), course["env"]).access == ACCESS
    plain = course["tmp"] / "plain"
    plain.mkdir()
    assert sub.resolve_target(str(plain), course["env"]).source == "path"


def test_no_target_known(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "NB_WRKDIR": str(tmp_path / "works")}
    with pytest.raises(sub.UnknownTargetError) as exc:
        sub.resolve_target(None, env)
    assert "no submit target known" in str(exc.value)
    with pytest.raises(sub.UnknownTargetError) as exc:
        sub.resolve_target("課題1提出用", env)
    assert "no submit targets known" in str(exc.value)


def test_teacher_only_access_name_and_unmounted_volume(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "NB_WRKDIR": str(tmp_path), "NB_SUBMITS": f".volumes/{FULL}:-提出"}
    (target,) = sub.known_targets(env)
    assert target.access == "提出" and not target.exists
    with pytest.raises(sub.SubmitError, match="does not exist"):
        sub.resolve_target(None, env)


def test_closing_time_from_environment(course: dict) -> None:
    env = {**course["env"], "NB_SUBMITS_CLOSE": f"{FULL}=1700000000"}
    (target,) = sub.known_targets(env, now=1699999999)
    assert target.close_time == 1700000000 and not target.closed
    # the closing second itself is still open (environ.is_past_close: closed strictly after it)
    assert not sub.known_targets(env, now=1700000000)[0].closed
    assert sub.known_targets(env, now=1700000000.001)[0].closed
    receipt = sub.submit_notebook(course["src"], None, env=env, now=1699999999.5)
    assert receipt.submitted_at == "2023-11-14T22:13:19.500000Z"
    # and submitting in that second is accepted, as the target says (it was refused: >= in submit)
    receipt = sub.submit_notebook(course["src"], None, env=env, now=1700000000)
    assert receipt.submitted_at == "2023-11-14T22:13:20.000000Z"
    with pytest.raises(sub.SubmitClosedError) as exc:
        sub.submit_notebook(course["src"], None, env=env, now=1700000001)
    assert str(exc.value).startswith(f"{ACCESS}: submissions closed at 2023-11-14 22:13:20 UTC")


def test_closing_time_from_file_in_volume(course: dict) -> None:
    (course["volume"] / sub.CLOSE_FILE).write_text("2023-11-14T22:13:20\n")  # naive means UTC
    (target,) = sub.known_targets(course["env"], now=0)
    assert target.close_time == 1700000000
    with pytest.raises(sub.SubmitClosedError):
        sub.submit_notebook(course["src"], None, env=course["env"])
    (course["volume"] / sub.CLOSE_FILE).write_text("4102444800")  # 2100
    assert sub.submit_notebook(course["src"], None, env=course["env"]).name == "kadai-1_alice.ipynb"


def test_parse_close_values() -> None:
    assert parse_close_time("1700000000") == 1700000000
    assert parse_close_time("1700000000.9") == 1700000000
    assert parse_close_time("2023-11-15T07:13:20+09:00") == 1700000000
    assert parse_close_time("2023-11-14T22:13:20Z") == 1700000000


# -- the copy ------------------------------------------------------------------------------
RECORD = {"user": "alice", "submitted_at": "2024-01-01T00:00:00.000000Z", "source_sha256": "0" * 64}


def test_copy_of_a_jupyter_written_notebook_is_what_jupyter_would_write() -> None:
    nb = make_nb("print('値')")
    raw = dumps_notebook(nb).encode()
    out = sub.build_copy(raw, "k.ipynb", sub.SubmissionRecord(**RECORD))
    nb["metadata"]["ipynb_tools"] = {"submission": RECORD}
    assert out == dumps_notebook(nb).encode()


@pytest.mark.parametrize(
    "layout",
    ["compact", "indent4", "bom", "crlf", "metadata-first", "no-metadata", "duplicate-keys", "existing-record"],
)
def test_copy_keeps_cells_and_only_adds_the_record(layout: str) -> None:
    nb = make_nb("x = '課題'\n")
    if layout == "existing-record":
        nb["metadata"]["ipynb_tools"] = {"submission": {"user": "old"}, "other": 1}
    if layout == "compact":
        text = json.dumps(nb, ensure_ascii=False)
    elif layout == "indent4":
        text = json.dumps(nb, indent=4, ensure_ascii=True)
    elif layout == "bom":
        text = "\ufeff" + dumps_notebook(nb)
    elif layout == "crlf":
        text = json.dumps(nb, indent=1).replace("\n", "\r\n")
    elif layout == "metadata-first":
        text = json.dumps({"metadata": nb["metadata"], **nb}, indent=2)
    elif layout == "no-metadata":
        del nb["metadata"]
        text = json.dumps(nb)
    elif layout == "duplicate-keys":
        text = json.dumps(nb)[:-1] + ', "metadata": {"dup": true}}'
        nb["metadata"] = {"dup": True}
    else:
        text = dumps_notebook(nb)
    raw = text.encode("utf-8")
    out = sub.build_copy(raw, "k.ipynb", sub.SubmissionRecord(**RECORD))
    copy = json.loads(out)
    assert copy["cells"] == nb["cells"]
    assert copy["metadata"]["ipynb_tools"]["submission"] == RECORD
    expected_meta = dict(nb.get("metadata", {}))
    if layout == "existing-record":
        assert copy["metadata"]["ipynb_tools"]["other"] == 1
        expected_meta.pop("ipynb_tools")
    copy["metadata"].pop("ipynb_tools")
    assert copy["metadata"] == {k: v for k, v in expected_meta.items() if k != "ipynb_tools"}
    assert {k: v for k, v in copy.items() if k != "metadata"} == {k: v for k, v in nb.items() if k != "metadata"}
    if layout in ("compact", "indent4", "crlf", "metadata-first"):
        # the fast path: the bytes of the cells are the student's own bytes
        cells_text = json.dumps(
            nb["cells"],
            ensure_ascii=layout != "compact",
            indent={"compact": None, "indent4": 4, "crlf": 1, "metadata-first": 2}[layout],
        )
        if layout == "indent4":
            cells_text = cells_text.replace("\n", "\n    ")
        elif layout == "crlf":
            cells_text = cells_text.replace("\n", "\r\n ")
        elif layout == "metadata-first":
            cells_text = cells_text.replace("\n", "\n  ")
        assert cells_text.encode() in out


def test_copy_of_a_notebook_over_the_json_value_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # The copy parses every value of the student's file (the fast path as well): the same memory bound as
    # every other read of a notebook (issue 12, item C), checked before parsing.
    nb = make_nb()
    nb["cells"][1]["outputs"][0]["text"] = [0] * 400  # 400 values in a file of ~1,300 bytes
    raw = json.dumps(nb).encode()
    monkeypatch.setenv("IPYNB_TOOLS_MAX_JSON_VALUES", "300")
    with pytest.raises(TooLargeError, match="JSON values"):
        sub.build_copy(raw, "k.ipynb", sub.SubmissionRecord(**RECORD))
    monkeypatch.setenv("IPYNB_TOOLS_MAX_JSON_VALUES", "3000")
    assert json.loads(sub.build_copy(raw, "k.ipynb", sub.SubmissionRecord(**RECORD)))["cells"] == nb["cells"]


@pytest.mark.parametrize("metadata_first", [False, True])
def test_copy_replaces_exactly_the_metadata_bytes_of_a_utf8_notebook(metadata_first: bool) -> None:
    # Non-ASCII text before and after the metadata, and a BOM: the byte offsets of the metadata value
    # are counted from whichever end is nearer; every byte outside it is the student's own.
    nb = make_nb("x = '課題'\n")
    nb["metadata"]["title"] = "課題１"
    nb["注記"] = "提出"  # a key of its own, between the metadata and the nearer end of the file

    def dumped(value: object) -> str:
        return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True).replace("\n", "\n ")

    meta = dumped(nb["metadata"])
    parts = [f'"{key}": {dumped(value)}' for key, value in sorted(nb.items()) if key != "metadata"]
    if metadata_first:  # the non-ASCII key, the metadata, the cells...
        parts.insert(0, f'"metadata": {meta}')
        parts.insert(0, parts.pop())
    else:  # the cells, the metadata, ..., the non-ASCII key (Jupyter's sorted layout)
        parts.insert(1, f'"metadata": {meta}')
    text = "{\n " + ",\n ".join(parts) + "\n}\n"
    before, after = text.split(meta)
    out = sub.build_copy("\ufeff".encode() + text.encode(), "k.ipynb", sub.SubmissionRecord(**RECORD))
    assert out.startswith(before.encode())
    assert out.endswith(after.encode())
    copy = json.loads(out)
    assert copy["metadata"]["title"] == "課題１"
    assert copy["metadata"]["ipynb_tools"]["submission"] == RECORD
    assert {k: v for k, v in copy.items() if k != "metadata"} == {k: v for k, v in nb.items() if k != "metadata"}


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"{not json", NotJSONError, "not valid JSON"),
        (b"\xff\xfe", NotJSONError, "not UTF-8"),
        (b"[1, 2]", IpynbToolsError, "top level is not an object"),
        (b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}', NotebookVersionError, "nbformat 3"),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "bogus"}]}',
            IpynbToolsError,
            "unknown cell_type",
        ),
        (b'{"nbformat": 4, "cells": []} trailing', NotJSONError, "not valid JSON"),
    ],
)
def test_bad_notebooks_are_refused_and_nothing_is_written(
    course: dict, content: bytes, error: type, message: str
) -> None:
    bad = course["tmp"] / "bad.ipynb"
    bad.write_bytes(content)
    with pytest.raises(error) as exc:
        sub.submit_notebook(bad, ACCESS, env=course["env"])
    assert message in str(exc.value) and str(exc.value).startswith(str(bad))
    assert os.listdir(course["volume"]) == []
    assert not (course["home"] / ".ipynb-tools" / "submit.log").exists()


def test_size_limit(course: dict) -> None:
    big = course["tmp"] / "big.ipynb"
    big.write_text(dumps_notebook(make_nb("x" * 2_000_000)))
    with pytest.raises(TooLargeError) as exc:
        sub.submit_notebook(big, ACCESS, env={**course["env"], "IPYNB_SUBMIT_MAX_MB": "1"})
    assert "over the limit of 1.0 MB; clear large outputs and submit again" in str(exc.value)
    with pytest.raises(TooLargeError):
        sub.submit_notebook(big, ACCESS, env=course["env"], max_bytes=1000)
    assert os.listdir(course["volume"]) == []
    assert sub.submit_notebook(big, ACCESS, env=course["env"]).size > 2_000_000


def test_directory_and_missing_source(course: dict) -> None:
    folder = course["tmp"] / "folder.ipynb"
    folder.mkdir()
    with pytest.raises(IpynbToolsError, match="is a directory"):
        sub.submit_notebook(folder, ACCESS, env=course["env"])
    with pytest.raises(IpynbToolsError, match="no such file"):
        sub.submit_notebook(course["tmp"] / "nope.ipynb", ACCESS, env=course["env"])


# -- receipts, history, list ---------------------------------------------------------------
def test_receipt_log_history_and_record(course: dict) -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    receipt = sub.submit_notebook(course["src"], ACCESS, env=course["env"], now=now)
    copy = course["volume"] / "kadai-1_alice.ipynb"
    data = copy.read_bytes()
    assert receipt.path == course["volume"] / "kadai-1_alice.ipynb"  # the mount point of NB_SUBMITS
    assert receipt.sha256 == hashlib.sha256(data).hexdigest() and receipt.size == len(data)
    assert receipt.source_sha256 == hashlib.sha256(course["src"].read_bytes()).hexdigest()
    assert receipt.submitted_at == "2024-05-01T12:00:00.123456Z"
    assert receipt.line() == (
        f"submitted kadai-1.ipynb -> {ACCESS}/kadai-1_alice.ipynb at 2024-05-01T12:00:00.123456Z: "
        f"{len(data)} bytes, sha256 {receipt.sha256}"
    )
    record = json.loads(data)["metadata"]["ipynb_tools"]["submission"]
    assert record["user"] == "alice" and record["source_name"] == "kadai-1.ipynb"
    assert record["source_sha256"] == receipt.source_sha256 and record["target"] == ACCESS
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o640
    assert receipt.kept is not None and receipt.kept.read_bytes() == data
    assert receipt.kept.parent == course["home"] / ".ipynb-tools" / "submissions" / FULL
    (entry,) = list(sub.read_log(course["env"]))
    assert entry["event"] == "submit" and entry["sha256"] == receipt.sha256 and entry["path"] == str(receipt.path)


def test_resubmission_keeps_every_version_and_flags_no_changes(course: dict) -> None:
    env = course["env"]
    first = sub.submit_notebook(course["src"], ACCESS, env=env, now=1_700_000_000)
    same = sub.submit_notebook(course["src"], ACCESS, env=env, now=1_700_000_001)
    assert same.unchanged and same.replaced and any("no changes" in w for w in same.warnings)
    course["src"].write_text(dumps_notebook(make_nb("changed")))
    changed = sub.submit_notebook(course["src"], ACCESS, env=env, now=1_700_000_002)
    assert not changed.unchanged and changed.previous_kept == same.kept
    kept = sorted((course["home"] / ".ipynb-tools" / "submissions" / FULL).iterdir())
    assert [k.read_bytes() for k in kept] == [
        first.kept.read_bytes(),
        same.kept.read_bytes(),
        changed.kept.read_bytes(),
    ]
    skipped = sub.submit_notebook(course["src"], ACCESS, env=env, now=1_700_000_003, skip_unchanged=True)
    assert skipped.unchanged and skipped.sha256 == changed.sha256 and skipped.submitted_at == changed.submitted_at
    assert len(list(sub.read_log(env))) == 3
    listed = sub.list_submissions(env=env, history=True)
    assert [(s.kept, s.sha256) for s in listed] == [(False, changed.sha256)] + [
        (True, hashlib.sha256(k.read_bytes()).hexdigest()) for k in kept
    ]
    assert listed[0].time.endswith("Z") and listed[0].size == changed.size
    assert listed[1].time == "2023-11-14T22:13:20.000000Z"


def test_earlier_copy_made_elsewhere_is_archived_before_replacing(course: dict) -> None:
    old = course["volume"] / "kadai-1_alice.ipynb"
    old.write_bytes(b'{"handed in": "by the old tool"}')
    receipt = sub.submit_notebook(course["src"], ACCESS, env=course["env"])
    assert receipt.replaced and receipt.previous_kept is not None
    assert receipt.previous_kept.read_bytes() == b'{"handed in": "by the old tool"}'


def test_symlink_or_directory_at_the_name_gives_a_fallback_name_never_followed(course: dict) -> None:
    """Whatever holds the name (here a link and a directory), the hand-in is made under a name nobody can predict."""
    link = course["volume"] / "kadai-1_alice.ipynb"
    link.symlink_to(course["tmp"] / "elsewhere.ipynb")
    receipt = sub.submit_notebook(course["src"], ACCESS, env=course["env"])
    assert not (course["tmp"] / "elsewhere.ipynb").exists()  # not written through
    assert re.fullmatch(r"kadai-1_alice~[0-9a-f]{16}\.ipynb", receipt.name), receipt.name
    assert any("kadai-1_alice.ipynb is taken by a symlink" in w for w in receipt.warnings)
    first = receipt.name
    again = sub.submit_notebook(course["src"], ACCESS, env=course["env"], now=2_000_000_000)
    assert again.name == first and again.replaced  # the own fallback copy is replaced, not a new one
    link.unlink()
    link.mkdir()
    third = sub.submit_notebook(course["src"], ACCESS, env=course["env"], now=2_000_000_100)
    assert third.name == first and link.is_dir()
    assert sorted(p.name for p in course["volume"].iterdir()) == sorted(["kadai-1_alice.ipynb", first])


def test_stale_temp_files_of_the_user_are_removed(course: dict) -> None:
    stale = course["volume"] / f"{sub.TEMP_PREFIX}{os.geteuid()}.deadbeef{sub.TEMP_SUFFIX}"
    stale.write_bytes(b'{"cells": [')
    other = course["volume"] / f"{sub.TEMP_PREFIX}{os.geteuid() + 1}.deadbeef{sub.TEMP_SUFFIX}"
    other.write_bytes(b"x")
    sub.submit_notebook(course["src"], ACCESS, env=course["env"])
    assert not stale.exists() and other.exists()


def test_home_that_cannot_keep_history_refuses_before_writing(course: dict) -> None:
    (course["home"] / ".ipynb-tools").write_text("not a directory")
    with pytest.raises(sub.SubmitError, match="cannot keep your submission history"):
        sub.submit_notebook(course["src"], ACCESS, env=course["env"])
    assert os.listdir(course["volume"]) == []


def test_submit_all_personal_directory(course: dict) -> None:
    personal = course["works"] / ".volumes" / "lms_prs_k_42_lms.example.org"
    personal.mkdir()
    for name in ("kadai-1.ipynb", "kadai-2.ipynb"):
        (personal / name).write_text(dumps_notebook(make_nb(name)))
    (personal / "broken.ipynb").write_text("{")
    (personal / ".hidden.ipynb").write_text("{")
    (personal / "notes.txt").write_text("x")
    env = {**course["env"], "NB_PRSNALS": ".volumes/lms_prs_k_42_lms.example.org:個人"}
    assert sub.personal_dir(env) == personal
    report = sub.submit_all(env=env)
    assert [(r.source.name, r.status) for r in report.results] == [
        ("broken.ipynb", "failed"),
        ("kadai-1.ipynb", "submitted"),
        ("kadai-2.ipynb", "submitted"),
    ]
    assert not report.ok and "not valid JSON" in report.results[0].message
    (personal / "broken.ipynb").unlink()
    (personal / "kadai-2.ipynb").write_text(dumps_notebook(make_nb("new")))
    report = sub.submit_all(ACCESS, env=env)
    assert [(r.source.name, r.status) for r in report.results] == [
        ("kadai-1.ipynb", "unchanged"),
        ("kadai-2.ipynb", "submitted"),
    ]
    assert "no changes since your last submission" in report.results[0].message
    assert report.ok and report.summary().startswith("submitted 1, unchanged 1, failed 0")
    assert sorted(os.listdir(course["volume"])) == ["kadai-1_alice.ipynb", "kadai-2_alice.ipynb"]


def test_submit_all_after_closing_submits_nothing(course: dict) -> None:
    env = {**course["env"], "NB_SUBMITS_CLOSE": f"{FULL}=1000"}
    with pytest.raises(sub.SubmitClosedError):
        sub.submit_all(directory=course["tmp"], env=env)
    assert os.listdir(course["volume"]) == []


def test_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    # The heavy packages, and what ipynb_submit loads only on the path that needs it (benchmarks/submit_startup.py):
    # ctypes (renameat2, statx, syncfs), zoneinfo (a site zone other than UTC), decimal (a unix closing time),
    # and the contract modules it never uses (environ's lazy names).
    lazy = (
        "nbformat pandas docker nbconvert jsonschema ctypes zoneinfo decimal "
        "ipynb_tools.environ.contract ipynb_tools.environ.oldspawner ipynb_tools.environ.umask"
    )
    code = (
        "import sys, ipynb_tools.submit, ipynb_tools.cli.submit, ipynb_tools.cli.scripts; "
        f"print(sorted(m for m in {lazy.split()!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_lazy_names_load_on_first_use() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ipynb_tools.environ as e; from ipynb_tools.environ import StartEnvironment, parse_umask; "
        "from ipynb_tools.environ.contract import StartEnvironment as S; "
        "assert StartEnvironment is S and parse_umask('0077', teacher=False) == 0o77 and e.OldSpawnerVariables; "
        "assert not hasattr(e, 'no_such_name'); "
        "from ipynb_tools.fileops import rename_no_replace; from ipynb_tools.environ import site_timezone, "
        "parse_close_time; print(site_timezone({'IPYNB_TOOLS_TIMEZONE': 'Asia/Tokyo'}), parse_close_time('17.9'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Asia/Tokyo", "17"]


def test_the_record_submit_writes_is_the_record_grading_reads(course: dict) -> None:
    from ipynb_tools.grading.submissions import identify

    receipt = sub.submit_notebook(course["src"], ACCESS, env=course["env"], now=1_700_000_000)
    nb = json.loads(receipt.path.read_text())
    record = sub.SubmissionRecord.from_notebook(nb)
    assert record == sub.SubmissionRecord(
        user=receipt.user,
        os_user=record.os_user,
        uid=os.geteuid(),
        submitted_at=receipt.submitted_at,
        source_name="kadai-1.ipynb",
        source_sha256=receipt.source_sha256,
        target=receipt.target,
        tool=record.tool,
    )
    assert record.os_user and record.tool and record.tool.startswith("ipynb_submit ")
    assert identify(receipt.path, nb) == (receipt.user, "kadai-1.ipynb", record)


def test_a_record_of_an_older_tool_is_read_with_its_names() -> None:
    nb = {"metadata": {"ipynb_tools": {"submission": {"username": "bob", "time": "t", "sha256": "s", "uid": True}}}}
    assert sub.SubmissionRecord.from_notebook(nb) == sub.SubmissionRecord(
        user="bob", submitted_at="t", source_sha256="s"
    )
    assert sub.SubmissionRecord.from_notebook({"metadata": []}) == sub.SubmissionRecord()
