"""The submit endpoint against hostile requests (issue 12, items 18 and 20).

A target resolves, by ``ipynb_submit``'s rules, to a known submit volume or the answer is a 4xx;
malformed bodies and over-long fields get a 4xx with a short message; nothing is echoed or logged
whole, and nothing is written anywhere.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from .conftest import CLOSED_ACCESS, OPEN_ACCESS, OPEN_FULL, Course
from .test_api import API, error_of, files, post_submit


def handed_in(tree: Path, *folders: Path) -> list[Path]:
    """Every hand-in copy (``*_alice.ipynb``) in the test's ``tree`` and directly in ``folders``."""
    found = [Path(d) / n for d, _, names in os.walk(tree) for n in names if n.endswith("_alice.ipynb")]
    for folder in folders:
        found += list(folder.glob("*_alice.ipynb"))
    return sorted(found)


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("..", 403),  # the examples: outside any submit volume
        ("~", 403),
        (".", 403),  # the server root itself
        ("./", 403),
        ("/", 400),
        ("../..", 403),
        (".volumes", 403),  # the folder of the mounts, not a volume
        ("mine", 403),  # a sticky directory of the student's own, linked in the works directory
        ("mine/", 403),
        ("/tmp", 404),  # a path is under the server root: there is no <root>/tmp
        ("课题1", 404),  # an unknown name
    ],
)
async def test_a_target_that_is_not_a_submit_volume_is_a_4xx(
    jp_fetch, course: Course, tmp_path: Path, target: str, status: int
) -> None:
    own = course.root / ".mine"
    own.mkdir()
    own.chmod(0o1777)  # sticky like a submit volume: known_targets lists the link, but it is no volume
    (course.root / "mine").symlink_to(".mine")
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": target}))
    assert code == status, body
    assert body["message"] and "\n" not in body["message"]
    assert handed_in(course.root.parent, course.home, Path.home(), Path.cwd(), Path("/tmp")) == []


async def test_the_target_forms_of_ipynb_submit_that_name_a_volume_work(jp_fetch, course: Course) -> None:
    for target in (OPEN_ACCESS, OPEN_FULL, f".volumes/{OPEN_FULL}", f"/.volumes/{OPEN_FULL}/", f"{OPEN_ACCESS}/"):
        code, body = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": target})
        assert code == 201, (target, body)
        assert body["receipt"]["target"] in (OPEN_ACCESS, OPEN_FULL)
    assert files(course.open_dir) == ["kadai-1_alice.ipynb"]


async def test_no_target_with_one_volume_open_needs_exactly_one(jp_fetch, course: Course) -> None:
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb"}))
    assert code == 400 and "several submit targets" in body["message"]


async def test_invalid_utf8_body_is_400(jp_fetch, course: Course) -> None:
    body = b'{"path": "kadai-1.ipynb", "target": "\xff\xfe"}'
    code, reply = await error_of(jp_fetch(*API, "submit", method="POST", body=body))
    assert code == 400 and reply["message"] == "the request body is not UTF-8 (byte 37)"


@pytest.mark.parametrize(
    "body",
    [
        '{"path": "kadai-1.ipynb", "target": "\\ud800"}',  # a lone surrogate: valid JSON, not a path
        '{"path": "\\udcff.ipynb", "target": "x"}',
        '{"path": "kadai\\u0000.ipynb"}',
        "[" * 20000 + "]" * 20000,  # deep nesting: the JSON reader's recursion limit
        '{"path": "kadai-1.ipynb", "' + "x" * 5000 + '": 1}',  # an unknown field with a long name
    ],
)
async def test_json_that_cannot_be_a_path_is_400(jp_fetch, course: Course, body: str) -> None:
    code, reply = await error_of(jp_fetch(*API, "submit", method="POST", body=body.encode()))
    assert code == 400, reply
    assert len(reply["message"]) < 300
    assert files(course.open_dir) == []


@pytest.mark.parametrize("field", ["path", "target"])
async def test_a_20_mb_path_is_refused_short_and_never_echoed_or_logged(
    jp_fetch, course: Course, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    huge = "a" * (20 * 1024 * 1024)
    request = {"path": "kadai-1.ipynb", "target": OPEN_ACCESS, field: huge}
    with caplog.at_level(logging.DEBUG):
        code, reply = await error_of(post_submit(jp_fetch, request))
    assert code == 413
    assert len(json.dumps(reply)) < 300 and "aaaaaaaaaa" not in reply["message"]
    assert max((len(r.getMessage()) for r in caplog.records), default=0) < 2000
    # under the body limit but over PATH_MAX: 400, quoted at most in part
    long = "b" * 5000
    code, reply = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS, field: long}))
    assert code == 400 and "at most 4096" in reply["message"] and long[:200] not in reply["message"]
    assert files(course.open_dir) == []


async def test_a_long_unknown_target_is_quoted_in_part(jp_fetch, course: Course) -> None:
    target = "課" * 1000  # 3000 bytes: under PATH_MAX, still far too long to quote whole
    code, reply = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": target}))
    assert code == 403 and "(1000 characters)" in reply["message"] and len(reply["message"]) < 300
    assert "File name too long" in reply["message"]  # the system's reason, after the shortened name


async def test_a_path_through_a_link_loop_is_403_not_500(jp_fetch, course: Course) -> None:
    (course.root / "loop").symlink_to("loop")
    for request in (
        {"path": "loop/x.ipynb", "target": OPEN_ACCESS},
        {"path": "kadai-1.ipynb", "target": "loop/inner"},
    ):
        code, reply = await error_of(post_submit(jp_fetch, request))
        assert code == 403, reply
        assert "symbolic links" in reply["message"]


async def test_a_damaged_or_fifo_receipt_log_does_not_break_or_hang_submissions(jp_fetch, course: Course) -> None:
    code, _ = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})
    assert code == 201
    log = course.home / ".ipynb-tools" / "submit.log"
    with open(log, "ab") as handle:
        handle.write(b'{"event": "\xff broken"}\n')
    response = await jp_fetch(*API, "submissions")
    receipts = json.loads(response.body)["receipts"]
    assert response.code == 200 and [r["event"] for r in receipts] == ["submit", "\ufffd broken"]
    log.unlink()
    os.mkfifo(log)
    response = await jp_fetch(*API, "submissions", request_timeout=20)
    assert response.code == 200 and json.loads(response.body)["receipts"] == []


async def test_targets_lists_only_what_submit_accepts(jp_fetch, course: Course) -> None:
    own = course.root / ".mine"
    own.mkdir()
    own.chmod(0o1777)
    (course.root / "mine").symlink_to(".mine")
    response = await jp_fetch(*API, "targets")
    listed = {t["access"] for t in json.loads(response.body)["targets"]}
    assert listed == {OPEN_ACCESS, CLOSED_ACCESS}  # the student's own sticky folder is not offered
    code, _ = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": "mine"}))
    assert code == 403
