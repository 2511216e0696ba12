"""Tests of fit_lmm against lme4/lmerTest reference numbers (tests/reference/lmm).

The references were produced by ``tests/reference/lmm/lmm_reference.R`` (R 4.2,
lme4 1.1-31, lmerTest 3.1-3, bobyqa with rhoend 1e-10) on lme4's sleepstudy
and on simulated SMA cohorts (``simulate_cohorts.py``); the R output is in
``lmm_reference.json`` and ``lmm_reference.txt``. Tolerances are about 10x the
largest discrepancy measured over all cases (in brackets): estimates 4e-6
relative (3.6e-7), SEs and t 1e-5 (8e-7), Satterthwaite df 3e-5 (2.5e-6),
log p 2e-5 (1.8e-6), variances 5e-5 (4.8e-6), correlations 5e-5 absolute,
sigma 3e-6 (2.4e-7), theta 1e-4 absolute (8.6e-6), REML criterion and
log-likelihood 2e-9 absolute (1.9e-10), BLUPs 1e-6 of their scale (8.2e-8),
population predictions (lmerTest ``contest``): estimate 1e-7 (7e-9), SE 1e-5
(7.3e-7), df 6e-5 (5.7e-6).
"""

from __future__ import annotations

import json
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sma_outcomes.exceptions import (
    ColumnError,
    ConvergenceWarning,
    MeasureError,
    ModelWarning,
    OptionError,
    SingularFitWarning,
)
from sma_outcomes.stats import LMMResult, fit_lmm
from tests.conftest import REFERENCE

REF_DIR = REFERENCE / "lmm"
R = json.loads((REF_DIR / "lmm_reference.json").read_text())

# case name -> (data file, fit_lmm keywords); "_reml"/"_ml" is appended
CASES = {
    "sleep_slope": ("sleepstudy", {"y": "Reaction", "time": "Days", "group": "Subject"}),
    "sleep_intercept": (
        "sleepstudy",
        {"y": "Reaction", "time": "Days", "group": "Subject", "random": "intercept"},
    ),
    "cohort_slope": ("sma_cohort", {}),
    "cohort_type": ("sma_cohort", {"covariates": "sma_type"}),
    "cohort_age": ("sma_cohort", {"covariates": ["age"]}),
    "cohort_intercept": ("sma_cohort", {"covariates": "sma_type", "random": "intercept"}),
    "cohort_knots": ("sma_cohort", {"knots": [2, 12]}),
    "dropout_type": ("sma_dropout", {"covariates": "sma_type"}),
    "dropout_full": ("sma_dropout", {"knots": [2], "covariates": ["sma_type", "age"]}),
    "dropout_intercept": (
        "sma_dropout",
        {"knots": [2], "covariates": "sma_type", "random": "intercept"},
    ),
    "singular_type": ("sma_singular", {"covariates": "sma_type"}),
    # 8 patients, time in 0..0.01, scores ~50 +- 0.1: badly scaled and small
    "small_a": ("small_a", {}),
}
KEYS = [f"{c}_{m}" for c in CASES for m in ("reml", "ml") if f"{c}_{m}" in R]


@cache
def load(name: str) -> pd.DataFrame:
    return pd.read_csv(
        REF_DIR / f"{name}.csv", dtype={"sma_type": str, "patient_id": str, "Subject": str}
    )


@cache
def fitted(key: str) -> tuple[LMMResult, list[warnings.WarningMessage]]:
    case, method = key.rsplit("_", 1)
    name, kw = CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_lmm(load(name).copy(), reml=method == "reml", **kw)
    return fit, list(caught)


@pytest.mark.parametrize("key", KEYS)
def test_fixed_effects_match_lmertest(key):
    fit, _ = fitted(key)
    ref = R[key]
    np.testing.assert_allclose(fit.fixed["estimate"], ref["estimate"], rtol=4e-6)
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=1e-5)
    np.testing.assert_allclose(fit.fixed["t"], ref["t"], rtol=1e-5)
    np.testing.assert_allclose(fit.fixed["df"], ref["df"], rtol=3e-5)
    # p-values follow from t and df; compare on the log scale (they reach 1e-40)
    np.testing.assert_allclose(np.log(fit.fixed["p_value"]), np.log(ref["p_value"]), rtol=2e-5)
    assert fit.n_obs == ref["nobs"]
    assert fit.n_groups == ref["ngroups"]


@pytest.mark.parametrize("key", KEYS)
def test_variance_components_match_lme4(key):
    fit, _ = fitted(key)
    ref = R[key]
    # lme4's VarCorr order: intercept, slope, covariance, residual (ours the same,
    # with the correlation in the corr(...) row and the covariance in random_covariance)
    tab = fit.random
    corr_row = tab["component"].str.startswith("corr(").to_numpy()
    vc_var = np.asarray(ref["vc_var"], dtype=float)
    vc_sd = np.asarray(ref["vc_sd"], dtype=float)
    np.testing.assert_allclose(tab.loc[~corr_row, "variance"], vc_var[~corr_row], rtol=5e-5)
    np.testing.assert_allclose(tab.loc[~corr_row, "sd"], vc_sd[~corr_row], rtol=5e-5)
    np.testing.assert_allclose(tab.loc[corr_row, "corr"], vc_sd[corr_row], rtol=0, atol=5e-5)
    assert tab.loc[corr_row, "variance"].isna().all()
    if corr_row.any():
        cov = fit.random_covariance.to_numpy()
        np.testing.assert_allclose(cov[0, 1], vc_var[corr_row][0], rtol=5e-5)
    np.testing.assert_allclose(fit.sigma, ref["sigma"], rtol=3e-6)
    np.testing.assert_allclose(fit.theta, ref["theta"], rtol=0, atol=1e-4)


