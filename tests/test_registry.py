"""Scale registry: measurement-error fields and primary citations."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sma_outcomes.registry import SCALES, Scale, get_scale

REGISTRY = Path(__file__).resolve().parents[1] / "sma_outcomes" / "registry.py"


def test_registry_cites_primary_sources_not_shared_notes():
    text = REGISTRY.read_text(encoding="utf-8")
    assert "shared/reference" not in text and "scales.md" not in text


def test_mdc95_is_derived_from_sem():
    s = Scale(code="X", name="X", abbreviation="X", unit="points", minimum=0.0,
              maximum=10.0, integer=True, sem=2.0, sem_source="a test-retest study")
    # 1.96 * sqrt(2) * 2 = 5.5437 (hand: 1.414214 * 1.96 = 2.771859; x 2 = 5.543717)
    assert s.mdc95 == pytest.approx(5.543717, abs=1e-6)
    printed = Scale(code="X", name="X", abbreviation="X", unit="points", minimum=0.0,
                    maximum=10.0, integer=True, sem=2.0, mdc95=5.5, sem_source="s")
    assert printed.mdc95 == 5.5


def test_every_registered_sem_has_a_source_and_consistent_mdc():
    for code, s in SCALES.items():
        if s.sem is not None:
            assert s.sem > 0 and s.sem_source, code
            assert s.mdc95 is not None and s.mdc95 >= 1.96 * math.sqrt(2) * s.sem - 0.5, code
        else:
            assert s.mdc95 is None, code


@pytest.mark.parametrize("code", ["HFMSE", "RULM", "PP_PREF", "PP_NONPREF", "SMWT"])
def test_totals_without_test_retest_sem_say_why(code):
    s = get_scale(code)
    assert s.sem is None
    assert "sem=" in s.sem_source
