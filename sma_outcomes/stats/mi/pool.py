"""Pooling: Rubin's rules with Barnard-Rubin df, and the jackknife.

Rubin's rules (Rubin 1987) with the small-sample degrees of freedom of Barnard &
Rubin (1999), as R's ``mice::pool``: for ``m`` estimates ``Q_l`` with variances
``U_l`` and complete-data df ``nu_com``,
``Q = mean(Q_l)``, ``U = mean(U_l)``, ``B = var(Q_l)``, ``T = U + (1 + 1/m) B``,
``lambda = (1 + 1/m) B / T``, ``nu_old = (m - 1) / lambda^2``,
``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)`` and
``nu = nu_old nu_obs / (nu_old + nu_obs)``.

The jackknife of conditional mean imputation (Wolbers et al. 2022): the
estimate is the one on the full data; its standard error is
``sqrt((n - 1) / n * sum_i (theta_(-i) - mean theta_(-i))^2)`` over the
leave-one-patient-out estimates (imputation model refitted each time);
intervals and p-values are normal (df = inf), as rbmi's.

Examples
--------
>>> import numpy as np
>>> est, se, df = rubin(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [1.0], [1.0]]),
...                     np.array([10.0]))
>>> round(float(est[0]), 6), round(float(se[0] ** 2), 6)
(2.0, 2.333333)
"""

from __future__ import annotations

import numpy as np


def barnard_rubin(m: int, b: np.ndarray, t: np.ndarray, df_com: np.ndarray) -> np.ndarray:
    """Barnard-Rubin degrees of freedom (``mice:::barnard.rubin``).

    Examples
    --------
    >>> round(float(barnard_rubin(5, np.array([0.0]), np.array([1.0]), np.array([30.0]))[0]), 4)
    28.179
    """
    b = np.asarray(b, dtype=float)
    t = np.asarray(t, dtype=float)
    df_com = np.broadcast_to(np.asarray(df_com, dtype=float), b.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (1.0 + 1.0 / m) * b / t
        lam = np.where(lam < 1e-4, 1e-4, lam)  # mice's floor on lambda
        dfold = (m - 1) / lam**2
        dfobs = (df_com + 1.0) / (df_com + 3.0) * df_com * (1.0 - lam)
        out = dfold * dfobs / (dfold + dfobs)
    return np.where(np.isinf(df_com), dfold, out)


def rubin(est: np.ndarray, var: np.ndarray, df_com: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled estimate, standard error and df from ``m`` completed-data analyses.

    Parameters
    ----------
    est, var : ndarray (m, k)
        Estimates and their variances per data set.
    df_com : ndarray (k,)
        Complete-data degrees of freedom.

    Examples
    --------
    >>> est, se, df = rubin(np.array([[1.0], [1.0]]), np.array([[4.0], [4.0]]), np.array([20.0]))
    >>> float(se[0])
    2.0
    """
    m = est.shape[0]
    q = est.mean(axis=0)
    u = var.mean(axis=0)
    b = est.var(axis=0, ddof=1) if m > 1 else np.zeros_like(q)
    t = u + (1.0 + 1.0 / m) * b
    return q, np.sqrt(t), barnard_rubin(m, b, t, df_com)


def jackknife(full: np.ndarray, loo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-data estimate, jackknife standard error and df = inf.

    Parameters
    ----------
    full : ndarray (k,)
        Estimates on the full data.
    loo : ndarray (n, k)
        Estimates with each patient left out.

    Examples
    --------
    >>> est, se, df = jackknife(np.array([2.0]), np.array([[1.0], [2.0], [3.0]]))
    >>> round(float(se[0]), 6), float(df[0])
    (1.154701, inf)
    """
    n = loo.shape[0]
    dev = loo - loo.mean(axis=0)
    se = np.sqrt((n - 1) / n * np.sum(dev**2, axis=0))
    return np.asarray(full, dtype=float), se, np.full(full.shape, np.inf)
