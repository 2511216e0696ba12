"""Generalised least squares likelihood of an MMRM, vectorised per missing-data pattern.

Patients are grouped by the set of visits at which they have an outcome; within
a pattern the covariance matrix is the same sub-matrix of Sigma, so one
Cholesky factor and a few matrix products serve every patient of the pattern.

For a covariance matrix Sigma (and optionally its derivatives dSigma_k) the
module returns -2 log-likelihood (REML or ML), the GLS estimate of beta, its
covariance ``(X' V^-1 X)^-1`` and the gradient of -2 log-likelihood; with
``tensors=True`` it also returns the per-pattern moment tensors from which the
Kenward-Roger and Satterthwaite matrices ``P_k = X'V^-1 dV_k V^-1 X`` are built.

Examples
--------
>>> import numpy as np
>>> y = np.array([1.0, 2.0, 2.0, 3.5, 0.5])
>>> X = np.ones((5, 1))
>>> pat = Patterns.build(y, X, subject=np.array([0, 0, 1, 1, 2]),
...                      visit=np.array([0, 1, 0, 1, 1]), n_visits=2)
>>> [p.visits.tolist() for p in pat.groups]
[[1], [0, 1]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import linalg
from scipy.linalg.lapack import dpotrf, dpotrs

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class Pattern:
    """Patients observed at the same visits: ``Y`` is (n, k), ``X`` is (n, k, p).

    Examples
    --------
    >>> Pattern(np.array([0]), np.zeros((2, 1)), np.ones((2, 1, 1)), np.arange(2)).n
    2
    """

    visits: np.ndarray
    Y: np.ndarray
    X: np.ndarray
    subjects: np.ndarray

    @property
    def n(self) -> int:
        return self.Y.shape[0]

    @cached_property
    def index(self) -> tuple[np.ndarray, np.ndarray]:
        """``np.ix_(visits, visits)``: the pattern's block of a visit x visit matrix."""
        return np.ix_(self.visits, self.visits)

    @cached_property
    def X_flat(self) -> np.ndarray:
        """``X`` as (n * k, p) rows."""
        return self.X.reshape(-1, self.X.shape[-1])

    @cached_property
    def eye(self) -> np.ndarray:
        """Identity of the pattern's size (read only)."""
        e = np.eye(self.visits.size)
        e.flags.writeable = False
        return e


@dataclass
class Patterns:
    """All patterns of a data set, with the totals the likelihood needs.

    Examples
    --------
    >>> p = Patterns.build(np.ones(3), np.ones((3, 1)), np.array([0, 0, 1]),
    ...                    np.array([0, 1, 1]), 2)
    >>> p.n_obs, len(p.groups)
    (3, 2)
    """

    groups: list[Pattern]
    n_obs: int
    p: int
    d: int
    XtX_rank: int = field(default=0)

    @classmethod
    def build(
        cls,
        y: np.ndarray,
        X: np.ndarray,
        subject: np.ndarray,
        visit: np.ndarray,
        n_visits: int,
    ) -> Patterns:
        """Group rows by the pattern of observed visits of their subject.

        ``subject`` holds integer codes 0..n_subjects-1 and ``visit`` codes
        0..n_visits-1; each (subject, visit) pair must appear at most once.

        Examples
        --------
        >>> p = Patterns.build(np.arange(3.0), np.ones((3, 1)), np.array([0, 0, 1]),
        ...                    np.array([0, 1, 1]), 2)
        >>> [g.Y.tolist() for g in p.groups]
        [[[2.0]], [[0.0, 1.0]]]
        """
        subject = np.asarray(subject, dtype=np.int64)
        visit = np.asarray(visit, dtype=np.int64)
        n_sub = int(subject.max()) + 1 if subject.size else 0
        masks = [0] * n_sub
        for s, v in zip(subject.tolist(), visit.tolist(), strict=True):
            masks[s] |= 1 << v
        keys = sorted(set(masks), key=lambda m: (bin(m).count("1"), m))
        key_index = {m: i for i, m in enumerate(keys)}
        sub_pat = np.array([key_index[m] for m in masks], dtype=np.int64)
        row_pat = sub_pat[subject]
        order = np.lexsort((visit, subject, row_pat))
        groups = []
        bounds = np.searchsorted(row_pat[order], np.arange(len(keys) + 1))
        for i, m in enumerate(keys):
            rows = order[bounds[i] : bounds[i + 1]]
            vis = np.array([j for j in range(n_visits) if m >> j & 1], dtype=np.int64)
            k = vis.size
            n = rows.size // k
            groups.append(
                Pattern(
                    visits=vis,
                    Y=y[rows].reshape(n, k),
                    X=X[rows].reshape(n, k, X.shape[1]),
                    subjects=subject[rows].reshape(n, k)[:, 0],
                )
            )
        return cls(groups=groups, n_obs=int(y.size), p=int(X.shape[1]), d=int(n_visits))


