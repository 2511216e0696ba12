"""Test set-up for the whole suite: the unit tests and every docstring example.

- matplotlib draws off screen (Agg);
- docstring examples run from the repository root, so that they can read the
  bundled data as ``data/sample/...``;
- hypothesis runs with one fixed, derandomised profile (``ci``), so that CI is
  reproducible and bounded in time; ``HYPOTHESIS_PROFILE=dev`` explores more.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _doctest_in_repository_root(request: pytest.FixtureRequest,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Docstring examples read ``data/sample/...`` relative to the repository root."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(ROOT)
