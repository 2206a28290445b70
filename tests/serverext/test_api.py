"""The REST API of the server extension, through a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from ipynb_tools import submit as lib
from tests.requirements import require_root

from .conftest import CLOSED_ACCESS, CLOSED_AT, DATA, OPEN_ACCESS, OPEN_FULL, Course

API = ("ipynb-tools", "api")


async def get(jp_fetch, endpoint: str, **kwargs):
    response = await jp_fetch(*API, endpoint, **kwargs)
    return response.code, json.loads(response.body)


async def post_submit(jp_fetch, body: dict, **kwargs):
    response = await jp_fetch(*API, "submit", method="POST", body=json.dumps(body), **kwargs)
    return response.code, json.loads(response.body)


async def error_of(coro) -> tuple[int, dict]:
    """The status and JSON body of a request that must fail."""
    with pytest.raises(HTTPClientError) as info:
        await coro
    response = info.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return info.value.code, json.loads(response.body)


def files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# -- targets -------------------------------------------------------------------------------
async def test_targets_lists_access_names_and_closing(jp_fetch, course: Course) -> None:
    code, body = await get(jp_fetch, "targets")
    assert code == 200
    by_access = {t["access"]: t for t in body["targets"]}
    assert set(by_access) == {OPEN_ACCESS, CLOSED_ACCESS}
    assert by_access[OPEN_ACCESS]["closed"] is False
    assert by_access[OPEN_ACCESS]["close_time"] is None
    assert by_access[OPEN_ACCESS]["full_name"] == OPEN_FULL
    assert by_access[OPEN_ACCESS]["api_path"] == f".volumes/{OPEN_FULL}"
    assert by_access[OPEN_ACCESS]["exists"] is True
    closed = by_access[CLOSED_ACCESS]
    assert closed["closed"] is True
    assert closed["close_time"] == CLOSED_AT
    assert closed["close_text"].startswith("2023-11-14 22:13:20 UTC")


# -- submit --------------------------------------------------------------------------------
async def test_submit_hands_in_with_receipt(jp_fetch, course: Course) -> None:
    code, body = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})
    assert code == 201
    receipt = body["receipt"]
    copy = course.open_dir / "kadai-1_alice.ipynb"
    assert files(course.open_dir) == ["kadai-1_alice.ipynb"]
    data = copy.read_bytes()
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    assert receipt["size"] == len(data)
    assert receipt["source_sha256"] == hashlib.sha256((course.root / "kadai-1.ipynb").read_bytes()).hexdigest()
    assert receipt["user"] == "alice"
    assert receipt["target"] == OPEN_ACCESS
    assert receipt["line"].startswith(f"submitted kadai-1.ipynb -> {OPEN_ACCESS}/kadai-1_alice.ipynb at ")
    assert body["path"] == "kadai-1.ipynb"
    assert copy.stat().st_mode & 0o777 == 0o640
    record = json.loads(data)["metadata"]["ipynb_tools"]["submission"]
    assert record["user"] == "alice" and record["source_name"] == "kadai-1.ipynb"
    # the same cells as the student's notebook: nothing but the record was added
    original = json.loads((DATA / "deploy" / "v40.ipynb").read_bytes())
    assert json.loads(data)["cells"] == original["cells"]


async def test_submit_unicode_name_with_space_and_sub_directory(jp_fetch, course: Course) -> None:
    sub = course.root / "第1回"
    sub.mkdir()
    shutil.move(course.root / "課題1 基礎.ipynb", sub / "課題1 基礎.ipynb")
    code, body = await post_submit(jp_fetch, {"path": "第1回/課題1 基礎.ipynb", "target": OPEN_ACCESS})
    assert code == 201
    assert files(course.open_dir) == ["課題1 基礎_alice.ipynb"]
    assert body["receipt"]["name"] == "課題1 基礎_alice.ipynb"


async def test_submit_by_full_volume_name_and_by_path(jp_fetch, course: Course) -> None:
    code, _ = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_FULL})
    assert code == 201
    code, body = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": f".volumes/{OPEN_FULL}"})
    assert code == 201
    assert body["receipt"]["replaced"] is True
    assert files(course.open_dir) == ["kadai-1_alice.ipynb"]


async def test_resubmit_keeps_the_earlier_copy_and_reports_no_changes(jp_fetch, course: Course) -> None:
    await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})
    code, body = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})
    assert code == 201
    assert body["receipt"]["replaced"] is True
    assert body["receipt"]["unchanged"] is True
    assert any("no changes" in w for w in body["receipt"]["warnings"])


async def test_no_target_with_two_targets_is_a_bad_request(jp_fetch, course: Course) -> None:
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb"}))
    assert code == 400
    assert body["message"].startswith("several submit targets; choose one of: ")
    assert body["error"] == "UnknownTargetError"


async def test_unknown_target(jp_fetch, course: Course) -> None:
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": "課題9"}))
    assert code == 404
    assert "unknown submit target '課題9'" in body["message"]
    assert OPEN_ACCESS in body["message"]


@pytest.mark.parametrize("name", ["notes.txt", "broken.ipynb"])
async def test_non_notebook_is_refused_with_the_library_message(jp_fetch, course: Course, name: str) -> None:
    code, body = await error_of(post_submit(jp_fetch, {"path": name, "target": OPEN_ACCESS}))
    assert code == 400
    with pytest.raises(lib.IpynbToolsError) as direct:  # what ipynb_submit says for the same file
        lib.submit_notebook(course.root / name, OPEN_ACCESS)
    assert body["message"] == str(direct.value)
    assert "\n" not in body["message"]
    assert files(course.open_dir) == []


async def test_directory_is_refused(jp_fetch, course: Course) -> None:
    (course.root / "dir.ipynb").mkdir()
    code, body = await error_of(post_submit(jp_fetch, {"path": "dir.ipynb", "target": OPEN_ACCESS}))
    assert code == 400
    assert "dir.ipynb" in body["message"]


async def test_closed_target_is_refused(jp_fetch, course: Course) -> None:
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": CLOSED_ACCESS}))
    assert code == 403
    assert body["error"] == "SubmitClosedError"
    assert body["message"].startswith(f"{CLOSED_ACCESS}: submissions closed at 2023-11-14 22:13:20 UTC")
    assert files(course.closed_dir) == []


async def test_too_large_is_413(jp_fetch, course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPYNB_SUBMIT_MAX_MB", "0.0001")
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS}))
    assert code == 413
    assert "kadai-1.ipynb" in body["message"]
    assert files(course.open_dir) == []


async def test_missing_file_is_404(jp_fetch, course: Course) -> None:
    code, body = await error_of(post_submit(jp_fetch, {"path": "nope.ipynb", "target": OPEN_ACCESS}))
    assert code == 404
    assert body["message"] == "nope.ipynb: no such file"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"target": OPEN_ACCESS},
        {"path": 3},
        {"path": "kadai-1.ipynb", "extra": 1},
        {"path": "kadai-1.ipynb", "target": 5},
    ],
)
async def test_malformed_requests_are_400(jp_fetch, course: Course, body) -> None:
    code, reply = await error_of(post_submit(jp_fetch, body))
    assert code == 400
    assert reply["message"]


async def test_invalid_json_is_400(jp_fetch, course: Course) -> None:
    code, _ = await error_of(jp_fetch(*API, "submit", method="POST", body="{nope"))
    assert code == 400


async def test_path_outside_the_server_root_is_refused(jp_fetch, course: Course, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy2(DATA / "deploy" / "v40.ipynb", outside / "secret.ipynb")
    (course.root / "link.ipynb").symlink_to(outside / "secret.ipynb")
    (course.root / "linkdir").symlink_to(outside)
    rel = os.path.relpath(outside / "secret.ipynb", course.root)
    for path in (
        rel,
        "../outside/secret.ipynb",
        "link.ipynb",
        "linkdir/secret.ipynb",
        "sub/../../outside/secret.ipynb",
    ):
        code, body = await error_of(post_submit(jp_fetch, {"path": path, "target": OPEN_ACCESS}))
        assert code == 403, path
        assert body["message"] == f"{path}: outside the server root; only files under it can be submitted"
        assert body["error"] == "OutsideRoot"
    # a submit directory given as a path outside the root is refused too
    code, body = await error_of(post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": "linkdir/"}))
    assert code == 403
    assert files(course.open_dir) == [] and files(outside) == ["secret.ipynb"]


async def test_absolute_path_means_from_the_server_root(jp_fetch, course: Course) -> None:
    code, _ = await post_submit(jp_fetch, {"path": "/kadai-1.ipynb", "target": OPEN_ACCESS})
    assert code == 201
    code, _ = await error_of(post_submit(jp_fetch, {"path": "/etc/passwd", "target": OPEN_ACCESS}))
    assert code == 404


@pytest.mark.root
async def test_another_users_file_is_not_replaced_nor_blocks_the_hand_in(jp_fetch, course: Course) -> None:
    """A name a classmate squatted: the hand-in goes to a fallback name (issue 12, item 6), the file stays."""
    require_root("files owned by another user")
    planted = course.open_dir / "kadai-1_alice.ipynb"
    planted.write_text("{}")
    os.chown(planted, 54321, 54321)
    code, body = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})
    assert code == 201
    assert re.fullmatch(r"kadai-1_alice~[0-9a-f]{16}\.ipynb", body["receipt"]["name"])
    assert any("kadai-1_alice.ipynb is taken by a file of uid 54321" in w for w in body["receipt"]["warnings"])
    assert planted.read_text() == "{}"


# -- authentication ------------------------------------------------------------------------
@pytest.mark.parametrize("method,endpoint", [("GET", "targets"), ("POST", "submit"), ("GET", "submissions")])
async def test_unauthenticated_requests_are_refused(jp_fetch, course: Course, method: str, endpoint: str) -> None:
    body = json.dumps({"path": "kadai-1.ipynb", "target": OPEN_ACCESS}) if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, endpoint, method=method, body=body, headers={"Authorization": ""})
    assert info.value.code == 403
    assert files(course.open_dir) == []


async def test_wrong_token_is_refused(jp_fetch, course: Course) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            *API,
            "submit",
            method="POST",
            body=json.dumps({"path": "kadai-1.ipynb", "target": OPEN_ACCESS}),
            headers={"Authorization": "token not-the-token"},
        )
    assert info.value.code == 403
    assert files(course.open_dir) == []


async def test_cookie_post_without_xsrf_is_refused(jp_fetch, jp_serverapp, course: Course) -> None:
    """A browser session (cookie, no token) must send the XSRF token, as for every jupyter_server POST."""
    login = await jp_fetch(
        "login",
        params={"token": jp_serverapp.identity_provider.token},
        headers={"Authorization": ""},
        follow_redirects=False,
        raise_error=False,
    )
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    session = [c for c in cookies if not c.startswith("_xsrf=")]
    assert session, cookies
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            *API,
            "submit",
            method="POST",
            body=json.dumps({"path": "kadai-1.ipynb", "target": OPEN_ACCESS}),
            headers={"Authorization": "", "Cookie": "; ".join(session)},
        )
    assert info.value.code == 403
    assert files(course.open_dir) == []
    # with the XSRF cookie and header, the same browser session may submit
    xsrf = [c for c in cookies if c.startswith("_xsrf=")]
    if not xsrf:
        page = await jp_fetch("tree", headers={"Authorization": "", "Cookie": "; ".join(session)}, raise_error=False)
        xsrf = [c.split(";", 1)[0] for c in page.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")]
    assert xsrf
    response = await jp_fetch(
        *API,
        "submit",
        method="POST",
        body=json.dumps({"path": "kadai-1.ipynb", "target": OPEN_ACCESS}),
        headers={"Authorization": "", "Cookie": "; ".join(session + xsrf), "X-XSRFToken": xsrf[0].split("=", 1)[1]},
    )
    assert response.code == 201


# -- submissions ---------------------------------------------------------------------------
async def test_submissions_with_receipts_and_history(jp_fetch, course: Course) -> None:
    code, body = await get(jp_fetch, "submissions")
    assert code == 200 and body == {"submissions": [], "kept": [], "receipts": []}
    await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})
    nb = json.loads((course.root / "kadai-1.ipynb").read_text())
    nb["cells"][0]["source"] = "print('changed')"
    (course.root / "kadai-1.ipynb").write_text(json.dumps(nb))
    _, second = await post_submit(jp_fetch, {"path": "kadai-1.ipynb", "target": OPEN_ACCESS})

    code, body = await get(jp_fetch, "submissions")
    assert code == 200
    [current] = body["submissions"]
    assert current["target"] == OPEN_ACCESS
    assert current["name"] == "kadai-1_alice.ipynb"
    assert current["sha256"] == second["receipt"]["sha256"]
    assert current["kept"] is False
    assert body["kept"] == []
    assert [r["sha256"] for r in body["receipts"]][-1] == second["receipt"]["sha256"]
    assert len(body["receipts"]) == 2 and all(r["event"] == "submit" for r in body["receipts"])

    _, with_history = await get(jp_fetch, "submissions", params={"history": "1"})
    assert len(with_history["kept"]) == 2
    assert second["receipt"]["sha256"] in {k["sha256"] for k in with_history["kept"]}


@pytest.mark.root
async def test_submissions_ignore_other_users_files(jp_fetch, course: Course) -> None:
    require_root("files owned by another user")
    other = course.open_dir / "kadai-1_bob.ipynb"
    shutil.copy2(DATA / "deploy" / "v40.ipynb", other)
    os.chown(other, 54321, 54321)
    _, body = await get(jp_fetch, "submissions")
    assert body["submissions"] == []


# -- umask ---------------------------------------------------------------------------------
async def test_server_start_applies_the_users_umask(jp_serverapp, course: Course) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    assert mask == 0o037
