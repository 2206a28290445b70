"""Hypothesis settings for the params property tests: 5,000 examples in CI, fewer locally.

The profiles are registered by name and applied per test (not loaded globally),
so they do not change other packages' hypothesis tests.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.requirements import in_ci

settings.register_profile(
    "params-ci", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile("params-dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PROFILE_NAME = "params-ci" if in_ci() else "params-dev"
#: Use as ``@PROFILE`` on a ``@given`` test.
PROFILE = settings(settings.get_profile(PROFILE_NAME))
