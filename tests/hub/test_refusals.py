"""One rule for what starts a container: the spawner, ``container-spec``, ``params check`` and
``params mounts`` refuse exactly the same parameter texts and the same user names (issue 12,
items 15 and 23)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.hub.spawner import LaunchRefused
from ipynb_tools.submit import BadNameError, check_user

from .test_spawner import COURSE, HOST, SITE_IMAGE, lti11, make_spawner

NOW = 1_800_000_000

#: (extra custom parameters, refused?). Each refused text is one `params check` calls an error.
TEXTS = [
    ({"lms_memlimit": "abc"}, True),  # the example of the issue
    ({"lms_memlimit": "1k"}, True),  # below the engine's minimum (check_model, not the parser)
    ({"lms_memlimit": "12 parsecs"}, True),
    ({"lms_cpulimit": "-1"}, True),
    ({"lms_cpulimit": "nan"}, True),
    ({"lms_actlimit": "soon"}, True),
    ({"lms_iframe": "maybe"}, True),
    ({"lms_sub_k1_close": "tomorrow"}, True),
    ({"lms_vol_k1": ".."}, True),
    ({"lms_memlimit": "100M"}, False),  # a warning only (under 200 MB)
    ({"lms_cpulimit": "0.01"}, False),  # a warning only
    ({"lms_users": "S2024001,alice"}, False),  # a note only (read as lower case)
    ({}, False),
]


def _text(extra: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in {**COURSE, **extra}.items())


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _container_spec(params: Path, user: str = "alice") -> tuple[int, str]:
    return _cli(
        "container-spec",
        "--params",
        str(params),
        "--user",
        user,
        "--uid",
        "1001",
        "--gid",
        "100",
        "--course",
        "98",
        "--lti-id",
        "7",
        "--host",
        HOST,
        "--default-image",
        SITE_IMAGE,
        "--json",
    )


def _spawner_refuses(custom: dict[str, str], user: str = "alice") -> str | None:
    try:
        make_spawner(name=user).prepare(lti11(**custom), now=NOW)
    except LaunchRefused as exc:
        return exc.jupyterhub_message
    return None


@pytest.mark.parametrize(("extra", "refused"), TEXTS, ids=[str(e) for e, _ in TEXTS])
def test_spawner_container_spec_and_check_refuse_the_same_texts(tmp_path: Path, extra, refused) -> None:
    params = tmp_path / "params.txt"
    params.write_text(_text(extra), encoding="utf-8")
    # the stored length is about Moodle's column, not the launch: a site with a wide column here
    check_code, check_out = _cli("params", "check", str(params), "--now", str(NOW), "--column-size", "100000")
    spec_code, spec_out = _container_spec(params)
    mounts_code, mounts_out = _cli("params", "mounts", str(params), "--user", "alice", "--at", str(NOW))
    message = _spawner_refuses({**COURSE, **extra})
    assert (check_code == 1) is refused, check_out
    assert (spec_code == 1) is refused, spec_out
    assert (mounts_code == 1) is refused, mounts_out
    assert (message is not None) is refused, message
    if refused:
        (line,) = spec_out.strip().splitlines()  # one line, no traceback
        assert "container-spec: error: " in line and str(params) in line
        assert "no container starts from these parameters" in line
        problem = line.split(".txt:", 1)[1].split(": ", 1)[1].split("; no container starts")[0]
        assert problem in message  # the spawner gives the user the same reason
        assert "Traceback" not in spec_out + mounts_out


BAD_USERS = ["../../etc", "a:b", "x y", "-dash", ".hidden", "..", "a\nroot::0:0::/:/bin/sh", "a/b"]
GOOD_USERS = ["alice", "s2024001", "21001234", "山田太郎", "a.b@example.ac.jp", "S2024001"]


@pytest.mark.parametrize("user", BAD_USERS + GOOD_USERS)
def test_one_user_name_rule_everywhere(tmp_path: Path, user: str) -> None:
    params = tmp_path / "params.txt"
    params.write_text(_text({}), encoding="utf-8")
    bad = user in BAD_USERS
    spec_code, spec_out = _container_spec(params, user)
    mounts_code, mounts_out = _cli("params", "mounts", str(params), "--user", user, "--at", str(NOW))
    assert (spec_code == 1) is bad, spec_out
    assert (mounts_code == 1) is bad, mounts_out
    if bad:
        assert "user name" in spec_out and "user name" in mounts_out
        assert len(mounts_out.strip().splitlines()) == 1
        with pytest.raises(BadNameError):
            check_user(user)
        if "\n" not in user and "/" not in user:  # names the hub itself cannot have need no spawner
            assert _spawner_refuses(COURSE, user) is not None
    else:
        assert check_user(user) == user


def test_upper_case_lists_match_the_hubs_lower_case_names(tmp_path: Path) -> None:
    """lms_users=S2024001 / lms_teachers=Iseki: the hub's users s2024001 and iseki get them."""
    custom = {
        "lms_users": "S2024001",
        "lms_teachers": "Iseki",
        "lms_vol_k1": "課題1",
        "lms_sub_k2": "答え:TA1",
    }
    student = make_spawner(name="s2024001")
    spec = student.prepare(lti11(**custom), now=NOW)
    assert spec.environment["NB_TEACHER"] == ""
    assert [m.volume.split("_")[2] for m in spec.mounts] == ["k1"]
    teacher = make_spawner(name="iseki")
    spec = teacher.prepare(lti11(**custom), now=NOW)
    assert spec.environment["NB_TEACHER"] == "iseki"
    ta = make_spawner(name="ta1").prepare(lti11(**custom), now=NOW)
    assert [m.volume.split("_")[2] for m in ta.mounts] == ["k2"]
