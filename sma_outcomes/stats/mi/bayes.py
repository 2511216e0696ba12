"""Posterior draws of the imputation MMRM by Gibbs sampling with data augmentation.

Prior: flat on the coefficients, Jeffreys' ``p(Sigma) ~ |Sigma|^-(d+1)/2`` on the
unstructured covariance (Schafer 1997, the ``norm`` model). Each iteration:

1. the values outside the fitting mask (missing, or after a non-MAR event) are
   drawn from their conditional normal given the patient's values in the mask;
2. ``beta | Sigma, Y ~ N(beta_GLS, (sum X_i' Sigma^-1 X_i)^-1)``;
3. ``Sigma | beta, Y ~ InverseWishart(n, sum r_i r_i')``.

The chain starts at the REML estimate; after ``burn_in`` iterations every
``thin``-th draw is kept. Convergence is checked on the kept draws of the
coefficients and log variances with the split R-hat and the effective sample
size (Gelman et al., Bayesian Data Analysis, 3rd ed., ch. 11).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> Y = rng.normal(size=(50, 2)); Y[:10, 1] = np.nan; X = np.ones((50, 2, 1))
>>> from sma_outcomes.stats.mi.model import fit_reml
>>> mask = ~np.isnan(Y)
>>> draws, diag = gibbs(Y, X, mask, fit_reml(Y, X, mask), 20, rng, burn_in=20, thin=2)
>>> len(draws), sorted(diag)
(20, ['ess_min', 'rhat_max'])
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, stats

from .impute import groups, impute
from .model import ModelFit

#: Iterations discarded before the first kept draw.
BURN_IN = 200
#: Keep every ``THIN``-th iteration after the burn-in.
THIN = 10


def split_rhat(chain: np.ndarray) -> np.ndarray:
    """Split R-hat of each column of a (draws, parameters) chain.

    Examples
    --------
    >>> x = np.random.default_rng(1).normal(size=(400, 2))
    >>> bool(np.all(split_rhat(x) < 1.02))
    True
    """
    n = chain.shape[0] // 2
    halves = np.stack([chain[:n], chain[n: 2 * n]])  # (2, n, k)
    w = halves.var(axis=1, ddof=1).mean(axis=0)
    b = n * halves.mean(axis=1).var(axis=0, ddof=1)
    var = (n - 1) / n * w + b / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0, np.sqrt(var / w), 1.0)


def effective_size(chain: np.ndarray) -> np.ndarray:
    """Effective sample size per column (autocorrelations summed in pairs while positive).

    Examples
    --------
    >>> x = np.random.default_rng(2).normal(size=(500, 1))
    >>> bool(effective_size(x)[0] > 300)
    True
    """
    n, k = chain.shape
    out = np.empty(k)
    for j in range(k):
        x = chain[:, j] - chain[:, j].mean()
        v = float(x @ x) / n
        if v <= 0:
            out[j] = n
            continue
        f = np.fft.rfft(x, 2 * n)
        acf = np.fft.irfft(f * np.conj(f))[:n] / (n * v)
        s = 0.0
        for t in range(1, n - 1, 2):
            pair = acf[t] + acf[t + 1]
            if pair < 0:
                break
            s += pair
        out[j] = n / (1.0 + 2.0 * s)
    return np.minimum(out, n)


def gibbs(
    Y: np.ndarray,
    X: np.ndarray,
    mask: np.ndarray,
    start: ModelFit,
    n_draws: int,
    rng: np.random.Generator,
    *,
    burn_in: int = BURN_IN,
    thin: int = THIN,
) -> tuple[list[ModelFit], dict[str, float]]:
    """Posterior draws of (beta, Sigma) and convergence diagnostics.

    Parameters
    ----------
    Y : ndarray (n, d)
    X : ndarray (n, d, p)
    mask : ndarray (n, d) of bool
        Values the model is fitted to; the others are augmented.
    start : ModelFit
        Starting point (the REML fit).
    n_draws : int
        Draws kept.
    rng : numpy Generator

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> Y = rng.normal(2.0, 1.0, size=(80, 1)); X = np.ones((80, 1, 1))
    >>> from sma_outcomes.stats.mi.model import fit_reml
    >>> m = np.ones((80, 1), bool)
    >>> draws, _ = gibbs(Y, X, m, fit_reml(Y, X, m), 200, rng, burn_in=50, thin=1)
    >>> post = np.array([dr.beta[0] for dr in draws])
    >>> bool(abs(post.mean() - Y.mean()) < 0.05), bool(abs(post.std() - Y.std() / 80 ** .5) < 0.03)
    (True, True)
    """
    rows = mask.any(axis=1)
    Yf = np.where(mask, Y, np.nan)[rows]
    Xr = X[rows]
    cond = mask[rows]
    n, d, p = Xr.shape
    Xf = Xr.reshape(-1, p)
    beta, Sigma = start.beta.copy(), start.Sigma.copy()
    kept: list[ModelFit] = []
    trace = []
    total = burn_in + n_draws * thin
    grouped = groups(np.isnan(Yf), cond)
    for it in range(1, total + 1):
        Yc = impute(Yf, Xr @ beta, Sigma, cond, rng, grouped)
        Sinv = linalg.inv(Sigma)
        Z = np.einsum("ij,njb->nib", Sinv, Xr).reshape(-1, p)
        A = Xf.T @ Z
        L = np.linalg.cholesky(A)
        b_hat = linalg.cho_solve((L, True), Z.T @ Yc.reshape(-1))
        beta = b_hat + linalg.solve_triangular(L.T, rng.standard_normal(p), lower=False)
        R = Yc - Xr @ beta
        S = R.T @ R
        Sigma = np.atleast_2d(stats.invwishart.rvs(df=n, scale=S, random_state=rng))
        if it > burn_in and (it - burn_in) % thin == 0:
            kept.append(ModelFit(beta.copy(), Sigma.copy(), np.array([]), np.nan, True, it))
            trace.append(np.r_[beta, np.log(np.diag(Sigma))])
    chain = np.array(trace)
    diag = {"rhat_max": float(np.max(split_rhat(chain))) if len(chain) >= 4 else np.nan,
            "ess_min": float(np.min(effective_size(chain))) if len(chain) >= 4 else np.nan}
    return kept, diag
