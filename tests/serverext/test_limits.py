"""Activity and memory limits in the container (issue 16 item 7): settings, cgroup memory, phases, notices, stop.

The phases and the stop run on a fake clock; memory reads a fake cgroup directory laid out as the
kernel's (v2 ``memory.current``/``memory.max``, v1 ``memory.usage_in_bytes``/``memory.limit_in_bytes``).
The endpoint is served by a real jupyter_server with the extension loaded. The real browser and the
real container are in ``tests/hub/test_limits_browser.py`` and ``tests/hub/test_limits_e2e.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from ipynb_tools.environ import EnvironmentContractError
from ipynb_tools.serverext.limits import (
    GRACE,
    RUNNING,
    STOPPING,
    WARNING,
    LimitEnforcer,
    LimitSettings,
    LimitWatch,
    human_bytes,
    notice_texts,
    own_cgroup_dirs,
    read_memory,
)

from .conftest import Course

MB = 1 << 20


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def cgroup_v2(d: Path, current: int, limit: int | str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "memory.current").write_text(f"{current}\n")
    (d / "memory.max").write_text(f"{limit}\n")
    return d


# -- settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "limit", "grace"),
    [
        ({}, None, 120),
        ({"NB_ACTLIMIT": ""}, None, 120),
        ({"NB_ACTLIMIT": "0"}, None, 120),  # 0: no limit (issue 16 item 2's rule)
        ({"NB_ACTLIMIT": "6000"}, 6000, 120),
        ({"NB_ACTLIMIT": "20", "IPYNB_ACTLIMIT_GRACE": "10"}, 20, 10),
        ({"NB_ACTLIMIT": "20", "IPYNB_ACTLIMIT_GRACE": "0"}, 20, 0),
    ],
)
def test_settings_from_the_environment(env: dict[str, str], limit: float | None, grace: float) -> None:
    s = LimitSettings.from_environ(env)
    assert (s.actlimit, s.grace, s.enabled) == (limit, grace, limit is not None)


@pytest.mark.parametrize("env", [{"NB_ACTLIMIT": "soon"}, {"NB_ACTLIMIT": "-5"}, {"IPYNB_ACTLIMIT_GRACE": "nan"}])
def test_bad_settings_are_one_line_naming_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(EnvironmentContractError) as info:
        LimitSettings.from_environ(env)
    assert next(iter(env)) in str(info.value) and "\n" not in str(info.value)


# -- memory from the cgroup -------------------------------------------------------------------
def test_cgroup_v2_memory(tmp_path: Path) -> None:
    d = cgroup_v2(tmp_path / "c", 300 * MB, 1024 * MB)
    assert read_memory([tmp_path / "missing", d]) == (300 * MB, 1024 * MB)
    (d / "memory.max").write_text("max\n")
    assert read_memory([d]) == (300 * MB, None)


def test_cgroup_v1_memory_and_its_no_limit(tmp_path: Path) -> None:
    d = tmp_path / "memory"
    d.mkdir()
    (d / "memory.usage_in_bytes").write_text(str(50 * MB))
    (d / "memory.limit_in_bytes").write_text(str(200 * MB))
    assert read_memory([d]) == (50 * MB, 200 * MB)
    (d / "memory.limit_in_bytes").write_text("9223372036854771712")  # v1's "no limit"
    assert read_memory([d]) == (50 * MB, None)
    assert read_memory([tmp_path / "none"]) is None


def test_own_cgroup_directory_from_proc_self_cgroup(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    proc.write_text("0::/system.slice/docker-abc.scope\n")
    mount = tmp_path / "fs"
    assert own_cgroup_dirs(mount, proc)[0] == mount / "system.slice/docker-abc.scope"
    proc.write_text("12:cpu,cpuacct:/x\n4:memory:/docker/abc\n")
    assert own_cgroup_dirs(mount, proc)[0] == mount / "memory/docker/abc"
    assert mount in own_cgroup_dirs(mount, tmp_path / "no-such-file")  # a namespace root: the mount itself


def test_human_bytes() -> None:
    assert human_bytes(512 * MB) == "512 MB" and human_bytes(1536 * MB) == "1.5 GB"


# -- phases, notices, stop ---------------------------------------------------------------------
def test_phases_and_notices_along_the_clock(tmp_path: Path) -> None:
    clock = Clock()
    watch = LimitWatch(LimitSettings(actlimit=100, grace=20), clock=clock, wall=lambda: 0.0, memory=lambda: None)
    stop_hhmm = time.strftime("%H:%M", time.localtime(120))

    state = watch.state()
    assert (state["phase"], state["remaining"], state["stop_in"], state["notices"], state["save"]) == (
        RUNNING,
        100,
        120,
        [],
        False,
    )
    clock.t += 89.9
    assert watch.phase() == RUNNING
    clock.t += 0.1  # 90% of the limit
    state = watch.state()
    assert state["phase"] == WARNING and not state["save"]
    [toast] = state["notices"]
    assert toast["id"] == "time-90" and not toast["sticky"]
    assert (
        toast["message"] == notice_texts()["time-90"].format(share="90%", time=stop_hhmm)
        and stop_hhmm in toast["message"]
    )

    clock.t += 10  # the limit: sticky notice, save now
    state = watch.state()
    assert state["phase"] == GRACE and state["save"] and state["remaining"] == 0 and state["stop_in"] == 20
    sticky = [n for n in state["notices"] if n["sticky"]]
    assert [n["id"] for n in sticky] == ["time-limit"] and f"will stop at {stop_hhmm}" in sticky[0]["message"]

    clock.t += 20
    assert watch.phase() == STOPPING


def test_no_limit_never_stops_and_polls_slowly() -> None:
    clock = Clock()
    watch = LimitWatch(LimitSettings(actlimit=None), clock=clock, memory=lambda: None)
    clock.t += 10**7
    state = watch.state()
    assert state["phase"] == RUNNING and state["stop_at"] is None and state["remaining"] is None
    assert state["poll"] == 30 and state["notices"] == []


def test_memory_notice_at_90_percent_once_per_crossing(tmp_path: Path) -> None:
    d = cgroup_v2(tmp_path / "c", 100 * MB, 1000 * MB)
    watch = LimitWatch(LimitSettings(cgroup=d), memory=None)
    assert watch.state()["memory"] == {"used": 100 * MB, "limit": 1000 * MB, "fraction": 0.1}
    assert watch.state()["notices"] == []
    cgroup_v2(d, 900 * MB, 1000 * MB)
    [n] = watch.state()["notices"]
    assert n["id"] == "memory-90-1" and "90%" in n["message"] and "900 MB of 1000 MB" in n["message"]
    cgroup_v2(d, 950 * MB, 1000 * MB)
    assert [n["id"] for n in watch.state()["notices"]] == ["memory-90-1"]  # still the same crossing
    cgroup_v2(d, 850 * MB, 1000 * MB)  # below 90% but not below 80%: not re-armed
    watch.state()
    cgroup_v2(d, 920 * MB, 1000 * MB)
    assert [n["id"] for n in watch.state()["notices"]] == ["memory-90-1"]
    cgroup_v2(d, 500 * MB, 1000 * MB)  # re-armed
    watch.state()
    cgroup_v2(d, 990 * MB, 1000 * MB)
    assert [n["id"] for n in watch.state()["notices"]] == ["memory-90-2"]
    cgroup_v2(d, 990 * MB, "max")  # no limit: no fraction, no notice
    state = watch.state()
    assert state["memory"]["fraction"] is None and state["notices"] == []


def test_enforcer_stops_once_at_limit_plus_grace_and_wakes_at_the_boundaries() -> None:
    clock = Clock()
    watch = LimitWatch(LimitSettings(actlimit=100, grace=20), clock=clock, memory=lambda: None)
    stops: list[float] = []
    enforcer = LimitEnforcer(watch, lambda: stops.append(clock.t))
    step = enforcer.check()
    assert step == 5  # a 20th of the limit
    clock.t += 88
    assert enforcer.check() == pytest.approx(2)  # wakes at 90%
    clock.t += 2
    clock.t += 9.5
    assert enforcer.check() == pytest.approx(0.5)  # wakes at the limit
    clock.t += 0.5 + 19
    assert enforcer.check() == pytest.approx(1) and stops == []
    clock.t += 1
    assert enforcer.check() is None and stops == [clock.t]
    clock.t += 5
    assert enforcer.check() is None and len(stops) == 1


# -- the endpoint in a real server --------------------------------------------------------------
@pytest.fixture
def limited(course: Course, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment the spawner gives (set before the server starts: request it before ``jp_fetch``)."""
    monkeypatch.setenv("NB_ACTLIMIT", "3600")
    monkeypatch.setenv("IPYNB_ACTLIMIT_GRACE", "60")
    cg = cgroup_v2(tmp_path / "cgroup", 950 * MB, 1000 * MB)
    monkeypatch.setenv("IPYNB_LIMITS_CGROUP", str(cg))
    return cg


