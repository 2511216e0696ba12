"""Natural-history comparison: expected change, prediction intervals, cohort summary.

Every number below is worked by hand from the formulas in the docstrings
(t quantiles from tables: t(0.975; 25) = 2.059539, t(0.975; 9) = 2.262157,
t(0.975; 267) = 1.968889).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sma_outcomes import ColumnError, OptionError
from sma_outcomes.stats.natural_history import (
    COMPARISON_COLUMNS,
    compare_to_reference,
    expected_trajectory,
    get_reference,
    list_references,
    make_reference,
    piecewise_reference,
    summarize_comparison,
)

ONE_BAND = make_reference(pd.DataFrame({
    "measure": ["HFMSE"], "sma_type": ["2"], "age_min": [2.0], "age_max": [20.0],
    "mean": [-1.0], "sd": [2.0], "n": [26]}), name="one band", citation="hand")
TWO_BANDS = piecewise_reference([2.0, 5.0, 13.0], [1.0, -2.0], [1.0, 2.0], measure="HFMSE",
                                sma_type="2;3", name="two bands")
TWO_BANDS.rates["n"] = [10.0, 20.0]


def _changes(age0, age1, change, sma_type=2, patient="P1", measure="HFMSE"):
    return pd.DataFrame({
        "patient_id": patient, "measure": measure, "timepoint": ["Baseline", "Month 12"],
        "is_baseline": [True, False], "analysed": True, "change": [0.0, change],
        "age": [age0, age1], "sma_type": sma_type})


def test_one_year_in_one_band_is_the_textbook_prediction_interval():
    cmp = compare_to_reference(_changes(6.0, 7.0, 4.0), ONE_BAND)
    r = cmp.iloc[0]
    assert list(cmp.columns) == list(COMPARISON_COLUMNS)
    assert r["years"] == pytest.approx(1.0)
    assert r["expected_change"] == pytest.approx(-1.0)
    assert r["expected_se"] == pytest.approx(0.392232, abs=1e-6)  # 2 / sqrt(26)
    assert r["between_sd"] == pytest.approx(2.0)
    assert r["df"] == 25
    # t sd sqrt(1 + 1/n) = 2.059539 * 2 * 1.019049 = 4.197545
    assert r["pi_low"] == pytest.approx(-1.0 - 4.197545, abs=1e-5)
    assert r["pi_high"] == pytest.approx(-1.0 + 4.197545, abs=1e-5)
    assert r["observed_minus_expected"] == pytest.approx(5.0)
    assert r["ome_low"] == pytest.approx(5.0 - 4.197545, abs=1e-5)
    assert r["versus_expected"] == "better than expected"


def test_half_year_scaling():
    prop = compare_to_reference(_changes(6.0, 6.5, 0.0), ONE_BAND).iloc[0]
    # expected -0.5; between 2 * 0.5 = 1; se 0.196116; hw = 2.059539 * sqrt(1 + 0.0384615)
    assert prop["expected_change"] == pytest.approx(-0.5)
    assert prop["between_sd"] == pytest.approx(1.0)
    assert prop["pi_high"] - prop["expected_change"] == pytest.approx(2.098772, abs=1e-5)
    assert prop["versus_expected"] == "within expected range"
    root = compare_to_reference(_changes(6.0, 6.5, 0.0), ONE_BAND, sd_scaling="sqrt").iloc[0]
    # between sqrt(4 * 0.5) = 1.414214; hw = 2.059539 * sqrt(2 + 0.0384615) = 2.940500
    assert root["between_sd"] == pytest.approx(1.414214, abs=1e-6)
    assert root["pi_high"] - root["expected_change"] == pytest.approx(2.940500, abs=1e-5)


def test_interval_across_two_age_bands():
    r = compare_to_reference(_changes(4.5, 5.5, -4.5, sma_type=3), TWO_BANDS).iloc[0]
    # 0.5 y at +1 and 0.5 y at -2
    assert r["expected_change"] == pytest.approx(-0.5)
    # se: sqrt((0.5 * 1/sqrt(10))^2 + (0.5 * 2/sqrt(20))^2) = sqrt(0.025 + 0.05)
    assert r["expected_se"] == pytest.approx(math.sqrt(0.075), abs=1e-9)
    assert r["between_sd"] == pytest.approx(1.5)  # 0.5 * 1 + 0.5 * 2
    assert r["df"] == 9
    hw = 2.262157 * math.sqrt(1.5**2 + 0.075)  # 3.449326
    assert r["pi_low"] == pytest.approx(-0.5 - hw, abs=1e-5)
    assert r["observed_minus_expected"] == pytest.approx(-4.0)
    assert r["versus_expected"] == "worse than expected"


def test_no_expectation_outside_the_reference():
    out = compare_to_reference(_changes(12.5, 13.5, 0.0), TWO_BANDS).iloc[0]
    assert math.isnan(out["expected_change"]) and out["versus_expected"] == ""
    assert "not all covered" in out["note"]
    other = compare_to_reference(_changes(6.0, 7.0, 0.0, sma_type=3), ONE_BAND).iloc[0]
    assert math.isnan(other["expected_change"]) and "type" in other["note"]


def test_ages_from_first_dose_and_day():
    d = _changes(0.0, 0.0, 4.0).drop(columns="age")
    d["age_at_first_dose"] = 6.1
    d["day"] = [-36.525, 328.725]  # -0.1 and +0.9 years
    r = compare_to_reference(d, ONE_BAND).iloc[0]
    assert r["age_baseline"] == pytest.approx(6.0) and r["age_visit"] == pytest.approx(7.0)
    assert r["expected_change"] == pytest.approx(-1.0)
    with pytest.raises(ColumnError, match="date_of_birth"):
        compare_to_reference(d.drop(columns="age_at_first_dose"), ONE_BAND)
    with pytest.raises(ColumnError, match="sma_type"):
        compare_to_reference(_changes(6.0, 7.0, 1.0).drop(columns="sma_type"), ONE_BAND)
    ok = compare_to_reference(_changes(6.0, 7.0, 1.0).drop(columns="sma_type"), ONE_BAND,
                              sma_type=2)
    assert ok["expected_change"].iloc[0] == pytest.approx(-1.0)


def test_cohort_summary_carries_reference_uncertainty():
    d = pd.concat([_changes(6.0, 7.0, 2.0, patient="P1"),
                   _changes(8.0, 9.0, 4.0, patient="P2")], ignore_index=True)
    cmp = compare_to_reference(d, ONE_BAND)
    s = summarize_comparison(cmp, references=[ONE_BAND]).iloc[0]
    # ome 3 and 5: mean 4, var 2, cohort part 2 / 2 = 1; reference part 0.392232^2 = 0.153846
    assert s["estimate"] == pytest.approx(4.0)
    assert s["se_reference"] == pytest.approx(0.392232, abs=1e-6)
    assert s["se"] == pytest.approx(math.sqrt(1.153846), abs=1e-6)
    # Satterthwaite: 1.153846^2 / (1^2 / 1 + 0.153846^2 / 25) = 1.331361 / 1.000947
    assert s["df"] == pytest.approx(1.330101, abs=1e-5)
    assert s["citation"] == "hand" and s["n"] == 2 and s["n_better"] == 1  # P2: 5 > 4.197545


def test_sensitivity_across_references():
    d = _changes(6.0, 7.0, 4.0)
    other = make_reference(pd.DataFrame({"measure": ["HFMSE"], "mean": [0.5], "sd": [1.0]}),
                           name="flat")
    cmp = compare_to_reference(d, [ONE_BAND, other, "mercuri2016_hfmse"])
    assert cmp["reference"].tolist() == ["one band", "flat", "mercuri2016_hfmse"]
    # reference without n: mean treated as known, normal quantile: 0.5 +/- 1.959964
    flat = cmp.iloc[1]
    assert flat["expected_se"] == 0 and math.isinf(flat["df"])
    assert flat["pi_high"] == pytest.approx(0.5 + 1.959964, abs=1e-6)
    merc = cmp.iloc[2]
    # -0.56 +/- 1.968889 * sqrt(2.72^2 + 2.72^2 / 268)
    assert merc["pi_high"] == pytest.approx(-0.56 + 1.968889 * 2.72 * math.sqrt(1 + 1 / 268),
                                            abs=1e-5)
    s = summarize_comparison(cmp)
    assert s["reference"].tolist() == ["one band", "flat", "mercuri2016_hfmse"]
    assert s["citation"].iloc[2].startswith("Mercuri E")
    # one patient per reference: no cohort interval, but the spread across references is noted
    # observed minus expected: 4 - (-1) = 5, 4 - 0.5 = 3.5, 4 - (-0.56) = 4.56
    assert s["note"].iloc[0].endswith("the estimate ranges from 3.50 to 5.00")


def test_published_references_hold_printed_numbers_only():
    t = list_references().set_index("reference")
    assert (t.loc["mercuri2016_hfmse", ["mean", "sd", "n"]].tolist() == [-0.56, 2.72, 268])
    assert (t.loc["pera2019_rulm", ["mean", "sd", "n"]].tolist() == [-0.41, 2.93, 114])
    assert (t.loc["mazzone2013_6mwt", ["mean", "sd", "n"]].tolist() == [-1.46, 50.1, 38])
    for name, row in t.iterrows():
        assert row["citation"] and row["printed"], name
        assert str(row["mean"]) in row["printed"].replace("+", ""), name
    assert get_reference("pera2019_rulm").published
    with pytest.raises(OptionError, match="make_reference"):
        get_reference("nope")


def test_expected_trajectory_and_validation():
    t = expected_trajectory(TWO_BANDS, measure="HFMSE", sma_type=2, age_start=4, age_end=6,
                            step=1)
    assert t["expected_change"].tolist() == pytest.approx([0.0, 1.0, -1.0])
    assert t["between_sd"].tolist() == pytest.approx([0.0, 1.0, 3.0])
    with pytest.raises(OptionError, match="overlap"):
        make_reference(pd.DataFrame({"measure": "HFMSE", "age_min": [2.0, 4.0],
                                     "age_max": [5.0, 8.0], "mean": 0.0, "sd": 1.0}),
                       name="bad")
    with pytest.raises(OptionError, match="no reference describes"):
        compare_to_reference(_changes(6.0, 7.0, 1.0, measure="RULM"), ONE_BAND, measures="RULM")
    with pytest.raises(OptionError, match="sd_scaling"):
        compare_to_reference(_changes(6.0, 7.0, 1.0), ONE_BAND, sd_scaling="linear")


def test_visit_before_baseline_and_missing_type():
    # a pre-treatment visit one year before baseline: expected change from baseline is +1
    r = compare_to_reference(_changes(7.0, 6.0, 0.5), ONE_BAND).iloc[0]
    assert r["years"] == pytest.approx(-1.0)
    assert r["expected_change"] == pytest.approx(1.0)
    assert r["between_sd"] == pytest.approx(2.0)
    d = _changes(6.0, 7.0, 1.0)
    d["sma_type"] = pd.array([pd.NA, pd.NA], dtype="Int64")
    out = compare_to_reference(d, ONE_BAND).iloc[0]
    assert math.isnan(out["expected_change"]) and out["note"] == "SMA type unknown"