def test_random_table_shows_the_correlation_not_the_covariance():
    """Issue 10: the corr(...) row held the covariance in its variance column."""
    fit, _ = fitted("sleep_slope_reml")
    row = fit.random.set_index("component").loc["corr(Intercept, Days)"]
    assert np.isnan(row["variance"]) and np.isnan(row["sd"])
    cov = fit.random_covariance.to_numpy()
    assert row["corr"] == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), rel=1e-12)
    # lme4: VarCorr(fit) prints Corr 0.07 for sleepstudy (REML), covariance 9.604
    assert row["corr"] == pytest.approx(R["sleep_slope_reml"]["vc_sd"][2], abs=5e-5)
    assert cov[0, 1] == pytest.approx(R["sleep_slope_reml"]["vc_var"][2], rel=5e-5)


@pytest.mark.parametrize("key", KEYS)
def test_likelihood_matches_lme4(key):
    fit, _ = fitted(key)
    ref = R[key]
    if ref["reml"]:
        assert fit.method == "REML"
        assert abs(fit.reml_criterion - ref["reml_criterion"]) < 2e-9
    else:
        assert np.isnan(fit.reml_criterion)
    assert abs(fit.loglik - ref["loglik"]) < 2e-9
    assert abs(fit.deviance + 2 * ref["loglik"]) < 4e-9
    assert abs(fit.aic - ref["aic"]) < 4e-9
    assert abs(fit.bic - ref["bic"]) < 4e-9


@pytest.mark.parametrize("key", KEYS)
def test_blups_match_lme4(key):
    fit, _ = fitted(key)
    ref = R[key]
    ours = fit.blups.set_index(fit.blups.columns[0]).loc[ref["ranef_groups"]].to_numpy()
    theirs = np.asarray(ref["ranef"], dtype=float)
    scale = np.abs(theirs).max(axis=0)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6 * scale.max())


@pytest.mark.parametrize("key", KEYS)
def test_population_prediction_matches_contest(key):
    """Population line with SE and Satterthwaite df = lmerTest::contest(L)."""
    fit, _ = fitted(key)
    ref = R[key]
    L = np.asarray(ref["pred_L"], dtype=float)
    time = fit.time
    new = pd.DataFrame({time: L[:, 1]})
    if "sma_type" in fit.covariates:
        new["sma_type"] = "2"  # the reference level
    if "age" in fit.covariates:
        new["age"] = 0.0
    # contest's L rows set the hinge columns to (t - knot)+, as predict does
    pred = fit.predict(new, include_random=False)
    np.testing.assert_allclose(pred["estimate"], ref["pred_estimate"], rtol=1e-7)
    np.testing.assert_allclose(pred["se"], ref["pred_se"], rtol=1e-5)
    np.testing.assert_allclose(pred["df"], ref["pred_df"], rtol=6e-5)
    from scipy import stats

    q = stats.t.ppf(0.975, pred["df"])
    np.testing.assert_allclose(pred["ci_high"] - pred["estimate"], q * pred["se"], rtol=1e-12)


@pytest.mark.parametrize("key", KEYS)
def test_singular_fits_are_stated(key):
    fit, caught = fitted(key)
    ref = R[key]
    assert fit.singular == ref["singular"]
    singular_warnings = [w for w in caught if issubclass(w.category, SingularFitWarning)]
    assert bool(singular_warnings) == ref["singular"]
    assert fit.converged
    assert not [w for w in caught if issubclass(w.category, ModelWarning)] or ref["singular"]
    if ref["singular"]:
        text = str(singular_warnings[0].message)
        assert "perfectly correlated" in text
        assert any(m.startswith("Singular fit") for m in fit.messages)
        assert fit.random.loc[2, "corr"] == pytest.approx(np.sign(fit.random.loc[2, "corr"]))
        assert "Singular fit" in str(fit.summary())


def test_terms_are_named():
    assert fitted("cohort_type_reml")[0].fixed["term"].tolist() == [
        "Intercept",
        "months",
        "sma_type[T.3]",
    ]
    assert fitted("cohort_knots_reml")[0].fixed["term"].tolist() == [
        "Intercept",
        "months",
        "months_after_2",
        "months_after_12",
    ]
    assert fitted("cohort_slope_reml")[0].random["component"].tolist() == [
        "Intercept",
        "months",
        "corr(Intercept, months)",
        "Residual",
    ]