async def test_endpoint_serves_the_state_with_the_memory_notice(limited: Path, jp_fetch) -> None:
    response = await jp_fetch("ipynb-tools", "api", "limits")
    state = json.loads(response.body)
    assert state["limit"] == 3600 and state["grace"] == 60 and state["phase"] == RUNNING
    assert 3590 < state["remaining"] <= 3600 and state["memory"]["fraction"] == 0.95
    assert [n["id"] for n in state["notices"]] == ["memory-90-1"]
    assert response.headers["Cache-Control"] == "no-store"


async def test_endpoint_needs_authentication(limited: Path, jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("ipynb-tools", "api", "limits", headers={"Authorization": ""})
    assert info.value.code == 403


def test_notices_in_the_container_s_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spawner's site language (LANGUAGE=ja) gives Japanese notices; English is the fallback (issue 16 item 8)."""
    clock = Clock()
    watch = LimitWatch(LimitSettings(actlimit=100, grace=20), clock=clock, wall=lambda: 0.0, memory=lambda: None)
    clock.t += 100
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGUAGE", "ja")
    japanese = {n["id"]: n["message"] for n in watch.state()["notices"]}
    assert "90%" in japanese["time-90"] and "停止します" in japanese["time-90"]
    assert "停止します" in japanese["time-limit"] and "ノートブック" in japanese["time-limit"]
    monkeypatch.setenv("LANGUAGE", "en")
    english = {n["id"]: n["message"] for n in watch.state()["notices"]}
    assert english["time-90"].startswith("Your server has used 90% of its time limit")
