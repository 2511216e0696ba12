"""Denominator degrees of freedom for contrasts of the fixed effects.

- ``"satterthwaite"``: ``df = 2 f^2 / (g' W g)`` with ``f = l' C l``, ``g_k =
  d f / d phi_k = l' C P_k C l`` and ``W`` the inverse of the Hessian of
  -log-likelihood in the covariance parameters (computed by Richardson
  extrapolation of the analytic gradient);
- ``"kr"`` / ``"kr-linear"``: Kenward and Roger (1997), with the adjusted
  covariance of the estimates ``C + 2 C [sum_kl W_kl (Q_kl - P_k C P_l - R_kl / 4)] C``
  (``R`` dropped for KR-linear), in SAS's parameterization of the structure;
- ``"residual"``: ``n_obs - rank(X)``;
- ``"between-within"``: SAS's DDFM=BETWITHIN split of the residual df into a
  between-patient part (``n_patients - rank`` of the between-patient columns)
  and a within-patient part; a contrast gets the smallest df among the columns
  it involves.

Examples
--------
>>> import numpy as np
>>> ctx = DfContext(method="residual", C=np.eye(2), n_obs=10, rank=2)
>>> ctx.df_1d(np.array([0.0, 1.0]))
(1.0, 8.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("satterthwaite", "kr", "kr-linear", "residual", "between-within")
_ALIASES = {
    "satterthwaite": "satterthwaite",
    "sat": "satterthwaite",
    "kr": "kr",
    "kenward-roger": "kr",
    "kenwardroger": "kr",
    "kr-linear": "kr-linear",
    "kr_linear": "kr-linear",
    "kr1": "kr-linear",
    "kenward-roger-linear": "kr-linear",
    "residual": "residual",
    "between-within": "between-within",
    "betwithin": "between-within",
    "bw": "between-within",
}


def method_name(df: str) -> str:
    """Canonical df method name.

    Examples
    --------
    >>> method_name("Kenward-Roger")
    'kr'
    """
    key = str(df).lower().strip()
    if key not in _ALIASES:
        raise ValueError(f"df={df!r} is not known; use one of {', '.join(METHODS)}")
    return _ALIASES[key]


@dataclass
class DfContext:
    """What df computations need from a fit (all for the estimable columns).

    Examples
    --------
    >>> DfContext(method="residual", C=np.eye(2), n_obs=10, rank=2).vcov.shape
    (2, 2)
    """

    method: str
    C: np.ndarray
    n_obs: int
    rank: int
    P: np.ndarray | None = None  # (m, p, p)
    W: np.ndarray | None = None  # (m, m)
    C_adj: np.ndarray | None = None
    bw_df: np.ndarray | None = None  # per column

    @property
    def vcov(self) -> np.ndarray:
        """Covariance of the estimates used for SEs (KR-adjusted for KR)."""
        return self.C_adj if self.C_adj is not None else self.C

    def df_1d(self, l: np.ndarray) -> tuple[float, float]:  # noqa: E741
        """Variance and df of the contrast ``l' beta``.

        Examples
        --------
        >>> ctx = DfContext("satterthwaite", C=np.eye(1), n_obs=5, rank=1,
        ...                 P=np.ones((1, 1, 1)), W=np.array([[0.5]]))
        >>> ctx.df_1d(np.array([1.0]))
        (1.0, 4.0)
        """
        l = np.asarray(l, dtype=float)  # noqa: E741
        f = float(l @ self.C @ l)
        var = float(l @ self.vcov @ l)
        m = self.method
        if m == "residual":
            return var, float(self.n_obs - self.rank)
        if m == "between-within":
            nz = np.abs(l) > 1e-12
            return var, float(np.min(self.bw_df[nz])) if nz.any() else np.nan
        if m == "satterthwaite":
            Cl = self.C @ l
            g = np.einsum("a,kab,b->k", Cl, self.P, Cl)
            den = float(g @ self.W @ g)
            return var, (2.0 * f * f / den) if den > 0 else np.inf
        return var, kr_df(self.C, l[None, :], self.W, self.P)[0]


def kr_df(C: np.ndarray, L: np.ndarray, W: np.ndarray, P: np.ndarray) -> tuple[float, float]:
    """Kenward-Roger denominator df and F scale ``lambda`` for the rows of ``L``.

    Examples
    --------
    >>> C = np.eye(1); P = np.array([[[1.0]]]); W = np.array([[0.02]])
    >>> round(kr_df(C, np.ones((1, 1)), W, P)[0], 3)  # one row: Satterthwaite's 2f^2/g'Wg
    100.0
    """
    q = L.shape[0]
    M = L.T @ np.linalg.solve(L @ C @ L.T, L)
    MC = M @ C
    A = np.einsum("ab,kbc,cd->kad", MC, P, C)  # M C P_k C
    tr = np.einsum("kaa->k", A)
    a1 = float(tr @ W @ tr)
    trAA = np.einsum("kab,lba->kl", A, A)
    a2 = float(np.sum(W * trAA))
    b = (a1 + 6.0 * a2) / (2.0 * q)
    e_star = 1.0 / (1.0 - a2 / q)
    g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
    denom = 3 * q + 2 - 2 * g
    c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
    v_star = 2.0 / q * (1 + c1 * b) / (1 - c2 * b) ** 2 / (1 - c3 * b)
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (q + 2) / (q * rho - 1)
    lam = m / (e_star * (m - 2))
    return float(m), float(lam)


def kr_adjusted(
    C: np.ndarray, W: np.ndarray, P: np.ndarray, Q: np.ndarray, R: np.ndarray | None
) -> np.ndarray:
    """Kenward-Roger adjusted covariance of the fixed-effect estimates.

    Examples
    --------
    >>> C = np.eye(1); P = np.ones((1, 1, 1)); Q = np.ones((1, 1, 1, 1))
    >>> float(kr_adjusted(C, np.array([[0.5]]), P, Q, None)[0, 0])
    1.0
    """
    PCP = np.einsum("kab,bc,lcd->klad", P, C, P)
    inner = Q - PCP
    if R is not None:
        inner = inner - 0.25 * R
    S = np.einsum("kl,klab->ab", W, inner)
    return C + 2.0 * C @ S @ C


def between_within_df(
    X: np.ndarray, subject: np.ndarray, n_subjects: int, n_obs: int
) -> np.ndarray:
    """Per-column between-within df (SAS DDFM=BETWITHIN, as R mmrm computes it).

    A column that changes within some patient is a within-patient column. The
    between df are ``n_patients - (number of between columns) - intercept``; the
    within df are ``n_obs - n_patients - (number of within columns)``.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0, 0, 1, 1], [0, 1, 0, 1]])
    >>> between_within_df(X, np.array([0, 0, 1, 1]), 2, 4).tolist()
    [1.0, 0.0, 1.0]
    """
    p = X.shape[1]
    is_int = np.all(X == 1.0, axis=0)
    within = np.zeros(p, dtype=bool)
    for j in range(p):
        if is_int[j]:
            within[j] = True
            continue
        col = X[:, j]
        mn = np.full(n_subjects, np.inf)
        mx = np.full(n_subjects, -np.inf)
        np.minimum.at(mn, subject, col)
        np.maximum.at(mx, subject, col)
        within[j] = bool(np.any(mx - mn > 0))
    n_int = int(is_int.any())
    n_between = int((~within).sum())
    n_within = int(within.sum()) - n_int
    ddf_b = n_subjects - n_between - n_int
    ddf_w = n_obs - n_subjects - n_within
    return np.where(within, float(ddf_w), float(ddf_b))
