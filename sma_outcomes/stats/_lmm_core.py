"""Profiled REML/ML for two-level linear mixed models (random intercept or slope).

The model is ``y_i = X_i beta + Z_i b_i + e_i`` for group ``i``, with
``b_i ~ N(0, sigma^2 Lambda Lambda')`` and ``e_i ~ N(0, sigma^2 I)``; ``Lambda`` is
the q x q relative covariance factor (q = 1 or 2) and ``theta`` its lower
triangle, column by column, as in lme4 (Bates et al. 2015, section 3).

Everything is computed from per-group cross-products (``Z'Z``, ``Z'X``,
``Z'y``) and the totals ``X'X``, ``X'y``, ``y'y``, so one evaluation of the
profiled deviance costs O(groups) with batched q x q algebra, whatever the
number of visits. ``beta`` and ``sigma`` are profiled out; the gradient with
respect to ``theta`` is analytic (the envelope theorem removes ``beta`` and
``sigma``): with ``W_i = I + Z_i D Z_i'`` and ``D = Lambda Lambda'``,

``d dev / dD = sum_i Z_i'W_i^-1 Z_i - h_i h_i' / sigma^2 [- K_i S^-1 K_i' for REML]``

where ``h_i = Z_i'W_i^-1 r_i``, ``K_i = Z_i'W_i^-1 X_i``, ``S = X'W^-1 X``; and
``d dev / d Lambda = 2 (d dev / dD) Lambda``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class CrossProducts:
    """Per-group and total cross-products of the model matrices."""

    ZtZ: np.ndarray  # (G, q, q)
    ZtX: np.ndarray  # (G, q, p)
    Zty: np.ndarray  # (G, q)
    XtX: np.ndarray  # (p, p)
    Xty: np.ndarray  # (p,)
    yty: float
    n: int

    @property
    def q(self) -> int:
        return self.ZtZ.shape[1]

    @property
    def p(self) -> int:
        return self.XtX.shape[0]


def cross_products(
    X: np.ndarray, Z: np.ndarray, y: np.ndarray, codes: np.ndarray
) -> CrossProducts:
    """Cross-products by group; ``codes`` are 0..G-1 integer group codes."""
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    Xs, Zs, ys = X[order], Z[order], y[order]
    ZtZ = np.add.reduceat(Zs[:, :, None] * Zs[:, None, :], starts, axis=0)
    ZtX = np.add.reduceat(Zs[:, :, None] * Xs[:, None, :], starts, axis=0)
    Zty = np.add.reduceat(Zs * ys[:, None], starts, axis=0)
    return CrossProducts(ZtZ, ZtX, Zty, X.T @ X, X.T @ y, float(y @ y), len(y))


def theta_to_lambda(theta: np.ndarray, q: int) -> np.ndarray:
    """Lower-triangular factor from theta (column-wise lower triangle, as lme4)."""
    lam = np.zeros((q, q))
    rows, cols = _tril_colwise(q)
    lam[rows, cols] = theta
    return lam


def lambda_to_theta(lam: np.ndarray) -> np.ndarray:
    rows, cols = _tril_colwise(lam.shape[0])
    return lam[rows, cols].copy()


def _tril_colwise(q: int) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.triu_indices(q)  # column-wise order of the lower triangle
    return rows, cols


def psd_factor(D: np.ndarray) -> np.ndarray:
    """Lower-triangular factor ``L L' = D`` of a positive semi-definite q x q matrix."""
    q = D.shape[0]
    if q == 1:
        return np.sqrt(np.maximum(D, 0.0))
    l11 = np.sqrt(max(D[0, 0], 0.0))
    l21 = D[1, 0] / l11 if l11 > 0 else 0.0
    l22 = np.sqrt(max(D[1, 1] - l21 * l21, 0.0))
    return np.array([[l11, 0.0], [l21, l22]])


