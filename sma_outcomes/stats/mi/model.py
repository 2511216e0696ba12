"""The imputation model: an MMRM with unstructured covariance, fitted by REML.

The design is built with patsy on the full patient x visit grid, so that means
are available at missing visits, and once more with every patient's arm set to
the reference arm (the means of reference-based strategies). The fit reuses the
MMRM likelihood (``stats/mmrm/likelihood.py``, one Cholesky factor per pattern
of visits) and the unstructured parameterization (``stats/mmrm/covariance.py``):
BFGS over the log-Cholesky parameters, then Newton steps in the covariances
with the analytic Hessian. Refits (jackknife, bootstrap) start from the
full-data estimate and usually need two or three Newton steps.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> Y = rng.normal(size=(30, 2)); X = np.ones((30, 2, 1))
>>> fit = fit_reml(Y, X, np.ones((30, 2), bool))
>>> fit.converged, fit.Sigma.shape
(True, (2, 2))
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import patsy
from scipy import linalg, optimize

from ...exceptions import DataError
from ..mmrm.covariance import Structure
from ..mmrm.likelihood import Pattern, Patterns, evaluate, hessian
from .data import MIData


def _q(name: str) -> str:
    return f'Q("{name}")'


@dataclass
class ImputationDesign:
    """Design matrices of the imputation model over the full grid.

    ``X_own`` and ``X_ref`` are (n, d, p): every patient at every visit, in the
    own arm and in the reference arm; aliased columns are dropped.

    Examples
    --------
    >>> ImputationDesign("y ~ 1", np.ones((1, 1, 1)), np.ones((1, 1, 1)), ["Intercept"], []).p
    1
    """

    formula: str
    X_own: np.ndarray
    X_ref: np.ndarray
    columns: list[str]
    dropped: list[str]

    @property
    def p(self) -> int:
        """Number of estimable coefficients."""
        return int(self.X_own.shape[2])


def default_formula(y: str, visit: str, arm: str | None, covariates) -> str:
    """rbmi's usual imputation model: each covariate and the arm interacting with visit.

    Examples
    --------
    >>> default_formula("change", "timepoint", "arm", ["baseline"])
    'Q("change") ~ Q("timepoint") * Q("baseline") + Q("timepoint") * Q("arm")'
    """
    terms = [_q(visit)] if not covariates and arm is None else []
    terms += [f"{_q(visit)} * {_q(c)}" for c in covariates]
    if arm is not None:
        terms.append(f"{_q(visit)} * {_q(arm)}")
    return f"{_q(y)} ~ " + " + ".join(terms)


def model_columns(formula: str, columns) -> list[str]:
    """Columns of the data a formula refers to.

    Examples
    --------
    >>> model_columns("y ~ baseline*visit", ["baseline", "visit", "other"])
    ['baseline', 'visit']
    """
    rhs = formula.split("~", 1)[-1]
    out = []
    for c in columns:
        if re.search(rf"(?<![\w.]){re.escape(str(c))}(?![\w])", rhs):
            out.append(c)
    return out


def _aliased(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    if X.shape[1] == 0:
        return np.zeros(0, dtype=bool)
    R = linalg.qr(X, mode="r", check_finite=False)[0]
    norms = np.linalg.norm(X, axis=0)
    return np.abs(np.diag(R)) <= tol * np.maximum(norms, 1e-300)


def build_design(md: MIData, formula: str, ref_code: np.ndarray, fit_mask: np.ndarray
                 ) -> ImputationDesign:
    """Own-arm and reference-arm design matrices over the grid.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats.mi.data import prepare_data
    >>> d = pd.DataFrame({"id": list("aabb"), "v": [1, 2] * 2, "trt": list("TTCC"),
    ...                   "y": [1.0, 2, 3, 4]})
    >>> md = prepare_data(d, y="y", visit="v", group="id", arm="trt", columns=[])
    >>> des = build_design(md, 'y ~ Q("trt")', np.array([0, 0]), md.observed)
    >>> des.X_own[0, 0].tolist(), des.X_ref[0, 0].tolist()  # patient a (T), reference C
    ([1.0, 1.0], [1.0, 0.0])
    """
    rhs = formula.split("~", 1)[-1]
    try:
        dm = patsy.dmatrix(rhs, md.grid, NA_action="raise", return_type="matrix")
    except patsy.PatsyError as err:
        raise DataError(f"could not build the imputation model {formula!r}: {err}") from err
    X = np.asarray(dm, dtype=float)
    names = list(dm.design_info.column_names)
    if md.arm is not None:
        ref_grid = md.grid.copy()
        arms = md.arms or []
        ref_arm = np.repeat(np.asarray(arms, dtype=object)[ref_code], md.d)
        ref_grid[md.arm] = pd.Categorical(ref_arm, categories=arms)
        Xr = np.asarray(patsy.build_design_matrices([dm.design_info], ref_grid)[0], dtype=float)
    else:
        Xr = X.copy()
    rows = fit_mask.reshape(-1)
    al = _aliased(X[rows])
    dropped = [names[j] for j in np.flatnonzero(al)]
    keep = ~al
    n, d = md.n, md.d
    X_own = X[:, keep].reshape(n, d, -1)
    X_ref = Xr[:, keep].reshape(n, d, -1)
    if al.any():
        # a dropped column used at a visit to impute would bias the imputation silently
        N = linalg.null_space(X[rows], rcond=1e-9)
        for M, label in ((X, "own"), (Xr, "reference")):
            if np.abs(M @ N).max() > 1e-6 * max(1.0, np.abs(M).max()):
                raise DataError(
                    "the imputation model cannot be estimated for every patient and visit "
                    f"({label} arm means): no data for the term(s) {dropped}; simplify the "
                    "`formula` or check the arms and visits"
                )
    return ImputationDesign(formula, X_own, X_ref, [n for n, k in zip(names, keep, strict=True) if k],
                            dropped)


@dataclass
class ModelFit:
    """REML estimates of the imputation model.

    Examples
    --------
    >>> ModelFit(np.zeros(1), np.eye(1), np.ones(1), 0.0, True, 0).Sigma.tolist()
    [[1.0]]
    """

    beta: np.ndarray
    Sigma: np.ndarray
    phi: np.ndarray
    m2ll: float
    converged: bool
    n_iter: int
    hessian: np.ndarray | None = None


def patterns(Y: np.ndarray, X: np.ndarray, mask: np.ndarray,
             rows: np.ndarray | None = None) -> Patterns:
    """Group patients (rows may repeat, as in a bootstrap sample) by observed visits.

    Examples
    --------
    >>> Y = np.array([[1.0, 2.0], [3.0, np.nan]]); X = np.ones((2, 2, 1))
    >>> [g.visits.tolist() for g in patterns(Y, X, ~np.isnan(Y)).groups]
    [[0], [0, 1]]
    """
    n, d = mask.shape
    rows = np.arange(n) if rows is None else np.asarray(rows)
    M = mask[rows]
    keys = M.astype(np.int64) @ (1 << np.arange(d, dtype=np.int64))
    groups = []
    for key in sorted(set(keys.tolist()) - {0}, key=lambda k: (bin(k).count("1"), k)):
        sel = rows[keys == key]
        vis = np.flatnonzero([(key >> j) & 1 for j in range(d)])
        groups.append(Pattern(visits=vis, Y=Y[sel][:, vis], X=X[sel][:, vis, :],
                              subjects=np.arange(sel.size)))
    n_obs = int(M.sum())
    return Patterns(groups=groups, n_obs=n_obs, p=int(X.shape[2]), d=int(d))


def _start(pats: Patterns) -> np.ndarray:
    d, p = pats.d, pats.p
    Xf = np.concatenate([g.X.reshape(-1, p) for g in pats.groups])
    yf = np.concatenate([g.Y.reshape(-1) for g in pats.groups])
    beta = np.linalg.lstsq(Xf, yf, rcond=None)[0]
    wide = []
    for g in pats.groups:
        w = np.full((g.n, d), np.nan)
        w[:, g.visits] = g.Y - g.X @ beta
        wide.append(w)
    S = pd.DataFrame(np.concatenate(wide)).cov(min_periods=2).to_numpy().copy()
    overall = float(np.nanvar(yf - Xf @ beta)) or 1.0
    diag = np.diag(S).copy()
    diag[~np.isfinite(diag) | (diag <= 0)] = overall
    S[~np.isfinite(S)] = 0.0
    S[np.diag_indices_from(S)] = diag
    return S


@lru_cache(maxsize=16)
def _dsigma_us(d: int) -> np.ndarray:
    """dSigma/dphi of the unstructured covariance: constant (Sigma is linear in phi)."""
    st = Structure("us", d)
    out = st.dsigma_nat(np.zeros(st.n_theta))
    out.setflags(write=False)
    return out


def _fixed_hessian(pats: Patterns, st: Structure, phi: np.ndarray, dS: np.ndarray,
                   H: np.ndarray, max_iter: int = 12):
    """Newton steps with the Hessian of a nearby fit (the full data's) held fixed.

    Leaving out one patient moves the optimum by O(1/n) and changes the Hessian
    by O(1/n), so these steps converge fast (the Newton decrement falls about a
    thousandfold per step) and need only the gradient. Converged when the
    decrement is below 1e-9: -2 log-likelihood within 1e-9 of the optimum, the
    covariances within about 3e-5 of their standard errors (a jackknife standard
    error moves by far less than 1e-6 of itself). Returns the evaluation at the
    converged point, or None.
    """
    try:
        cf = linalg.cho_factor(H)
    except linalg.LinAlgError:
        return None
    prev = np.inf
    for it in range(max_iter):
        ev = evaluate(pats, st.sigma_nat(phi), dS, reml=True)
        if not ev.ok or ev.m2ll > prev + 1e-8:
            return None
        step = linalg.cho_solve(cf, ev.grad)
        if float(ev.grad @ step) < 1e-9:
            return phi, ev, it
        prev = ev.m2ll
        phi = phi - step
    return None


def _newton(pats: Patterns, st: Structure, phi: np.ndarray, dS: np.ndarray,
            max_iter: int = 40):
    """Damped Newton steps in the covariances; converged when the decrement < 1e-10."""
    H = None
    for it in range(max_iter):
        ev = evaluate(pats, st.sigma_nat(phi), dS, reml=True, tensors=True)
        if not ev.ok:
            return phi, np.inf, it, False, None
        H = hessian(pats, ev, dS, None, reml=True)
        exact = True
        try:
            np.linalg.cholesky(H)
            step = np.linalg.solve(H, ev.grad)
        except np.linalg.LinAlgError:
            # far from the optimum (e.g. a bootstrap sample started at the full data's fit):
            # Levenberg-Marquardt, the Hessian shifted to positive definite
            w = np.linalg.eigvalsh(H)
            if not np.all(np.isfinite(w)):
                return phi, ev.m2ll, it, False, None
            shift = max(-float(w[0]), 0.0) + 1e-3 * max(abs(float(w[-1])), 1e-8)
            step = np.linalg.solve(H + shift * np.eye(len(w)), ev.grad)
            exact = False
        dec = float(ev.grad @ step)
        if exact and dec < 1e-10:
            return phi, ev.m2ll, it, True, H
        t = 1.0
        while t > 1e-6:
            new = phi - t * step
            e2 = evaluate(pats, st.sigma_nat(new), reml=True)
            if e2.ok and e2.m2ll <= ev.m2ll + 1e-12:
                break
            t /= 2.0
        else:
            return phi, ev.m2ll, it, False, None
        phi = new
    return phi, ev.m2ll, max_iter, False, None


def fit_reml(Y: np.ndarray, X: np.ndarray, mask: np.ndarray, rows: np.ndarray | None = None,
             start: ModelFit | None = None, near: bool = True) -> ModelFit:
    """REML fit of ``y = X beta + e``, ``e ~ N(0, Sigma)`` unstructured, on ``mask``.

    Parameters
    ----------
    Y : ndarray (n, d)
    X : ndarray (n, d, p)
    mask : ndarray (n, d) of bool
        Values that enter the fit.
    rows : ndarray of int, optional
        Patients of the sample (may repeat); all by default.
    start : ModelFit, optional
        A nearby fit (the full data's) to start from: Newton steps with its
        Hessian, then full Newton steps if those do not converge.
    near : bool
        Whether ``start`` is within O(1/n) of the optimum (a jackknife sample),
        so that steps with its Hessian pay; a bootstrap sample is further
        away and goes to full Newton steps at once.

    Without ``start``, damped Newton steps from moment estimates (residual
    covariances of least squares), and quasi-Newton (BFGS) when they fail.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> Y = rng.normal(size=(40, 3)); X = np.ones((40, 3, 1))
    >>> full = fit_reml(Y, X, np.ones((40, 3), bool))
    >>> again = fit_reml(Y, X, np.ones((40, 3), bool), rows=np.arange(1, 40), start=full)
    >>> again.converged and again.n_iter <= 5
    True
    """
    pats = patterns(Y, X, mask, rows)
    d = mask.shape[1]
    st = Structure("us", d)
    dS = _dsigma_us(d)
    if pats.n_obs <= pats.p:
        raise DataError("too few observed values to fit the imputation model")
    n_iter = 0
    if start is not None:
        if near and start.hessian is not None:
            got = _fixed_hessian(pats, st, start.phi, dS, start.hessian)
            if got is not None:
                phi, ev, n_iter = got
                return ModelFit(ev.beta, st.sigma_nat(phi), phi, ev.m2ll, True, n_iter)
        phi, m2ll, n_iter, ok, H = _newton(pats, st, start.phi, dS)
        if ok:
            ev = evaluate(pats, st.sigma_nat(phi), reml=True)
            return ModelFit(ev.beta, st.sigma_nat(phi), phi, ev.m2ll, True, n_iter, H)

    else:
        S0 = _start(pats)  # pairwise covariances: made positive definite for a start
        w, V = np.linalg.eigh(S0)
        floor = 0.05 * float(np.mean(np.diag(S0)))
        if np.all(np.isfinite(w)) and floor > 0:
            S0 = (V * np.clip(w, floor, None)) @ V.T
            phi, m2ll, n_iter, ok, H = _newton(pats, st, st.phi_from_sigma(S0), dS)
            if ok:
                ev = evaluate(pats, st.sigma_nat(phi), reml=True)
                return ModelFit(ev.beta, st.sigma_nat(phi), phi, ev.m2ll, True, n_iter, H)

    def fun(theta):
        ev = evaluate(pats, st.sigma(theta), st.dsigma(theta), reml=True)
        if not ev.ok or not np.isfinite(ev.m2ll):
            return np.inf, np.zeros_like(theta)
        return ev.m2ll, ev.grad

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = optimize.minimize(fun, st.start(_start(pats)), jac=True, method="BFGS",
                                options={"gtol": 1e-6, "maxiter": 2000})
    phi = st.phi_from_sigma(st.sigma(res.x))
    phi2, m2ll, k, ok, H = _newton(pats, st, phi, dS)
    if np.isfinite(m2ll):
        phi = phi2
    ev = evaluate(pats, st.sigma_nat(phi), reml=True)
    return ModelFit(ev.beta, st.sigma_nat(phi), phi, ev.m2ll, bool(ok), n_iter + int(res.nit) + k,
                    H)
