"""fit_mmrm against SAS PROC MIXED on the FEV1 data (tests/reference/mmrm/).

The SAS figures are those of ``sas_reference.json`` (copied from
shared/reference/fev/). SAS stops its Newton-Raphson iterations when its relative
Hessian criterion ``g'H^-1 g / |f|`` drops below 1e-8, a few 1e-6 (up to 1e-5)
of -2 log-likelihood short of the optimum; fit_mmrm goes to the optimum. The
tests therefore check (a) our optimum against SAS with tolerances that this gap
allows, and (b) for the unstructured models, SAS's own stopping point, which we
reproduce by SAS's algorithm (MIVQUE0 start, Newton-Raphson, same criterion),
against SAS's full precision.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.stats._numderiv import jacobian
from sma_outcomes.stats.mmrm import fit_mmrm
from sma_outcomes.stats.mmrm.covariance import get_structure
from sma_outcomes.stats.mmrm.ddf import kr_adjusted, kr_df
from sma_outcomes.stats.mmrm.design import reference_grid
from sma_outcomes.stats.mmrm.likelihood import (
    Patterns,
    evaluate,
    hessian,
    p_matrices,
    q_matrices,
    r_matrices,
)

HERE = Path(__file__).resolve().parent / "reference" / "mmrm"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "fev"


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    return pd.read_csv(HERE / "fev_data.csv")


@pytest.fixture(scope="module")
def sas() -> dict:
    return json.loads((HERE / "sas_reference.json").read_text())


def _fit(fev, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_mmrm(fev, y="FEV1", visit="AVISIT", group="USUBJID", **kw)


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ not beside the clone")
def test_copies_equal_shared_reference():
    for name in ("fev_data.csv", "sas_reference.json"):
        assert (HERE / name).read_bytes() == (SHARED / name).read_bytes()


# ------------------------------------------------------------------ main model
@pytest.fixture(scope="module")
def main_fit(fev):
    return _fit(fev, arm="ARMCD", formula="FEV1 ~ RACE + SEX + ARMCD * AVISIT")


def test_main_model_reml_loglik(main_fit, sas):
    assert main_fit.m2ll == pytest.approx(sas["main_model"]["minus2_reml_loglik"], abs=1e-4)
    # ours is the optimum: at most a few 1e-6 below SAS's stopping point
    assert 0 < sas["main_model"]["minus2_reml_loglik"] - main_fit.m2ll < 2e-5
    assert main_fit.n_obs == 537 and main_fit.n_patients == 197
    assert "537 observations from 197 patients, maximum 4 visits" in main_fit.summary()


def test_main_model_ml_loglik(fev, sas):
    fit = _fit(fev, arm="ARMCD", formula="FEV1 ~ RACE + SEX + ARMCD * AVISIT", reml=False)
    assert fit.m2ll == pytest.approx(sas["main_model"]["minus2_ml_loglik_same_model_ml"], abs=1e-4)


def _sas_sigma(sas) -> np.ndarray:
    # SAS puts the reference level VIS1 last: its visit order is VIS2, VIS3, VIS4, VIS1
    order = [1, 2, 3, 0]
    S = np.zeros((4, 4))
    for key, val in sas["main_model"]["covariance_parameters"].items():
        i, j = (int(x) - 1 for x in key[3:-1].split(","))
        S[order[i], order[j]] = S[order[j], order[i]] = val
    return S


def test_main_model_covariance(main_fit, sas):
    # SAS stops short of the optimum: up to 5e-3 (4e-4 relative) away
    np.testing.assert_allclose(main_fit.Sigma, _sas_sigma(sas), rtol=4e-4, atol=6e-3)


def test_main_model_sas_algorithm_reproduces_sas(main_fit, sas):
    """MIVQUE0 + Newton-Raphson + SAS's stopping rule lands on SAS's printed estimates."""
    d = main_fit.design
    subj, _ = pd.factorize(d.data[d.group])
    vis = d.data[d.visit].cat.codes.to_numpy()
    y = d.data[d.y].to_numpy(float)
    st = get_structure("us", 4)
    pats = Patterns.build(y, d.X, subj, vis, 4)
    phi, m2ll, _ = _sas_newton(pats, y, d.X, subj, vis, st)
    assert m2ll == pytest.approx(sas["main_model"]["minus2_reml_loglik"], abs=1e-7)
    S = _sas_sigma(sas)
    np.testing.assert_allclose(st.sigma_nat(phi), S, rtol=0, atol=6e-5)


def _sas_tables(sas):
    ls = pd.DataFrame(sas["main_model"]["lsmeans"])
    df = pd.DataFrame(sas["main_model"]["trt_minus_pbo_by_visit"]).assign(arm="TRT - PBO")
    return pd.concat([ls, df], ignore_index=True)


def test_main_model_lsmeans_at_our_optimum(main_fit, sas):
    ref = _sas_tables(sas)
    ours = main_fit.lsmeans.assign(visit=lambda d: d["visit"].astype(str))
    m = ref.merge(ours, on=["visit", "arm"], suffixes=("_sas", ""))
    assert len(m) == 12
    # the gap between SAS's stopping point and the optimum moves the 4th decimal by <= 1
    np.testing.assert_allclose(m["estimate"], m["estimate_sas"], atol=1.6e-4)
    np.testing.assert_allclose(m["se"], m["se_sas"], atol=1.6e-4)
    np.testing.assert_allclose(m["df"], m["df_sas"], atol=0.55)
    np.testing.assert_allclose(m["ci_low"], m["lower"], atol=3e-4)
    np.testing.assert_allclose(m["ci_high"], m["upper"], atol=3e-4)


def test_main_model_lsmeans_at_sas_covariance(main_fit, sas):
    """At SAS's printed covariance estimate, LS means, SEs and df are SAS's to print precision."""
    d = main_fit.design
    subj, _ = pd.factorize(d.data[d.group])
    vis = d.data[d.visit].cat.codes.to_numpy()
    pats = Patterns.build(d.data[d.y].to_numpy(float), d.X, subj, vis, 4)
    S = _sas_sigma(sas)
    st = get_structure("us", 4)
    phi = st.phi_from_sigma(S)
    assert evaluate(pats, S).m2ll == pytest.approx(
        sas["main_model"]["minus2_reml_loglik"], abs=1e-6
    )
    H = jacobian(lambda ph: evaluate(pats, st.sigma_nat(ph), st.dsigma_nat(ph)).grad, phi)
    W = 2.0 * np.linalg.inv(0.5 * (H + H.T))
    ev = evaluate(pats, S, tensors=True)
    P = p_matrices(pats, ev, st.dsigma_nat(phi))
    cells, L = reference_grid(d, ["AVISIT", "ARMCD"])
    rows = []
    for (v, a), row in zip(cells.itertuples(index=False), L, strict=True):
        rows.append((v, a, row))
    for v in d.visits:
        lt = L[(cells.AVISIT == v) & (cells.ARMCD == "TRT")][0]
        lp = L[(cells.AVISIT == v) & (cells.ARMCD == "PBO")][0]
        rows.append((v, "TRT - PBO", lt - lp))
    ref = _sas_tables(sas).set_index(["visit", "arm"])
    C = ev.cov_beta
    for v, a, lv in rows:
        f = lv @ C @ lv
        g = np.einsum("a,kab,b->k", C @ lv, P, C @ lv)
        df = 2 * f * f / (g @ W @ g)
        r = ref.loc[(v, a)]
        assert lv @ ev.beta == pytest.approx(r["estimate"], abs=5.1e-5)
        assert np.sqrt(f) == pytest.approx(r["se"], abs=5.1e-5)
        assert round(df) == r["df"]


# -------------------------------------------------------------- simple models
SIMPLE = [("us", "un"), ("cs", "cs"), ("csh", "csh"), ("ar1", "ar1"), ("ar1h", "arh1"),
          ("adh", "ante1"), ("toeph", "toeph")]


@pytest.mark.parametrize("code,sas_name", SIMPLE)
@pytest.mark.parametrize("reml", [True, False])
def test_simple_models_loglik(fev, sas, code, sas_name, reml):
    fit = _fit(fev, formula="FEV1 ~ 1", covariance=code, reml=reml, fallback=False)
    key = "minus2_reml_loglik" if reml else "minus2_ml_loglik"
    assert fit.converged
    assert fit.structure.code == code
    assert fit.m2ll == pytest.approx(sas["simple_models"][sas_name][key], abs=1e-4)


# ------------------------------------------------------------ Kenward-Roger
KR = [("us", "us"), ("cs", "cs"), ("csh", "csh"), ("ar1", "ar1"), ("ar1h", "arh1"),
      ("adh", "adh"), ("toep", "toep"), ("toeph", "toeph")]
# SAS stopped 1.0e-5 (csh: -2RLL 3754.18491472) and 1.3e-5 (adh: 3682.44560955) above the
# optimum (iteration histories in R mmrm's design/KR/kr_csh.txt and kr_adh.txt), and the
# unstructured fit stops a Newton step short as well: for these the gap moves SE and df by
# up to 4e-4 relative at our optimum. At SAS's stopping point our figures are SAS's to
# 1e-6 (us, reproduced by SAS's algorithm) and 2e-5 (csh, adh, at SAS's printed estimates):
# see the last two tests.
KR_TOL = {"us": 5e-4, "csh": 5e-4, "adh": 5e-4}


@pytest.mark.parametrize("code,sas_name", KR)
@pytest.mark.parametrize("method,prefix", [("kr", "kr_"), ("kr-linear", "kr1_")])
def test_kenward_roger_vs_sas(fev, sas, code, sas_name, method, prefix):
    fit = _fit(fev, formula="FEV1 ~ ARMCD", arm="ARMCD", covariance=code, df=method,
               fallback=False)
    ref = sas["kenward_roger"][prefix + sas_name]
    row = fit.fixed.iloc[1]
    tol = KR_TOL.get(code, 1e-4)
    assert row["estimate"] == pytest.approx(ref["Estimate"], rel=min(tol, 5e-5))
    assert row["se"] == pytest.approx(ref["StdErr"], rel=tol)
    assert row["df"] == pytest.approx(ref["DF"], rel=tol)
    diff = fit.differences.iloc[0]
    assert diff["se"] == pytest.approx(row["se"], rel=1e-10)


def test_kr_equals_kr_linear_only_for_linear_structures(fev):
    se = {}
    for code in ("us", "ar1"):
        for method in ("kr", "kr-linear"):
            se[code, method] = _fit(
                fev, formula="FEV1 ~ ARMCD", covariance=code, df=method
            ).fixed.se.iloc[1]
    assert se["us", "kr"] == pytest.approx(se["us", "kr-linear"], rel=1e-12)
    assert abs(se["ar1", "kr"] / se["ar1", "kr-linear"] - 1) > 1e-3


def _mivque0(y, X, subj, vis, st):
    """SAS's starting values: MIVQUE0 for a covariance linear in its parameters."""
    M = np.eye(len(y)) - X @ np.linalg.solve(X.T @ X, X.T)
    same = subj[:, None] == subj[None, :]
    dS = st.dsigma_nat(np.ones(st.n_theta))
    MV = [M @ np.where(same, dk[vis[:, None], vis[None, :]], 0.0) for dk in dS]
    A = np.array([[np.sum(a * b.T) for b in MV] for a in MV])
    r = M @ y
    b = np.array([r @ (mv @ r) for mv in [np.where(same, dk[vis[:, None], vis[None, :]], 0.0)
                                          for dk in dS]])
    return np.linalg.solve(A, b)


