"""Shared test fixtures. Engine fixtures (private Docker engine, image builder) live in tests/engine/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.engine.fixtures", "tests.browser"]

# Messages are asserted in English (the msgids) whatever the developer's locale: LANGUAGE is what
# ipynb_tools.i18n reads first, and "en" ends its list (LANG/LC_ALL, which set encodings, are left
# alone). Tests of other languages set the variables themselves (tests/test_i18n*.py).
os.environ["LANGUAGE"] = "en"

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The directory of small real notebooks used as fixtures."""
    return DATA


@pytest.fixture
def copy_data(tmp_path: Path):
    """Copy named files from tests/data into a fresh directory and return that directory."""

    def _copy(*names: str, dest: Path | None = None) -> Path:
        target = dest or tmp_path / "work"
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            src = DATA / name
            if src.is_dir():
                shutil.copytree(src, target / name)
            else:
                shutil.copy2(src, target / name)
        return target

    return _copy
