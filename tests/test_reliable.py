"""Reliable change index (Jacobson & Truax 1991) and MDC: hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sma_outcomes import OptionError
from sma_outcomes.registry import Scale
from sma_outcomes.stats import reliable
from sma_outcomes.stats.reliable import detectable_change, reliable_change

# z(0.975) = 1.959964; with SEM = 2: sqrt(2) * 2 = 2.828427 and MDC = 2.828427 * 1.959964 = 5.543615.
SE_DIFF = 2.828427
MDC95 = 5.543615


def _changes(values, measure="HFMSE", timepoint="Month 12"):
    n = len(values)
    base = pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(1, n + 1)], "measure": measure,
        "timepoint": "Baseline", "change": 0.0, "is_baseline": True, "analysed": True,
        "baseline": 20.0, "score": 20.0, "day": 0.0})
    follow = base.assign(timepoint=timepoint, change=list(values), is_baseline=False,
                         score=[20.0 + v for v in values], day=365.0)
    return pd.concat([base, follow], ignore_index=True)


def test_rci_by_hand():
    rc = reliable_change(_changes([6.0, -6.0, 5.0, 2.0, 0.0]), sem=2.0)
    assert list(rc["patient_id"]) == ["P1", "P2", "P3", "P4", "P5"]
    # 6 / 2.828427 = 2.121320; 5 / 2.828427 = 1.767767; 2 / 2.828427 = 0.707107
    assert rc["rci"].tolist() == pytest.approx([2.121320, -2.121320, 1.767767, 0.707107, 0.0],
                                               abs=1e-6)
    assert rc["se_diff"].iloc[0] == pytest.approx(SE_DIFF, abs=1e-6)
    assert rc["mdc"].iloc[0] == pytest.approx(MDC95, abs=1e-6)
    assert rc["z"].iloc[0] == pytest.approx(1.959964, abs=1e-6)
    assert rc["reliable_change"].tolist() == [
        "reliable improvement", "reliable decline", "no reliable change",
        "no reliable change", "no reliable change"]
    # 5 reaches the registry's 3-point HFMSE threshold but not the MDC: said in the note
    assert "within measurement error" in rc["note"].iloc[2]
    assert rc["note"].iloc[3] == "" and rc["threshold"].iloc[0] == 3.0
    assert (rc["sem"] == 2.0).all() and (rc["sem_source"] == "given").all()
    assert list(rc.columns) == list(reliable.RELIABLE_COLUMNS)


def test_level_changes_the_critical_value():
    # z(0.95) = 1.644854 < 1.767767, so a change of 5 is reliable at the 90% level
    rc = reliable_change(_changes([5.0]), sem=2.0, level=0.90)
    assert rc["z"].iloc[0] == pytest.approx(1.644854, abs=1e-6)
    assert rc["mdc"].iloc[0] == pytest.approx(1.644854 * SE_DIFF, abs=1e-6)  # 4.652354
    assert rc["reliable_change"].iloc[0] == "reliable improvement"


def test_direction_from_registry(monkeypatch):
    lower = Scale(code="TIME", name="Timed test", abbreviation="T", unit="seconds",
                  minimum=0.0, maximum=float("inf"), integer=False, higher_is_better=False,
                  threshold=1.0)
    monkeypatch.setattr(reliable, "_scale", lambda m: lower)
    rc = reliable_change(_changes([-6.0, 6.0], measure="TIME"), sem=2.0)
    assert rc["reliable_change"].tolist() == ["reliable improvement", "reliable decline"]
    assert not rc["higher_is_better"].any()


def test_sem_per_measure_with_source_and_registry(monkeypatch):
    data = pd.concat([_changes([6.0]), _changes([3.0], measure="RULM")], ignore_index=True)
    rc = reliable_change(data, sem={"HFMSE": (4.71, "Hara et al. 2025"), "RULM": 1.0})
    h = rc.set_index("measure")
    assert h.loc["HFMSE", "sem_source"] == "given: Hara et al. 2025"
    # RULM: 3 / (sqrt(2) * 1) = 2.121320 > 1.96
    assert h.loc["RULM", "rci"] == pytest.approx(2.121320, abs=1e-6)
    assert h.loc["RULM", "reliable_change"] == "reliable improvement"
    # A registry SEM (only where a test-retest study gives one) is used and cited
    with_sem = Scale(code="HFMSE", name="HFMSE", abbreviation="HFMSE", unit="points",
                     minimum=0.0, maximum=66.0, integer=True, threshold=3.0,
                     sem=2.0, sem_source="Test-retest study X")
    monkeypatch.setattr(reliable, "_scale", lambda m: with_sem)
    rc = reliable_change(_changes([6.0]))
    assert rc["sem_source"].iloc[0] == "Test-retest study X"
    assert rc["mdc"].iloc[0] == pytest.approx(MDC95, abs=1e-6)


def test_missing_sem_is_a_clear_error():
    with pytest.raises(OptionError, match=r"sem=\{'HFMSE'"):
        reliable_change(_changes([6.0]))
    with pytest.raises(OptionError, match="test-retest"):
        reliable_change(_changes([6.0]), sem={"RULM": 1.0})
    with pytest.raises(OptionError, match="positive"):
        reliable_change(_changes([6.0]), sem=-1.0)


def test_rows_used():
    data = _changes([6.0, 1.0])
    data.loc[(data["patient_id"] == "P2") & ~data["is_baseline"], "analysed"] = False
    extra = data.iloc[[2]].assign(timepoint="Month 6", change=math.nan)
    rc = reliable_change(pd.concat([data, extra], ignore_index=True), sem=2.0)
    assert rc["patient_id"].tolist() == ["P1"] and rc["timepoint"].tolist() == ["Month 12"]
    only = reliable_change(data, sem=2.0, timepoint="Month 12")
    assert len(only) == 1
    with pytest.raises(OptionError, match="Month 99"):
        reliable_change(data, sem=2.0, timepoint="Month 99")


def test_detectable_change_beside_threshold():
    t = detectable_change(["HFMSE", "PP_PREF"], sem={"HFMSE": 1.0, "PP_PREF": 1.0})
    h = t.set_index("measure")
    # 1.959964 * 1.414214 = 2.771808 < 3: a detectable change can be below the threshold
    assert h.loc["HFMSE", "mdc"] == pytest.approx(2.771808, abs=1e-6)
    assert not h.loc["HFMSE", "mdc_above_threshold"]
    assert math.isnan(h.loc["PP_PREF", "threshold"])
    assert "no clinically meaningful threshold" in h.loc["PP_PREF", "note"]