@dataclass
class Evaluation:
    """Everything computed at one value of Sigma.

    Examples
    --------
    >>> Evaluation(1.0, np.zeros(1), np.eye(1)).ok
    True
    """

    m2ll: float
    beta: np.ndarray
    cov_beta: np.ndarray
    grad: np.ndarray | None = None
    T: list[np.ndarray] | None = None  # per-pattern sum_n Z_n[i,a] Z_n[j,b]
    Sinv: list[np.ndarray] | None = None
    U: list[np.ndarray] | None = None  # per-pattern sum_n u_n u_n' (u = Sigma^-1 r)
    B: list[np.ndarray] | None = None  # per-pattern sum_n Z_n[i,a] u_n[j]
    ok: bool = True


def _cho_factor(S: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of ``S`` (upper triangle not cleaned), as
    ``scipy.linalg.cho_factor(S, lower=True, check_finite=False)[0]``.

    LAPACK is called directly for real matrices (the same ``dpotrf`` that
    ``cho_factor`` calls, without its per-call checks: this runs once per
    missing-data pattern at every likelihood evaluation).

    Examples
    --------
    >>> _cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))[:, 0].tolist()
    [2.0, 1.0]
    """
    if S.dtype != np.float64 or S.ndim != 2 or S.size == 0:
        return linalg.cho_factor(S, lower=True, check_finite=False)[0]
    c, info = dpotrf(S, lower=1, clean=0)
    if info > 0:
        raise linalg.LinAlgError(f"{info}-th leading minor of the array is not positive definite")
    if info < 0:
        raise ValueError(f"illegal value in the {-info}-th argument of dpotrf")
    return c


def _cho_solve(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``scipy.linalg.cho_solve((c, True), b, check_finite=False)`` with LAPACK called directly.

    Examples
    --------
    >>> c = _cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> _cho_solve(c, np.array([4.0, 2.0])).tolist()
    [1.0, 0.0]
    """
    if c.dtype != np.float64 or b.dtype != np.float64 or b.size == 0:
        return linalg.cho_solve((c, True), b, check_finite=False)
    x, info = dpotrs(c, b, lower=1)
    if info != 0:
        raise ValueError(f"illegal value in the {-info}-th argument of dpotrs")
    return x