def _sas_newton(pats, y, X, subj, vis, st):
    """SAS PROC MIXED's iterations: MIVQUE0 start, Newton-Raphson on -2 REML in SAS's
    parameterization, stop when g'H^-1 g / |f| < 1e-8 (its CONVH default)."""

    def grad(ph):
        return evaluate(pats, st.sigma_nat(ph), st.dsigma_nat(ph)).grad

    phi = _mivque0(y, X, subj, vis, st)
    for _ in range(20):
        ev = evaluate(pats, st.sigma_nat(phi), st.dsigma_nat(phi))
        H = jacobian(grad, phi)
        H = 0.5 * (H + H.T)
        step = np.linalg.solve(H, ev.grad)
        if ev.grad @ step / abs(ev.m2ll) < 1e-8:
            break
        phi = phi - step
    return phi, ev.m2ll, H


def test_kenward_roger_us_at_sas_stopping_point(fev, sas):
    """SAS's algorithm for TYPE=UN reproduces its KR figures to 1e-6."""
    d = fev.dropna(subset=["FEV1"]).reset_index(drop=True)
    subj = pd.factorize(d.USUBJID)[0]
    vis = d.AVISIT.str[3:].astype(int).to_numpy() - 1
    y = d.FEV1.to_numpy()
    X = np.column_stack([np.ones(len(y)), (d.ARMCD == "TRT").to_numpy(float)])
    pats = Patterns.build(y, X, subj, vis, 4)
    st = get_structure("us", 4)
    phi, _, H = _sas_newton(pats, y, X, subj, vis, st)
    W = 2.0 * np.linalg.inv(H)
    ev = evaluate(pats, st.sigma_nat(phi), tensors=True)
    dS = st.dsigma_nat(phi)
    P = p_matrices(pats, ev, dS)
    Q = q_matrices(pats, ev, dS)
    R = r_matrices(pats, ev, st.d2sigma_nat(phi))
    assert np.abs(R).max() == 0.0  # linear in SAS's parameterization
    C_adj = kr_adjusted(ev.cov_beta, W, P, Q, R)
    l = np.array([0.0, 1.0])  # noqa: E741
    ref = sas["kenward_roger"]["kr_us"]
    assert ev.beta[1] == pytest.approx(ref["Estimate"], rel=1e-8)
    assert np.sqrt(l @ C_adj @ l) == pytest.approx(ref["StdErr"], rel=1e-6)
    assert kr_df(ev.cov_beta, l[None], W, P)[0] == pytest.approx(ref["DF"], rel=1e-6)


