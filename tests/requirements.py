"""The one rule for tests that need something the machine may lack: skip locally, fail in CI.

Tests that need root, a private Docker engine, Chromium or the hub extra run everywhere CI runs
(CI is a root machine set up by ``scripts/install-system-deps.sh``). On a developer's machine that
lacks the thing they skip with the reason; when the ``CI`` environment variable is set they FAIL
with it instead, so a missing install step can never turn into a silently green run (house rule:
"tests that need an engine/db/browser never skip in CI").
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but the empty string."""
    return bool(os.environ.get("CI"))


def unavailable(reason: str) -> NoReturn:
    """Skip the test with ``reason``; in CI fail with it (``<reason> (nothing may skip in CI)``)."""
    if in_ci():
        pytest.fail(f"{reason} (nothing may skip in CI)", pytrace=False)
    pytest.skip(reason)


def require(condition: bool, reason: str) -> None:
    """Go on when ``condition`` holds; else :func:`unavailable` with ``reason`` (what is missing)."""
    if not condition:
        unavailable(reason)


def require_root(reason: str) -> None:
    """:func:`require` that the test runs as root; ``reason`` says what needs it."""
    require(os.geteuid() == 0, f"needs root: {reason}")