def evaluate(
    pats: Patterns,
    Sigma: np.ndarray,
    dSigma: np.ndarray | None = None,
    *,
    reml: bool = True,
    tensors: bool = False,
) -> Evaluation:
    """-2 log-likelihood, GLS beta and (optionally) its gradient at ``Sigma``.

    Parameters
    ----------
    pats : Patterns
        Data grouped by pattern.
    Sigma : ndarray (d, d)
        Covariance matrix over all visits.
    dSigma : ndarray (m, d, d), optional
        Derivatives of Sigma in the parameters; gives ``grad`` of -2 loglik.
    reml : bool
        REML (default) or ML.
    tensors : bool
        Keep the per-pattern moment tensors (for df computations).

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 2.0, 3.5]); X = np.ones((4, 1))
    >>> pat = Patterns.build(y, X, np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), 2)
    >>> round(float(evaluate(pat, np.eye(2)).beta[0]), 6)
    2.125
    """
    p, d = pats.p, pats.d
    XtVX = np.zeros((p, p))
    XtVy = np.zeros(p)
    logdet = 0.0
    cache = []
    for g in pats.groups:
        S = Sigma[g.index]
        try:
            cf = _cho_factor(S)
        except linalg.LinAlgError:
            return Evaluation(np.inf, np.zeros(p), np.full((p, p), np.nan), ok=False)
        Sinv = _cho_solve(cf, g.eye)
        logdet += g.n * 2.0 * float(np.sum(np.log(np.diag(cf))))
        Z = np.einsum("ij,njb->nib", Sinv, g.X)  # Sigma^-1 X_n
        Zf = Z.reshape(-1, p)
        XtVX += g.X_flat.T @ Zf
        XtVy += Zf.T @ g.Y.reshape(-1)
        cache.append((Sinv, Z))
    try:
        cfx = _cho_factor(XtVX)
    except linalg.LinAlgError:
        return Evaluation(np.inf, np.zeros(p), np.full((p, p), np.nan), ok=False)
    beta = _cho_solve(cfx, XtVy)
    C = _cho_solve(cfx, np.eye(p))
    quad = 0.0
    G = np.zeros((d, d)) if dSigma is not None else None
    T_list: list[np.ndarray] | None = [] if tensors else None
    Sinv_list: list[np.ndarray] = []
    U_list: list[np.ndarray] = []
    B_list: list[np.ndarray] = []
    for g, (Sinv, Z) in zip(pats.groups, cache, strict=True):
        r = g.Y - g.X @ beta  # (n, k)
        u = r @ Sinv  # Sigma^-1 r_n (Sinv symmetric)
        quad += float(np.sum(u * r))
        if G is not None:
            Gp = g.n * Sinv - u.T @ u
            if reml:
                A = Z @ C  # (n, k, p): Sigma^-1 X_n C
                Gp -= np.einsum("nia,nja->ij", A, Z)
            G[g.index] += Gp
        if T_list is not None:
            T_list.append(np.einsum("nia,njb->ijab", Z, Z))
            Sinv_list.append(Sinv)
            U_list.append(u.T @ u)
            B_list.append(np.einsum("nia,nj->iaj", Z, u))
    n = pats.n_obs
    if reml:
        m2ll = (n - p) * LOG_2PI + logdet + 2.0 * float(np.sum(np.log(np.diag(cfx)))) + quad
    else:
        m2ll = n * LOG_2PI + logdet + quad
    grad = None
    if dSigma is not None:
        grad = np.einsum("kij,ij->k", dSigma, G)
    if not tensors:
        return Evaluation(m2ll, beta, C, grad)
    return Evaluation(m2ll, beta, C, grad, T_list, Sinv_list, U_list, B_list)


def hessian(
    pats: Patterns,
    ev: Evaluation,
    dSigma: np.ndarray,
    d2Sigma: np.ndarray | None = None,
    *,
    reml: bool = True,
) -> np.ndarray:
    """Analytic observed Hessian of -2 log-likelihood in the covariance parameters.

    ``ev`` must come from :func:`evaluate` with ``tensors=True`` at the same
    Sigma. With ``V_k = dV/dphi_k``, ``P_k = X'V^-1 V_k V^-1 X``, ``C = (X'V^-1X)^-1``,
    ``r`` the GLS residuals and ``a_k = X'V^-1 V_k V^-1 r``:

    ``H_kl = -tr(V^-1 V_k V^-1 V_l) + tr(V^-1 V_kl) + 2 r'V^-1 V_k V^-1 V_l V^-1 r
    - r'V^-1 V_kl V^-1 r - 2 a_k' C a_l``, and for REML additionally
    ``- tr(C P_k C P_l) + tr(C (Q_kl + Q_lk)) - tr(C R_kl)``.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 2.0, 3.5, 0.0, 1.0]); X = np.ones((6, 1))
    >>> pat = Patterns.build(y, X, np.array([0, 0, 1, 1, 2, 2]), np.tile([0, 1], 3), 2)
    >>> dS = np.array([[[1.0, 0], [0, 0]], [[0, 1.0], [1.0, 0]], [[0, 0], [0, 1.0]]])
    >>> ev = evaluate(pat, np.array([[2.0, 0.5], [0.5, 1.0]]), tensors=True)
    >>> hessian(pat, ev, dS).shape
    (3, 3)
    """
    m = dSigma.shape[0]
    H = np.zeros((m, m))
    C = ev.cov_beta
    a = np.zeros((m, pats.p))
    P = np.zeros((m, pats.p, pats.p)) if reml else None
    for g, Sinv, U, B, T in zip(pats.groups, ev.Sinv, ev.U, ev.B, ev.T, strict=True):
        dS = dSigma[:, g.visits][:, :, g.visits]
        A = np.einsum("ij,kjl->kil", Sinv, dS)  # Sigma^-1 Sigma_k
        H -= g.n * np.einsum("kij,lji->kl", A, A)
        # 2 tr(Sigma_k Sigma^-1 Sigma_l U)
        H += 2.0 * np.einsum("kij,ljm,mi->kl", dS, A, U)
        a += np.einsum("kij,iaj->ka", dS, B)
        d2 = None if d2Sigma is None else d2Sigma[:, :, g.visits][:, :, :, g.visits]
        if d2 is not None:
            H += g.n * np.einsum("ij,klji->kl", Sinv, d2)
            H -= np.einsum("klij,ji->kl", d2, U)
        if reml:
            P += np.einsum("kij,ijab->kab", dS, T)
            tau = np.einsum("ijab,ba->ij", T, C)  # tr(C Q_kl) = sum_ij (S_k S^-1 S_l)_ij tau_ij
            CQ = np.einsum("kij,ljm,im->kl", dS, A, tau)
            H += CQ + CQ.T
            if d2 is not None:
                H -= np.einsum("klij,ij->kl", d2, tau)
    H -= 2.0 * a @ C @ a.T
    if reml:
        CP = np.einsum("ab,kbc->kac", C, P)
        H -= np.einsum("kab,lba->kl", CP, CP)
    return 0.5 * (H + H.T)


