"""paired_test and the exact signed-rank / Hodges-Lehmann / sign-test helpers.

Reference numbers: tests/reference/paired/paired_reference.R (R 4.2 wilcox.test,
t.test, binom.test), printed to paired_reference.json. With ties or zeros R is
not exact, so there the tests check the stated method against full enumeration
of the 2^n sign patterns instead.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sma_outcomes.stats import paired_test
from sma_outcomes.stats._signrank import (
    hodges_lehmann,
    sign_test,
    signrank_pmf,
    signrank_test,
    walsh_order_statistic,
)
from tests.conftest import REFERENCE

REF = json.loads((REFERENCE / "paired" / "paired_reference.json").read_text())
CASES = REF["paired"]
EXACT_CASES = [k for k, v in CASES.items() if v["r_exact"]]
TIED_CASES = [k for k, v in CASES.items() if not v["r_exact"] and len(v["d"]) < 50]


def make_changes(diffs: dict[str, list[float]], timepoint: str = "Month 18") -> pd.DataFrame:
    """Hand-built changes table: baseline rows, the timepoint rows, plus noise rows."""
    rows = []
    for measure, d in diffs.items():
        for i, x in enumerate(d):
            pid = f"P{i + 1:03d}"
            base = 20.0 + i
            rows.append(dict(patient_id=pid, measure=measure, timepoint="Baseline",
                             score=base, baseline=base, change=0.0, is_baseline=True,
                             analysed=True))
            rows.append(dict(patient_id=pid, measure=measure, timepoint=timepoint,
                             score=base + x, baseline=base, change=x, is_baseline=False,
                             analysed=True))
        # a second, not analysed assessment and an unscheduled one: both ignored
        rows.append(dict(patient_id="P001", measure=measure, timepoint=timepoint,
                         score=99.0, baseline=20.0, change=79.0, is_baseline=False,
                         analysed=False))
        rows.append(dict(patient_id="P002", measure=measure, timepoint=np.nan,
                         score=50.0, baseline=21.0, change=29.0, is_baseline=False,
                         analysed=False))
    out = pd.DataFrame(rows)
    order = ["Baseline", "Loading", "Month 6", "Month 10", "Month 14", "Month 18"]
    out["timepoint"] = pd.Categorical(out["timepoint"], categories=order, ordered=True)
    return out


def _row(res: pd.DataFrame, test: str) -> pd.Series:
    return res.loc[res["test"] == test].iloc[0]


def _run(case: str) -> pd.DataFrame:
    c = CASES[case]
    return paired_test(make_changes({"HFMSE": c["d"]}), level=c["level"])


# ---------------------------------------------------------------------------
# agreement with R


@pytest.mark.parametrize("case", EXACT_CASES)
def test_wilcoxon_and_hodges_lehmann_equal_r_where_r_is_exact(case):
    c = CASES[case]
    w = _row(_run(case), "wilcoxon")
    assert w["n"] == len(c["d"])
    assert w["statistic"] == c["wilcox_V"]
    assert w["p_value"] == pytest.approx(c["wilcox_p"], rel=1e-10)
    assert w["estimate"] == pytest.approx(c["hl_estimate"], rel=1e-10, abs=1e-12)
    assert [w["ci_low"], w["ci_high"]] == pytest.approx(c["hl_ci"], rel=1e-10, abs=1e-12)
    assert "exact null distribution of V (no ties)" in w["method"]


@pytest.mark.parametrize("case", list(CASES))
def test_paired_t_equals_r_t_test(case):
    c = CASES[case]
    t = _row(_run(case), "t")
    assert t["estimate"] == pytest.approx(c["t_estimate"], rel=1e-10, abs=1e-12)
    assert t["se"] == pytest.approx(c["t_se"], rel=1e-10)
    assert t["df"] == c["t_df"]
    assert t["statistic"] == pytest.approx(c["t_statistic"], rel=1e-10)
    assert t["p_value"] == pytest.approx(c["t_p"], rel=1e-8)
    assert [t["ci_low"], t["ci_high"]] == pytest.approx(c["t_ci"], rel=1e-10)
    assert t["conf_level"] == c["level"] and t["min_p"] == 0.0


@pytest.mark.parametrize("case", list(CASES))
def test_sign_test_equals_r_binom_test(case):
    c = CASES[case]
    s = _row(_run(case), "sign")
    assert s["statistic"] == c["sign_S"]
    assert s["p_value"] == pytest.approx(c["sign_p"], rel=1e-10)
    m = sum(x != 0 for x in c["d"])
    assert s["min_p"] == pytest.approx(min(1.0, 2.0**(1 - m)))


@pytest.mark.parametrize("case", ["n60", "n60_ties"])
def test_normal_approximation_equals_r(case):
    c = CASES[case]
    res = paired_test(make_changes({"HFMSE": c["d"]}), level=c["level"], exact=False)
    w = _row(res, "wilcoxon")
    assert w["statistic"] == c["wilcox_V"]
    assert w["p_value"] == pytest.approx(c["wilcox_p"], rel=1e-10)
    assert "normal approximation" in w["method"]
    assert w["method"].count("tie correction") == (1 if c["ties"] else 0)


def test_exact_by_default_up_to_200_changes():
    d = np.array(CASES["n60"]["d"])
    w = _row(_run("n60"), "wilcoxon")
    assert "exact null distribution of V (no ties)" in w["method"]
    assert w["p_value"] == pytest.approx(stats.wilcoxon(d, method="exact").pvalue, rel=1e-9)
    assert w["min_p"] == 2.0**-59
    rng = np.random.default_rng(3)
    big = rng.integers(-4, 9, 201).astype(float)
    big[big == 0] = 1.0
    w = _row(paired_test(make_changes({"HFMSE": big})), "wilcoxon")
    assert "normal approximation with tie correction" in w["method"]


@pytest.mark.parametrize("case", TIED_CASES)
def test_statistic_v_equals_r_with_ties_and_zeros(case):
    # R's V uses mid-ranks after dropping zeros, as our default
    assert _row(_run(case), "wilcoxon")["statistic"] == CASES[case]["wilcox_V"]


# ---------------------------------------------------------------------------
# ties and zeros: the stated method, checked by full enumeration


def _enumerate_p(ranks: np.ndarray, v_obs: float) -> float:
    """Two-sided p of V by enumerating every sign pattern (independent of the DP)."""
    vs = np.array([np.dot(ranks, s) for s in itertools.product((0, 1), repeat=len(ranks))])
    mean = ranks.sum() / 2.0
    if v_obs > mean:
        one = np.mean(vs >= v_obs - 1e-9)
    else:
        one = np.mean(vs <= v_obs + 1e-9)
    return min(1.0, 2.0 * one)


@pytest.mark.parametrize("case", TIED_CASES)
def test_tied_p_value_is_exact_conditional_by_enumeration(case):
    d = np.array(CASES[case]["d"])
    w = _row(_run(case), "wilcoxon")
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    v = ranks[nz > 0].sum()
    assert w["statistic"] == v
    assert w["p_value"] == pytest.approx(_enumerate_p(ranks, v), rel=1e-12)
    assert "exact conditional permutation distribution" in w["method"]
    assert f"{int((d == 0).sum())} zero difference(s) dropped before ranking (Wilcoxon)" in (
        w["method"]
    )
    assert w["min_p"] == pytest.approx(2.0 ** (1 - len(nz)))


def test_pratt_zero_method_by_enumeration():
    d = np.array(CASES["n12_zeros"]["d"])
    res = paired_test(make_changes({"HFMSE": d}), zero_method="pratt")
    w = _row(res, "wilcoxon")
    ranks_all = stats.rankdata(np.abs(d))
    ranks = ranks_all[d != 0]
    v = ranks_all[d > 0].sum()
    assert w["statistic"] == v
    assert w["p_value"] == pytest.approx(_enumerate_p(ranks, v), rel=1e-12)
    assert "ranked, then dropped (Pratt)" in w["method"]


def test_tied_values_hand_computed():
    # d = (1, 1, -1, 2): |d| ranks 2, 2, 2, 4; V = 2 + 2 + 4 = 8; mean 5.
    # sign patterns with V >= 8: {2,2,4},{2,2,4}x3 choices of the two 2's + all four
    # = 3 + 1 = 4 of 16, so p = 2 * 4/16 = 0.5.
    r = signrank_test(np.array([1.0, 1.0, -1.0, 2.0]))
    assert r.statistic == 8.0 and r.ties and r.exact
    assert r.p_value == 0.5


def test_hodges_lehmann_with_ties_and_achieved_level_by_enumeration():
    c = CASES["n12_zeros"]
    d = np.array(c["d"])
    w = _row(_run("n12_zeros"), "wilcoxon")
    n = len(d)
    walsh = np.sort([(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)])
    big_n = len(walsh)
    assert w["estimate"] == np.median(walsh)  # zeros included
    # signed-rank null distribution for n = 12 by brute force
    vs = np.array([np.dot(np.arange(1, n + 1), s)
                   for s in itertools.product((0, 1), repeat=n)])
    cdf = lambda q: np.mean(vs <= q)  # noqa: E731
    k = min(q for q in range(big_n + 1) if cdf(q) >= 0.025)
    assert (w["ci_low"], w["ci_high"]) == (walsh[k - 1], walsh[big_n - k])
    assert w["conf_level"] == pytest.approx(1 - 2 * cdf(k - 1), abs=1e-15)
    assert w["conf_level"] >= 0.95
    # R's estimate drops the zeros first (and root-finds): ours differs on purpose
    assert w["estimate"] != pytest.approx(c["hl_estimate"], abs=1e-3)


def test_hodges_lehmann_conf_level_n5_is_93_75_percent():
    for case in ("n5", "n5_allpos"):
        w = _row(_run(case), "wilcoxon")
        d = CASES[case]["d"]
        assert (w["ci_low"], w["ci_high"]) == (min(d), max(d))
        assert w["conf_level"] == 0.9375  # R says 0.95
        assert "95% interval not attainable with n = 5" in w["note"]
    w = _row(_run("n5_neg"), "wilcoxon")  # level 0.9: k = 1, achieved 1 - 2/32
    assert w["conf_level"] == 0.9375


@pytest.mark.parametrize(
    "values, probs",
    [
        ((-1, 0, 1), (1 / 3, 1 / 3, 1 / 3)),
        ((-2, -1, 0, 1, 2), (0.1, 0.2, 0.4, 0.2, 0.1)),
        ((-1, 1), (0.5, 0.5)),
    ],
)
@pytest.mark.parametrize("n", [5, 6, 7])
def test_hodges_lehmann_coverage_with_ties_is_at_least_stated_level(values, probs, n):
    """Exact coverage for discrete symmetric data, by enumerating all samples."""
    vals = np.array(values, dtype=float)
    pr = np.array(probs)
    idx = np.array(list(itertools.product(range(len(vals)), repeat=n)))
    x = vals[idx]
    weight = pr[idx].prod(axis=1)
    i, j = np.triu_indices(n)
    walsh = np.sort((x[:, i] + x[:, j]) / 2.0, axis=1)
    ref = hodges_lehmann(x[0], level=0.95)
    covered = (walsh[:, ref.k - 1] <= 0) & (walsh[:, walsh.shape[1] - ref.k] >= 0)
    coverage = float(np.sum(weight * covered))
    assert coverage >= ref.conf_level - 1e-12
    # and the interval chosen is the same for every sample (k depends on n only)
    assert all(hodges_lehmann(x[s], level=0.95).k == ref.k for s in (0, len(x) // 2, -1))


def test_exact_pmf_matches_brute_force_and_min_p():
    n = 10
    vs = np.array([np.dot(np.arange(1, n + 1), s) for s in itertools.product((0, 1), repeat=n)])
    brute = np.bincount(vs, minlength=n * (n + 1) // 2 + 1) / 2**n
    assert np.array_equal(signrank_pmf(n), brute)
    r = signrank_test(np.arange(1.0, 6.0))
    assert r.p_value == 0.0625 and r.min_p == 0.0625


def test_min_p_column_for_five_patients():
    res = _run("n5")
    assert _row(res, "wilcoxon")["min_p"] == 0.0625
    assert _row(res, "sign")["min_p"] == 0.0625
    assert _row(res, "t")["min_p"] == 0.0


def test_sign_test_median_interval_hand_computed():
    # n = 12: P(B <= 2) = 79/4096 = 0.0193 < 0.025 <= P(B <= 3) = 299/4096, k = 3
    d = np.array(CASES["n12_zeros"]["d"], dtype=float)
    r = sign_test(d)
    xs = np.sort(d)
    assert r.median.k == 3
    assert (r.median.ci_low, r.median.ci_high) == (xs[2], xs[9])
    assert r.median.conf_level == pytest.approx(1 - 2 * 79 / 4096)
    assert r.median.estimate == np.median(d)


def test_walsh_selection_for_large_samples_matches_sorting():
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=2100), 2)  # above the materialising limit, with ties
    xs = np.sort(x)
    i, j = np.triu_indices(len(x))
    w = np.sort((xs[i] + xs[j]) / 2.0)
    for k in (1, 2, 1000, len(w) // 2, len(w) - 1, len(w)):
        # equal up to floating-point rounding of x_i + x_j (a few ulp)
        assert walsh_order_statistic(x, k) == pytest.approx(w[k - 1], rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------------------
# table shape and input handling


def test_output_columns_and_one_row_per_measure_and_test():
    res = paired_test(make_changes({"HFMSE": CASES["n12"]["d"], "RULM": CASES["n5"]["d"]}))
    assert list(res.columns) == [
        "measure", "timepoint", "test", "estimand", "n", "n_positive", "n_zero",
        "n_negative", "estimate", "se", "df", "ci_low", "ci_high", "conf_level",
        "statistic", "p_value", "min_p", "method", "note",
    ]
    assert res[["measure", "test"]].values.tolist() == [
        ["HFMSE", "wilcoxon"], ["HFMSE", "t"], ["HFMSE", "sign"],
        ["RULM", "wilcoxon"], ["RULM", "t"], ["RULM", "sign"],
    ]
    assert (res["timepoint"] == "Month 18").all()
    r = res.loc[res["measure"] == "RULM"].iloc[0]
    assert (r["n"], r["n_positive"], r["n_zero"], r["n_negative"]) == (5, 4, 0, 1)


def test_measures_argument_and_input_not_modified():
    data = make_changes({"HFMSE": CASES["n12"]["d"], "RULM": CASES["n5"]["d"]})
    before = data.copy()
    res = paired_test(data, measures="RULM")
    assert res["measure"].unique().tolist() == ["RULM"]
    pd.testing.assert_frame_equal(data, before)


def test_only_patients_with_both_visits_and_no_analysed_column():
    data = make_changes({"HFMSE": [1.0, 2.0, 3.0, -1.0, 5.0, 6.0]})
    data = data.loc[data["analysed"]].drop(columns="analysed")
    data.loc[(data["patient_id"] == "P006") & ~data["is_baseline"], "change"] = np.nan
    res = paired_test(data)
    assert (res["n"] == 5).all()
    assert _row(res, "t")["estimate"] == pytest.approx(2.0)


def test_measure_without_pairs_gives_empty_rows_with_note():
    data = make_changes({"HFMSE": [1.0, 2.0], "RULM": [1.0, 2.0]})
    data = data.loc[~((data["measure"] == "RULM") & (data["timepoint"] == "Month 18"))]
    res = paired_test(data)
    rulm = res.loc[res["measure"] == "RULM"]
    assert (rulm["n"] == 0).all() and rulm["p_value"].isna().all()
    assert rulm["note"].str.contains("no patient has both a baseline and a Month 18").all()


def test_constant_changes_and_single_patient():
    res = paired_test(make_changes({"HFMSE": [2.0, 2.0, 2.0]}))
    t = _row(res, "t")
    assert t["estimate"] == 2.0 and np.isnan(t["p_value"]) and "all changes are equal" in t["note"]
    w = _row(res, "wilcoxon")
    assert w["p_value"] == 0.25 and w["estimate"] == 2.0  # exact conditional, all tied
    one = paired_test(make_changes({"HFMSE": [3.0]}))
    assert one["n"].eq(1).all() and _row(one, "t")["note"] == "t-test needs at least 2 patients"
    assert _row(one, "wilcoxon")["p_value"] == 1.0


def test_all_zero_changes():
    w = _row(paired_test(make_changes({"HFMSE": [0.0, 0.0, 0.0]})), "wilcoxon")
    assert w["p_value"] == 1.0 and w["min_p"] == 1.0 and w["estimate"] == 0.0


def test_errors_name_what_is_missing_and_what_exists():
    data = make_changes({"HFMSE": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"paired_test\(\) needs the column 'change'; the table has"):
        paired_test(data.drop(columns="change"))
    with pytest.raises(ValueError, match="`timepoint` 'Month 99' not found.*available"):
        paired_test(data, timepoint="Month 99")
    with pytest.raises(ValueError, match=r"`measures`: 'SMWT' not in the data"):
        paired_test(data, measures=["SMWT"])
    with pytest.raises(ValueError, match="`level` must be strictly between 0 and 1"):
        paired_test(data, level=95)
    with pytest.raises(ValueError, match="zero_method must be 'wilcox' or 'pratt'"):
        paired_test(data, zero_method="zsplit")
    dup = data.copy()
    dup["analysed"] = True
    with pytest.raises(ValueError, match="one analysed row per patient_id x measure x timepoint"):
        paired_test(dup)


def test_floating_point_noise_does_not_break_ties():
    # 10.333... - 7.333... and 3.0 are the same change
    d = [10 + 1 / 3 - (7 + 1 / 3), 3.0, -3.0, 1.0, 2.0]
    r = signrank_test(np.array(d))
    assert r.ties
    assert r.statistic == stats.rankdata([3, 3, 3, 1, 2])[[0, 1, 3, 4]].sum()


def test_case_series_sample_through_the_timeline():
    """The bundled 5-child case series: every child improves, so p = min_p = 0.0625."""
    import sma_outcomes as so
    from tests.conftest import SAMPLE

    changes = so.change_from_baseline(so.read_scores(SAMPLE / "case_series.csv"))
    res = paired_test(changes, timepoint="Month 18")
    assert res["measure"].unique().tolist() == ["HFMSE", "PP_PREF", "PP_NONPREF"]
    assert (res["n"] == 5).all() and (res["n_positive"] == 5).all()
    for test in ("wilcoxon", "sign"):
        rows = res.loc[res["test"] == test]
        assert (rows["p_value"] == 0.0625).all() and (rows["min_p"] == 0.0625).all()
        assert (rows["conf_level"] == 0.9375).all()
    hf = changes.loc[changes["analysed"] & (changes["timepoint"] == "Month 18")
                     & (changes["measure"] == "HFMSE"), "change"]
    assert sorted(hf)[0] == 3 and sorted(hf)[-1] == 10  # published range +3 to +10
    t = res.loc[(res["measure"] == "HFMSE") & (res["test"] == "t")].iloc[0]
    assert t["estimate"] == pytest.approx(hf.mean())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=1, max_size=10),
       st.sampled_from(["wilcox", "pratt"]))
def test_property_exact_p_equals_enumeration(values, zero_method):
    d = np.array(values, dtype=float)
    r = signrank_test(d, zero_method=zero_method)
    if zero_method == "wilcox":
        nz = d[d != 0]
        ranks = stats.rankdata(np.abs(nz))
    else:
        ranks = stats.rankdata(np.abs(d))[d != 0]
        nz = d[d != 0]
    assert r.statistic == ranks[nz > 0].sum()
    if len(nz):
        assert r.p_value == pytest.approx(_enumerate_p(ranks, r.statistic), rel=1e-12)
        assert r.min_p == pytest.approx(min(1.0, 2.0 ** (1 - len(nz))))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=30),
       st.integers(-20, 20))
def test_property_hodges_lehmann_shifts_with_the_data(values, shift):
    d = np.array(values)
    a = hodges_lehmann(d)
    b = hodges_lehmann(d + shift)
    assert b.k == a.k and b.conf_level == a.conf_level
    for x, y in ((a.estimate, b.estimate), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high)):
        assert y == pytest.approx(x + shift, abs=1e-9)
    assert a.ci_low <= a.estimate <= a.ci_high
