"""Rubin's rules against R's mice::pool on the same completed data sets.

tests/reference/mice/completed_jr_bootstrap.csv holds 10 completed data sets written by
fit_mi (bootstrap, JR, seed 2026) on rbmi's antidepressant data;
tests/reference/mice/pool_ancova.R pools lm(CHANGE ~ THERAPY + BASVAL) per visit with
mice 3.15.0 (R 4.2.2) into pool_ancova.csv (printed in pool_ancova.out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.stats.mi import fit_mi
from sma_outcomes.stats.mi.analysis import Analysis
from sma_outcomes.stats.mi.data import prepare_data
from sma_outcomes.stats.mi.pool import barnard_rubin, jackknife, rubin

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def completed():
    return pd.read_csv(REF / "mice" / "completed_jr_bootstrap.csv")


@pytest.fixture(scope="module")
def mice_out():
    return pd.read_csv(REF / "mice" / "pool_ancova.csv")


def test_rubin_matches_mice_pool(completed, mice_out):
    first = completed[completed[".imp"] == 1]
    md = prepare_data(first, y="CHANGE", visit="VISIT", group="PATIENT", arm="THERAPY",
                      columns=["BASVAL"])
    an = Analysis(md, "ancova", ["BASVAL"])
    runs = []
    for _, g in completed.groupby(".imp"):
        Y = g.sort_values(["PATIENT", "VISIT"])["CHANGE"].to_numpy().reshape(md.n, md.d)
        runs.append(an.run(Y, np.arange(md.n)))
    est = np.array([r[0] for r in runs])
    var = np.array([r[1] for r in runs])
    q, se, df = rubin(est, var, runs[0][2])
    sel = (an.params["kind"] == "difference").to_numpy()
    assert an.params.loc[sel, "arm"].unique().tolist() == ["PLACEBO - DRUG"]
    np.testing.assert_allclose(q[sel], mice_out["estimate"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(se[sel], mice_out["se"], rtol=1e-10)
    np.testing.assert_allclose(df[sel], mice_out["df"], rtol=1e-8)
    assert runs[0][2][sel].tolist() == mice_out["dfcom"].tolist()


def test_fit_mi_reproduces_the_completed_sets_and_pools_like_mice(completed, mice_out):
    data = pd.read_csv(REF / "rbmi" / "antidepressant.csv")
    ice = pd.read_csv(REF / "rbmi" / "ice.csv").rename(columns={"STRATEGY": "strategy"})
    fit = fit_mi(data, arm="THERAPY", covariates=["BASVAL"], y="CHANGE", visit="VISIT",
                 group="PATIENT", ice=ice, references={"DRUG": "PLACEBO"},
                 formula="BASVAL*VISIT + THERAPY*VISIT", method="bootstrap",
                 n_imputations=10, seed=2026)
    ours = np.concatenate([s["CHANGE"].to_numpy() for s in fit.imputed])
    # the same draws; the refits stop within the REML convergence tolerance (~1e-6)
    np.testing.assert_allclose(ours, completed["CHANGE"].to_numpy(), atol=1e-4)
    diff = fit.differences
    np.testing.assert_allclose(diff["estimate"], mice_out["estimate"], atol=1e-5)
    np.testing.assert_allclose(diff["se"], mice_out["se"], rtol=1e-5)
    np.testing.assert_allclose(diff["df"], mice_out["df"], rtol=1e-4)
    np.testing.assert_allclose(diff["p_value"], mice_out["p_value"], rtol=1e-4)
    np.testing.assert_allclose(diff["ci_low"], mice_out["ci_low"], atol=1e-5)
    np.testing.assert_allclose(diff["ci_high"], mice_out["ci_high"], atol=1e-5)


def test_rubin_by_hand():
    est = np.array([[1.0], [2.0], [4.0]])
    var = np.array([[0.5], [0.7], [0.6]])
    q, se, df = rubin(est, var, np.array([20.0]))
    b = np.var([1.0, 2.0, 4.0], ddof=1)  # 7/3
    t = 0.6 + (1 + 1 / 3) * b
    lam = (1 + 1 / 3) * b / t
    dfold = 2 / lam**2
    dfobs = 21 / 23 * 20 * (1 - lam)
    assert q[0] == pytest.approx(7 / 3)
    assert se[0] == pytest.approx(np.sqrt(t))
    assert df[0] == pytest.approx(dfold * dfobs / (dfold + dfobs))


def test_barnard_rubin_no_between_variance_and_infinite_dfcom():
    # lambda floored at 1e-4 as mice does; infinite complete-data df gives Rubin's old df
    assert barnard_rubin(5, np.array([0.0]), np.array([1.0]), np.array([30.0]))[0] == (
        pytest.approx(31 / 33 * 30 * (1 - 1e-4), rel=1e-6))
    lam = (1 + 1 / 4) * 0.2 / 1.0
    assert barnard_rubin(4, np.array([0.2]), np.array([1.0]), np.array([np.inf]))[0] == (
        pytest.approx(3 / lam**2))


def test_jackknife_by_hand():
    loo = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 3.0], [6.0, 1.0]])
    est, se, df = jackknife(np.array([2.5, 1.0]), loo)
    n = 4
    expect = np.sqrt((n - 1) / n * ((loo - loo.mean(0)) ** 2).sum(0))
    np.testing.assert_allclose(se, expect)
    assert est.tolist() == [2.5, 1.0] and np.isinf(df).all()
