"""The result of :func:`fit_mmrm`: tables, LS means, contrasts, summary and plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import linalg

from ..._shared import require_columns
from ...registry import get_scale
from .._design import clean_name, matrix_like
from .._result import ModelResult, Summary
from .._tables import t_table
from .covariance import LONG_NAMES, Structure
from .ddf import DfContext, kr_df
from .design import Design, reference_grid

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_DF_NAMES = {
    "satterthwaite": "Satterthwaite",
    "kr": "Kenward-Roger",
    "kr-linear": "Kenward-Roger (linear)",
    "residual": "residual",
    "between-within": "between-within",
}


_clean = clean_name


@dataclass(repr=False)
class MMRMResult(ModelResult):
    """A fitted mixed model for repeated measures.

    The common fields and methods of :class:`~sma_outcomes.stats._result.ModelResult`
    (``n_obs``, ``n_patients``, ``n_visits_max``, ``method``, ``level``,
    ``converged``, ``notes``, ``loglik``, ``aic``, ``bic``; ``tidy()``,
    ``glance()``, ``summary()``, ``predict()``), plus:

    Attributes
    ----------
    fixed : DataFrame
        Fixed effects: ``term, estimate, se, df, t, p_value, ci_low, ci_high``.
    covariance, correlation : DataFrame
        Estimated visit x visit covariance and correlation matrices.
    covariance_parameters : DataFrame
        The covariance parameters in SAS's parameterization with their SEs.
    lsmeans : DataFrame
        LS means by visit (and arm, with the arm differences at each visit).
    loglik, aic, bic : float
        Log-likelihood (REML or ML, with the 2 pi constant, as SAS), AIC and BIC.
    n_obs, n_patients : int
        Observations and patients used.
    structure : Structure
        The covariance structure used (after any fallback).
    notes : list of str
        Everything worth knowing about the fit, in plain words.

    Examples
    --------
    >>> import sma_outcomes as so
    >>> changes = so.change_from_baseline(so.load_example("cohort"))
    >>> fit = so.fit_mmrm(changes, "HFMSE")
    >>> fit.covariance.shape
    (7, 7)
    >>> fit.method, fit.level, fit.n_patients
    ('REML', 0.95, 80)
    """

    model_name = "mmrm"

    design: Design
    structure: Structure
    requested: str
    chain_failures: list
    phi: np.ndarray
    Sigma: np.ndarray
    beta: np.ndarray
    aliased: np.ndarray
    df_context: DfContext
    m2ll: float
    reml: bool
    n_obs: int
    n_patients: int
    theta_vcov: np.ndarray | None
    converged: bool
    n_iter: int
    notes: list[str] = field(default_factory=list)
    level: float = 0.95
    visit_counts: np.ndarray | None = None

    # ------------------------------------------------------------ basic facts
    @property
    def method(self) -> str:
        """``"REML"`` or ``"ML"``."""
        return "REML" if self.reml else "ML"

    @property
    def n_visits_max(self) -> int:
        """Most visits with a value for one patient."""
        d = self.design
        return int(d.data.groupby(d.group, observed=True).size().max())

    def _coefficients(self):  # pragma: no cover - tidy() is overridden
        raise NotImplementedError

    def _glance_extra(self) -> dict:
        return {
            "covariance": self.structure.code,
            "df_method": self.df_method,
            "n_cov_params": self.n_cov_params,
            "m2ll": self.m2ll,
        }

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """Fixed effects: ``term, estimate, se, df, t, p_value, ci_low, ci_high``.

        Aliased (not estimable) coefficients are NaN; intervals at ``level``
        (default the fit's).
        """
        return self._table(np.eye(len(self.coef_names)), self.coef_names, self._level(level))

    def predict(
        self, newdata: pd.DataFrame | None = None, *, level: float | None = None
    ) -> pd.DataFrame:
        """Predicted mean (``x' beta``) for rows of the model's variables, with intervals.

        Parameters
        ----------
        newdata : DataFrame, optional
            Rows with every variable of the mean model (visit, covariates, arm).
            Default: the rows used in the fit.
        level : float, optional
            Confidence level (default the fit's).

        Returns
        -------
        pandas.DataFrame
            ``newdata``'s columns plus ``estimate, se, df, ci_low, ci_high``, with
            the fit's df method.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> changes = so.change_from_baseline(so.load_example("cohort"))
        >>> fit = so.fit_mmrm(changes, "HFMSE")
        >>> fit.predict().columns[-5:].tolist()
        ['estimate', 'se', 'df', 'ci_low', 'ci_high']
        """
        d = self.design
        if newdata is None:
            newdata = d.data
        else:
            used = [*d.factors, *d.numerics]
            require_columns(newdata, used, func="MMRMResult.predict")
            newdata = newdata.copy()
            for c in used:
                if isinstance(d.data[c].dtype, pd.CategoricalDtype):
                    newdata[c] = pd.Categorical(
                        newdata[c].to_numpy(dtype=object),
                        categories=list(d.data[c].cat.categories),
                    )
        X = matrix_like(d.spec, newdata)
        tab = self._table(X, [""] * len(X), self._level(level))
        out = newdata.reset_index(drop=True).copy()
        tab = tab.drop(columns=["term", "t", "p_value"])
        return pd.concat([out, tab], axis=1)

    @property
    def visits(self) -> list:
        """Visit levels, in order."""
        return list(self.design.visits)

    @property
    def coef_names(self) -> list[str]:
        """Names of all fixed-effect coefficients (columns of X)."""
        return self.design.coef_names

    @property
    def df_method(self) -> str:
        """Degrees-of-freedom method."""
        return self.df_context.method

    @property
    def loglik(self) -> float:
        """Log-likelihood (REML or ML) at the estimate, including the 2 pi term."""
        return -0.5 * self.m2ll

    @property
    def n_cov_params(self) -> int:
        """Number of covariance parameters."""
        return self.structure.n_theta

    @property
    def aic(self) -> float:
        """AIC (REML: covariance parameters only, as SAS and R mmrm)."""
        k = self.n_cov_params + (0 if self.reml else int((~self.aliased).sum()))
        return self.m2ll + 2.0 * k

    @property
    def bic(self) -> float:
        """BIC with log(number of patients), as SAS for repeated measures."""
        k = self.n_cov_params + (0 if self.reml else int((~self.aliased).sum()))
        return self.m2ll + k * np.log(self.n_patients)

    @property
    def covariance(self) -> pd.DataFrame:
        """Estimated covariance matrix over visits."""
        v = [str(x) for x in self.visits]
        return pd.DataFrame(self.Sigma, index=v, columns=v)

    @property
    def correlation(self) -> pd.DataFrame:
        """Estimated correlation matrix over visits."""
        sd = np.sqrt(np.diag(self.Sigma))
        v = [str(x) for x in self.visits]
        return pd.DataFrame(self.Sigma / np.outer(sd, sd), index=v, columns=v)

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the fixed-effect estimates (KR-adjusted with KR df)."""
        names = self.coef_names
        full = np.full((len(names), len(names)), np.nan)
        keep = np.flatnonzero(~self.aliased)
        full[np.ix_(keep, keep)] = self.df_context.vcov
        return pd.DataFrame(full, index=names, columns=names)

    @property
    def covariance_parameters(self) -> pd.DataFrame:
        """Covariance parameters (SAS's parameterization) with standard errors."""
        se = (
            np.sqrt(np.clip(np.diag(self.theta_vcov), 0, None))
            if self.theta_vcov is not None
            else np.full(self.phi.size, np.nan)
        )
        return pd.DataFrame(
            {
                "parameter": self.structure.param_names([str(v) for v in self.visits]),
                "estimate": self.phi,
                "se": se,
            }
        )

    # --------------------------------------------------------------- tables
    def _full_to_kept(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficient rows restricted to estimable columns, with estimability."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        ok = np.ones(L.shape[0], dtype=bool)
        if self.aliased.any():
            N = self._null_space
            scale = np.maximum(np.abs(L).max(axis=1), 1.0)
            ok = np.abs(L @ N).max(axis=1) <= 1e-8 * scale
        return L[:, ~self.aliased], ok

    @cached_property
    def _null_space(self) -> np.ndarray:
        return linalg.null_space(self.design.X, rcond=1e-9)

    def _table(self, L: np.ndarray, terms: Sequence[str], level: float | None) -> pd.DataFrame:
        Lk, ok = self._full_to_kept(L)
        est = Lk @ self.beta
        se = np.empty(len(Lk))
        dfs = np.empty(len(Lk))
        for i, row in enumerate(Lk):
            var, dfi = self.df_context.df_1d(row)
            se[i] = np.sqrt(var)
            dfs[i] = dfi
        est[~ok] = np.nan
        se[~ok] = np.nan
        dfs[~ok] = np.nan
        return t_table(list(terms), est, se, dfs, level=level or self.level)

    @cached_property
    def fixed(self) -> pd.DataFrame:
        """Fixed-effect estimates (aliased coefficients are NaN)."""
        return self._table(np.eye(len(self.coef_names)), self.coef_names, None)

    def contrast(
        self,
        L: np.ndarray | Mapping[str, Any] | Sequence[float],
        *,
        names: Sequence[str] | None = None,
        level: float | None = None,
    ) -> pd.DataFrame:
        """Estimate linear combinations ``L beta`` with the fit's df method.

        Parameters
        ----------
        L : array_like or dict
            A vector or matrix over all coefficients (``coef_names``), or a dict
            ``{name: vector}`` or ``{name: {coef_name: weight}}``.
        names : sequence of str, optional
            Row names for an array ``L``.
        level : float, optional
            Confidence level (default the fit's).

        Returns
        -------
        DataFrame
            ``term, estimate, se, df, t, p_value, ci_low, ci_high``.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> changes = so.change_from_baseline(so.load_example("cohort"))
        >>> fit = so.fit_mmrm(changes, "HFMSE")
        >>> fit.coef_names[:3]
        ['Intercept', 'timepoint[T.Month 6]', 'timepoint[T.Month 10]']
        >>> L = {"Month 10 - Month 6": {"timepoint[T.Month 10]": 1, "timepoint[T.Month 6]": -1}}
        >>> fit.contrast(L)["term"].tolist()
        ['Month 10 - Month 6']
        """
        cn = self.coef_names
        if isinstance(L, Mapping):
            rows, labels = [], []
            for key, val in L.items():
                if isinstance(val, Mapping):
                    v = np.zeros(len(cn))
                    for c, w in val.items():
                        if c not in cn:
                            raise ValueError(f"{c!r} is not a coefficient; they are {cn}")
                        v[cn.index(c)] = w
                else:
                    v = np.asarray(val, dtype=float)
                rows.append(v)
                labels.append(str(key))
            M = np.array(rows)
        else:
            M = np.atleast_2d(np.asarray(L, dtype=float))
            labels = list(names) if names is not None else [f"c{i + 1}" for i in range(len(M))]
        if M.shape[1] != len(cn):
            raise ValueError(f"contrast has {M.shape[1]} columns; the model has {len(cn)} coefficients")
        return self._table(M, labels, level)

    def test(self, L: np.ndarray) -> dict[str, float]:
        """F test of ``L beta = 0`` (several rows) with the fit's df method.

        Kenward-Roger uses the scaled F and its df; Satterthwaite uses the
        eigen-decomposition method of R mmrm / lmerTest; residual and
        between-within use their df.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> changes = so.change_from_baseline(so.load_example("cohort"))
        >>> import numpy as np
        >>> fit = so.fit_mmrm(changes, "HFMSE")
        >>> L = np.eye(len(fit.coef_names))[1:7]  # every visit equal to the first
        >>> sorted(fit.test(L))
        ['denom_df', 'f_stat', 'num_df', 'p_value']
        """
        from scipy import stats

        Lk, ok = self._full_to_kept(L)
        if not ok.all():
            raise ValueError("the contrast involves coefficients that cannot be estimated")
        ctx = self.df_context
        q = Lk.shape[0]
        est = Lk @ self.beta
        V = Lk @ ctx.vcov @ Lk.T
        F = float(est @ np.linalg.solve(V, est)) / q
        if ctx.method in ("kr", "kr-linear"):
            ddf, lam = kr_df(ctx.C, Lk, ctx.W, ctx.P)
            F *= lam
        elif ctx.method == "satterthwaite":
            w, U = np.linalg.eigh(V)
            nus = np.array([ctx.df_1d(U[:, i] @ Lk)[1] for i in range(q)])
            nus = nus[nus > 2]
            E = float(np.sum(nus / (nus - 2)))
            ddf = 2 * E / (E - q) if E > q else np.nan
        else:
            ddf = min(ctx.df_1d(row)[1] for row in Lk)
        p = float(stats.f.sf(F, q, ddf))
        return {"num_df": float(q), "denom_df": float(ddf), "f_stat": F, "p_value": p}

    @cached_property
    def lsmeans(self) -> pd.DataFrame:
        """LS means by visit (x arm) with, per visit, each arm minus the first arm.

        Columns: ``visit``, ``arm`` (when the model has one; differences read
        ``"B - A"``), ``kind`` (``"lsmean"`` or ``"difference"``), ``estimate, se,
        df, t, p_value, ci_low, ci_high``. Reference grid: numeric covariates at
        their mean over the analysis rows, other factors averaged with equal
        weights (emmeans' and SAS's default).
        """
        d = self.design
        has_visit = d.visit in d.factors
        has_arm = d.arm is not None and d.arm in d.factors
        by = ([d.visit] if has_visit else []) + ([d.arm] if has_arm else [])
        if not by:
            raise ValueError(
                f"neither the visit column {d.visit!r} nor an arm is a factor of the mean "
                "model: there are no LS means to give; use contrast()"
            )
        cells, L = reference_grid(d, by)
        tab = self._table(L, [""] * len(L), None).drop(columns="term")
        out = pd.DataFrame(index=range(len(cells)))
        if has_visit:
            out["visit"] = cells[d.visit].to_numpy()
        if has_arm:
            out["arm"] = cells[d.arm].astype(str).to_numpy()
        out["kind"] = "lsmean"
        out = pd.concat([out, tab], axis=1)
        if has_arm:
            arms = d.factors[d.arm]
            vlevels = d.factors[d.visit] if has_visit else [None]
            rows, labels, vis = [], [], []
            for v in vlevels:
                sel = (cells[d.visit] == v).to_numpy() if has_visit else np.ones(len(cells), bool)
                ref = L[sel & (cells[d.arm] == arms[0]).to_numpy()]
                for a in arms[1:]:
                    other = L[sel & (cells[d.arm] == a).to_numpy()]
                    if len(ref) and len(other):
                        rows.append(other[0] - ref[0])
                        labels.append(f"{a} - {arms[0]}")
                        vis.append(v)
            if rows:
                dt = self._table(np.array(rows), labels, None)
                diff = pd.DataFrame({"visit": vis} if has_visit else {}, index=range(len(rows)))
                diff["arm"] = labels
                diff["kind"] = "difference"
                diff = pd.concat([diff, dt.drop(columns="term")], axis=1)
                out = pd.concat([out, diff], ignore_index=True)
                if has_visit:
                    order = {v: i for i, v in enumerate(d.factors[d.visit])}
                    kinds = {"lsmean": 0, "difference": 1}
                    out = out.sort_values(
                        ["visit", "kind"],
                        key=lambda s: s.map(order) if s.name == "visit" else s.map(kinds),
                        kind="stable",
                    ).reset_index(drop=True)
        if has_visit:
            out["visit"] = pd.Categorical(
                out["visit"], categories=list(d.factors[d.visit]), ordered=True
            )
        return out

    def lsmeans_by(self, by: str | Sequence[str]) -> pd.DataFrame:
        """LS means over any factors of the mean model (e.g. visit alone, or sma_type).

        Same reference grid as :attr:`lsmeans`; returns the ``by`` columns then
        ``estimate, se, df, t, p_value, ci_low, ci_high``.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> changes = so.change_from_baseline(so.load_example("cohort"))
        >>> fit = so.fit_mmrm(changes, "HFMSE", arm="sma_type")
        >>> fit.lsmeans_by("sma_type")["sma_type"].tolist()
        [2, 3]
        """
        by = [by] if isinstance(by, str) else list(by)
        cells, L = reference_grid(self.design, by)
        tab = self._table(L, [""] * len(L), None).drop(columns="term")
        return pd.concat([cells.reset_index(drop=True), tab], axis=1)

    @property
    def differences(self) -> pd.DataFrame:
        """The arm-difference rows of :attr:`lsmeans`."""
        return self.lsmeans.loc[self.lsmeans["kind"] == "difference"].reset_index(drop=True)

    # -------------------------------------------------------------- display
    def summary(self) -> Summary:
        """Data used, covariance structure, fit statistics, tables and notes.

        Returns
        -------
        Summary
            Prints as text and shows as HTML in Jupyter.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> changes = so.change_from_baseline(so.load_example("cohort"))
        >>> print(str(so.fit_mmrm(changes, "HFMSE").summary()).splitlines()[1])
        478 observations from 80 patients, maximum 7 visits
        """
        st = self.structure
        lines = [
            f"{self.n_obs} observations from {self.n_patients} patients, "
            f"maximum {self.n_visits_max} visits",
            f"Visits: {', '.join(map(str, self.visits))}",
            f"Covariance: {LONG_NAMES[st.code]} ({st.code}), {st.n_theta} parameters"
            + (
                f" (fallback from {LONG_NAMES[self.requested]})"
                if st.code != self.requested
                else ""
            ),
            f"Degrees of freedom: {_DF_NAMES[self.df_method]}; {self.level:.0%} confidence intervals",
            f"-2 log-likelihood: {self.m2ll:.4f}   AIC: {self.aic:.4f}   BIC: {self.bic:.4f}",
        ]
        if self.design.n_baseline_only:
            lines.append(
                f"Patients with baseline only (not in the model): {self.design.n_baseline_only}"
            )
        if self.design.n_no_value:
            lines.append(
                f"Patients without any usable value (not in the model): {self.design.n_no_value}"
            )
        mix = self.covariance.copy()
        corr = self.correlation.to_numpy()
        low = np.tril_indices(len(mix), -1)
        vals = mix.to_numpy().copy()
        vals[low] = corr[low]
        cov = pd.DataFrame(vals, columns=mix.columns)
        cov.insert(0, "visit", list(mix.index))
        formula = self.design.formula and _clean(self.design.formula)
        return Summary(
            f"MMRM fitted by {self.method}: {formula}",
            lines,
            [
                ("Fixed effects", self.fixed.round(4)),
                ("Covariance over visits (correlations below the diagonal)", cov.round(4)),
                ("LS means", self.lsmeans.round(4)),
            ],
            list(self.notes),
        )

    def __repr__(self) -> str:
        return (
            f"<MMRMResult {LONG_NAMES[self.structure.code]} covariance, "
            f"{self.n_obs} observations from {self.n_patients} patients, "
            f"{len(self.visits)} visits, -2LL {self.m2ll:.3f}>"
        )

    def _y_label(self) -> str:
        d = self.design
        if d.measure is not None and d.y in ("change", "pct_change"):
            try:

                return get_scale(d.measure).axis_label(
                    change=True, percent=d.y == "pct_change"
                )
            except (KeyError, ValueError):
                pass
        return str(d.y)

    def plot(self, ax: Axes | None = None) -> Figure:
        """LS means by visit with confidence intervals (one line per arm).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new Figure is made when omitted.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import sma_outcomes as so
        >>> changes = so.change_from_baseline(so.load_example("cohort"))
        >>> fig = so.fit_mmrm(changes, "HFMSE", arm="sma_type").plot()
        >>> len(fig.axes[0].get_legend().get_texts())
        2
        """
        from matplotlib.figure import Figure

        if ax is None:
            fig: Any = Figure(figsize=(6, 4))
            ax = fig.add_subplot(1, 1, 1)
        else:
            fig = ax.figure
        tab = self.lsmeans.loc[self.lsmeans["kind"] == "lsmean"]
        if "visit" not in tab.columns:
            raise ValueError("the mean model has no visit factor: nothing to plot by visit")
        levels = list(tab["visit"].cat.categories)
        x_of = {v: i for i, v in enumerate(levels)}
        groups = [(None, tab)] if "arm" not in tab.columns else list(tab.groupby("arm", sort=False))
        n = len(groups)
        for k, (name, g) in enumerate(groups):
            off = (k - (n - 1) / 2) * 0.08
            x = np.array([x_of[v] for v in g["visit"]], dtype=float) + off
            ax.errorbar(
                x,
                g["estimate"].to_numpy(),
                yerr=[
                    (g["estimate"] - g["ci_low"]).to_numpy(),
                    (g["ci_high"] - g["estimate"]).to_numpy(),
                ],
                marker="o",
                capsize=3,
                label=str(name) if name is not None else "LS mean",
            )
        ax.set_xticks(range(len(levels)))
        ax.set_xticklabels([str(v) for v in levels])
        ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel(str(self.design.visit))
        ax.set_ylabel(f"{self._y_label()}, LS mean ({int(round(self.level * 100))}% CI)")
        if n > 1:
            ax.legend(title=str(self.design.arm), frameon=False)
        return fig
