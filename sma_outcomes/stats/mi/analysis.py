"""The analysis model run on every completed data set.

``"ancova"`` (default): at each visit, ``y ~ arm + covariates`` by least
squares; LS means are the average prediction over the patients with the arm set
to each level (rbmi's ``"counterfactual"`` weights, the same as covariates at
their mean when all covariates are numeric); differences are each arm minus the
first arm. ``"mmrm"``: :func:`~sma_outcomes.fit_mmrm` on the completed data,
with its LS means and Satterthwaite degrees of freedom.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sma_outcomes.stats.mi.data import prepare_data
>>> d = pd.DataFrame({"id": list("abcd"), "v": 1, "trt": list("AABB"),
...                   "y": [1.0, 3.0, 4.0, 6.0]})
>>> md = prepare_data(d, y="y", visit="v", group="id", arm="trt", columns=[])
>>> an = Analysis(md, "ancova", covariates=())
>>> est, var, df = an.run(md.Y, np.arange(4))
>>> est.round(6).tolist(), an.params["kind"].tolist()
([2.0, 5.0, 3.0], ['lsmean', 'lsmean', 'difference'])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import patsy
from scipy import linalg

from ...exceptions import DataError
from ..mmrm import fit_mmrm
from .data import MIData


def _q(name: str) -> str:
    return f'Q("{name}")'


class Analysis:
    """One analysis model over the visits; ``run`` gives estimates, variances and df.

    Attributes
    ----------
    params : DataFrame
        One row per estimated quantity: ``visit``, ``arm`` (a level, or ``"B - A"``
        for a difference; absent without an arm) and ``kind``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats.mi.data import prepare_data
    >>> d = pd.DataFrame({"id": list("abc"), "v": 1, "y": [1.0, 2.0, 6.0]})
    >>> md = prepare_data(d, y="y", visit="v", group="id", arm=None, columns=[])
    >>> Analysis(md, "ancova", covariates=()).run(md.Y, np.arange(3))[0].tolist()
    [3.0]
    """

    def __init__(self, md: MIData, kind: str, covariates: Sequence[str]) -> None:
        self.md = md
        self.kind = kind
        self.covariates = list(covariates)
        self.warnings: list[str] = []
        arms = md.arms if md.arm is not None else [None]
        rows = []
        for v in md.visits:
            for a in arms:
                rows.append((v, a, "lsmean"))
            for a in arms[1:]:
                rows.append((v, f"{a} - {arms[0]}", "difference"))
        params = pd.DataFrame(rows, columns=["visit", "arm", "kind"])
        if md.arm is None:
            params = params.drop(columns="arm")
        self.params = params
        if kind == "ancova":
            self._setup_ancova()

    # ------------------------------------------------------------- ANCOVA
    def _setup_ancova(self) -> None:
        md = self.md
        terms = ([_q(md.arm)] if md.arm is not None else []) + [_q(c) for c in self.covariates]
        rhs = " + ".join(terms) if terms else "1"
        self._Z = []
        self._Zcf = []
        for j in range(md.d):
            frame = md.grid.iloc[j:: md.d].reset_index(drop=True)
            try:
                dm = patsy.dmatrix(rhs, frame, NA_action="raise", return_type="matrix")
            except patsy.PatsyError as err:
                raise DataError(f"could not build the analysis model ~ {rhs}: {err}") from err
            self._Z.append(np.asarray(dm, dtype=float))
            cf = []
            for a in md.arms if md.arm is not None else [None]:
                if a is None:
                    cf.append(np.asarray(dm, dtype=float))
                    continue
                alt = frame.copy()
                alt[md.arm] = pd.Categorical([a] * len(alt), categories=md.arms)
                cf.append(np.asarray(patsy.build_design_matrices([dm.design_info], alt)[0],
                                     dtype=float))
            self._Zcf.append(cf)

    def _ancova(self, Yc: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        est, var, dfs = [], [], []
        present = self.md.in_analysis
        for j in range(self.md.d):
            at = idx[present[idx, j]]  # a visit not yet due does not exist for the patient
            Z = self._Z[j][at]
            y = Yc[at, j]
            ZtZ = Z.T @ Z
            try:
                G = linalg.inv(ZtZ, check_finite=False)
                rank = Z.shape[1]
                if not np.all(np.isfinite(G)) or np.linalg.cond(ZtZ) > 1e12:
                    raise linalg.LinAlgError
            except linalg.LinAlgError:  # a level absent from this sample
                G = np.linalg.pinv(ZtZ)
                rank = np.linalg.matrix_rank(Z)
            b = G @ (Z.T @ y)
            r = y - Z @ b
            dfr = at.size - rank
            s2 = float(r @ r) / dfr if dfr > 0 else np.nan
            Ls = [cf[at].mean(axis=0) for cf in self._Zcf[j]]
            L = np.array(Ls + [La - Ls[0] for La in Ls[1:]])
            est.append(L @ b)
            var.append(np.einsum("ij,jk,ik->i", L, G, L) * s2)
            dfs.append(np.full(len(L), float(dfr)))
        return np.concatenate(est), np.concatenate(var), np.concatenate(dfs)

    def _ancova_many(self, sets: list[np.ndarray], samples: list[np.ndarray]
                     ) -> tuple[np.ndarray, ...] | None:
        """All completed sets at once (weights count each patient's uses); None if singular."""
        n = self.md.n
        W0 = np.array([np.bincount(idx, minlength=n) for idx in samples], dtype=float)
        Yall = np.nan_to_num(np.stack(sets))  # (k, n, d); NaN only at visits not yet due
        present = self.md.in_analysis
        est, var, dfs = [], [], []
        for j in range(self.md.d):
            W = W0 * present[:, j]
            size = W.sum(axis=1)
            Z = self._Z[j]
            q = Z.shape[1]
            ZtZ = np.einsum("kn,na,nb->kab", W, Z, Z)
            ZtY = np.einsum("kn,na->ka", W * Yall[:, :, j], Z)
            try:
                G = np.linalg.inv(ZtZ)
            except np.linalg.LinAlgError:
                return None
            if np.any(np.linalg.cond(ZtZ) > 1e12):
                return None
            b = np.einsum("kab,kb->ka", G, ZtY)
            r = Yall[:, :, j] - b @ Z.T
            dfr = size - q
            s2 = np.einsum("kn,kn->k", W, r * r) / dfr
            Ls = [(W @ cf) / size[:, None] for cf in self._Zcf[j]]
            L = np.stack(Ls + [La - Ls[0] for La in Ls[1:]], axis=1)  # (k, m, q)
            est.append(np.einsum("kma,ka->km", L, b))
            var.append(np.einsum("kma,kab,kmb->km", L, G, L) * s2[:, None])
            dfs.append(np.repeat(dfr[:, None], L.shape[1], axis=1))
        return np.concatenate(est, axis=1), np.concatenate(var, axis=1), np.concatenate(dfs, axis=1)

    def run_many(self, sets: list[np.ndarray], samples: list[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimates, variances and df (each ``(sets, parameters)``) of every completed set.

        Examples
        --------
        >>> import pandas as pd
        >>> from sma_outcomes.stats.mi.data import prepare_data
        >>> d = pd.DataFrame({"id": list("abc"), "v": 1, "y": [1.0, 2.0, 6.0]})
        >>> md = prepare_data(d, y="y", visit="v", group="id", arm=None, columns=[])
        >>> an = Analysis(md, "ancova", ())
        >>> an.run_many([md.Y, md.Y], [np.arange(3), np.array([0, 1])])[0].round(6).tolist()
        [[3.0], [1.5]]
        """
        if self.kind == "ancova":
            step = max(1, 2_000_000 // max(self.md.n * self.md.d, 1))  # bound the memory
            parts = [self._ancova_many(sets[a: a + step], samples[a: a + step])
                     for a in range(0, len(sets), step)]
            if all(p is not None for p in parts):
                return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
        runs = [self.run(Y, idx) for Y, idx in zip(sets, samples, strict=True)]
        return (np.array([r[0] for r in runs]), np.array([r[1] for r in runs]),
                np.array([r[2] for r in runs]))

    # --------------------------------------------------------------- MMRM
    def _mmrm(self, Yc: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        md = self.md
        d = md.d
        rows = (idx[:, None] * d + np.arange(d)[None, :]).reshape(-1)
        frame = md.grid.iloc[rows].copy()
        frame[md.y] = Yc[idx].reshape(-1)
        # a patient drawn twice (bootstrap) must count as two patients
        frame[md.group] = np.repeat(np.arange(idx.size), d)
        frame = frame.loc[md.in_analysis[idx].reshape(-1)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = fit_mmrm(frame, y=md.y, visit=md.visit, group=md.group, arm=md.arm,
                           covariates=self.covariates)
        for w in caught:
            msg = str(w.message)
            if msg not in self.warnings:
                self.warnings.append(msg)
        ls = fit.lsmeans.copy()
        ls["visit"] = ls["visit"].astype(object)
        keys = ["visit", "kind"] + (["arm"] if md.arm is not None else [])
        merged = self.params.merge(ls, on=keys, how="left")
        return (merged["estimate"].to_numpy(float), merged["se"].to_numpy(float) ** 2,
                merged["df"].to_numpy(float))

    def run(self, Yc: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimates, their variances and complete-data df on patients ``idx``.

        Examples
        --------
        >>> import pandas as pd
        >>> from sma_outcomes.stats.mi.data import prepare_data
        >>> d = pd.DataFrame({"id": list("abc"), "v": 1, "y": [1.0, 2.0, 6.0]})
        >>> md = prepare_data(d, y="y", visit="v", group="id", arm=None, columns=[])
        >>> [round(float(x[0]), 6) for x in Analysis(md, "ancova", ()).run(md.Y, np.arange(3))]
        [3.0, 2.333333, 2.0]
        """
        if self.kind == "ancova":
            return self._ancova(Yc, idx)
        return self._mmrm(Yc, idx)