def _inv_logdet(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack of 1x1 or 2x2 SPD matrices."""
    if A.shape[1] == 1:
        return 1.0 / A, np.log(A[:, 0, 0])
    a, b, c = A[:, 0, 0], A[:, 0, 1], A[:, 1, 1]
    det = a * c - b * b
    inv = np.empty_like(A)
    inv[:, 0, 0] = c / det
    inv[:, 1, 1] = a / det
    inv[:, 0, 1] = inv[:, 1, 0] = -b / det
    return inv, np.log(det)


@dataclass
class Profile:
    """The penalised least-squares solution at one value of Lambda."""

    lam: np.ndarray
    ldL2: float  # sum_i log det(I + Lambda'Z_i'Z_i Lambda)
    ldRX2: float  # log det(X'W^-1 X)
    pwrss: float  # penalised weighted residual sum of squares r^2(theta)
    beta: np.ndarray
    S: np.ndarray  # X'W^-1 X (relative to sigma^2)
    S_chol: tuple
    u: np.ndarray  # spherical random effects (G, q)
    Ainv: np.ndarray
    n: int
    p: int

    def deviance(self, reml: bool) -> float:
        """Profiled -2 log-likelihood (ML) or REML criterion (lme4's devfun)."""
        if reml:
            nmp = self.n - self.p
            return self.ldL2 + self.ldRX2 + nmp * (1.0 + LOG_2PI + np.log(self.pwrss / nmp))
        return self.ldL2 + self.n * (1.0 + LOG_2PI + np.log(self.pwrss / self.n))

    def sigma2(self, reml: bool) -> float:
        return self.pwrss / (self.n - self.p if reml else self.n)

    def deviance_at(self, sigma: float, reml: bool) -> float:
        """-2 log-likelihood at a given sigma (lmerTest's ``devfun_vp``)."""
        s2 = sigma * sigma
        dev = self.ldL2 + self.pwrss / s2 + self.n * (LOG_2PI + np.log(s2))
        if reml:
            dev += self.ldRX2 - self.p * (LOG_2PI + np.log(s2))
        return dev


def solve_pls(cp: CrossProducts, lam: np.ndarray) -> Profile:
    """Solve the penalised least-squares problem at ``Lambda`` (block by block)."""
    q = cp.q
    lamT = lam.T
    A = lamT @ cp.ZtZ @ lam + np.eye(q)
    Ainv, logdet = _inv_logdet(A)
    c = lamT @ cp.ZtX  # (G, q, p)
    d = cp.Zty @ lam  # (G, q) = (Lambda' Z'y)'
    Ac = Ainv @ c
    Ad = np.einsum("gij,gj->gi", Ainv, d)
    S = cp.XtX - np.einsum("gqp,gqr->pr", c, Ac)
    S = 0.5 * (S + S.T)
    g = cp.Xty - np.einsum("gqp,gq->p", c, Ad)
    S_chol = linalg.cho_factor(S, lower=True, check_finite=False)
    beta = linalg.cho_solve(S_chol, g, check_finite=False)
    pwrss = cp.yty - float(np.sum(d * Ad)) - float(g @ beta)
    pwrss = max(pwrss, np.finfo(float).tiny)
    u = Ad - np.einsum("gqp,p->gq", Ac, beta)
    ldRX2 = 2.0 * float(np.sum(np.log(np.diag(S_chol[0]))))
    return Profile(lam, float(logdet.sum()), ldRX2, pwrss, beta, S, S_chol, u, Ainv, cp.n, cp.p)


def deviance_gradient(cp: CrossProducts, prof: Profile, reml: bool) -> np.ndarray:
    """Gradient of the profiled deviance with respect to the entries of Lambda."""
    lam = prof.lam
    s2 = prof.sigma2(reml)
    # B_i = Z'Z Lambda A^-1 Lambda'  so that Z'W^-1 M = (I - B_i) Z'M
    B = cp.ZtZ @ lam @ prof.Ainv @ lam.T
    Ztr = cp.Zty - cp.ZtX @ prof.beta
    h = Ztr - np.einsum("gij,gj->gi", B, Ztr)
    M = (cp.ZtZ - B @ cp.ZtZ).sum(axis=0) - (h.T @ h) / s2
    if reml:
        K = cp.ZtX - B @ cp.ZtX  # (G, q, p)
        Sinv = linalg.cho_solve(prof.S_chol, np.eye(cp.p), check_finite=False)
        KS = K @ Sinv
        M -= np.einsum("gqp,gsp->qs", KS, K)
    M = 0.5 * (M + M.T)
    return 2.0 * M @ lam


@dataclass
class Optimum:
    theta: np.ndarray
    deviance: float
    grad: np.ndarray
    success: bool
    message: str
    nfev: int


def _minimise(
    cp: CrossProducts, reml: bool, lam_of: callable, n_par: int, x0: np.ndarray, bounds
) -> Optimum:
    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        lam, jac = lam_of(x)
        prof = solve_pls(cp, lam)
        dev = prof.deviance(reml)
        gl = deviance_gradient(cp, prof, reml)
        return dev, jac(gl)

    best = None
    res = optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000, "maxcor": 20},
    )
    best = res
    dev, grad = fun(best.x)
    return Optimum(best.x, dev, grad, bool(best.success), str(best.message), int(best.nfev))


