"""change_from_baseline: hand-computed examples and the Gu & Kong 2021 ranges."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.exceptions import DataWarning
from sma_outcomes.timeline import assign_timepoints, change_from_baseline

from .conftest import SAMPLE


def table(rows):
    """rows: (patient, day, measure, score)."""
    out = pd.DataFrame(rows, columns=["patient_id", "day", "measure", "score"])
    out["visit"] = [f"V{i}" for i in range(len(out))]
    out["day"] = out["day"].astype(float)
    out["score"] = out["score"].astype(float)
    out["missing_code"] = ""
    return out


def test_default_baseline_is_last_non_missing_before_first_dose():
    # day -10: 18, day -2: NaN (not done), day 0: 20 -> baseline 20;
    # a second patient with only day -10 -> baseline 17
    s = table([
        ("P1", -10, "HFMSE", 18), ("P1", -2, "HFMSE", np.nan), ("P1", 0, "HFMSE", 20),
        ("P1", 185, "HFMSE", 23), ("P1", 550, "HFMSE", 26),
        ("P2", -10, "HFMSE", 17), ("P2", 550, "HFMSE", 16),
    ])
    out = change_from_baseline(s)
    assert out["baseline"].tolist() == [20, 20, 20, 20, 20, 17, 17]
    np.testing.assert_allclose(out["change"], [-2, np.nan, 0, 3, 6, 0, -1])
    np.testing.assert_allclose(out["pct_change"], [-10, np.nan, 0, 15, 30, 0, -100 / 17])
    assert out["is_baseline"].tolist() == [False, False, True, False, False, True, False]
    assert out["timepoint"].astype(object).tolist() == [
        "Baseline", "Baseline", "Baseline", "Month 6", "Month 18", "Baseline", "Month 18",
    ]


def test_baseline_zero():
    s = table([("P1", 0, "PP_NONPREF", 0), ("P1", 185, "PP_NONPREF", 2),
               ("P1", 550, "PP_NONPREF", np.nan)])
    out = change_from_baseline(s)
    np.testing.assert_allclose(out["change"], [0, 2, np.nan])
    assert out["pct_change"].isna().all()
    assert out["flag"].tolist() == ["baseline is 0", "baseline is 0", "score missing"]


def test_missing_baseline_is_warned_flagged_and_kept():
    s = table([
        ("P1", 0, "HFMSE", 20), ("P1", 185, "HFMSE", 22),
        ("P1", 185, "PP_PREF", 5),            # no PP_PREF baseline for P1
        ("P2", 50, "HFMSE", 30), ("P2", 185, "HFMSE", 31),  # P2 has no baseline at all
    ])
    with pytest.warns(DataWarning, match=r"2 patient x measure.*P1 \(PP_PREF\); P2 \(HFMSE\)"):
        out = change_from_baseline(s)
    assert len(out) == 5
    assert out["flag"].tolist() == ["", "", "no baseline", "no baseline", "no baseline"]
    assert out["baseline"].isna().tolist() == [False, False, True, True, True]
    assert out["change"].tolist()[:2] == [0, 2]
    assert out["analysed"].tolist() == [True] * 5


def test_baseline_by_timepoint_or_visit_label():
    s = table([("P1", 0, "HFMSE", 20), ("P1", 50, "HFMSE", 22), ("P1", 185, "HFMSE", 25)])
    s["visit"] = ["Screening", "Between dose 3 and 4", "Pre-maintenance 1"]
    by_tp = change_from_baseline(s, baseline="Loading")
    assert by_tp["change"].tolist() == [-2, 0, 3]
    assert by_tp["is_baseline"].tolist() == [False, True, False]
    by_visit = change_from_baseline(s, baseline="Pre-maintenance 1")
    assert by_visit["baseline"].tolist() == [25, 25, 25]
    with pytest.raises(ValueError, match="neither.*timepoint.*visit"):
        change_from_baseline(s, baseline="Week 99")


def test_items_and_totals_alike_and_rerun_keeps_flags_clean():
    s = table([
        ("P1", 0, "HFMSE_01", 1), ("P1", 550, "HFMSE_01", 2),
        ("P1", 0, "HFMSE_02", 0), ("P1", 550, "HFMSE_02", 1),
        ("P1", 0, "HFMSE", 30), ("P1", 550, "HFMSE", 33),
    ])
    out = change_from_baseline(s)
    assert out["change"].tolist() == [0, 1, 0, 1, 0, 3]
    np.testing.assert_allclose(out["pct_change"], [0, 100, np.nan, np.nan, 0, 10])
    again = change_from_baseline(out)
    assert again["flag"].tolist() == out["flag"].tolist()
    assert out["flag"].tolist()[2:4] == ["baseline is 0"] * 2


def test_uses_existing_timepoints_and_given_doses():
    s = table([("P1", 0, "HFMSE", 20), ("P1", 70, "HFMSE", 21)])
    doses = pd.DataFrame({"patient_id": "P1", "day": [0.0, 14, 28, 90]})
    out = change_from_baseline(s, doses=doses)
    assert out["timepoint"].astype(object).tolist() == ["Baseline", "Loading"]
    pre = assign_timepoints(s)  # planned: day 70 is outside the Loading window
    with pytest.warns(UserWarning, match="already has a 'timepoint'"):
        out2 = change_from_baseline(pre, doses=doses)  # timepoint present: doses not used
    assert out2["timepoint"].isna().tolist() == [False, True]
    assert out2["change"].tolist() == [0, 1]


def _round_half_up(x):
    return np.floor(np.asarray(x, float) + 0.5)


def test_gu_kong_month_18_ranges_reproduced():
    """Published (Gu & Kong 2021, Children 8:1039): changes from baseline at 18 months,
    ranges over 5 patients: HFMSE +3 to +10 points, +13% to +53%; preferred hand +4 to +9,
    +80% to +225%; non-preferred hand +3 to +7, +60% to +500%."""
    from sma_outcomes import load
    path = SAMPLE / "case_series.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # every patient has a baseline
        out = change_from_baseline(load.read_scores(path))
    assert list(out["timepoint"].cat.categories) == [
        "Baseline", "Loading", "Month 6", "Month 10", "Month 14", "Month 18",
    ]
    # every recorded visit lands in its own timepoint, one analysed row each
    assert out["analysed"].all()
    visit_to_tp = dict(zip(out["visit"], out["timepoint"].astype(object), strict=False))
    assert visit_to_tp == {
        "Baseline": "Baseline", "Between dose 3 and 4": "Loading",
        "Pre-maintenance 1": "Month 6", "Pre-maintenance 2": "Month 10",
        "Pre-maintenance 3": "Month 14", "Pre-maintenance 4": "Month 18",
    }
    m18 = out[(out["timepoint"] == "Month 18") & out["analysed"]]
    assert m18.groupby("measure").size().to_dict() == {"HFMSE": 5, "PP_NONPREF": 5, "PP_PREF": 5}
    got = {
        m: (g["change"].min(), g["change"].max(),
            _round_half_up(g["pct_change"]).min(), _round_half_up(g["pct_change"]).max())
        for m, g in m18.groupby("measure")
    }
    assert got == {
        "HFMSE": (3, 10, 13, 53),
        "PP_PREF": (4, 9, 80, 225),
        "PP_NONPREF": (3, 7, 60, 500),
    }
    # all five improved on every measure
    assert (m18["change"] > 0).all()


def test_case_series_matches_independent_r_derivation():
    """tests/reference/timeline/case_series_timeline.R (base R, calendar months) gives
    the same day, doses_before, timepoint, baseline, change and pct_change for all 90 rows."""
    from sma_outcomes import load

    from .conftest import REFERENCE

    path = SAMPLE / "case_series.csv"
    ref = pd.read_csv(REFERENCE / "timeline" / "case_series_timeline.csv", keep_default_na=False,
                      na_values=[""])
    out = change_from_baseline(load.read_scores(path))
    key = ["patient_id", "visit", "measure"]
    got = out.set_index(key).loc[pd.MultiIndex.from_frame(ref[key])].reset_index()
    assert len(got) == len(ref) == 90
    np.testing.assert_array_equal(got["day"], ref["day"])
    np.testing.assert_array_equal(got["doses_before"].astype(int), ref["doses_before"])
    assert got["timepoint"].astype(object).tolist() == ref["timepoint"].tolist()
    for col in ("score", "baseline", "change", "pct_change"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12, equal_nan=True)


def test_first_argument_is_data_and_old_keywords_warn():
    from sma_outcomes.timeline import dose_table, to_adam

    s = table([("P1", 0, "HFMSE", 20), ("P1", 185, "HFMSE", 23)])
    new = change_from_baseline(data=s)
    with pytest.warns(FutureWarning, match=r"change_from_baseline\(scores=\.\.\.\).*data="):
        old = change_from_baseline(scores=s)
    pd.testing.assert_frame_equal(new, old)
    with pytest.warns(FutureWarning, match=r"assign_timepoints\(scores=.*data="):
        assign_timepoints(scores=s)
    with pytest.warns(FutureWarning, match=r"dose_table\(scores=.*data="):
        dose_table(scores=s)
    with pytest.warns(FutureWarning, match=r"to_adam\(changes=.*data="):
        to_adam(changes=new)
    with pytest.raises(TypeError, match="multiple values|both"):
        change_from_baseline(s, scores=s)