def test_excluded_rows_are_counted():
    data = load("sma_dropout")
    fit, _ = fitted("dropout_type_reml")
    assert fit.n_excluded == int(data["score"].isna().sum()) == 6
    assert fit.n_obs == len(data) - 6
    assert fit.messages[0] == "6 row(s) excluded as incomplete (score missing in 6)."
    # a missing covariate is counted under its own name
    d = data.copy()
    d.loc[d.index[:3], "sma_type"] = np.nan
    d.loc[d.index[0], "score"] = np.nan  # counted once, under score
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)
        f2 = fit_lmm(d, covariates="sma_type")
    n_score = int(d["score"].isna().sum())
    n_type = int((d["sma_type"].isna() & d["score"].notna()).sum())
    assert f2.n_excluded == n_score + n_type
    assert f"score missing in {n_score}" in f2.messages[0]
    assert f"sma_type missing in {n_type}" in f2.messages[0]


def test_input_frame_is_not_modified():
    data = load("sma_dropout").copy()
    before = data.copy()
    fit_lmm(data, covariates="sma_type")
    pd.testing.assert_frame_equal(data, before)


def test_time_derived_from_day():
    data = load("sma_cohort").drop(columns="months")
    fit = fit_lmm(data)
    ref = fitted("cohort_slope_reml")[0]
    np.testing.assert_allclose(fit.fixed["estimate"], ref.fixed["estimate"], rtol=1e-9)
    years = fit_lmm(data, time="years")
    assert years.fixed["term"].tolist() == ["Intercept", "years"]
    np.testing.assert_allclose(
        years.fixed["estimate"].iloc[1], ref.fixed["estimate"].iloc[1] * 12, rtol=1e-6
    )
    # ML log-likelihood does not depend on the unit of time
    assert fit_lmm(data, time="years", reml=False).loglik == pytest.approx(
        fitted("cohort_slope_ml")[0].loglik, abs=1e-6
    )
    with pytest.raises(ColumnError, match=r"fit_lmm\(\) needs the column 'weeks'.*`time`"):
        fit_lmm(data, time="weeks")


def test_measure_selection():
    a = load("sma_cohort").assign(measure="HFMSE")
    b = load("sma_cohort").assign(measure="RULM", score=lambda d: d["score"] / 2)
    both = pd.concat([a, b], ignore_index=True)
    with pytest.raises(MeasureError, match=r"data have 2: pass `measure=` one of \['HFMSE', 'RULM'\]"):
        fit_lmm(both)
    fit = fit_lmm(both, "HFMSE")
    ref = fitted("cohort_slope_reml")[0]
    np.testing.assert_allclose(fit.fixed["estimate"], ref.fixed["estimate"], rtol=1e-9)
    assert fit.measure == "HFMSE"
    assert "[HFMSE]" in str(fit.summary())
    with pytest.raises(MeasureError, match="`measure` 'CHOP_INTEND' is not in the data"):
        fit_lmm(both, "CHOP_INTEND")


def test_bad_arguments():
    data = load("sma_cohort")
    with pytest.raises(OptionError, match=r"`random` must be one of \['slope', 'intercept', 'piecewise'\], not 'quadratic'"):
        fit_lmm(data, random="quadratic")
    with pytest.raises(ColumnError, match=r"needs the column 'height'"):
        fit_lmm(data, covariates="height")
    with pytest.raises(OptionError, match="`level` must be strictly between 0 and 1"):
        fit_lmm(data, level=95)
    with pytest.raises(ValueError, match="only one level"):
        fit_lmm(data.assign(site="A"), covariates="site")
    with pytest.raises(ValueError, match="not estimable"):
        fit_lmm(data.assign(m2=data["months"] * 2), covariates="m2")


def test_random_intercept_on_the_boundary():
    """Identical group means: the intercept variance is zero (a 'zero' boundary)."""
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 6)
    noise -= noise.mean()
    t = np.arange(6.0)
    d = pd.DataFrame(
        {
            "patient_id": np.repeat([f"P{i}" for i in range(8)], 6),
            "months": np.tile(t, 8),
            "score": np.concatenate([10 + 0.5 * t + rng.permutation(noise) for _ in range(8)]),
        }
    )
    with pytest.warns(SingularFitWarning, match="random intercept .* estimated as zero"):
        fit = fit_lmm(d, random="intercept")
    assert fit.singular and fit.converged
    assert fit.random["variance"].iloc[0] == 0.0
    # with zero between-patient variance the fit is ordinary least squares
    X = np.c_[np.ones(len(d)), d["months"]]
    beta, rss = np.linalg.lstsq(X, d["score"], rcond=None)[:2]
    np.testing.assert_allclose(fit.fixed["estimate"], beta, rtol=1e-10)
    np.testing.assert_allclose(fit.sigma**2, rss[0] / (len(d) - 2), rtol=1e-10)


def test_categorical_levels_and_prediction():
    data = load("sma_cohort")
    d = data.assign(
        sma_type=pd.Categorical(
            data["sma_type"].map({"2": "type 2", "3": "type 3"}), categories=["type 3", "type 2"]
        ),
        walker=data["sma_type"] == "3",
    )
    fit = fit_lmm(d, covariates=["sma_type"])
    assert fit.fixed["term"].tolist() == ["Intercept", "months", "sma_type[T.type 2]"]
    ref = fitted("cohort_type_reml")[0]
    assert fit.fixed["estimate"].iloc[2] == pytest.approx(-ref.fixed["estimate"].iloc[2], rel=1e-7)
    fb = fit_lmm(d, covariates="walker")
    assert fb.fixed["term"].tolist() == ["Intercept", "months", "walker[T.True]"]
    assert fb.fixed["estimate"].iloc[2] == pytest.approx(ref.fixed["estimate"].iloc[2], rel=1e-7)
    with pytest.raises(ValueError, match="level"):
        fit.predict(pd.DataFrame({"months": [1.0], "sma_type": ["type 1"]}), include_random=False)
    with pytest.raises(ColumnError, match="needs the column 'sma_type'"):
        fit.predict(pd.DataFrame({"months": [1.0]}), include_random=False)


