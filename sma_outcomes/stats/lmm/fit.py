"""Fitting helpers of :func:`sma_outcomes.stats.fit_lmm`: scaling, inference, wording.

- :class:`Scaling`: internal centring and scaling (results go back to the original scale);
- :func:`satterthwaite`: lmerTest's ingredients for Satterthwaite df (Kuznetsova et
  al. 2017): ``2 H^-1`` of the deviance in ``(theta, sigma)`` and the Jacobian of
  ``vcov(beta)``, by Richardson-extrapolated differences as numDeriv;
- :func:`variance_table` and :func:`singular_message`: what the user reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg

from .._numderiv import hessian, jacobian
from . import core
from .design import Design

SINGULAR_TOL = 1e-4  # diagonal of the standardised relative covariance factor
HESS_TOL = 1e-8  # eigenvalues of the variance-parameter Hessian, as lmerTest
# numDeriv's zero.tol = sqrt(.Machine$double.eps / 7e-7): below it a coordinate
# counts as zero and its step is eps = 1e-4 instead of d * |x|
NUMDERIV_ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))


class Scaling:
    """Internal centring and scaling; results are reported on the original scale.

    ``y`` is centred, non-intercept fixed-effect columns are centred
    (``X_c = X M``, ``beta = M beta_c``) and, for a random slope, time in ``Z`` is
    standardised (``Z_s = Z T``, ``b = T b_s``).
    """

    def __init__(self, design: Design) -> None:
        X, Z = design.X, design.Z
        self.y_mean = float(design.y.mean())
        means = X[:, 1:].mean(axis=0)
        self.M = np.eye(X.shape[1])
        self.M[0, 1:] = -means
        q = Z.shape[1]
        self.T = np.eye(q)
        if q == 2:
            t = Z[:, 1]
            centre = float(t.mean())
            scale = float(t.std()) or 1.0
            self.T = np.array([[1.0, -centre / scale], [0.0, 1.0 / scale]])
        elif q > 2:  # time and its hinges: centred, on the scale of time
            scale = float(Z[:, 1].std()) or 1.0
            centres = Z[:, 1:].mean(axis=0)
            self.T[0, 1:] = -centres / scale
            self.T[1:, 1:] = np.eye(q - 1) / scale
        self.Tinv = np.linalg.inv(self.T)
        self.X = X @ self.M
        self.Z = Z @ self.T
        self.y = design.y - self.y_mean


def component_names(design: Design) -> list[str]:
    return design.random_names


def variance_table(design: Design, D: np.ndarray, sigma2: float) -> pd.DataFrame:
    """Random-effects table as lme4's ``VarCorr``: variances, SDs, then correlations.

    One row per random effect (``variance``, ``sd``), one ``corr(a, b)`` row per
    pair with the correlation in ``corr`` (``variance`` and ``sd`` empty: a
    correlation is neither), and the residual. The covariances are in
    :attr:`LMMResult.random_covariance`.
    """
    names = component_names(design)
    sd = np.sqrt(np.maximum(np.diag(D), 0.0))
    rows = [
        {"component": n, "variance": D[i, i], "sd": sd[i], "corr": np.nan}
        for i, n in enumerate(names)
    ]
    for j in range(len(names)):
        for i in range(j + 1, len(names)):
            denom = sd[i] * sd[j]
            corr = D[i, j] / denom if denom > 0 else np.nan
            rows.append(
                {
                    "component": f"corr({names[j]}, {names[i]})",
                    "variance": np.nan,
                    "sd": np.nan,
                    "corr": float(np.clip(corr, -1.0, 1.0)) if np.isfinite(corr) else np.nan,
                }
            )
    rows.append(
        {"component": "Residual", "variance": sigma2, "sd": np.sqrt(sigma2), "corr": np.nan}
    )
    return pd.DataFrame(rows)


def _singular_message_many(D: np.ndarray, names: list[str]) -> str:
    sd = np.sqrt(np.maximum(np.diag(D), 0.0))
    w = np.linalg.eigvalsh(D / np.maximum(np.outer(sd, sd), 1e-300) if sd.min() > 0 else D)
    zero = [n for n, s in zip(names, sd, strict=True) if s <= 1e-6 * max(sd.max(), 1e-300)]
    if zero:
        what = f"the variance of {', '.join(zero)} is estimated as zero"
    else:
        rank = int((w > 1e-6 * max(w.max(), 1e-300)).sum())
        what = (
            f"the random effects ({', '.join(names)}) are perfectly correlated: their "
            f"correlation matrix has rank {rank} of {len(names)}"
        )
    return (
        f"Singular fit: {what}. The random-effects structure is too rich for these data; "
        "consider random='slope' or random='intercept'."
    )


def singular_message(
    lam_s: np.ndarray, D: np.ndarray, boundary: str, group: str, time: str,
    names: list[str] | None = None,
) -> str:
    """Plain-language statement of which variance component is on the boundary."""
    sd = np.sqrt(np.maximum(np.diag(D), 0.0))
    if lam_s.shape[0] > 2:
        return _singular_message_many(D, names)
    if lam_s.shape[0] == 1:
        what = f"the variance of the random intercept ({group}) is estimated as zero"
    elif boundary == "zero" or np.all(np.abs(lam_s) < SINGULAR_TOL):
        what = (
            "the variances of the random intercept and the random slope are both estimated as zero"
        )
    elif np.linalg.norm(lam_s[1]) < SINGULAR_TOL:
        what = f"the variance of the random slope on {time} is estimated as zero"
    elif np.linalg.norm(lam_s[0]) < SINGULAR_TOL:
        what = f"the variance of the random intercept (at {time} = 0) is estimated as zero"
    else:
        corr = D[0, 1] / (sd[0] * sd[1])
        what = (
            f"the random intercept and slope are perfectly correlated (corr = {corr:+.3f}; "
            f"intercept SD {sd[0]:.3g}, slope SD {sd[1]:.3g})"
        )
    advice = (
        "consider random='intercept'." if lam_s.shape[0] == 2 else "a fixed-effects model suffices."
    )
    return (
        f"Singular fit: {what}. The random-effects structure is too rich for these data; {advice}"
    )


def satterthwaite(
    cp: core.CrossProducts,
    sc: Scaling,
    theta: np.ndarray,
    sigma: float,
    reml: bool,
    *,
    internal: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """lmerTest's ingredients: 2 H^-1 of the deviance in (theta, sigma) and d vcov(beta).

    Returns ``(vcov_varpar, jac, evals, H)``. With ``internal=True`` ``theta`` is
    the factor on the standardised time scale used by the optimiser (well
    conditioned whatever the unit and origin of time); otherwise lme4's theta on
    the original scale, exactly as lmerTest. The df do not depend on this choice
    at an interior optimum (the Hessian and the Jacobian transform together).
    """
    q = cp.q
    to_internal = np.eye(q) if internal else sc.Tinv

    cache: dict[bytes, core.Profile] = {}

    def profile(vp: np.ndarray) -> core.Profile:
        # steps in sigma alone reuse the solution at the same theta
        key = vp[:-1].tobytes()
        if key not in cache:
            cache[key] = core.solve_pls(cp, to_internal @ core.theta_to_lambda(vp[:-1], q))
        return cache[key]

    def dev(vp: np.ndarray) -> float:
        return profile(vp).deviance_at(vp[-1], reml)

    def covbeta(vp: np.ndarray) -> np.ndarray:
        prof = profile(vp)
        Sinv = linalg.cho_solve(prof.S_chol, np.eye(cp.p), check_finite=False)
        return (vp[-1] ** 2 * sc.M @ Sinv @ sc.M.T).ravel()

    vp = np.r_[theta, sigma]
    H = hessian(dev, vp, zero_tol=NUMDERIV_ZERO_TOL)
    evals, evecs = np.linalg.eigh(H)
    pos = evals > HESS_TOL
    h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    J = jacobian(covbeta, vp, zero_tol=NUMDERIV_ZERO_TOL)
    p = cp.p
    jac = np.stack([J[:, k].reshape(p, p) for k in range(len(vp))])  # (k, p, p)
    return 2.0 * h_inv, jac, evals, H
