"""Cohort trajectories: the summary equals R's t.test; what is drawn equals the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sma_outcomes import DataError, ModelWarning
from sma_outcomes.plot import cohort_summary, plot_cohort
from sma_outcomes.plot.cohort import model_curve
from sma_outcomes.schema import DAYS_PER_MONTH
from tests.conftest import REFERENCE
from tests.test_plot_patient import TIMEPOINTS, by_gid, make_table

REF = REFERENCE / "plots"


@pytest.fixture(scope="module")
def small():
    data = pd.read_csv(REF / "cohort_small.csv", dtype={"patient_id": str, "sma_type": str})
    data["timepoint"] = pd.Categorical(data["timepoint"], categories=TIMEPOINTS, ordered=True)
    return data


@pytest.mark.parametrize("hue", [None, "sma_type"])
def test_summary_equals_r_t_test(small, hue):
    ref = pd.read_csv(REF / "cohort_summary_R.csv", dtype={"sma_type": str}, keep_default_na=False)
    ref = ref[(ref.sma_type != "") == (hue is not None)]
    for m in ("HFMSE", "PP_PREF", "PP_NONPREF"):
        got = cohort_summary(small, measure=m, hue=hue)
        want = ref[ref.measure == m]
        keys = ["timepoint"] + ([hue] if hue else [])
        merged = got.astype({k: str for k in keys}).merge(want, on=keys, suffixes=("", "_r"))
        assert len(merged) == len(want) == len(got)
        assert (merged.n == merged.n_r).all()
        for col in ("mean", "sd", "ci_low", "ci_high"):
            np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=1e-10)


def test_summary_order_and_position(small):
    s = cohort_summary(small, measure="HFMSE")
    assert s.timepoint.tolist() == TIMEPOINTS
    med = small[small.measure == "HFMSE"].groupby("timepoint", observed=True).day.median()
    np.testing.assert_allclose(s.x, med.to_numpy() / DAYS_PER_MONTH)


def test_summary_uses_analysed_rows_and_falls_back_to_visit():
    data, _ = make_table(4)
    d = data.copy()
    d.loc[(d.patient_id == "P1") & (d.visit == "Month 6"), "analysed"] = False
    s = cohort_summary(d, measure="HFMSE")
    assert s.set_index("timepoint").loc["Month 6", "n"] == 3
    s2 = cohort_summary(data.drop(columns=["timepoint", "analysed"]), measure="HFMSE")
    assert s2.timepoint.tolist() == TIMEPOINTS  # visits ordered by median day


def test_summary_single_patient_has_no_ci():
    data, _ = make_table(1)
    s = cohort_summary(data, measure="HFMSE")
    assert s.n.eq(1).all() and s.ci_low.isna().all() and s.sd.isna().all()


def test_drawn_lines_and_means(small):
    fig = plot_cohort(small, measure="HFMSE")
    ax = fig.axes[0]
    (lc,) = by_gid(ax, "patients")
    segs = lc.get_segments()
    # one segment per patient, two for P2 whose NT visit breaks the line
    assert len(segs) == small.patient_id.nunique() + 1
    p1 = small[(small.patient_id == "P1") & (small.measure == "HFMSE")].sort_values("day")
    np.testing.assert_allclose(segs[0][:, 1], p1.score)
    np.testing.assert_allclose(segs[0][:, 0], p1.day / DAYS_PER_MONTH)
    (mean,) = by_gid(ax, "mean")
    s = cohort_summary(small, measure="HFMSE")
    np.testing.assert_allclose(mean.get_ydata(), s["mean"])
    from matplotlib.collections import LineCollection

    (ci,) = [a for a in by_gid(ax, "mean-ci") if isinstance(a, LineCollection)]
    bars = ci.get_segments()
    np.testing.assert_allclose([b[0, 1] for b in bars], s.ci_low)
    np.testing.assert_allclose([b[1, 1] for b in bars], s.ci_high)
    assert ax.get_ylabel() == "HFMSE (points)"


def test_missing_score_breaks_patient_line():
    data, _ = make_table(3)
    fig = plot_cohort(data, measure="HFMSE")
    (lc,) = by_gid(fig.axes[0], "patients")
    # P2 has one NT visit in the middle: two pieces, never bridged
    assert [len(s) for s in lc.get_segments()] == [6, 3, 2, 6]


def test_change_with_threshold_and_hue(small):
    data, _ = make_table(6)
    fig = plot_cohort(data, measure="HFMSE", y="change", hue="sma_type")
    ax = fig.axes[0]
    assert by_gid(ax, "threshold")[0].get_ydata()[0] == 3.0
    assert len(by_gid(ax, "patients")) == 2  # one collection per SMA type
    assert len(by_gid(ax, "mean")) == 2
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "SMA type 2 (n = 4)" in labels and "SMA type 3 (n = 2)" in labels
    assert ax.get_ylabel() == "Change in HFMSE (points)"


class FakeLMM:
    """Stands in for LMMResult: a straight line with a fixed band."""

    time = "months"
    covariates = ["sma_type"]
    y = "score"
    measure = "HFMSE"

    def predict(self, newdata, include_random=True):
        assert include_random is False
        shift = np.where(newdata["sma_type"].astype(str) == "3", 10.0, 0.0)
        est = 20.0 + 0.5 * newdata["months"].to_numpy() + shift
        return newdata.assign(estimate=est, se=1.0, ci_low=est - 2.0, ci_high=est + 2.0)


def test_model_curve_adapter():
    cur = model_curve(FakeLMM(), np.array([0.0, DAYS_PER_MONTH * 6]), fixed={"sma_type": "2"})
    assert cur.estimate.tolist() == [20.0, 23.0]
    # FakeLMM.predict takes no `level`: the band comes from its se at the 95 % normal quantile
    np.testing.assert_allclose(cur.ci_high, [20 + 1.959964, 23 + 1.959964], atol=1e-6)


def test_model_curve_per_hue_level(small):
    fig = plot_cohort(small, measure="HFMSE", model=FakeLMM(), hue="sma_type")
    curves = by_gid(fig.axes[0], "model")
    assert len(curves) == 2
    x = curves[1].get_xdata()
    np.testing.assert_allclose(curves[1].get_ydata(), 30.0 + 0.5 * x)
    bands = by_gid(fig.axes[0], "model-band")
    assert len(bands) == 2


def test_model_checks(small):
    class Other(FakeLMM):
        y = "change"

    with pytest.raises(ValueError, match="y='change'"):
        plot_cohort(small, measure="HFMSE", model=Other())

    class NoTime(FakeLMM):
        time = "age"

    with pytest.raises(ValueError, match="time variable 'age'"):
        plot_cohort(small, measure="HFMSE", model=NoTime())

    class NoCov(FakeLMM):
        covariates = []

        def predict(self, newdata, include_random=True):
            return newdata.assign(estimate=20.0, ci_low=18.0, ci_high=22.0)

    with pytest.warns(ModelWarning, match="no covariate 'sma_type'"):
        plot_cohort(small, measure="HFMSE", model=NoCov(), hue="sma_type")


def test_real_lmm_population_curve(small):
    from sma_outcomes.stats import lmm
    data = small.copy()
    data["months"] = data["day"] / DAYS_PER_MONTH
    fit = lmm.fit_lmm(data, measure="HFMSE", random="intercept")
    fig = plot_cohort(data, measure="HFMSE", model=fit)
    (curve,) = by_gid(fig.axes[0], "model")
    x = curve.get_xdata()
    want = fit.predict(pd.DataFrame({"months": x}), include_random=False)
    np.testing.assert_allclose(curve.get_ydata(), want["estimate"], rtol=1e-12)


def test_errors(small):
    with pytest.raises(DataError, match="no RULM rows"):
        plot_cohort(small, measure="RULM")
    with pytest.raises(DataError, match="change_from_baseline"):
        plot_cohort(small, measure="HFMSE", y="change")
    with pytest.raises(ValueError, match="`y` must be one of"):
        plot_cohort(small, measure="HFMSE", y="delta")
    mixed = small.copy()
    mixed.loc[(mixed.patient_id == "P3") & (mixed.timepoint == "Month 18"), "sma_type"] = "2"
    with pytest.raises(DataError, match="changes within patient.*P3"):
        plot_cohort(mixed, measure="HFMSE", hue="sma_type")


def test_real_lmm_curve_per_sma_type(small):
    from sma_outcomes.stats import lmm
    data = small.copy()
    data["months"] = data["day"] / DAYS_PER_MONTH
    fit = lmm.fit_lmm(data, measure="HFMSE", random="intercept", covariates=["sma_type"])
    fig = plot_cohort(data, measure="HFMSE", model=fit, hue="sma_type")
    curves = by_gid(fig.axes[0], "model")
    assert len(curves) == 2
    for level, curve in zip(["2", "3"], curves, strict=True):
        x = curve.get_xdata()
        want = fit.predict(pd.DataFrame({"months": x, "sma_type": level}), include_random=False)
        np.testing.assert_allclose(curve.get_ydata(), want["estimate"], rtol=1e-12)


def _band(fig):
    (band,) = by_gid(fig.axes[0], "model-band")
    (curve,) = by_gid(fig.axes[0], "model")
    verts = band.get_paths()[0].vertices
    n = len(curve.get_xdata())
    # fill_between: the lower edge left to right, then the upper edge back
    low = verts[1:n + 1, 1]
    high = verts[n + 2:2 * n + 2, 1][::-1]
    return curve.get_xdata(), curve.get_ydata(), low, high


def test_band_drawn_at_the_labelled_level_from_se(small):
    """Issue 10: level=0.8 was labelled "80% CI" but the 95 % band was drawn."""
    from scipy import stats

    class NoCov(FakeLMM):
        covariates = []

        def predict(self, newdata, include_random=True):  # the old signature: no `level`
            est = 20.0 + 0.5 * newdata["months"].to_numpy()
            return newdata.assign(estimate=est, se=1.0, ci_low=est - 1.96, ci_high=est + 1.96)

    fig = plot_cohort(small, measure="HFMSE", model=NoCov(), level=0.8)
    _, est, low, high = _band(fig)
    q = stats.norm.ppf(0.9)  # se = 1, no df column: normal quantile
    np.testing.assert_allclose(high - est, q, rtol=1e-9)
    np.testing.assert_allclose(est - low, q, rtol=1e-9)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Mixed model, population (80% CI)" in labels and "Mean (80% CI)" in labels


def test_level_passed_to_a_predict_that_takes_it(small):
    seen = []

    class WithLevel(FakeLMM):
        covariates = []
        level = 0.9

        def predict(self, newdata, include_random=True, *, level=None):
            seen.append(level)
            est = 20.0 + 0.5 * newdata["months"].to_numpy()
            return newdata.assign(estimate=est, ci_low=est - level, ci_high=est + level)

    fig = plot_cohort(small, measure="HFMSE", model=WithLevel(), level=0.8)
    _, est, low, high = _band(fig)
    assert seen == [0.8]
    np.testing.assert_allclose(high - est, 0.8)
    plot_cohort(small, measure="HFMSE", model=WithLevel())  # default: the model's own level
    assert seen[-1] == 0.9

    class Bare(FakeLMM):
        covariates = []

        def predict(self, newdata, include_random=True):
            return newdata.assign(estimate=1.0, ci_low=0.0, ci_high=2.0)

    with pytest.raises(ValueError, match="cannot draw a 80% band"):
        plot_cohort(small, measure="HFMSE", model=Bare(), level=0.8)


def test_real_lmm_band_at_level(small):
    from scipy import stats

    from sma_outcomes.stats import lmm
    data = small.copy()
    data["months"] = data["day"] / DAYS_PER_MONTH
    fit = lmm.fit_lmm(data, measure="HFMSE", random="intercept")
    fig = plot_cohort(data, measure="HFMSE", model=fit, level=0.8)
    x, est, low, high = _band(fig)
    pred = fit.predict(pd.DataFrame({"months": x}), include_random=False)
    q = stats.t.ppf(0.9, pred["df"].to_numpy())
    np.testing.assert_allclose(high, pred["estimate"] + q * pred["se"], rtol=1e-9)
    np.testing.assert_allclose(low, pred["estimate"] - q * pred["se"], rtol=1e-9)


def test_thousands_of_patients_one_rasterised_collection(tmp_path):
    """Issue 12: one LineCollection for the spaghetti, rasterised inside vector files."""
    from sma_outcomes.plot import save_figure
    from sma_outcomes.plot.cohort import RASTER_ABOVE

    rng = np.random.default_rng(5)
    n, visits = 2000, np.array([-7.0, 60, 183, 365, 548])
    data = pd.DataFrame({
        "patient_id": np.repeat([f"R{i:05d}" for i in range(n)], len(visits)),
        "day": np.tile(visits, n) + rng.integers(-5, 6, n * len(visits)),
        "measure": "HFMSE",
        "score": np.round(rng.normal(30, 10, n).repeat(len(visits))
                          + rng.normal(0, 2, n * len(visits))).clip(0, 66),
    })
    data.loc[rng.random(len(data)) < 0.03, "score"] = np.nan
    fig = plot_cohort(data, measure="HFMSE", show_mean=False)
    (lc,) = by_gid(fig.axes[0], "patients")
    assert lc.get_rasterized() and n > RASTER_ABOVE
    assert len(lc.get_segments()) >= n
    svg = save_figure(fig, tmp_path / "many.svg").read_text()
    assert svg.count("<image") == 1 and len(svg) < 3_000_000
    few = plot_cohort(data[data.patient_id < "R00010"], measure="HFMSE", show_mean=False)
    assert not by_gid(few.axes[0], "patients")[0].get_rasterized()
