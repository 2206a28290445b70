"""Headless Chromium for browser tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright's own browser downloads are never used: :func:`launch_chromium` points Playwright at the
system browser (``/usr/bin/chromium``, installed by ``scripts/install-system-deps.sh``). Use the
``chromium`` fixture (one browser per test module) and open a fresh context per test::

    def test_page(chromium):
        context = chromium.new_context(locale="ja-JP")
        page = context.new_page()
        page.goto(url)

Screenshots meant as CI artifacts go under :func:`artifact_dir` (``test-artifacts/`` in the tree,
or ``$IPYNB_TOOLS_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.requirements import unavailable

#: Flags for running as root in a container/CI sandbox without a user namespace sandbox.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]


def chromium_path() -> str | None:
    """The system Chromium executable, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def artifact_dir(*parts: str) -> Path:
    """A directory for screenshots kept as CI artifacts (created on demand)."""
    root = Path(os.environ.get("IPYNB_TOOLS_ARTIFACTS") or Path(__file__).parent.parent / "test-artifacts")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless system Chromium (a Playwright ``Browser``) for the tests of one module.

    Module scope, not session: Playwright's sync API keeps an event loop running in the main thread
    while it is open, and every later test that runs its own loop (``asyncio.run``, pytest-jupyter)
    would fail with "Cannot run the event loop while another loop is running".
    """
    executable = chromium_path()
    if executable is None:
        unavailable("needs Debian's chromium (scripts/install-system-deps.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        unavailable("needs playwright (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