@pytest.mark.parametrize("code", ["csh", "adh"])
def test_kenward_roger_at_sas_printed_estimates(fev, sas, code):
    """At SAS's own (printed) covariance estimates our KR figures are SAS's to 2e-5.

    So the 3-4e-4 gap at our optimum is where SAS stopped iterating: its last
    -2 REML is 1.0e-5 (csh) and 1.3e-5 (adh) above the optimum we reach.
    """
    printed = json.loads((HERE / "sas_kr_printed_estimates.json").read_text())[code]
    d = fev.dropna(subset=["FEV1"]).reset_index(drop=True)
    subj = pd.factorize(d.USUBJID)[0]
    vis = d.AVISIT.str[3:].astype(int).to_numpy() - 1
    y = d.FEV1.to_numpy()
    X = np.column_stack([np.ones(len(y)), (d.ARMCD == "TRT").to_numpy(float)])
    pats = Patterns.build(y, X, subj, vis, 4)
    st = get_structure(code, 4)
    phi = np.array(list(printed["parameters"].values()))
    dS, d2 = st.dsigma_nat(phi), st.d2sigma_nat(phi)
    ev = evaluate(pats, st.sigma_nat(phi), dS, tensors=True)
    assert ev.m2ll == pytest.approx(printed["minus2_reml_loglik_last_iteration"], abs=1e-6)
    W = 2.0 * np.linalg.inv(hessian(pats, ev, dS, d2))
    P, Q, R = p_matrices(pats, ev, dS), q_matrices(pats, ev, dS), r_matrices(pats, ev, d2)
    lv = np.array([0.0, 1.0])
    kr, kr1 = sas["kenward_roger"]["kr_" + code], sas["kenward_roger"]["kr1_" + code]
    assert ev.beta[1] == pytest.approx(kr["Estimate"], rel=2e-5)
    assert np.sqrt(lv @ kr_adjusted(ev.cov_beta, W, P, Q, R) @ lv) == pytest.approx(
        kr["StdErr"], rel=2e-5
    )
    assert np.sqrt(lv @ kr_adjusted(ev.cov_beta, W, P, Q, None) @ lv) == pytest.approx(
        kr1["StdErr"], rel=2e-5
    )
    assert kr_df(ev.cov_beta, lv[None], W, P)[0] == pytest.approx(kr["DF"], rel=2e-5)
    fit = _fit(fev, formula="FEV1 ~ ARMCD", covariance=code, df="kr", fallback=False)
    gap = printed["minus2_reml_loglik_last_iteration"] - fit.m2ll
    assert 5e-6 < gap < 2e-5
