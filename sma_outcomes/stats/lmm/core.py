"""Profiled REML/ML for two-level linear mixed models (q correlated random effects).

The model is ``y_i = X_i beta + Z_i b_i + e_i`` for group ``i``, with
``b_i ~ N(0, sigma^2 Lambda Lambda')`` and ``e_i ~ N(0, sigma^2 I)``; ``Lambda`` is
the q x q relative covariance factor (q = 1, 2, or more for piecewise-linear
random effects) and ``theta`` its lower
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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

LOG_2PI = float(np.log(2.0 * np.pi))
LOG_LAMBDA_MAX = float(np.log(1e5))
# Stop when every gradient component is below GRAD_TOL (deviance units) or, for large
# data, below the rounding noise of the deviance (about 1e-16 |dev| per evaluation,
# amplified by the cancellations in X'W^-1 X), whichever is larger.
GRAD_TOL = 1e-6
GRAD_RTOL = 1e-9


@dataclass
class CrossProducts:
    """Per-group and total cross-products; the group axis is last (contiguous)."""

    ZtZ: np.ndarray  # (q, q, G)
    ZtX: np.ndarray  # (q, p, G)
    Zty: np.ndarray  # (q, G)
    XtX: np.ndarray  # (p, p)
    Xty: np.ndarray  # (p,)
    yty: float
    n: int
    rss_ols: np.ndarray  # (G,) per-group sums of squared OLS residuals

    @property
    def q(self) -> int:
        return self.ZtZ.shape[0]

    @property
    def p(self) -> int:
        return self.XtX.shape[0]


def cross_products(X: np.ndarray, Z: np.ndarray, y: np.ndarray, codes: np.ndarray) -> CrossProducts:
    """Cross-products by group; ``codes`` are 0..G-1 integer group codes."""
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    Xs, Zs, ys = X[order], Z[order], y[order]

    def by_group(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(np.add.reduceat(a, starts, axis=0), 0, -1))

    resid = ys - Xs @ np.linalg.lstsq(X, y, rcond=None)[0]

    return CrossProducts(
        ZtZ=by_group(Zs[:, :, None] * Zs[:, None, :]),
        ZtX=by_group(Zs[:, :, None] * Xs[:, None, :]),
        Zty=by_group(Zs * ys[:, None]),
        XtX=X.T @ X,
        Xty=X.T @ y,
        yty=float(y @ y),
        n=len(y),
        rss_ols=np.add.reduceat(resid * resid, starts),
    )


def _mm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per-group matrix products: (a, b, G) x (b, c, G) -> (a, c, G), or x (b, G) -> (a, G)."""
    if B.ndim == 2:
        return _sum_b(A * B[None])
    return _sum_b(A[:, :, None, :] * B[None, :, :, :])


def _sum_b(T: np.ndarray) -> np.ndarray:
    out = T[:, 0].copy()
    for j in range(1, T.shape[1]):
        out += T[:, j]
    return out