def test_group_list_is_an_option_error():
    """Issue 10: fit_lmm(group=[...]) ended in a raw TypeError (unhashable list)."""
    data = load("sma_cohort")
    with pytest.raises(OptionError, match=r"`group` takes one column name \(a str\), not list"):
        fit_lmm(data, group=["patient_id", "sma_type"])
    with pytest.raises(OptionError, match="`time` takes one column name"):
        fit_lmm(data, time=["months"])
    with pytest.raises(OptionError, match="`knots` takes numbers"):
        fit_lmm(data, knots=["a"])


def test_predict_with_random_effects():
    fit, _ = fitted("cohort_type_reml")
    data = load("sma_cohort")
    own = fit.predict(data)
    b = fit.blups.set_index("patient_id").loc[data["patient_id"]]
    beta = fit.fixed.set_index("term")["estimate"]
    expect = (
        beta["Intercept"]
        + beta["months"] * data["months"].to_numpy()
        + beta["sma_type[T.3]"] * (data["sma_type"] == "3").to_numpy()
        + b["intercept"].to_numpy()
        + b["slope"].to_numpy() * data["months"].to_numpy()
    )
    np.testing.assert_allclose(own["estimate"], expect, rtol=1e-12)
    # residuals are small next to the between-patient spread
    assert np.std(data["score"] - own["estimate"]) < 2.0
    new = pd.DataFrame(
        {"patient_id": ["P001", "ZZZ"], "months": [6.0, 6.0], "sma_type": ["3", "3"]}
    )
    with pytest.warns(ModelWarning, match="1 row"):
        out = fit.predict(new)
    pop = fit.predict(new, include_random=False)
    assert out["estimate"].iloc[1] == pytest.approx(pop["estimate"].iloc[1])
    assert out["estimate"].iloc[0] != pytest.approx(pop["estimate"].iloc[0])
    times = fit_lmm(load("sma_cohort")).predict([0.0, 12.0], include_random=False)
    assert times.columns.tolist() == ["months", "estimate", "se", "df", "ci_low", "ci_high"]


def test_statsmodels_cross_check():
    """statsmodels MixedLM on a well-scaled case (sleepstudy) gives the same fit."""
    import statsmodels.formula.api as smf

    d = load("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = smf.mixedlm("Reaction ~ Days", d, groups=d["Subject"], re_formula="~Days").fit(
            reml=True, method=["lbfgs"]
        )
    fit, _ = fitted("sleep_slope_reml")
    np.testing.assert_allclose(fit.fixed["estimate"], sm.fe_params, rtol=1e-6)
    np.testing.assert_allclose(fit.fixed["se"], sm.bse_fe, rtol=1e-4)
    assert fit.loglik == pytest.approx(sm.llf, abs=1e-6)
    cov = sm.cov_re.to_numpy()
    np.testing.assert_allclose(fit.random_covariance.to_numpy(), cov, rtol=1e-4)
    assert fit.sigma**2 == pytest.approx(sm.scale, rel=1e-4)


def test_text_and_html_repr():
    fit, _ = fitted("cohort_type_reml")
    summary = fit.summary()
    assert not isinstance(summary, str)
    html = summary._repr_html_()
    assert html == fit._repr_html_()
    assert "<b>556 observations from 80 patients, up to 8 visits</b>" in html
    assert "sma_type[T.3]" in html and "Satterthwaite" in html and "<table" in html
    text = str(summary)
    assert text == repr(summary)
    assert text.splitlines()[0] == "556 observations from 80 patients, up to 8 visits"
    assert "score ~ months + sma_type + (1 + months | patient_id), REML" in text
    # lme4: REMLcrit(fit) = 2654.50065575518 (lmm_reference.json)
    assert f"REML criterion: {R['cohort_type_reml']['reml_criterion']:.4f}" in text
    sleep, _ = fitted("sleep_slope_ml")
    assert str(sleep.summary()).startswith("180 observations from 18 groups (Subject), up to 10")
    # lme4: logLik(fit) = -875.969672231599
    assert f"log-likelihood: {R['sleep_slope_ml']['loglik']:.4f}" in str(sleep.summary())
    assert "LMMResult" in repr(sleep)


def test_common_result_fields():
    fit, _ = fitted("cohort_type_reml")
    assert (fit.n_obs, fit.n_patients, fit.n_visits_max) == (556, 80, 8)
    assert (fit.n_groups, fit.max_visits, fit.messages) == (80, 8, fit.notes)
    assert fit.method == "REML" and fit.level == 0.95 and fit.converged
    pd.testing.assert_frame_equal(fit.tidy(), fit.fixed)
    assert fit.tidy().columns.tolist() == [
        "term", "estimate", "se", "df", "t", "p_value", "ci_low", "ci_high"
    ]
    g = fit.glance()
    assert len(g) == 1
    for name in ("n_obs", "n_patients", "n_visits_max", "method", "level", "converged",
                 "loglik", "aic", "bic"):
        assert g[name].iloc[0] == getattr(fit, name)


