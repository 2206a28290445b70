"""Fixtures for volume tests: a fresh course id per test, cleaned up on the engine afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ipynb_tools.volumes.naming import LABEL_COURSE


@dataclass
class FakeVolumeParam:
    """Stand-in for ipynb_tools.params' VolumeParam: only what the engine layer reads."""

    kind: str
    name: str
    access: str = ""
    users: list[str] = field(default_factory=list)


@dataclass
class FakeParams:
    volumes: list[FakeVolumeParam]


def new_course() -> str:
    return "c" + uuid.uuid4().hex[:10]


@pytest.fixture
def courses(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Two fresh course ids; their volumes (and containers using them) are removed after the test."""
    ids = [new_course(), new_course()]
    yield ids
    for fixture in ("engine", "docker_engine"):
        if fixture in request.fixturenames:
            private = request.getfixturevalue(fixture)
            client = private.client()
            for course in ids:
                for volume in client.volumes.list(filters={"label": f"{LABEL_COURSE}={course}"}):
                    volume.remove(force=True)
                for volume in client.volumes.list(filters={"name": course}):
                    volume.remove(force=True)


@pytest.fixture
def course(courses: list[str]) -> str:
    return courses[0]
