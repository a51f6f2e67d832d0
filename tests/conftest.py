"""Hypothesis profiles for the whole suite.

- ``ci`` (chosen when ``CI=true``): examples are derived from each test's name, so a CI run
  is reproducible and a submission cannot fail on an input no earlier run saw; no deadline,
  since two pytest workers share two cores and a slow example is not a wrong one.
- ``dev`` (the default elsewhere): random examples, so local runs keep exploring.
- ``thorough``: ten times the examples, for a deliberate search
  (``HYPOTHESIS_PROFILE=thorough pytest tests/unit``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow]

settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=_SLOW_OK)
settings.register_profile("dev", deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile(
    "thorough", deadline=None, suppress_health_check=_SLOW_OK, max_examples=1000
)

_DEFAULT = "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _DEFAULT))