def test_level_is_honoured_by_tables_predictions_and_plot():
    from scipy import stats

    data = load("sma_cohort")
    f80 = fit_lmm(data, covariates="sma_type", level=0.8)
    f95, _ = fitted("cohort_type_reml")
    assert f80.level == 0.8
    np.testing.assert_allclose(f80.fixed["estimate"], f95.fixed["estimate"], rtol=1e-12)
    q80 = stats.t.ppf(0.9, f80.fixed["df"])
    np.testing.assert_allclose(f80.fixed["ci_high"] - f80.fixed["estimate"],
                               q80 * f80.fixed["se"], rtol=1e-12)
    pd.testing.assert_frame_equal(f80.tidy(level=0.95), f95.fixed, rtol=1e-9)
    new = pd.DataFrame({"months": [0.0, 12.0], "sma_type": ["2", "2"]})
    p80 = f80.predict(new, include_random=False)
    q = stats.t.ppf(0.9, p80["df"])
    np.testing.assert_allclose(p80["ci_high"] - p80["estimate"], q * p80["se"], rtol=1e-12)
    p95 = f80.predict(new, include_random=False, level=0.95)
    pd.testing.assert_frame_equal(p95, f95.predict(new, include_random=False), rtol=1e-9)
    ax = f80.plot().axes[0]
    band = ax.collections[0]
    assert band.get_label() == "80% confidence band"
    curve = f80.population_curve(ax.lines[-1].get_xdata())
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(curve["ci_high"].max(), rel=1e-12)
    assert "80% CI" in str(f80.summary())


def test_plot_draws_patients_and_population_curve():
    from matplotlib.figure import Figure

    fit, _ = fitted("cohort_knots_reml")
    fig = fit.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == fit.n_groups + 1
    curve = ax.lines[-1]
    x, y = curve.get_data()
    pred = fit.predict(pd.DataFrame({"months": x}), include_random=False)
    np.testing.assert_allclose(y, pred["estimate"], rtol=1e-12)
    assert len(ax.collections) == 1  # the confidence band
    # an existing axes is used
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    assert fit.plot(ax=ax2) is fig2


def test_unidentifiable_random_effects_raise():
    d = load("sma_cohort")
    one = d.groupby("patient_id").tail(1)
    with pytest.raises(ValueError, match="random intercept needs more observations than groups"):
        fit_lmm(one, random="intercept")
    two = d.groupby("patient_id").head(2)
    with pytest.raises(ValueError, match=r"cannot estimate 160 random effects.*random='intercept'"):
        fit_lmm(two)
    assert fit_lmm(two, random="intercept").n_obs == 160


