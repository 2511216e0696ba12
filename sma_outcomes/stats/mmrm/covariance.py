"""Covariance structures of the within-patient residuals across visits.

Each structure has two parameterizations:

- the *working* one, ``theta``, unconstrained, in which the likelihood is
  optimised (log variances, Fisher-z or logistic transforms of correlations,
  a Cholesky factor for ``"us"``, partial autocorrelations for Toeplitz), so
  that every value gives a positive-definite matrix;
- the *natural* one, ``phi``, which is SAS PROC MIXED's (``UN(i,j)`` covariances,
  variances and correlations, ...). Degrees of freedom and the Kenward-Roger
  adjustment are computed in ``phi``, since the Kenward-Roger correction depends
  on the parameterization through the second derivatives of the covariance
  matrix; in SAS's parameterization ``us``, ``cs`` and ``toep`` are linear, so
  KR and KR(LINEAR) coincide there, as in SAS.

Both maps are written with operations that accept complex numbers, so that
first derivatives are taken by the complex step (exact to rounding error).

Examples
--------
>>> import numpy as np
>>> s = get_structure("ar1", 3)
>>> S = s.sigma_nat(np.array([2.0, 0.5]))
>>> S.round(3).tolist()
[[2.0, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 2.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Accepted names (R mmrm's codes) and aliases, mapped to the canonical code.
ALIASES: dict[str, str] = {
    "us": "us",
    "un": "us",
    "unstructured": "us",
    "cs": "cs",
    "csh": "csh",
    "ar1": "ar1",
    "ar1h": "ar1h",
    "arh1": "ar1h",
    "adh": "adh",
    "ante1": "adh",
    "toep": "toep",
    "toeph": "toeph",
}

#: Plain-language names used in summaries.
LONG_NAMES: dict[str, str] = {
    "us": "unstructured",
    "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry",
    "ar1": "first-order autoregressive",
    "ar1h": "heterogeneous first-order autoregressive",
    "adh": "heterogeneous first-order ante-dependence",
    "toep": "Toeplitz",
    "toeph": "heterogeneous Toeplitz",
}

_STEP = 1e-30  # complex step


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pacf_to_acf(pacf) -> list:
    """Autocorrelations r_1..r_k from partial autocorrelations (Durbin-Levinson)."""
    r: list = []
    phi: list = []
    for k, pk in enumerate(pacf, start=1):
        if k == 1:
            rk = pk
            new = [pk]
        else:
            s1 = sum(phi[j] * r[k - 2 - j] for j in range(k - 1))
            s2 = sum(phi[j] * r[j] for j in range(k - 1))
            rk = pk * (1.0 - s2) + s1
            new = [phi[j] - pk * phi[k - 2 - j] for j in range(k - 1)] + [pk]
        r.append(rk)
        phi = new
    return r


def _acf_to_pacf(r: np.ndarray) -> np.ndarray:
    """Partial autocorrelations from autocorrelations (inverse of the above)."""
    out = []
    phi: list[float] = []
    for k in range(1, len(r) + 1):
        if k == 1:
            pk = r[0]
            new = [pk]
        else:
            num = r[k - 1] - sum(phi[j] * r[k - 2 - j] for j in range(k - 1))
            den = 1.0 - sum(phi[j] * r[j] for j in range(k - 1))
            pk = num / den
            new = [phi[j] - pk * phi[k - 2 - j] for j in range(k - 1)] + [pk]
        pk = float(np.clip(pk, -0.95, 0.95))
        out.append(pk)
        phi = new
    return np.array(out)


def _hetero(sd, corr):
    return sd[:, None] * corr * sd[None, :]


@dataclass(frozen=True)
class Structure:
    """A covariance structure over ``d`` ordered visits.

    Parameters
    ----------
    code : str
        Canonical code (``"us"``, ``"cs"``, ``"csh"``, ``"ar1"``, ``"ar1h"``,
        ``"adh"``, ``"toep"``, ``"toeph"``).
    d : int
        Number of visits.

    Examples
    --------
    >>> Structure("cs", 4).n_theta
    2
    """

    code: str
    d: int

    # ------------------------------------------------------------ sizes, names
    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        d = self.d
        return {
            "us": d * (d + 1) // 2,
            "cs": 2,
            "csh": d + 1,
            "ar1": 2,
            "ar1h": d + 1,
            "adh": 2 * d - 1,
            "toep": d,
            "toeph": 2 * d - 1,
        }[self.code]

    @property
    def linear(self) -> bool:
        """Whether Sigma is linear in the natural parameters (KR = KR-linear)."""
        return self.code in ("us", "cs", "toep")

    def param_names(self, visits: list[str] | None = None) -> list[str]:
        """Names of the natural parameters, as SAS prints them.

        Examples
        --------
        >>> Structure("csh", 2).param_names(["V1", "V2"])
        ['Var(V1)', 'Var(V2)', 'CSH']
        """
        d = self.d
        v = [str(x) for x in (visits if visits is not None else range(1, d + 1))]
        if self.code == "us":
            return [f"UN({i + 1},{j + 1})" for i in range(d) for j in range(i + 1)]
        if self.code == "cs":
            return ["CS", "Residual"]
        if self.code == "ar1":
            return ["Variance", "AR(1)"]
        if self.code == "toep":
            return [f"TOEP({k + 1})" for k in range(d)]
        var = [f"Var({x})" for x in v]
        if self.code == "csh":
            return var + ["CSH"]
        if self.code == "ar1h":
            return var + ["ARH(1)"]
        if self.code == "adh":
            return var + [f"Rho({v[k]},{v[k + 1]})" for k in range(d - 1)]
        return var + [f"TOEPH({k})" for k in range(1, d)]  # toeph

    # ------------------------------------------------- working parameterization
    def sigma(self, theta: np.ndarray) -> np.ndarray:
        """Covariance matrix from the working parameters (complex-safe).

        Examples
        --------
        >>> Structure("us", 2).sigma(np.array([0.0, 0.5, 0.0])).tolist()
        [[1.0, 0.5], [0.5, 1.25]]
        """
        d, c = self.d, self.code
        t = theta
        if c == "us":
            L = self._chol(t)
            return L @ L.T
        if c in ("cs", "csh"):
            lo = -1.0 / (d - 1) if d > 1 else -1.0
            rho = lo + (1.0 - lo) * _expit(t[-1])
            corr = np.full((d, d), 1.0, dtype=t.dtype) * rho
            corr[np.diag_indices(d)] = 1.0
            sd = np.exp(t[0] / 2) * np.ones(d) if c == "cs" else np.exp(t[:d] / 2)
            return _hetero(sd, corr)
        lag = np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
        if c in ("ar1", "ar1h"):
            rho = np.tanh(t[-1])
            corr = rho**lag
            corr = corr.astype(t.dtype)
            corr[np.diag_indices(d)] = 1.0
            sd = np.exp(t[0] / 2) * np.ones(d) if c == "ar1" else np.exp(t[:d] / 2)
            return _hetero(sd, corr)
        if c == "adh":
            rho = np.tanh(t[d:])
            corr = np.ones((d, d), dtype=t.dtype)
            for i in range(d):
                for j in range(i + 1, d):
                    corr[i, j] = corr[j, i] = corr[i, j - 1] * rho[j - 1]
            return _hetero(np.exp(t[:d] / 2), corr)
        # toep, toeph: partial autocorrelations
        pac = np.tanh(t[1:d]) if c == "toep" else np.tanh(t[d:])
        r = [1.0] + _pacf_to_acf(list(pac))
        corr = np.empty((d, d), dtype=t.dtype)
        for i in range(d):
            for j in range(d):
                corr[i, j] = r[abs(i - j)]
        sd = np.exp(t[0] / 2) * np.ones(d) if c == "toep" else np.exp(t[:d] / 2)
        return _hetero(sd, corr)

    def _chol(self, t: np.ndarray) -> np.ndarray:
        d = self.d
        rows, cols = np.tril_indices(d)
        vals = np.array(t, dtype=np.result_type(t, float))
        diag = rows == cols
        vals[diag] = np.exp(vals[diag])
        L = np.zeros((d, d), dtype=vals.dtype)
        L[rows, cols] = vals
        return L

    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        """Derivatives ``dSigma/dtheta_k`` stacked as ``(n_theta, d, d)``.

        Analytic for ``"us"`` (log-Cholesky), complex step otherwise.

        Examples
        --------
        >>> Structure("ar1", 3).dsigma(np.array([0.0, 0.3])).shape
        (2, 3, 3)
        """
        if self.code != "us":
            return _complex_step(self.sigma, theta)
        d = self.d
        t = np.asarray(theta, dtype=float)
        L = self._chol(t)
        rows, cols = np.tril_indices(d)
        scale = np.where(rows == cols, np.diag(L)[cols], 1.0)
        # dL = scale * E_ij, dSigma = dL L' + L dL'
        out = np.zeros((t.size, d, d))
        k = np.arange(t.size)
        out[k, rows, :] += scale[:, None] * L[:, cols].T
        out[k, :, rows] += scale[:, None] * L[:, cols].T
        return out

    def start(self, S: np.ndarray) -> np.ndarray:
        """Working parameters close to an empirical covariance matrix ``S``.

        Examples
        --------
        >>> s = Structure("us", 2)
        >>> S = np.array([[4.0, 1.0], [1.0, 2.0]])
        >>> bool(np.allclose(s.sigma(s.start(S)), S))
        True
        """
        d, c = self.d, self.code
        S = _nearest_pd(S)
        var = np.diag(S)
        sd = np.sqrt(var)
        R = S / np.outer(sd, sd)
        off = R[np.tril_indices(d, -1)]
        mean_r = float(np.mean(off)) if off.size else 0.0
        if c == "us":
            L = np.linalg.cholesky(S)
            out = []
            for i in range(d):
                for j in range(i + 1):
                    out.append(np.log(L[i, i]) if i == j else L[i, j])
            return np.array(out)
        lag_r = np.array([np.mean(np.diag(R, k)) for k in range(1, d)])
        logv = np.log(var)
        if c in ("cs", "csh"):
            lo = -1.0 / (d - 1) if d > 1 else -1.0
            u = np.clip((mean_r - lo) / (1.0 - lo), 0.02, 0.98)
            z = np.log(u / (1 - u))
            head = [np.log(var.mean())] if c == "cs" else list(logv)
            return np.array(head + [z])
        if c in ("ar1", "ar1h"):
            rho = np.clip(lag_r[0] if d > 1 else 0.0, -0.9, 0.9)
            head = [np.log(var.mean())] if c == "ar1" else list(logv)
            return np.array(head + [np.arctanh(rho)])
        if c == "adh":
            rho = np.clip(np.array([R[k + 1, k] for k in range(d - 1)]), -0.9, 0.9)
            return np.concatenate([logv, np.arctanh(rho)])
        pac = _acf_to_pacf(lag_r) if d > 1 else np.array([])
        head = [np.log(var.mean())] if c == "toep" else list(logv)
        return np.concatenate([head, np.arctanh(pac)])

    # ------------------------------------------------- natural parameterization
    def phi_from_sigma(self, S: np.ndarray) -> np.ndarray:
        """Natural (SAS) parameters of a covariance matrix of this structure.

        Examples
        --------
        >>> Structure("cs", 2).phi_from_sigma(np.array([[3.0, 1.0], [1.0, 3.0]])).tolist()
        [1.0, 2.0]
        """
        d, c = self.d, self.code
        if c == "us":
            return np.array([S[i, j] for i in range(d) for j in range(i + 1)])
        var = np.diag(S).copy()
        sd = np.sqrt(var)
        R = S / np.outer(sd, sd)
        if c == "cs":
            return np.array([S[1, 0], S[0, 0] - S[1, 0]])
        if c == "ar1":
            return np.array([S[0, 0], R[1, 0]])
        if c == "toep":
            return np.array([S[k, 0] for k in range(d)])
        if c in ("csh", "ar1h"):
            return np.concatenate([var, [R[1, 0]]])
        if c == "adh":
            return np.concatenate([var, [R[k + 1, k] for k in range(d - 1)]])
        return np.concatenate([var, [R[k, 0] for k in range(1, d)]])  # toeph

    def sigma_nat(self, phi: np.ndarray) -> np.ndarray:
        """Covariance matrix from the natural parameters (complex-safe).

        Examples
        --------
        >>> Structure("csh", 2).sigma_nat(np.array([4.0, 1.0, 0.5])).tolist()
        [[4.0, 1.0], [1.0, 1.0]]
        """
        d, c = self.d, self.code
        lag = np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
        if c == "us":
            S = np.zeros((d, d), dtype=phi.dtype)
            k = 0
            for i in range(d):
                for j in range(i + 1):
                    S[i, j] = S[j, i] = phi[k]
                    k += 1
            return S
        if c == "cs":
            return phi[0] * np.ones((d, d)) + phi[1] * np.eye(d)
        if c == "toep":
            return np.asarray(phi)[lag]
        if c == "ar1":
            corr = (phi[1] ** lag).astype(phi.dtype)
            return phi[0] * corr
        sd = np.sqrt(phi[:d])
        if c in ("csh", "ar1h"):
            rho = phi[d]
            if c == "csh":
                corr = np.where(lag == 0, 1.0, 1.0 * rho).astype(phi.dtype)
            else:
                corr = (rho**lag).astype(phi.dtype)
            corr[np.diag_indices(d)] = 1.0
            return _hetero(sd, corr)
        if c == "adh":
            rho = phi[d:]
            corr = np.ones((d, d), dtype=phi.dtype)
            for i in range(d):
                for j in range(i + 1, d):
                    corr[i, j] = corr[j, i] = corr[i, j - 1] * rho[j - 1]
            return _hetero(sd, corr)
        r = np.concatenate([np.ones(1, dtype=phi.dtype), phi[d:]])  # toeph
        return _hetero(sd, r[lag])

    def dsigma_nat(self, phi: np.ndarray) -> np.ndarray:
        """``dSigma/dphi_k`` stacked as ``(n_theta, d, d)``.

        Examples
        --------
        >>> Structure("cs", 2).dsigma_nat(np.array([1.0, 2.0]))[1].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        return _complex_step(self.sigma_nat, phi)

    def d2sigma_nat(self, phi: np.ndarray) -> np.ndarray:
        """Second derivatives ``(n_theta, n_theta, d, d)`` (zero when linear).

        Central differences of the complex-step first derivatives, extrapolated
        once (Richardson), accurate to about 1e-10 relative.

        Examples
        --------
        >>> d2 = Structure("ar1", 3).d2sigma_nat(np.array([2.0, 0.5]))
        >>> round(float(d2[1, 1, 0, 2]), 6)  # d2/drho2 of sigma2 * rho^2
        4.0
        """
        m, d = self.n_theta, self.d
        out = np.zeros((m, m, d, d))
        if self.linear:
            return out
        n_var = {"ar1": 1}.get(self.code, d)  # variances first, then correlations
        for k in range(m):
            # relative steps for variances (any scale), absolute ones for correlations
            h = 1e-4 * abs(float(phi[k])) if k < n_var else 1e-4

            def diff(hh, k=k):
                e = np.zeros(m)
                e[k] = hh
                return (self.dsigma_nat(phi + e) - self.dsigma_nat(phi - e)) / (2 * hh)

            out[k] = (4.0 * diff(h / 2) - diff(h)) / 3.0
        return 0.5 * (out + out.transpose(1, 0, 2, 3))


def _complex_step(func, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = []
    for k in range(x.size):
        z = x.astype(complex)
        z[k] += 1j * _STEP
        out.append(np.imag(func(z)) / _STEP)
    return np.array(out)


def _nearest_pd(S: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    S = 0.5 * (S + S.T)
    w, V = np.linalg.eigh(S)
    top = max(float(w.max()), 1e-8)
    w = np.maximum(w, floor * top)
    return (V * w) @ V.T


def get_structure(name: str, d: int) -> Structure:
    """Structure for a name (R mmrm's codes, SAS's names or ``"unstructured"``).

    Examples
    --------
    >>> get_structure("unstructured", 3).code
    'us'
    """
    key = str(name).lower().strip()
    if key not in ALIASES:
        raise ValueError(
            f"covariance={name!r} is not a known structure; use one of "
            "'us' (unstructured), 'cs', 'csh', 'ar1', 'ar1h', 'adh', 'toep', 'toeph'"
        )
    return Structure(ALIASES[key], int(d))
