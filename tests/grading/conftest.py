"""Fixtures of the grading tests: the small course in tests/data/grading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

GRADING = Path(__file__).resolve().parents[1] / "data" / "grading"


@pytest.fixture
def grading_data() -> Path:
    return GRADING


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A writable copy of tests/data/grading (task/, submit/, graded/, expected/)."""
    target = tmp_path / "course"
    shutil.copytree(GRADING, target)
    return target
