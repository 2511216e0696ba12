"""Impute the missing values: conditional means, or draws from the conditional normal.

For a patient with mean vector ``mu`` (from the strategy), covariance ``Sigma``,
values ``y_O`` at the visits used for conditioning and missing visits ``M``:

``E[y_M | y_O] = mu_M + Sigma_MO Sigma_OO^-1 (y_O - mu_O)`` and
``Var[y_M | y_O] = Sigma_MM - Sigma_MO Sigma_OO^-1 Sigma_OM``.

All observed values condition the imputation, also those observed after a
non-MAR event (which the imputation model leaves out), as in rbmi.
Patients are processed in groups sharing the same (conditioning, missing)
visits, so each group needs one solve.

Examples
--------
>>> import numpy as np
>>> Y = np.array([[2.0, np.nan]]); mu = np.zeros((1, 2))
>>> S = np.array([[1.0, 0.5], [0.5, 1.0]])
>>> impute(Y, mu, S, ~np.isnan(Y)).tolist()  # 0 + 0.5 / 1 * 2
[[2.0, 1.0]]
"""

from __future__ import annotations

import numpy as np


def groups(missing: np.ndarray, condition: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Patients sharing the same conditioning and missing visits: ``(rows, obs, mis)``.

    Computed once per data set and reused for every imputation.

    Examples
    --------
    >>> m = np.array([[False, True], [False, True], [True, True]])
    >>> [(r.ravel().tolist(), o.tolist(), x.tolist()) for r, o, x in groups(m, ~m)]
    [([2], [], [0, 1]), ([0, 1], [0], [1])]
    """
    n, d = missing.shape
    bits = 1 << np.arange(d, dtype=np.int64)
    key = (condition.astype(np.int64) @ bits) * (1 << d) + missing.astype(np.int64) @ bits
    rows_with = np.flatnonzero(missing.any(axis=1))
    order = rows_with[np.argsort(key[rows_with], kind="stable")]
    ks = key[order]
    if not ks.size:
        return []
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    ends = np.r_[starts[1:], ks.size]
    out = []
    for a, b in zip(starts, ends, strict=True):
        idx = order[a:b]
        out.append((idx[:, None], np.flatnonzero(condition[idx[0]]),
                    np.flatnonzero(missing[idx[0]])))
    return out


def impute(
    Y: np.ndarray,
    mu: np.ndarray,
    Sigma: np.ndarray,
    condition: np.ndarray,
    rng: np.random.Generator | None = None,
    grouped: list[tuple[np.ndarray, ...]] | None = None,
) -> np.ndarray:
    """Completed outcomes: conditional means (``rng=None``) or conditional draws.

    Parameters
    ----------
    Y : ndarray (n, d)
        Outcomes, NaN where missing (the values to impute).
    mu : ndarray (n, d)
        Means of the imputation distribution (after the strategy).
    Sigma : ndarray (d, d)
        Covariance over visits.
    condition : ndarray (n, d) of bool
        Observed values that condition the imputation.
    rng : numpy Generator, optional
        Draw from the conditional distribution instead of taking its mean.
    grouped : list, optional
        ``groups(isnan(Y), condition)``, when already computed.

    Examples
    --------
    >>> Y = np.array([[np.nan, np.nan]]); S = np.eye(2)
    >>> impute(Y, np.array([[1.0, 2.0]]), S, np.zeros((1, 2), bool)).tolist()
    [[1.0, 2.0]]
    """
    out = Y.copy()
    if grouped is None:
        grouped = groups(np.isnan(Y), condition)
    for rows, obs, mis in grouped:
        m = mu[rows, mis]
        if obs.size:
            K = np.linalg.solve(Sigma[obs[:, None], obs], Sigma[obs[:, None], mis])
            m = m + (Y[rows, obs] - mu[rows, obs]) @ K
            V = Sigma[mis[:, None], mis] - Sigma[mis[:, None], obs] @ K
        else:
            V = Sigma[mis[:, None], mis]
        if rng is not None:
            L = np.linalg.cholesky(0.5 * (V + V.T))
            m = m + rng.standard_normal((rows.shape[0], mis.size)) @ L.T
        out[rows, mis] = m
    return out