def test_exact_lines_are_not_reported_as_converged():
    """Scores exactly on each patient's line: residual variance ~0, stated plainly."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(20), 4).astype(str),
            "months": np.tile([0.0, 3, 6, 9], 20),
        }
    )
    d["score"] = (
        rng.normal(20, 10, 20).repeat(4)
        + rng.normal(0.3, 0.2, 20).repeat(4) * d["months"]
        + rng.normal(0, 1e-7, len(d))
    )
    with pytest.warns(ConvergenceWarning, match="practically zero"):
        fit = fit_lmm(d)
    assert not fit.converged


def test_convergence_failure_is_stated(monkeypatch):
    """A fit stopped away from the optimum is caught by the gradient check."""
    from sma_outcomes.stats.lmm import core as _lmm_core

    real = _lmm_core.fit_theta

    def stopped_short(cp, reml, x0=None, extra_starts=None):
        path = real(cp, reml, x0, extra_starts)
        path.theta = path.theta * 1.5
        return path

    monkeypatch.setattr(_lmm_core, "fit_theta", stopped_short)
    with pytest.warns(ConvergenceWarning, match="did not reach a verified optimum"):
        fit = fit_lmm(load("sleepstudy"), y="Reaction", time="Days", group="Subject")
    assert not fit.converged
    assert "largest gradient" in str(fit.summary())


def test_row_order_and_shift_invariance():
    d = load("sma_cohort")
    ref = fitted("cohort_type_reml")[0]
    shuffled = d.sample(frac=1.0, random_state=1)
    fit = fit_lmm(shuffled, covariates="sma_type")
    np.testing.assert_allclose(fit.fixed["estimate"], ref.fixed["estimate"], rtol=1e-7)
    assert fit.reml_criterion == pytest.approx(ref.reml_criterion, abs=1e-8)
    shifted = fit_lmm(d.assign(score=d["score"] + 100.0), covariates="sma_type")
    np.testing.assert_allclose(
        shifted.fixed["estimate"] - ref.fixed["estimate"], [100.0, 0.0, 0.0], atol=1e-7
    )
    np.testing.assert_allclose(shifted.random["variance"], ref.random["variance"], rtol=1e-7)


def test_time_in_days_where_lme4_stops_early():
    """Time in days: lme4 (bobyqa) stops at its evaluation limit; we reach the optimum.

    R warned "maximum number of function evaluations exceeded" and "Model failed
    to converge" (lmm_reference.txt). Rescaling time is a reparameterisation, so
    the optimum must equal the months fit with the slope divided by 30.4375 and
    the REML criterion raised by 2 log(30.4375) (the log-determinant of X'V^-1 X).
    """
    ref = R["cohort_days_reml"]
    assert any("failed to converge" in w for w in ref["warnings"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        days = fit_lmm(load("sma_cohort"), time="day")
    months = fitted("cohort_slope_reml")[0]
    assert days.converged
    assert days.reml_criterion < ref["reml_criterion"] - 1.0  # R stopped early
    assert days.reml_criterion == pytest.approx(
        months.reml_criterion + 2 * np.log(30.4375), abs=1e-6
    )
    np.testing.assert_allclose(
        days.fixed["estimate"], months.fixed["estimate"] / [1, 30.4375], rtol=1e-6
    )
    np.testing.assert_allclose(days.fixed["df"], months.fixed["df"], rtol=1e-4)


def test_small_badly_scaled_data_where_lme4_fails():
    """small_b: 8 patients, time span 0.01; lme4 stops short with both optimisers.

    bobyqa reported "Model failed to converge" (REML criterion 77.9996) and the
    default nloptwrap stopped at 69.2725; our optimum (69.1608) is lower than
    both, and a Nelder-Mead search from several starts finds the same value.
    """
    from scipy import optimize

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit = fit_lmm(load("small_b"))
    assert fit.converged
    assert fit.reml_criterion < R["small_b_reml"]["reml_criterion"] - 8.0
    assert fit.reml_criterion < R["small_b_reml_default"]["reml_criterion"] - 0.1
    # independent optimum: lme4's deviance function minimised by nlminb and
    # Nelder-Mead from 75 starts (small_b_optimum.R -> small_b_optimum.txt)
    printed = (REF_DIR / "small_b_optimum.txt").read_text()
    r_optimum = float(printed.split("REML criterion:")[1].split()[0])
    assert fit.reml_criterion == pytest.approx(r_optimum, abs=1e-6)
    # an independent derivative-free search over theta on the same deviance
    from sma_outcomes.stats.lmm import core
    from sma_outcomes.stats.lmm.design import build_design
    from sma_outcomes.stats.lmm.fit import Scaling

    des = build_design(
        load("small_b"),
        None,
        y="score",
        time="months",
        group="patient_id",
        random="slope",
        knots=None,
        covariates=None,
    )
    sc = Scaling(des)
    cp = core.cross_products(sc.X, sc.Z, sc.y, des.codes)
    nm = optimize.minimize(
        lambda th: core.solve_pls(cp, core.theta_to_lambda(th, 2)).deviance(True),
        [200.0, 100.0, 3.0],
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 1500},
    )
    assert fit.reml_criterion <= nm.fun + 1e-6


def test_summary_golden():
    """The printed summary of sleepstudy (random slope, REML) is stable."""
    fit, _ = fitted("sleep_slope_reml")
    expected = (REF_DIR / "summary_sleep_slope_reml.txt").read_text()
    assert str(fit.summary()) + "\n" == expected


@settings(max_examples=12, deadline=None)
@given(
    shift=st.floats(min_value=-100.0, max_value=100.0),
    log_scale=st.floats(min_value=-3.0, max_value=3.0),
)
def test_affine_time_is_a_reparameterisation(shift, log_scale):
    """time -> (time + shift) * scale leaves the ML fit unchanged (up to the slope unit).

    A correlated random intercept and slope is invariant to affine changes of
    time, so the ML log-likelihood, residual SD, slope SD (times the scale) and
    the slope's Satterthwaite df must not move, and no warning may appear: a
    check of the internal centring and scaling.
    """
    scale = 10.0**log_scale
    base = fitted("sleep_slope_ml")[0]
    d = load("sleepstudy").assign(T=lambda x: (x["Days"] + shift) * scale)
    fit = fit_lmm(d, y="Reaction", time="T", group="Subject", reml=False)
    assert fit.loglik == pytest.approx(base.loglik, abs=1e-6)
    assert fit.sigma == pytest.approx(base.sigma, rel=1e-5)
    slope_sd = fit.random.set_index("component").loc["T", "sd"]
    assert slope_sd * scale == pytest.approx(base.random["sd"].iloc[1], rel=1e-4)
    slope = fit.fixed.set_index("term").loc["T"]
    assert slope["estimate"] * scale == pytest.approx(base.fixed["estimate"].iloc[1], rel=1e-6)
    assert slope["df"] == pytest.approx(base.fixed["df"].iloc[1], rel=1e-4)
    assert fit.converged and not fit.messages


def test_plot_labels_time_derived_from_day():
    data = load("sma_cohort").drop(columns="months").assign(measure="HFMSE")
    fig = fit_lmm(data, "HFMSE").plot()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Months since first dose"
    assert ax.get_ylabel().startswith("HFMSE")
    assert ax.get_title() == "556 observations from 80 patients, up to 8 visits"


# ------------------------------------------------------------------ piecewise
# random="piecewise" against lme4/lmerTest (tests/reference/lmm_piecewise: the R
# script piecewise_reference.R, its printout piecewise_reference.txt and the
# numbers in piecewise_reference.json; data from simulate.py and lme4's
# sleepstudy with t = Days - 2, i.e. "treatment" from day 2). Tolerances are
# about 10x the largest discrepancy measured over the 9 cases (in brackets):
# estimates 2e-5 relative (1.6e-6), SEs 4e-5 (3.8e-6), Satterthwaite df 1e-4
# (1.1e-5), log p 1e-4 (9.2e-6), random-effects covariance 8e-5 of
# sd_i sd_j (7.7e-6), sigma 6e-6 (6.2e-7), theta 5e-4 absolute (5e-5),
# REML criterion / -2 log-likelihood, AIC, BIC 1.5e-8 absolute (1.3e-9),
# coef() 6e-5 of the column's scale (5.7e-6), prediction-error SEs of coef()
# 3e-5 relative (2.8e-6), ranef(condVar = TRUE) SDs 4e-5 (3.4e-6), on_slope
# 2e-6 absolute (1.4e-7).
PW_DIR = REFERENCE / "lmm_piecewise"
PW = json.loads((PW_DIR / "piecewise_reference.json").read_text())
PW_CASES = {
    "sleep_pw": ("sleep_t", {"y": "Reaction", "time": "t", "group": "Subject"}),
    "sma_pw": ("sma_pre", {"covariates": "sma_type"}),
    "sma_pw_knot2": ("sma_pre", {"knots": [2]}),
    "sma_pw_two": ("sma_pre", {"knots": [0, 6]}),
    "singular_pw": ("sma_pre_singular", {}),
    # the bundled cohort: every patient's baseline (days -28 to 0), and 1-3 visits
    # 3-12 months before the first dose for 23 of the 80 patients
    "cohort_pw": ("cohort_hfmse", {}),
}
#: Near-singular fits where the Satterthwaite df of the slopes are numerically
#: ill-determined (numDeriv-style Richardson differences depend on the first step
#: and on the parameterisation of theta, in R as here): only the intercept's df is
#: compared at the usual tolerance. None at present: the bundled cohort was one
#: (pre-slope / slope-change correlation -0.998) while its only pre-treatment points
#: were the baselines; with its pre-treatment visits (correlation -0.84) its df agree
#: to 2e-6.
PW_ILL_CONDITIONED_DF: set[str] = set()


@cache
def pw_data(name: str) -> pd.DataFrame:
    if name == "sleep_t":
        return load("sleepstudy").assign(t=lambda d: d["Days"] - 2.0)
    return pd.read_csv(PW_DIR / f"{name}.csv", dtype={"patient_id": str, "sma_type": str})


@cache
def pw_fitted(key: str) -> tuple[LMMResult, list[warnings.WarningMessage]]:
    case, method = key.rsplit("_", 1)
    name, kw = PW_CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_lmm(pw_data(name).copy(), random="piecewise", reml=method == "reml", **kw)
    return fit, list(caught)


@pytest.mark.parametrize("key", list(PW))
def test_piecewise_fixed_effects_and_likelihood_match_lmertest(key):
    fit, _ = pw_fitted(key)
    ref = PW[key]
    np.testing.assert_allclose(fit.fixed["estimate"], ref["estimate"], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=4e-5)
    ok = np.ones(len(ref["df"]), dtype=bool)
    if key in PW_ILL_CONDITIONED_DF:
        # the slopes' df are numerically ill-determined here (see PW_ILL_CONDITIONED_DF)
        ok[1:] = False
        np.testing.assert_allclose(fit.fixed["df"][~ok], np.asarray(ref["df"])[~ok], rtol=0.3)
    np.testing.assert_allclose(fit.fixed["df"][ok], np.asarray(ref["df"])[ok], rtol=1e-4)
    np.testing.assert_allclose(np.log(fit.fixed["p_value"][ok]), np.log(ref["p_value"])[ok],
                               rtol=1e-4)
    assert (fit.n_obs, fit.n_patients) == (ref["nobs"], ref["ngroups"])
    if ref["reml"]:
        assert fit.reml_criterion == pytest.approx(ref["reml_criterion"], abs=1.5e-8)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-8)
    assert fit.aic == pytest.approx(ref["aic"], abs=1.5e-8)
    assert fit.bic == pytest.approx(ref["bic"], abs=1.5e-8)


@pytest.mark.parametrize("key", list(PW))
def test_piecewise_variance_components_match_lme4(key):
    fit, _ = pw_fitted(key)
    ref = PW[key]
    cov = np.asarray(ref["re_cov"], dtype=float)
    sd = np.sqrt(np.diag(cov))
    D = fit.random_covariance.to_numpy()
    np.testing.assert_allclose((D - cov) / np.outer(sd, sd), 0.0, rtol=0, atol=8e-5)
    np.testing.assert_allclose(fit.sigma, ref["sigma"], rtol=6e-6)
    np.testing.assert_allclose(fit.theta, ref["theta"], rtol=0, atol=5e-4)
    tab = fit.random.set_index("component")
    names = fit.random_covariance.index.tolist()
    assert names[1:] == [fit.time, *[f"{fit.time}_after_{k:g}" for k in fit.knots]]
    corr = np.asarray(ref["re_corr"], dtype=float)
    for j in range(len(names)):
        for i in range(j + 1, len(names)):
            assert tab.loc[f"corr({names[j]}, {names[i]})", "corr"] == pytest.approx(
                corr[i, j], abs=1e-4
            )


@pytest.mark.parametrize("key", list(PW))
def test_piecewise_patient_coefficients_match_lme4_coef(key):
    fit, _ = pw_fitted(key)
    ref = PW[key]
    q = len(fit.random_covariance)
    groups = ref["groups"]
    pc = fit.patient_coefficients().set_index(fit.group).loc[groups]
    theirs = np.asarray(ref["coef"], dtype=float)
    scale = np.abs(theirs).max(axis=0)
    # lme4's coef(): intercept, time, then one column per hinge
    if q == 3:
        ours = pc[["intercept", "pre_slope", "slope_change"]].to_numpy()
        se = pc[["se_intercept", "se_pre_slope", "se_slope_change"]].to_numpy()
        np.testing.assert_allclose(pc["on_slope"], ref["on_slope"], rtol=0, atol=2e-6)
        np.testing.assert_allclose(pc["se_on_slope"], ref["on_slope_se"], rtol=3e-5)
        np.testing.assert_allclose(pc["on_slope"], pc["pre_slope"] + pc["slope_change"],
                                   rtol=1e-12)
    else:
        ours = pc[["intercept", "slope_1", "change_1", "change_2"]].to_numpy()
        se = pc[["se_intercept", "se_slope_1", "se_change_1", "se_change_2"]].to_numpy()
        np.testing.assert_allclose(pc["slope_2"], pc["slope_1"] + pc["change_1"], rtol=1e-12)
        np.testing.assert_allclose(pc["slope_3"], pc["slope_2"] + pc["change_2"], rtol=1e-12)
        np.testing.assert_allclose(pc["slope_2"], ref["on_slope"], rtol=0, atol=2e-6)
        np.testing.assert_allclose(pc["se_slope_2"], ref["on_slope_se"], rtol=3e-5)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=6e-5 * scale.max())
    np.testing.assert_allclose(ours / scale, theirs / scale, rtol=0, atol=6e-5)
    np.testing.assert_allclose(se, ref["coef_se"], rtol=3e-5)
    cond = fit.ranef_se().set_index(fit.group).loc[groups].to_numpy()
    np.testing.assert_allclose(cond, ref["ranef_se"], rtol=4e-5)
    # BLUPs = coef() - fixed effects
    blups = fit.blups.set_index(fit.group).loc[groups].to_numpy()
    np.testing.assert_allclose(blups, ref["ranef"], rtol=0, atol=6e-5 * scale.max())


@pytest.mark.parametrize("key", list(PW))
def test_piecewise_singular_fits_are_reported(key):
    fit, caught = pw_fitted(key)
    ref = PW[key]
    assert fit.singular == ref["singular"]
    assert fit.converged
    sing = [w for w in caught if issubclass(w.category, SingularFitWarning)]
    assert bool(sing) == ref["singular"]
    others = [w for w in caught if not issubclass(w.category, SingularFitWarning)]
    assert not others
    if ref["singular"]:
        text = str(sing[0].message)
        assert text.startswith("Singular fit:") and "rank" in text
        assert text in fit.notes and "Singular fit" in str(fit.summary())


def test_piecewise_counts_pre_treatment_points_and_keeps_every_patient():
    fit, _ = pw_fitted("sma_pw_reml")
    data = pw_data("sma_pre")
    pc = fit.patient_coefficients()
    assert len(pc) == data["patient_id"].nunique() == 60
    expected = data.groupby("patient_id")["n_pre"].first()  # written by simulate.py
    assert (pc.set_index("patient_id")["n_pre"] == expected.loc[pc["patient_id"]]).all()
    assert (pc["n_pre"] == 0).sum() == 16  # kept, their pre-slope shrunk
    assert pc.columns.tolist() == [
        "patient_id", "n_obs", "n_pre", "intercept", "pre_slope", "slope_change", "on_slope",
        "se_intercept", "se_pre_slope", "se_slope_change", "se_on_slope",
    ]
    # shrinkage: without pre-treatment points, the pre-slope is less certain
    none, three = pc[pc["n_pre"] == 0], pc[pc["n_pre"] == 3]
    assert none["se_pre_slope"].min() > three["se_pre_slope"].max()
    pop = fit.fixed.set_index("term")["estimate"]
    assert (none["pre_slope"] - pop["months"]).abs().mean() < (
        three["pre_slope"] - pop["months"]
    ).abs().mean()


def test_piecewise_prediction_uses_each_patients_line():
    fit, _ = pw_fitted("sma_pw_knot2_reml")
    data = pw_data("sma_pre")
    pc = fit.patient_coefficients().set_index("patient_id").loc[data["patient_id"]]
    t = data["months"].to_numpy()
    expect = (pc["intercept"].to_numpy() + pc["pre_slope"].to_numpy() * t
              + pc["slope_change"].to_numpy() * np.maximum(t - 2.0, 0.0))
    np.testing.assert_allclose(fit.predict(data)["estimate"], expect, rtol=1e-12)
    assert fit.knots == [2.0]
    assert "(1 + months + (months - 2)+ | patient_id)" in str(fit.summary())


def test_piecewise_default_knot_is_the_first_dose():
    fit, _ = pw_fitted("sma_pw_reml")
    assert fit.knots == [0.0] and fit.random_type == "piecewise"
    assert fit.fixed["term"].tolist() == ["Intercept", "months", "months_after_0", "sma_type[T.3]"]
