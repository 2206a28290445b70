"""Benchmark ``volumes ls`` (issue #5): time and number of engine API calls.

A private engine (the test fixture's dockerd, or ``--engine podman``) holds 300 course volumes:
100 of course 98 on el.example.jp (50 task + 50 submit), 100 of course 99 on the same host and
100 of course 98 on another host; 20 containers (stopped) mount some of them. Measured in the same
run:

- floor: ONE raw ``GET /volumes`` (all 300, no filter, no parsing): the least any listing can cost;
- floor2: the floor plus one raw ``GET /containers/json?all=1``: the least that can also say which
  containers use which volume;
- ``list_volumes``: the course's 100 volumes with labels, created time and the containers using
  them (one filtered ``GET /volumes`` + one ``GET /containers/json?all=1``);
- for contrast, the naive way: the SDK's ``volumes.list()`` + ``containers.list(all=True)``
  (one inspect per volume and per container).

HTTP requests are counted by wrapping the SDK's ``APIClient.send`` (a requests Session).
Targets: ``list_volumes`` makes exactly 2 requests whatever the number of volumes, and takes
at most 1.5x floor2's time (its ratio to the one-call floor is printed too).

Run: .venv/bin/python benchmarks/volumes_list.py [--engine docker|podman] [--repeat N]
Needs root (the private dockerd); prints SKIP and exits 0 without it unless CI is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from timing import Timing, time_call  # noqa: E402

from ipynb_tools.volumes import course as vols  # noqa: E402
from ipynb_tools.volumes import engine as eng  # noqa: E402
from ipynb_tools.volumes.naming import VolumeName  # noqa: E402
from tests.engine import images  # noqa: E402
from tests.engine.daemons import EngineStartError, start_dockerd, start_podman  # noqa: E402

COURSE, HOST, OTHER_COURSE, OTHER_HOST = "98", "el.example.jp", "99", "lms.example.org"
TARGET_CALLS = 2
TARGET_RATIO = 1.5


class CallCounter:
    """Counts HTTP requests an SDK client sends (every engine API call is one request)."""

    def __init__(self, api: Any) -> None:
        self.count = 0
        original = api.send

        def send(request: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(request, **kwargs)

        api.send = send

    def measure(self, func: Callable[[], object]) -> int:
        before = self.count
        func()
        return self.count - before


def populate(client: Any, tiny: str) -> None:
    api = client.api
    for course, host in ((COURSE, HOST), (OTHER_COURSE, HOST), (COURSE, OTHER_HOST)):
        for i in range(50):
            for kind in ("vol", "sub"):
                name = VolumeName(kind, f"t{i:02d}", course, host)
                api.create_volume(name.full, labels=name.labels)
    for i in range(20):
        course = COURSE if i % 2 else OTHER_COURSE
        mounts = {
            VolumeName("sub", f"t{i:02d}", course, HOST).full: {"bind": "/s", "mode": "rw"},
            VolumeName("vol", f"t{i:02d}", course, HOST).full: {"bind": "/t", "mode": "ro"},
        }
        client.containers.create(tiny, ["sleep", "1"], name=f"student{i:02d}", network_mode="none", volumes=mounts)


def median_ms(timing: Timing) -> float:
    return timing.median * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("docker", "podman"), default="docker")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    try:
        private = (start_dockerd if args.engine == "docker" else start_podman)()
    except EngineStartError as exc:
        if os.environ.get("CI"):
            print(f"FAIL: cannot start the private {args.engine} engine: {exc}")
            return 1
        print(f"SKIP: cannot start the private {args.engine} engine: {exc}")
        return 0
    try:
        admin = private.client()
        populate(admin, images.tiny_image(admin))
        total = len(admin.api.volumes()["Volumes"])

        engine = eng.connect(private.url)
        counter = CallCounter(engine.client.api)
        api = engine.client.api

        def ours() -> object:
            return vols.list_volumes(engine, COURSE, HOST)

        def floor() -> object:
            return api._result(api._get(api._url("/volumes")), True)

        def floor2() -> object:
            return floor(), api._result(api._get(api._url("/containers/json"), params={"all": 1}), True)

        def naive() -> object:
            return engine.client.volumes.list(), engine.client.containers.list(all=True)

        listed = ours()
        assert len(listed) == 100, len(listed)
        assert sum(1 for v in listed if v.in_use) == 20, [v.full_name for v in listed if v.in_use]
        calls = {
            "floor": counter.measure(floor),
            "floor2": counter.measure(floor2),
            "list_volumes": counter.measure(ours),
            "naive SDK": counter.measure(naive),
        }

        runs: dict[str, list[float]] = {"floor": [], "floor2": [], "ours": []}
        for _ in range(3):  # interleave so machine noise hits all alike
            for key, func in (("floor", floor), ("floor2", floor2), ("ours", ours)):
                runs[key] += time_call(func, repeat=max(1, args.repeat // 3)).runs
        t_naive = time_call(naive, repeat=3)
        floor_t, floor2_t, ours_t = Timing(runs["floor"]), Timing(runs["floor2"]), Timing(runs["ours"])
        ratio1 = ours_t.median / floor_t.median
        ratio = ours_t.median / floor2_t.median
        engine.close()

        print(
            f"engine: private {args.engine} ({private.url}); "
            f"{total} volumes, 100 of course {COURSE} on {HOST}, 20 containers"
        )
        print(
            f"  floor  (1 raw GET /volumes, all {total}):                   "
            f"{median_ms(floor_t):7.2f} ms  {calls['floor']:4d} API call(s)"
        )
        print(
            f"  floor2 (raw GET /volumes + GET /containers/json?all=1): "
            f"{median_ms(floor2_t):7.2f} ms  {calls['floor2']:4d} API call(s)"
        )
        print(
            f"  list_volumes (course's 100 + container use):              "
            f"{median_ms(ours_t):7.2f} ms  {calls['list_volumes']:4d} API call(s)"
            f"  = {ratio1:.2f}x floor, {ratio:.2f}x floor2"
        )
        print(
            f"  naive SDK volumes.list()+containers.list():               "
            f"{median_ms(t_naive):7.2f} ms  {calls['naive SDK']:4d} API call(s)"
        )
        ok = calls["list_volumes"] == TARGET_CALLS and ratio <= TARGET_RATIO
        print(
            f"targets: {TARGET_CALLS} API calls (got {calls['list_volumes']}), "
            f"<= {TARGET_RATIO}x floor2 (got {ratio:.2f}x): " + ("met" if ok else "MISSED")
        )
        return 0 if ok else 1
    finally:
        private.stop()


if __name__ == "__main__":
    sys.exit(main())
