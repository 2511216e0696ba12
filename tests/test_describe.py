"""summarize: hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.stats import summarize

ORDER = ["Baseline", "Loading", "Month 6", "Month 10", "Month 14", "Month 18"]


def make_changes() -> pd.DataFrame:
    """Five patients, HFMSE and RULM, Baseline and Month 6 (and noise rows)."""
    base = {"HFMSE": [19.0, 19.0, 19.0, 21.0, 24.0], "RULM": [10.0, 12.0, 14.0, 16.0, 18.0]}
    change = {"HFMSE": [1.0, 3.0, 4.0, 6.0, 9.0], "RULM": [0.0, -1.0, 2.0, np.nan, 1.0]}
    rows = []
    for m in ("RULM", "HFMSE"):  # RULM first: output follows the sorted measure names
        for i in range(5):
            pid = f"P{i + 1}"
            b = base[m][i]
            rows.append(dict(patient_id=pid, measure=m, timepoint="Baseline", score=b,
                             baseline=b, change=0.0, pct_change=0.0, analysed=True))
            c = change[m][i]
            rows.append(dict(patient_id=pid, measure=m, timepoint="Month 6", score=b + c,
                             baseline=b, change=c, pct_change=100 * c / b, analysed=True))
        rows.append(dict(patient_id="P1", measure=m, timepoint="Month 6", score=0.0,
                         baseline=base[m][0], change=-99.0, pct_change=-99.0, analysed=False))
        rows.append(dict(patient_id="P1", measure=m, timepoint=None, score=0.0,
                         baseline=base[m][0], change=-99.0, pct_change=-99.0, analysed=False))
    df = pd.DataFrame(rows)
    df["timepoint"] = pd.Categorical(df["timepoint"], categories=ORDER, ordered=True)
    return df


def test_five_value_example_by_hand():
    s = summarize(make_changes())
    r = s.loc[(s["measure"] == "HFMSE") & (s["timepoint"] == "Month 6")
              & (s["variable"] == "change")].iloc[0]
    # changes 1, 3, 4, 6, 9: mean 23/5 = 4.6; squared deviations
    # 12.96 + 2.56 + 0.36 + 1.96 + 19.36 = 37.2, variance 37.2 / 4 = 9.3
    sd = math.sqrt(9.3)
    se = sd / math.sqrt(5)
    t975 = 2.7764451051977934  # qt(0.975, 4) in R 4.2
    assert r["n"] == 5 and r["n_missing"] == 0
    assert r["mean"] == pytest.approx(4.6)
    assert r["sd"] == pytest.approx(sd) and r["se"] == pytest.approx(se)
    assert r["ci_low"] == pytest.approx(4.6 - t975 * se, rel=1e-12)
    assert r["ci_high"] == pytest.approx(4.6 + t975 * se, rel=1e-12)
    # type 7: h = 1 + 4 p -> q1 = x_2 = 3, median = x_3 = 4, q3 = x_4 = 6
    assert (r["median"], r["q1"], r["q3"], r["min"], r["max"]) == (4.0, 3.0, 4.0 * 1.5, 1.0, 9.0)
    sc = s.loc[(s["measure"] == "HFMSE") & (s["timepoint"] == "Month 6")
               & (s["variable"] == "score")].iloc[0]
    # scores 20, 22, 23, 27, 33
    assert (sc["mean"], sc["median"], sc["q1"], sc["q3"]) == (25.0, 23.0, 22.0, 27.0)
    assert sc["sd"] == pytest.approx(math.sqrt((25 + 9 + 4 + 4 + 64) / 4))


def test_quartiles_are_type_7_interpolation():
    # sorted 1, 2, 4, 7, 11, 16: q1 h = 2.25 -> 2 + 0.25 * (4 - 2) = 2.5;
    # median h = 3.5 -> 5.5; q3 h = 4.75 -> 7 + 0.75 * (11 - 7) = 10
    d = pd.DataFrame({"measure": "RULM", "timepoint": "Month 6",
                      "score": [16.0, 1.0, 7.0, 2.0, 11.0, 4.0], "change": 0.0})
    r = summarize(d, variables=["score"]).iloc[0]
    assert (r["q1"], r["median"], r["q3"]) == (2.5, 5.5, 10.0)
    assert (r["q1"], r["q3"]) == tuple(np.quantile(d["score"], [0.25, 0.75]))


def test_layout_order_and_filtering():
    s = summarize(make_changes())
    assert list(s.columns) == [
        "measure", "timepoint", "variable", "n", "n_missing", "mean", "sd", "se",
        "ci_low", "ci_high", "median", "q1", "q3", "min", "max",
    ]
    assert s[["measure", "timepoint", "variable"]].astype(str).values.tolist() == [
        ["HFMSE", "Baseline", "score"], ["HFMSE", "Baseline", "change"],
        ["HFMSE", "Month 6", "score"], ["HFMSE", "Month 6", "change"],
        ["RULM", "Baseline", "score"], ["RULM", "Baseline", "change"],
        ["RULM", "Month 6", "score"], ["RULM", "Month 6", "change"],
    ]
    # not-analysed and unscheduled rows (change -99) are left out
    assert s["min"].min() > -99
    base = s.loc[(s["timepoint"] == "Baseline") & (s["variable"] == "change")]
    assert (base["mean"] == 0).all() and (base["sd"] == 0).all()


def test_missing_values_counted_not_used():
    s = summarize(make_changes())
    r = s.loc[(s["measure"] == "RULM") & (s["timepoint"] == "Month 6")
              & (s["variable"] == "change")].iloc[0]
    assert (r["n"], r["n_missing"]) == (4, 1)
    assert r["mean"] == pytest.approx(0.5)  # 0, -1, 2, 1
    assert r["median"] == 0.5 and r["q1"] == pytest.approx(-0.25) and r["q3"] == 1.25


def test_single_value_group_and_level():
    d = pd.DataFrame({"measure": ["HFMSE", "RULM", "RULM"], "timepoint": "Month 6",
                      "score": [30.0, 10.0, 14.0], "change": [2.0, 1.0, 3.0]})
    s = summarize(d, level=0.9, variables=("change",))
    one = s.iloc[0]
    assert one["n"] == 1 and one["median"] == 2.0 and one["min"] == one["max"] == 2.0
    assert np.isnan(one["sd"]) and np.isnan(one["ci_low"]) and np.isnan(one["ci_high"])
    two = s.iloc[1]
    # mean 2, sd sqrt(2), se 1, qt(0.95, 1) = 6.3137515146750376 (R 4.2)
    assert two["ci_high"] == pytest.approx(2 + 6.3137515146750376, rel=1e-12)


def test_other_by_and_pct_change():
    s = summarize(make_changes(), by="measure", variables=("pct_change",))
    assert s["measure"].tolist() == ["HFMSE", "RULM"]
    assert s["variable"].tolist() == ["pct_change", "pct_change"]
    assert s.loc[0, "n"] == 10


def test_input_not_modified_and_errors():
    data = make_changes()
    before = data.copy()
    summarize(data)
    pd.testing.assert_frame_equal(data, before)
    with pytest.raises(ValueError, match=r"summarize\(\) needs the column 'change'; the table has 'patient_id'"):
        summarize(data.drop(columns="change"))
    with pytest.raises(ValueError, match="`level` must be strictly between 0 and 1"):
        summarize(data, level=1.5)
    with pytest.raises(ValueError, match="at least one column"):
        summarize(data, by=())