def _left(M: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Small constant matrix times each group's block: (a, b) x (b, ..., G)."""
    out = np.zeros((M.shape[0], *A.shape[1:]))
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if M[i, j] != 0.0:
                out[i] += M[i, j] * A[j]
    return out


def _right(A: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Each group's block times a small constant matrix: (a, b, G) x (b, c) -> (a, c, G)."""
    out = np.zeros((A.shape[0], M.shape[1], A.shape[2]))
    for j in range(M.shape[0]):
        for k in range(M.shape[1]):
            if M[j, k] != 0.0:
                out[:, k] += M[j, k] * A[:, j]
    return out


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
    if q == 2:
        l11 = np.sqrt(max(D[0, 0], 0.0))
        l21 = D[1, 0] / l11 if l11 > 0 else 0.0
        l22 = np.sqrt(max(D[1, 1] - l21 * l21, 0.0))
        return np.array([[l11, 0.0], [l21, l22]])
    # Cholesky that tolerates a singular D: a (near-)zero pivot gives a zero column
    L = np.zeros((q, q))
    tol = 1e-14 * max(float(np.max(np.abs(np.diag(D)))), 1e-300)
    for j in range(q):
        d = D[j, j] - L[j, :j] @ L[j, :j]
        if d <= tol:
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1 :, j] = (D[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


def _inv_logdet(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack (q, q, G) of SPD matrices."""
    if A.shape[0] == 1:
        return 1.0 / A, np.log(A[0, 0])
    if A.shape[0] > 2:
        Ag = np.moveaxis(A, -1, 0)
        Lc = np.linalg.cholesky(Ag)
        logdet = 2.0 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum(axis=1)
        inv = np.linalg.inv(Ag)
        inv = 0.5 * (inv + np.swapaxes(inv, 1, 2))
        return np.ascontiguousarray(np.moveaxis(inv, 0, -1)), logdet
    a, b, c = A[0, 0], A[0, 1], A[1, 1]
    det = a * c - b * b
    inv = np.empty_like(A)
    inv[0, 0] = c / det
    inv[1, 1] = a / det
    inv[0, 1] = inv[1, 0] = -b / det
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
    u: np.ndarray  # spherical random effects (q, G)
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
    A = _right(_left(lamT, cp.ZtZ), lam)
    A[np.arange(q), np.arange(q)] += 1.0
    Ainv, logdet = _inv_logdet(A)
    c = _left(lamT, cp.ZtX)  # (q, p, G)
    d = _left(lamT, cp.Zty)  # (q, G)
    Ac = _mm(Ainv, c)
    Ad = _mm(Ainv, d)
    S = cp.XtX - np.tensordot(c, Ac, axes=([0, 2], [0, 2]))
    S = 0.5 * (S + S.T)
    g = cp.Xty - np.tensordot(c, Ad, axes=([0, 2], [0, 1]))
    S_chol = linalg.cho_factor(S, lower=True, check_finite=False)
    beta = linalg.cho_solve(S_chol, g, check_finite=False)
    pwrss = cp.yty - float(np.sum(d * Ad)) - float(g @ beta)
    pwrss = max(pwrss, np.finfo(float).tiny)
    u = Ad - np.tensordot(beta, Ac, axes=([0], [1]))
    ldRX2 = 2.0 * float(np.sum(np.log(np.diag(S_chol[0]))))
    return Profile(lam, float(logdet.sum()), ldRX2, pwrss, beta, S, S_chol, u, Ainv, cp.n, cp.p)


def deviance_gradient(cp: CrossProducts, prof: Profile, reml: bool) -> np.ndarray:
    """Gradient of the profiled deviance with respect to the entries of Lambda."""
    lam = prof.lam
    s2 = prof.sigma2(reml)
    # B_i = Z'Z Lambda A^-1 Lambda'  so that Z'W^-1 M = (I - B_i) Z'M
    B = _right(_mm(_right(cp.ZtZ, lam), prof.Ainv), lam.T)
    Ztr = cp.Zty - np.tensordot(prof.beta, cp.ZtX, axes=([0], [1]))
    h = Ztr - _mm(B, Ztr)
    M = cp.ZtZ.sum(axis=-1) - np.tensordot(B, cp.ZtZ, axes=([1, 2], [0, 2]))
    M -= (h @ h.T) / s2
    if reml:
        K = cp.ZtX - _mm(B, cp.ZtX)  # (q, p, G)
        Sinv = linalg.cho_solve(prof.S_chol, np.eye(cp.p), check_finite=False)
        KS = np.einsum("apg,pc->acg", K, Sinv)
        M -= np.tensordot(KS, K, axes=([1, 2], [1, 2]))
    M = 0.5 * (M + M.T)
    return 2.0 * M @ lam


@dataclass
class Optimum:
    x: np.ndarray
    deviance: float
    success: bool
    message: str
    nfev: int


def _minimise(
    cp: CrossProducts, reml: bool, lam_of: Callable, x0: np.ndarray, bounds: list
) -> Optimum:
    """L-BFGS-B on the profiled deviance with its analytic gradient."""

    def dev_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        lam, chain = lam_of(x)
        prof = solve_pls(cp, lam)
        return prof.deviance(reml), chain(deviance_gradient(cp, prof, reml))

    # L-BFGS-B starts with the identity as Hessian: scale the deviance so that the
    # first (Cauchy) step has length ~1 instead of jumping to a bound
    dev0, grad0 = dev_grad(x0)
    scale = max(1.0, float(np.max(np.abs(grad0))))
    gtol = max(GRAD_TOL, GRAD_RTOL * abs(dev0)) / scale

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        dev, grad = dev_grad(x)
        return dev / scale, grad / scale

    res = optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-14, "gtol": gtol, "maxiter": 2000, "maxcor": 20},
    )
    return Optimum(
        res.x, float(res.fun) * scale, bool(res.success), str(res.message), int(res.nfev)
    )


def _log_cholesky_param(q: int):
    """Interior parameterisation: log of the diagonal of Lambda, off-diagonal as is.

    A bounded search in theta itself can stall on the boundary: the deviance is
    even in each diagonal element, so its gradient there is exactly zero (a saddle,
    not an optimum). Boundary optima are found by the separate boundary fits.
    """
    rows, cols = _tril_colwise(q)
    diag = rows == cols

    def lam_of(x):
        th = np.where(diag, np.exp(np.clip(x, -700.0, 700.0)), x)
        lam = np.zeros((q, q))
        lam[rows, cols] = th
        return lam, lambda gl: np.where(diag, gl[rows, cols] * th, gl[rows, cols])

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
    success: bool
    message: str
    boundary: str  # "" interior, "rank1" or "zero"
    alternatives: dict
    nfev: int


def moment_start(cp: CrossProducts) -> np.ndarray:
    """Starting log-Cholesky parameters from per-group least-squares fits.

    Each group's OLS coefficients on ``Z`` (fitted to the pooled-OLS residuals)
    give a between-group covariance; the pooled within-group residual variance
    estimates sigma^2 and removes the sampling part (a method-of-moments
    estimate, clipped to be positive definite).
    """
    q = cp.q
    beta = np.linalg.lstsq(cp.XtX, cp.Xty, rcond=None)[0]
    Ztr = cp.Zty - np.tensordot(beta, cp.ZtX, axes=([0], [1]))
    n_g = cp.ZtZ[0, 0]
    if q == 1:
        ok = n_g > 0
        inv = 1.0 / cp.ZtZ[:, :, ok]
    elif q > 2:
        Zg = np.moveaxis(cp.ZtZ, -1, 0)
        ok = np.linalg.cond(Zg) < 1e8
        inv = (
            np.moveaxis(np.linalg.inv(Zg[ok]), 0, -1) if ok.any() else np.zeros((q, q, 0))
        )
    else:
        det = cp.ZtZ[0, 0] * cp.ZtZ[1, 1] - cp.ZtZ[0, 1] ** 2
        ok = det > 1e-10 * (cp.ZtZ[0, 0] * cp.ZtZ[1, 1] + 1e-300)
        inv = _inv_logdet(cp.ZtZ[:, :, ok])[0] if ok.any() else np.zeros((2, 2, 0))
    b = _mm(inv, Ztr[:, ok]) if ok.any() else np.zeros((q, 0))
    within = cp.rss_ols[ok] - np.sum(b * Ztr[:, ok], axis=0)
    dof = n_g[ok] - q
    if dof.sum() > 0:
        sigma2 = max(float(within[dof > 0].sum() / dof.sum()), 1e-12)
    else:
        sigma2 = max(float(cp.rss_ols.sum() / max(cp.n - cp.p, 1)), 1e-12)
    if b.shape[1] > q:
        D = np.cov(b).reshape(q, q) - sigma2 * inv.mean(axis=-1)
    else:
        D = np.eye(q) * sigma2
    evals, evecs = np.linalg.eigh(0.5 * (D + D.T))
    evals = np.maximum(evals, 0.01 * sigma2)  # start inside, away from the boundary
    lam = np.linalg.cholesky((evecs * evals) @ evecs.T / sigma2)
    rows, cols = _tril_colwise(q)
    x = lam[rows, cols]
    return np.where(rows == cols, np.log(np.clip(x, np.exp(-20.0), np.exp(LOG_LAMBDA_MAX - 1))), x)


def start_from_lambda(lam: np.ndarray) -> np.ndarray:
    """Log-Cholesky parameters of a lower-triangular factor with a positive diagonal."""
    rows, cols = _tril_colwise(lam.shape[0])
    x = lam[rows, cols]
    diag = rows == cols
    out = x.copy()
    out[diag] = np.log(np.clip(x[diag], np.exp(-20.0), np.exp(LOG_LAMBDA_MAX - 1)))
    return out


def fit_theta(
    cp: CrossProducts,
    reml: bool,
    x0: np.ndarray | None = None,
    extra_starts: list[np.ndarray] | None = None,
) -> FitPath:
    """Minimise the profiled deviance over theta, then compare with boundary fits.

    The interior fit is L-BFGS-B in the log-Cholesky parameterisation with the
    analytic gradient, from a method-of-moments start and (small data, or a first
    fit ending near the boundary) also from lme4's start; the lower deviance is
    kept. Its deviance is then compared with the best fit on the
    boundary (rank-one covariance for the random slope: zero slope variance or
    correlation +-1; and zero covariance), and the lower deviance wins, so an
    optimum on the boundary is reached exactly rather than approached.
    """
    q = cp.q
    n_par = q * (q + 1) // 2
    rows, cols = _tril_colwise(q)
    diag = rows == cols
    # relative SDs between e^-25 and e^11.5 (1e5): beyond that X'W^-1 X loses its
    # precision; an optimum at the upper limit is reported as not converged
    bounds = [(-25.0, LOG_LAMBDA_MAX) if d else (None, None) for d in diag]
    starts = [x0] if x0 is not None else [moment_start(cp), np.zeros(n_par)]
    starts += list(extra_starts or [])
    main = _minimise(cp, reml, _log_cholesky_param(q), starts[0], bounds)
    for start in starts[1:]:
        # small data: always try lme4's start too (theta = 1, 0, 1 on the standardised
        # scale); large data: only when the first fit ends near the boundary or fails.
        # With more than two random effects the deviance can have several local
        # optima: every start is tried.
        near_boundary = np.min(main.x[diag]) < np.log(1e-2)
        if q <= 2 and len(cp.rss_ols) > 5000 and main.success and not near_boundary:
            break
        other = _minimise(cp, reml, _log_cholesky_param(q), start, bounds)
        other.nfev += main.nfev
        if other.deviance < main.deviance:
            main = other
        else:
            main.nfev = other.nfev
    theta = np.where(diag, np.exp(main.x), main.x)
    alts = {"interior": main.deviance}
    chosen = FitPath(theta, main.deviance, main.success, main.message, "", alts, main.nfev)
    if q == 2:
        # start from the best rank-one approximation of the interior covariance
        lam = theta_to_lambda(theta, 2)
        w, vec = np.linalg.eigh(lam @ lam.T)
        v0 = np.sqrt(max(w[-1], 1e-8)) * vec[:, -1]
        r1 = _minimise(cp, reml, _rank1_param(), v0, [(None, None)] * 2)
        alts["rank1"] = r1.deviance
        chosen.nfev += r1.nfev
        if r1.deviance < chosen.deviance - 1e-10:
            v = r1.x[:, None]
            th = lambda_to_theta(psd_factor(v @ v.T))
            chosen = FitPath(th, r1.deviance, r1.success, r1.message, "rank1", alts, chosen.nfev)
    if q > 2:
        chosen = _boundary_fits(cp, reml, theta, chosen)
    zero_dev = solve_pls(cp, np.zeros((q, q))).deviance(reml)
    alts["zero"] = zero_dev
    if zero_dev < chosen.deviance - 1e-10:
        chosen = FitPath(np.zeros(n_par), zero_dev, True, "", "zero", alts, chosen.nfev)
    return chosen


def _fixed_diag_param(q: int, zero: np.ndarray):
    """Log-Cholesky parameters with the diagonal entries in ``zero`` fixed at 0."""
    rows, cols = _tril_colwise(q)
    diag = rows == cols
    free = ~(diag & np.isin(rows, zero))

    def lam_of(x):
        full = np.zeros(len(rows))
        full[free] = x
        th = np.where(diag, np.exp(np.clip(full, -700.0, 700.0)), full)
        th[~free] = 0.0
        lam = np.zeros((q, q))
        lam[rows, cols] = th
        return lam, lambda gl: np.where(diag, gl[rows, cols] * th, gl[rows, cols])[free]

    return lam_of, free


def _boundary_fits(cp: CrossProducts, reml: bool, theta: np.ndarray, chosen: FitPath) -> FitPath:
    """q > 2: refit with the small diagonal entries of Lambda fixed at 0.

    The interior search only approaches such a boundary (the log-Cholesky
    diagonal goes to minus infinity); fixing the entries at 0 reaches it
    exactly, as the rank-one fit does for q = 2.
    """
    q = cp.q
    rows, cols = _tril_colwise(q)
    diag = rows == cols
    lam = theta_to_lambda(theta, q)
    d = np.abs(np.diag(lam))
    small = np.flatnonzero(d < 1e-2 * max(d.max(), 1e-300))
    if small.size == 0 or small.size == q:
        return chosen
    lam_of, free = _fixed_diag_param(q, small)
    x_full = np.where(diag, np.log(np.maximum(np.abs(theta), 1e-12)), theta)
    bounds = [(-25.0, LOG_LAMBDA_MAX) if dg else (None, None) for dg in diag[free]]
    fit = _minimise(cp, reml, lam_of, x_full[free], bounds)
    chosen.alternatives["diag0"] = fit.deviance
    chosen.nfev += fit.nfev
    if fit.deviance < chosen.deviance - 1e-10:
        lam_b, _ = lam_of(fit.x)
        th = lambda_to_theta(lam_b)
        return FitPath(th, fit.deviance, fit.success, fit.message, "diag0", chosen.alternatives,
                       chosen.nfev)
    return chosen


def projected_gradient(theta: np.ndarray, grad: np.ndarray, q: int) -> np.ndarray:
    """Gradient with components pointing out of the feasible region set to zero."""
    rows, cols = _tril_colwise(q)
    pg = grad.copy()
    at_bound = (rows == cols) & (theta <= 1e-10) & (grad > 0)
    pg[at_bound] = 0.0
    return pg
