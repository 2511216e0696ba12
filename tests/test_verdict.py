"""Per-patient verdict table: each column checked against a hand computation."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sma_outcomes import ColumnError
from sma_outcomes.stats.natural_history import make_reference
from sma_outcomes.stats.verdict import VERDICT_COLUMNS, VERDICT_NOTES, patient_verdicts

REF = make_reference(pd.DataFrame({"measure": ["HFMSE"], "sma_type": ["2"], "age_min": [2.0],
                                   "age_max": [20.0], "mean": [-1.0], "sd": [2.0],
                                   "n": [26]}), name="hand", citation="hand")
SLOPES = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "pre_slope": [-0.1, 0.2, 0.0],
                       "slope_change": [0.3, -0.5, 0.0], "on_slope": [0.2, -0.3, 0.0],
                       "slope_change_se": [0.1, 0.2, math.nan]})


def _data():
    rows = []
    for pid, h, r in (("P1", 6.0, 2.0), ("P2", 1.0, 0.0)):
        for m, v in (("HFMSE", h), ("RULM", r)):
            rows.append({"patient_id": pid, "measure": m, "timepoint": "Baseline",
                         "is_baseline": True, "change": 0.0, "age": 6.0, "sma_type": 2})
            rows.append({"patient_id": pid, "measure": m, "timepoint": "Month 12",
                         "is_baseline": False, "change": v, "age": 7.0, "sma_type": 2})
    return pd.DataFrame(rows)


def test_full_verdict_by_hand():
    v = patient_verdicts(_data(), "HFMSE", sem=2.0, reference=REF, slopes=SLOPES,
                         concordance_with="RULM")
    assert list(v.columns) == list(VERDICT_COLUMNS)
    v = v.set_index("patient_id")
    assert list(v.index) == ["P1", "P2", "P3"]
    assert (v["timepoint"] == "Month 12").all()
    # slope change +/- 1.959964 se
    assert v.loc["P1", "slope_change_low"] == pytest.approx(0.104004, abs=1e-6)
    assert v.loc["P1", "slope_change_high"] == pytest.approx(0.495996, abs=1e-6)
    assert v.loc["P1", "slope_verdict"] == "better on treatment"
    assert v.loc["P2", "slope_change_high"] == pytest.approx(-0.108007, abs=1e-6)
    assert v.loc["P2", "slope_verdict"] == "worse on treatment"
    assert v.loc["P3", "slope_verdict"] == "" and "not estimable" in v.loc["P3", "notes"]
    # RCI: 6 / 2.828427 = 2.121320 > 1.96; 1 / 2.828427 = 0.353553
    assert v.loc["P1", "rci"] == pytest.approx(2.121320, abs=1e-6)
    assert v.loc["P1", "reliable_change"] == "reliable improvement"
    assert v.loc["P2", "reliable_change"] == "no reliable change"
    # expected -1 over ages 6-7; prediction half-width 2.059539 * 2 * sqrt(1 + 1/26)
    assert v.loc["P1", "expected_change"] == pytest.approx(-1.0)
    assert v.loc["P1", "observed_minus_expected"] == pytest.approx(7.0)
    assert v.loc["P1", "pi_high"] == pytest.approx(-1.0 + 4.197545, abs=1e-5)
    assert v.loc["P1", "versus_expected"] == "better than expected"
    assert v.loc["P2", "versus_expected"] == "within expected range"  # 1 < 3.197545
    # concordance with thresholds 3 (HFMSE) and 2 (RULM)
    assert v.loc["P1", "concordance"] == "both improved"
    assert v.loc["P2", "concordance"] == "both stable"
    assert v.loc["P1", "concordance_change"] == 2.0
    # P3 is only in the slopes table
    assert math.isnan(v.loc["P3", "change"]) and v.loc["P3", "concordance"] == ""
    assert "No change from baseline of HFMSE at Month 12" in v.loc["P3", "notes"]
    assert "beyond measurement error" in v.loc["P1", "notes"]
    assert "better than that range" in v.loc["P1", "notes"]


def test_without_sem_or_reference_columns_stay_empty():
    v = patient_verdicts(_data(), "HFMSE").set_index("patient_id")
    assert v.loc["P1", "change"] == 6.0 and math.isnan(v.loc["P1", "rci"])
    assert v.loc["P1", "reliable_change"] == "" and v.loc["P1", "reference"] == ""
    assert "pass sem=" in v.loc["P1", "notes"]


def test_slope_table_is_checked():
    with pytest.raises(ColumnError, match="slope_change_se"):
        patient_verdicts(_data(), "HFMSE", slopes=SLOPES.drop(columns="slope_change_se"))


def test_plain_language_notes():
    text = " ".join(VERDICT_NOTES)
    assert "not why" in text and "not 'no effect'" in text and "by chance" in text


def test_counts_from_the_slope_table_are_quoted():
    slopes = SLOPES.assign(n_pre=[3, 1, 0], slope_change=[0.0, -0.5, 0.0])
    v = patient_verdicts(_data(), "HFMSE", slopes=slopes).set_index("patient_id")
    assert "Slope per model time unit (n_pre = 3): -0.1 before, 0.2 on treatment; change 0 " \
        "(95% interval -0.2 to 0.2), no clear difference." in v.loc["P1", "notes"]


def test_concordance_by_reliable_change_and_change_note_without_sem() -> None:
    """SEM 1 for both: MDC95 = 1.959964 x sqrt(2) = 2.772. P1: HFMSE +6 (reliable), RULM +2
    (not); P2: +1 and 0 (neither)."""
    d = _data()
    v = patient_verdicts(d, "HFMSE", timepoint="Month 12", sem={"HFMSE": 1.0, "RULM": 1.0},
                         concordance_with="RULM", concordance_rule="reliable").set_index(
                             "patient_id")
    assert v["concordance"].tolist() == ["one improved, one stable", "both stable"]
    # by threshold (HFMSE 3, RULM 2) P1's RULM +2 is an improvement
    t = patient_verdicts(d, "HFMSE", timepoint="Month 12", concordance_with="RULM")
    assert t["concordance"].tolist() == ["both improved", "both stable"]
    assert t["notes"].iloc[0].startswith(
        "Change at Month 12: +6 points; reliable change not assessed (no SEM for HFMSE")