def _full_param(q: int):
    rows, cols = _tril_colwise(q)

    def lam_of(x):
        lam = np.zeros((q, q))
        lam[rows, cols] = x
        return lam, lambda gl: gl[rows, cols]

    return lam_of


def _rank1_param():
    def lam_of(x):
        lam = np.array([[x[0], 0.0], [x[1], 0.0]])
        return lam, lambda gl: gl[:, 0]

    return lam_of


@dataclass
class FitPath:
    """The chosen optimum and the alternatives compared with it."""

    theta: np.ndarray  # internal (scaled) lower-triangular theta
    deviance: float
    grad: np.ndarray
    success: bool
    message: str
    boundary: str  # "" interior, "rank1" or "zero"
    alternatives: dict


def fit_theta(cp: CrossProducts, reml: bool, x0: np.ndarray | None = None) -> FitPath:
    """Minimise the profiled deviance over theta, then compare with boundary fits.

    The main fit is bounded L-BFGS-B with the analytic gradient (diagonal of
    Lambda >= 0). Its deviance is then compared with the best fit on the
    boundary (rank-one covariance for the random slope, and zero covariance), so
    that a fit stopping short near a boundary is detected and replaced.
    """
    q = cp.q
    n_par = q * (q + 1) // 2
    rows, cols = _tril_colwise(q)
    bounds = [(0.0, None) if r == c else (None, None) for r, c in zip(rows, cols)]
    if x0 is None:
        x0 = np.where(rows == cols, 1.0, 0.0)
    main = _minimise(cp, reml, _full_param(q), n_par, x0, bounds)
    alts = {"interior": main.deviance}
    zero_dev = solve_pls(cp, np.zeros((q, q))).deviance(reml)
    alts["zero"] = zero_dev
    chosen = FitPath(main.theta, main.deviance, main.grad, main.success, main.message, "", alts)
    if q == 2:
        lam0 = theta_to_lambda(main.theta, 2)
        r1 = _minimise(cp, reml, _rank1_param(), 2, lam0[:, 0] + 1e-3, [(None, None)] * 2)
        alts["rank1"] = r1.deviance
        if r1.deviance < chosen.deviance - 1e-10:
            lam = np.array([[r1.theta[0], 0.0], [r1.theta[1], 0.0]])
            lam = psd_factor(lam @ lam.T)
            th = lambda_to_theta(lam)
            chosen = FitPath(th, r1.deviance, r1.grad, r1.success, r1.message, "rank1", alts)
    if zero_dev < chosen.deviance - 1e-10:
        chosen = FitPath(np.zeros(n_par), zero_dev, np.zeros(n_par), True, "", "zero", alts)
    return chosen


def projected_gradient(theta: np.ndarray, grad: np.ndarray, q: int) -> np.ndarray:
    """Gradient with components pointing out of the feasible region set to zero."""
    rows, cols = _tril_colwise(q)
    pg = grad.copy()
    at_bound = (rows == cols) & (theta <= 1e-10) & (grad > 0)
    pg[at_bound] = 0.0
    return pg
