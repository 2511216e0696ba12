"""The one result model of fit_lmm and fit_mmrm (issue 10): same fields, same methods."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sma_outcomes as so
from sma_outcomes.stats._result import COMMON_FIELDS, ModelResult, Summary

TIDY = ["term", "estimate", "se", "df", "t", "p_value", "ci_low", "ci_high"]


@pytest.fixture(scope="module")
def fits() -> dict[str, ModelResult]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = so.load_example("cohort")
        changes = so.change_from_baseline(scores)
        return {
            "lmm": so.fit_lmm(scores, "HFMSE", covariates="sma_type", level=0.9),
            "mmrm": so.fit_mmrm(changes, "HFMSE", level=0.9),
        }


def test_result_classes_are_exported_at_the_top_level(fits):
    assert isinstance(fits["lmm"], so.LMMResult)
    assert isinstance(fits["mmrm"], so.MMRMResult)
    assert issubclass(so.LMMResult, ModelResult) and issubclass(so.MMRMResult, ModelResult)


@pytest.mark.parametrize("kind", ["lmm", "mmrm"])
def test_common_fields(fits, kind):
    fit = fits[kind]
    for name in (*COMMON_FIELDS, "notes"):
        assert hasattr(fit, name), name
    assert fit.method == "REML" and fit.level == 0.9 and fit.converged
    assert isinstance(fit.notes, list)
    assert fit.n_obs > fit.n_patients > 0 and fit.n_visits_max >= 2
    assert np.isfinite([fit.loglik, fit.aic, fit.bic]).all()


@pytest.mark.parametrize("kind", ["lmm", "mmrm"])
def test_tidy_and_glance(fits, kind):
    fit = fits[kind]
    tab = fit.tidy()
    assert tab.columns.tolist() == TIDY
    pd.testing.assert_frame_equal(tab, fit.fixed)
    from scipy import stats

    half = stats.t.ppf(0.95, tab["df"]) * tab["se"]  # level 0.9
    np.testing.assert_allclose(tab["ci_high"] - tab["estimate"], half, rtol=1e-10)
    wide = fit.tidy(level=0.99)
    assert (wide["ci_high"] > tab["ci_high"]).all()
    g = fit.glance()
    assert len(g) == 1 and g["model"].iloc[0] == kind
    assert g.columns[:10].tolist() == ["model", *COMMON_FIELDS]
    assert g["n_obs"].iloc[0] == fit.n_obs and g["aic"].iloc[0] == fit.aic


@pytest.mark.parametrize("kind", ["lmm", "mmrm"])
def test_summary_prints_as_text_and_shows_as_html(fits, kind):
    fit = fits[kind]
    s = fit.summary()
    assert isinstance(s, Summary) and not isinstance(s, str)
    text = str(s)
    assert f"{fit.n_obs} observations from {fit.n_patients} patients" in text
    assert "90%" in text
    html = s._repr_html_()
    assert html.startswith("<div") and "<table" in html
    assert fit._repr_html_() == html


@pytest.mark.parametrize("kind", ["lmm", "mmrm"])
def test_predict_gives_intervals_at_the_level(fits, kind):
    from scipy import stats

    fit = fits[kind]
    pred = fit.predict(include_random=False) if kind == "lmm" else fit.predict()
    assert {"estimate", "se", "df", "ci_low", "ci_high"} <= set(pred.columns)
    assert len(pred) == fit.n_obs
    half = stats.t.ppf(0.95, pred["df"]) * pred["se"]
    np.testing.assert_allclose(pred["ci_high"] - pred["estimate"], half, rtol=1e-10)
    other = fit.predict(include_random=False, level=0.5) if kind == "lmm" else fit.predict(level=0.5)
    assert (other["ci_high"] < pred["ci_high"]).all()


def test_mmrm_predict_matches_lsmeans_cells(fits):
    fit = fits["mmrm"]
    pred = fit.predict()
    X = fit.design.X
    np.testing.assert_allclose(pred["estimate"], X @ fit.beta, rtol=1e-12)


def test_mmrm_predict_on_new_rows(fits):
    fit = fits["mmrm"]
    d = fit.design
    new = d.data.iloc[:5].copy()
    new[d.visit] = new[d.visit].astype(str)  # plain strings are matched to the levels
    out = fit.predict(new)
    np.testing.assert_allclose(out["estimate"], fit.predict()["estimate"].iloc[:5], rtol=1e-12)
    with pytest.raises(so.ColumnError, match="needs the column 'baseline'"):
        fit.predict(new.drop(columns="baseline"))


def test_lmm_predict_needs_the_group_for_patient_lines(fits):
    fit = fits["lmm"]
    with pytest.raises(so.ColumnError, match="include_random=False"):
        fit.predict(pd.DataFrame({"months": [1.0], "sma_type": [2]}))
