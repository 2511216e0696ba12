"""responders and the Clopper-Pearson interval (R binom.test references)."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from sma_outcomes.registry import get_scale
from sma_outcomes.stats import responder_rates as rr
from sma_outcomes.stats import responders
from tests.conftest import REFERENCE

REF = json.loads((REFERENCE / "paired" / "paired_reference.json").read_text())


def make_changes(diffs: dict[str, list[float]], timepoint: str = "Month 18") -> pd.DataFrame:
    rows = []
    for measure, d in diffs.items():
        for i, x in enumerate(d):
            pid = f"P{i + 1:03d}"
            rows.append(dict(patient_id=pid, measure=measure, timepoint="Baseline",
                             score=20.0, baseline=20.0, change=0.0, analysed=True))
            rows.append(dict(patient_id=pid, measure=measure, timepoint=timepoint,
                             score=20.0 + x, baseline=20.0, change=x, analysed=True))
        rows.append(dict(patient_id="P001", measure=measure, timepoint=timepoint,
                         score=0.0, baseline=20.0, change=-20.0, analysed=False))
    return pd.DataFrame(rows)


def _get(res: pd.DataFrame, measure: str, category: str) -> pd.Series:
    return res.loc[(res["measure"] == measure) & (res["category"] == category)].iloc[0]


@pytest.mark.parametrize("case", REF["binom"], ids=lambda c: f"{c['x']}/{c['n']}@{c['level']}")
def test_clopper_pearson_equals_r_binom_test(case):
    lo, hi = rr.clopper_pearson(case["x"], case["n"], case["level"])
    assert float(lo) == pytest.approx(case["ci"][0], rel=1e-10, abs=1e-14)
    assert float(hi) == pytest.approx(case["ci"][1], rel=1e-10, abs=1e-14)


def test_responders_table_against_r_and_by_hand():
    # HFMSE threshold 3: changes 3 (boundary counts), 4, 7 improved; -3 worsened; 0, 2 stable
    # RULM threshold 2: 2, 5 improved; -2, -4 worsened; 1 stable
    data = make_changes({"HFMSE": [3.0, 4.0, 7.0, -3.0, 0.0, 2.0],
                         "RULM": [2.0, 5.0, -2.0, -4.0, 1.0]})
    res = responders(data)
    assert list(res.columns) == list(rr.RESPONDER_COLUMNS)
    assert res[["measure", "category"]].values.tolist() == [
        ["HFMSE", "improved"], ["HFMSE", "stable"], ["HFMSE", "worsened"],
        ["RULM", "improved"], ["RULM", "stable"], ["RULM", "worsened"],
    ]
    counts = res.set_index(["measure", "category"])["count"].to_dict()
    assert counts == {("HFMSE", "improved"): 3, ("HFMSE", "stable"): 2,
                      ("HFMSE", "worsened"): 1, ("RULM", "improved"): 2,
                      ("RULM", "stable"): 1, ("RULM", "worsened"): 2}
    assert (res["n"] == res["measure"].map({"HFMSE": 6, "RULM": 5})).all()
    h = _get(res, "HFMSE", "improved")
    assert h["estimate"] == 0.5 and h["threshold"] == 3.0 and h["definition"] == "change >= 3"
    assert h["threshold_source"] == get_scale("HFMSE").threshold_source
    assert bool(h["higher_is_better"])
    assert _get(res, "RULM", "stable")["definition"] == "-2 < change < 2"
    assert _get(res, "RULM", "worsened")["definition"] == "change <= -2"
    # R: binom.test(2, 5)$conf.int, binom.test(1, 5)$conf.int
    r25 = _get(res, "RULM", "improved")
    assert (r25["ci_low"], r25["ci_high"]) == pytest.approx((0.0527449505263, 0.8533672003653),
                                                            rel=1e-9)
    r15 = _get(res, "RULM", "stable")
    assert (r15["ci_low"], r15["ci_high"]) == pytest.approx((0.005050763379, 0.716417936118),
                                                            rel=1e-9)
    assert res.groupby("measure")["estimate"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_given_threshold_number_and_dict():
    data = make_changes({"HFMSE": [3.0, 4.0, 7.0, -3.0, 0.0, 2.0],
                         "PP_PREF": [1.5, 0.5, -1.0, 2.0]})
    res = responders(data, threshold=2.0)
    assert (res["threshold"] == 2.0).all() and (res["threshold_source"] == "given").all()
    assert _get(res, "HFMSE", "improved")["count"] == 4
    res = responders(data, threshold={"PP_PREF": 1.5})  # HFMSE from the registry
    assert _get(res, "HFMSE", "improved")["threshold"] == 3.0
    pp = _get(res, "PP_PREF", "improved")
    assert (pp["count"], pp["definition"], pp["threshold_source"]) == (2, "change >= 1.5", "given")


def test_missing_threshold_raises_naming_measure_and_how():
    data = make_changes({"HFMSE": [1.0], "PP_PREF": [1.0]})
    with pytest.raises(ValueError, match=r"'PP_PREF'.*threshold=\{'PP_PREF': 2.0\}"):
        responders(data)
    res = responders(data, measures="HFMSE")  # fine without PP_PREF
    assert res["measure"].unique().tolist() == ["HFMSE"]
    with pytest.raises(ValueError, match="'XYZ'"):
        responders(make_changes({"XYZ": [1.0]}))


def test_unknown_measure_with_given_threshold_assumes_higher_is_better():
    res = responders(make_changes({"GRIP": [5.0, -6.0, 1.0]}), threshold={"GRIP": 5})
    assert _get(res, "GRIP", "improved")["count"] == 1
    assert _get(res, "GRIP", "worsened")["count"] == 1
    assert "higher is assumed better" in res["threshold_source"].iloc[0]


def test_lower_is_better_flips_direction(monkeypatch):
    real = rr.get_scale

    def fake(code):
        s = real(code)
        return dataclasses.replace(s, higher_is_better=False) if code == "SMWT" else s

    monkeypatch.setattr(rr, "get_scale", fake)
    res = responders(make_changes({"SMWT": [-40.0, -30.0, 10.0, 35.0, 0.0]}))
    assert _get(res, "SMWT", "improved")["count"] == 2
    assert _get(res, "SMWT", "improved")["definition"] == "change <= -30"
    assert _get(res, "SMWT", "worsened")["count"] == 1
    assert _get(res, "SMWT", "worsened")["definition"] == "change >= 30"
    assert not _get(res, "SMWT", "stable")["higher_is_better"]


def test_threshold_reached_despite_floating_point_noise():
    x = (10 + 1 / 3) - (7 + 1 / 3)
    assert x != 3.0
    res = responders(make_changes({"HFMSE": [x, -x, 2.999]}))
    assert _get(res, "HFMSE", "improved")["count"] == 1
    assert _get(res, "HFMSE", "worsened")["count"] == 1
    assert _get(res, "HFMSE", "stable")["count"] == 1


def test_invalid_thresholds():
    data = make_changes({"HFMSE": [1.0]})
    for bad in (0, -3, float("nan"), "three"):
        with pytest.raises(ValueError, match="`threshold` for 'HFMSE' must be"):
            responders(data, threshold=bad)


def test_no_pairs_level_and_input_untouched():
    data = make_changes({"HFMSE": [3.0, 1.0, 0.0, -1.0, 2.0], "RULM": [2.0]})
    data = data.loc[~((data["measure"] == "RULM") & (data["timepoint"] == "Month 18"))]
    before = data.copy()
    res = responders(data, level=0.9)
    pd.testing.assert_frame_equal(data, before)
    rulm = res.loc[res["measure"] == "RULM"]
    assert (rulm["n"] == 0).all() and rulm["estimate"].isna().all()
    assert rulm["ci_low"].isna().all() and rulm["note"].str.startswith("no patient").all()
    h = _get(res, "HFMSE", "improved")  # 1 of 5 at 90%: R binom.test(1, 5, conf.level = 0.9)
    case = next(c for c in REF["binom"] if (c["x"], c["n"], c["level"]) == (1, 5, 0.9))
    assert (h["ci_low"], h["ci_high"]) == pytest.approx(case["ci"], rel=1e-10)
    assert _get(res, "HFMSE", "worsened")["ci_low"] == 0.0  # none worsened


def test_case_series_sample_through_the_timeline():
    """All five children gain >= 3 HFMSE points: 5/5, Clopper-Pearson 0.478 to 1."""
    import sma_outcomes as so
    from tests.conftest import SAMPLE

    changes = so.change_from_baseline(so.read_scores(SAMPLE / "case_series.csv"))
    res = responders(changes, measures="HFMSE")
    imp = _get(res, "HFMSE", "improved")
    assert (imp["n"], imp["count"], imp["estimate"], imp["ci_high"]) == (5, 5, 1.0, 1.0)
    assert imp["ci_low"] == pytest.approx(0.025 ** (1 / 5), rel=1e-12)  # (alpha/2)^(1/n)