def p_matrices(pats: Patterns, ev: Evaluation, dSigma: np.ndarray) -> np.ndarray:
    """``P_k = X' V^-1 dV_k V^-1 X`` for every parameter, shape (m, p, p).

    Examples
    --------
    >>> p = Patterns.build(np.array([1.0, 2.0]), np.ones((2, 1)), np.array([0, 1]),
    ...                    np.array([0, 0]), 1)
    >>> ev = evaluate(p, np.eye(1) * 2.0, tensors=True)
    >>> p_matrices(p, ev, np.ones((1, 1, 1))).round(12).tolist()  # 2 x 1/2 x 1 x 1/2
    [[[0.5]]]
    """
    m, p = dSigma.shape[0], pats.p
    out = np.zeros((m, p, p))
    for g, T in zip(pats.groups, ev.T, strict=True):
        dS = dSigma[:, g.visits][:, :, g.visits]
        out += np.einsum("kij,ijab->kab", dS, T)
    return out


def q_matrices(pats: Patterns, ev: Evaluation, dSigma: np.ndarray) -> np.ndarray:
    """``Q_kl = X' V^-1 dV_k V^-1 dV_l V^-1 X``, shape (m, m, p, p).

    Examples
    --------
    >>> p = Patterns.build(np.array([1.0, 2.0]), np.ones((2, 1)), np.array([0, 1]),
    ...                    np.array([0, 0]), 1)
    >>> ev = evaluate(p, np.eye(1) * 2.0, tensors=True)
    >>> q_matrices(p, ev, np.ones((1, 1, 1))).round(12).tolist()
    [[[[0.25]]]]
    """
    m, p = dSigma.shape[0], pats.p
    out = np.zeros((m, m, p, p))
    for g, T, Sinv in zip(pats.groups, ev.T, ev.Sinv, strict=True):
        dS = dSigma[:, g.visits][:, :, g.visits]
        M = np.einsum("kij,jl,mln->kmin", dS, Sinv, dS)
        out += np.einsum("kmij,ijab->kmab", M, T)
    return out


def r_matrices(pats: Patterns, ev: Evaluation, d2Sigma: np.ndarray) -> np.ndarray:
    """``R_kl = X' V^-1 d2V_kl V^-1 X``, shape (m, m, p, p).

    Examples
    --------
    >>> p = Patterns.build(np.array([1.0, 2.0]), np.ones((2, 1)), np.array([0, 1]),
    ...                    np.array([0, 0]), 1)
    >>> ev = evaluate(p, np.eye(1) * 2.0, tensors=True)
    >>> r_matrices(p, ev, np.ones((1, 1, 1, 1))).round(12).tolist()
    [[[[0.5]]]]
    """
    m, p = d2Sigma.shape[0], pats.p
    out = np.zeros((m, m, p, p))
    for g, T in zip(pats.groups, ev.T, strict=True):
        dS = d2Sigma[:, :, g.visits][:, :, :, g.visits]
        out += np.einsum("klij,ijab->klab", dS, T)
    return out
