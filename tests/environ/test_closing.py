"""One rule for closing times: unix seconds and ISO with an offset are absolute, a zone-less time is the site's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipynb_tools import submit as sub
from ipynb_tools.environ import (
    ClosingTimeError,
    EnvironmentContractError,
    StartEnvironment,
    format_close_time,
    parse_close_time,
    parse_close_times,
    site_timezone,
)
from ipynb_tools.params.summary import describe
from ipynb_tools.params.text import parse, parse_with_findings
from ipynb_tools.params.validate import validate
from ipynb_tools.spec import build_spec

TOKYO = {"IPYNB_TOOLS_TIMEZONE": "Asia/Tokyo"}
MOMENT = 1700000000  # 2023-11-14 22:13:20 UTC = 2023-11-15 07:13:20 JST


@pytest.mark.parametrize(
    "text", ["1700000000", "1700000000.9", "2023-11-15T07:13:20+09:00", "2023-11-14T22:13:20Z", " 1700000000 "]
)
def test_absolute_times_ignore_the_site_zone(text: str) -> None:
    assert parse_close_time(text, env={}) == MOMENT
    assert parse_close_time(text, env=TOKYO) == MOMENT


def test_a_time_without_zone_is_the_sites() -> None:
    assert parse_close_time("2023-11-14T22:13:20", env={}) == MOMENT  # default: UTC
    assert parse_close_time("2023-11-15T07:13:20", env=TOKYO) == MOMENT
    assert parse_close_time("2023-11-15 07:13:20", env=TOKYO) == MOMENT


@pytest.mark.parametrize("text", ["next friday", "-5", "1e9", ""])
def test_bad_times_are_one_clear_error(text: str) -> None:
    with pytest.raises(ClosingTimeError, match="neither a unix time nor an ISO date/time"):
        parse_close_time(text, env={})


def test_an_unknown_zone_is_a_contract_error() -> None:
    with pytest.raises(EnvironmentContractError, match="IPYNB_TOOLS_TIMEZONE='Mars/Base'"):
        site_timezone({"IPYNB_TOOLS_TIMEZONE": "Mars/Base"})


def test_params_environment_and_close_file_read_the_same_text_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPYNB_TOOLS_TIMEZONE", "Asia/Tokyo")
    text = "2023-11-15T07:13:20"
    assert parse(f"lms_sub_a=x\nlms_sub_a_close={text}").closes == {"a": MOMENT}
    assert parse_close_times(f"lms_sub_a_98_h={text}") == {"lms_sub_a_98_h": MOMENT}
    volume = tmp_path / "works" / ".volumes" / "lms_sub_a_98_h"
    volume.mkdir(parents=True)
    (volume / sub.CLOSE_FILE).write_text(text + "\n")
    env = {"HOME": str(tmp_path), "NB_WRKDIR": str(tmp_path / "works"), "NB_SUBMITS": ".volumes/lms_sub_a_98_h:提出"}
    (target,) = sub.known_targets({**env, **TOKYO}, now=0)
    assert target.close_time == MOMENT


def test_what_params_check_and_show_print_is_the_site_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPYNB_TOOLS_TIMEZONE", "Asia/Tokyo")
    shown = format_close_time(MOMENT)
    assert shown == "2023-11-14 22:13:20 UTC (2023-11-15 07:13:20 JST)"
    text = "lms_users=*\nlms_teachers=t\nlms_sub_a=x\nlms_sub_a_close=2023-11-15T07:13:20\n"
    assert f"closes {shown}" in describe(parse(text))
    assert any(shown in f.message for f in validate(text, now=MOMENT + 1))
    monkeypatch.delenv("IPYNB_TOOLS_TIMEZONE")
    assert format_close_time(MOMENT) == "2023-11-14 22:13:20 UTC"


def test_the_spawner_passes_the_site_zone_into_the_container(monkeypatch: pytest.MonkeyPatch) -> None:
    params, _ = parse_with_findings("lms_users=*\nlms_image=i\nlms_sub_a=x\n")
    spec = build_spec(params, "alice", uid=1000, gid=100, course="98", lti_id="7", host="h", timezone="Asia/Tokyo")
    assert spec.environment["IPYNB_TOOLS_TIMEZONE"] == "Asia/Tokyo"
    assert StartEnvironment.from_environ(spec.environment).timezone == "Asia/Tokyo"
    monkeypatch.setenv("IPYNB_TOOLS_TIMEZONE", "Europe/Paris")
    spec = build_spec(params, "alice", uid=1000, gid=100, course="98", lti_id="7", host="h")
    assert spec.environment["IPYNB_TOOLS_TIMEZONE"] == "Europe/Paris"
    with pytest.raises(EnvironmentContractError):
        build_spec(params, "alice", uid=1000, gid=100, course="98", lti_id="7", host="h", timezone="Nowhere/X")


def test_closed_strictly_after_the_closing_time_everywhere() -> None:
    """One comparison: params rules, the mounts the spawner builds and ipynb_submit agree at,
    just before and just after the closing second (issue 11 item 1, issue 16 item 1)."""
    from ipynb_tools.environ import is_past_close
    from ipynb_tools.params.rules import mounts
    from ipynb_tools.params.text import parse
    from ipynb_tools.submit.targets import known_targets

    close = 1_700_000_000
    params = parse(f"lms_users=*\nlms_sub_x=提出\nlms_sub_x_close={close}\n")
    env = {
        "NB_USER": "s",
        "NB_HOME": "/nonexistent/s",
        "NB_SUBMITS": ".volumes/lms_sub_x_1_h:提出",
        "NB_SUBMITS_CLOSE": f"lms_sub_x_1_h={close}",
    }
    for at, closed in ((close - 1, False), (close, False), (close + 0.001, True), (close + 1, True)):
        assert is_past_close(close, at) is closed
        assert is_past_close(params.closes.get("x"), at) is closed
        (mount,) = mounts(params, "s", teacher=False, at=at)
        assert mount.closed is closed
        (target,) = known_targets(env, now=at)
        assert target.closed is closed, at
    assert not is_past_close(None, 10**12)
