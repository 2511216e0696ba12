"""Linear mixed model for score trajectories: random intercept or random slope.

:func:`fit_lmm` fits ``y ~ time [+ hinges at knots] [+ covariates] + (1 | group)``
or ``+ (1 + time | group)`` by REML or ML, written for this two-level design
(per-group blocks, profiled deviance with an analytic gradient; see
:mod:`sma_outcomes.stats._lmm_core`), and reports fixed effects with
Satterthwaite degrees of freedom as lmerTest does.

References
----------
Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects
models using lme4. Journal of Statistical Software 67(1).
Kuznetsova A, Brockhoff PB, Christensen RHB (2017). lmerTest package: tests in
linear mixed effects models. Journal of Statistical Software 82(13).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ..._shared import check_level, require_columns
from ...exceptions import ConvergenceWarning, ModelWarning, OptionError, SingularFitWarning
from ...registry import get_scale
from .._result import ModelResult, Summary
from . import core
from .design import Design, build_design, knot_label
from .fit import (
    HESS_TOL,
    SINGULAR_TOL,
    Scaling,
    satterthwaite,
    singular_message,
    variance_table,
)

_GRAD_TOL = 1e-3  # deviance units, projected gradient at the optimum ...
_GRAD_RTOL = 1e-8  # ... or relative to the deviance for large data (rounding noise)


class LMMResult(ModelResult):
    """Result of :func:`fit_lmm`.

    The common fields and methods of :class:`~sma_outcomes.stats._result.ModelResult`
    (``n_obs``, ``n_patients``, ``n_visits_max``, ``method``, ``level``,
    ``converged``, ``notes``, ``loglik``, ``aic``, ``bic``; ``tidy()``,
    ``glance()``, ``summary()``, ``predict()``), plus:

    Attributes
    ----------
    fixed : pandas.DataFrame
        ``term, estimate, se, df, t, p_value, ci_low, ci_high`` (= ``tidy()``);
        df by Satterthwaite, intervals at ``level``.
    random : pandas.DataFrame
        ``component, variance, sd, corr``: one row per random effect (its
        variance and SD), one ``corr(a, b)`` row per pair of random effects (the
        correlation in ``corr``; ``variance`` and ``sd`` empty) and the residual.
    random_covariance : pandas.DataFrame
        Covariance matrix of the random effects (the covariances are here).
    blups : pandas.DataFrame
        One row per group: the group id, ``intercept`` and (random slope) ``slope``
        (``random="piecewise"``: one column per random effect), the predicted
        random deviations from the population line (lme4's ``ranef``).
    reml_criterion : float
        ``-2`` times the REML log-likelihood (lme4's ``REMLcrit``); NaN for ML fits.
    deviance : float
        ``-2 * loglik``.
    singular : bool
        Whether a variance component is on the boundary (zero variance or
        correlation +-1).
    theta : numpy.ndarray
        lme4's ``theta``: lower triangle (column-wise) of the relative covariance
        factor on the original scale.
    sigma : float
        Residual standard deviation.
    vcov : pandas.DataFrame
        Covariance matrix of the fixed effects.
    y, time, group, random_type, knots, covariates, measure
        What was fitted.
    n_groups, max_visits, messages, n_excluded
        ``n_groups`` and ``max_visits`` are ``n_patients`` and ``n_visits_max``;
        ``messages`` is ``notes``; ``n_excluded`` counts incomplete rows left out.

    Examples
    --------
    >>> import sma_outcomes as so
    >>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE", random="intercept")
    >>> fit.random["component"].tolist()
    ['Intercept', 'Residual']
    >>> fit.blups.columns.tolist()
    ['patient_id', 'intercept']
    >>> fit.n_patients, fit.method, fit.level
    (80, 'REML', 0.95)
    """

    model_name = "lmm"

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)
        self.fixed = self.tidy()

    # ------------------------------------------------------ former field names
    @property
    def n_groups(self) -> int:
        """Number of groups (patients): ``n_patients``."""
        return self.n_patients

    @property
    def max_visits(self) -> int:
        """Most observations of one group: ``n_visits_max``."""
        return self.n_visits_max

    @property
    def messages(self) -> list[str]:
        """Plain-language notes: ``notes``."""
        return self.notes

    # ------------------------------------------------------------ base hooks
    def _coefficients(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        return list(self._design.terms), self._beta, np.sqrt(np.diag(self._vcov)), self._df

    def _glance_extra(self) -> dict:
        return {
            "sigma": self.sigma,
            "singular": self.singular,
            "deviance": self.deviance,
            "reml_criterion": self.reml_criterion,
            "random": self.random_type,
        }

    @property
    def _unit_noun(self) -> str:
        return "patients" if self.group == "patient_id" else f"groups ({self.group})"

    def _what_was_used(self) -> str:
        per = "visits" if self.group == "patient_id" else "observations per group"
        return (
            f"{self.n_obs} observations from {self.n_groups} {self._unit_noun}, "
            f"up to {self.max_visits} {per}"
        )

    def _model_text(self) -> str:
        rhs = [self.time] + [f"({self.time} - {k:g})+" for k in self.knots] + self.covariates
        if self.random_type == "slope":
            re = f"(1 + {self.time} | {self.group})"
        elif self.random_type == "piecewise":
            hinges = " + ".join(f"({self.time} - {k:g})+" for k in self.knots)
            re = f"(1 + {self.time} + {hinges} | {self.group})"
        else:
            re = f"(1 | {self.group})"
        what = f" [{self.measure}]" if self.measure else ""
        return f"{self.y}{what} ~ {' + '.join(rhs)} + {re}, {self.method}"

    def summary(self) -> Summary:
        """Data used, model, fixed and random effects, fit statistics, notes.

        Returns
        -------
        Summary
            Prints as text and shows as HTML in Jupyter.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE", random="intercept")
        >>> print(str(fit.summary()).splitlines()[0])
        608 observations from 80 patients, up to 11 visits
        """
        fit = (
            f"REML criterion: {self.reml_criterion:.4f}"
            if self.method == "REML"
            else f"log-likelihood: {self.loglik:.4f}"
        )
        return Summary(
            self._what_was_used(),
            [f"Model: {self._model_text()}"],
            [
                (f"Fixed effects (Satterthwaite df, {self.level:.0%} CI)", self.fixed),
                ("Random effects", self.random),
            ],
            list(self.notes),
            footer=f"{fit}   AIC {self.aic:.2f}   BIC {self.bic:.2f}",
        )

    def __repr__(self) -> str:
        return f"<LMMResult: {self._model_text()}; {self._what_was_used()}>"

    # ------------------------------------------------------------ prediction
    def _population(self, Xn: np.ndarray, level: float) -> pd.DataFrame:
        est = Xn @ self._beta
        var = np.einsum("ij,jk,ik->i", Xn, self._vcov, Xn)
        # Satterthwaite df of each linear combination x'beta (lmerTest's contest)
        grad = np.einsum("ij,kjl,il->ik", Xn, self._jac, Xn)
        denom = np.einsum("ik,kl,il->i", grad, self._vcov_varpar, grad)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(denom > 0, 2.0 * var**2 / denom, np.inf)
        se = np.sqrt(var)
        qt = stats.t.ppf(0.5 + level / 2.0, df)
        return pd.DataFrame(
            {"estimate": est, "se": se, "df": df, "ci_low": est - qt * se, "ci_high": est + qt * se}
        )

    def predict(
        self,
        newdata: pd.DataFrame | Sequence[float] | None = None,
        include_random: bool = True,
        *,
        level: float | None = None,
    ) -> pd.DataFrame:
        """Predicted scores for new rows.

        Parameters
        ----------
        newdata : DataFrame or sequence of float, optional
            Rows with the time column, the covariates and (for
            ``include_random=True``) the group column; a plain sequence is taken as
            times (models without covariates). Default: the rows used in the fit.
        include_random : bool
            True: each group's own line (population line plus its BLUPs; groups
            not in the fit get the population line, with a warning). False: the
            population line with its standard error, Satterthwaite df and
            confidence band (``ci_low``, ``ci_high``).
        level : float, optional
            Confidence level of the band (default the fit's ``level``).

        Returns
        -------
        pandas.DataFrame
            ``newdata``'s columns plus ``estimate`` (and ``se, df, ci_low, ci_high``
            for the population line).

        Examples
        --------
        >>> import sma_outcomes as so
        >>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE", level=0.8)
        >>> band = fit.predict([0, 12], include_random=False)
        >>> list(band.columns)
        ['months', 'estimate', 'se', 'df', 'ci_low', 'ci_high']
        >>> wide = fit.predict([0, 12], include_random=False, level=0.95)
        >>> bool((wide["ci_high"] > band["ci_high"]).all())
        True
        """
        d: Design = self._design
        level = self._level(level)
        if newdata is None:
            newdata = d.frame
        elif not isinstance(newdata, pd.DataFrame):
            newdata = pd.DataFrame({d.time: np.asarray(newdata, dtype=float)})
        need = [d.time, *[c.name for c in d.covariates]] + ([d.group] if include_random else [])
        hint = (
            "or use include_random=False for the population line"
            if [c for c in need if c not in newdata.columns] == [d.group]
            else ""
        )
        require_columns(newdata, need, func="LMMResult.predict", hint=hint)
        Xn = d.fixed_matrix(newdata)
        if np.isnan(Xn).any():
            raise OptionError(f"newdata has missing values in {d.time!r} or the covariates")
        out = newdata.reset_index(drop=True).copy()
        if not include_random:
            return pd.concat([out, self._population(Xn, level)], axis=1)
        pos = d.groups.get_indexer(newdata[d.group])
        unknown = pos < 0
        if unknown.any():
            warnings.warn(
                f"{int(unknown.sum())} row(s) belong to groups not in the fit; they get the "
                "population line (random effects 0)",
                ModelWarning,
                stacklevel=2,
            )
        b = np.where(unknown[:, None], 0.0, self._b[np.maximum(pos, 0)])
        out["estimate"] = Xn @ self._beta + np.sum(d.random_matrix(newdata) * b, axis=1)
        return out

    def population_curve(
        self, times: Sequence[float], *, level: float | None = None
    ) -> pd.DataFrame:
        """Population curve on a time grid for the average design row of the fitted data.

        Numeric covariates are at their mean, categorical ones at their
        proportions in the fitted data (the curve :meth:`plot` draws).

        Returns
        -------
        pandas.DataFrame
            ``<time>, estimate, se, df, ci_low, ci_high`` at ``level`` (default the
            fit's).

        Examples
        --------
        >>> import sma_outcomes as so
        >>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE", covariates="sma_type")
        >>> fit.population_curve([0, 12]).shape
        (2, 6)
        """
        d: Design = self._design
        grid = np.asarray(times, dtype=float)
        Xg = d.time_columns(grid)
        if d.covariates:  # the average patient of the fitted data
            cov_means = d.X[:, Xg.shape[1] :].mean(axis=0)
            Xg = np.hstack([Xg, np.broadcast_to(cov_means, (len(grid), len(cov_means)))])
        pop = self._population(Xg, self._level(level))
        return pd.concat([pd.DataFrame({d.time: grid}), pop], axis=1)

    # ------------------------------------------------------ per patient
    def _prediction_error(self) -> tuple[np.ndarray, np.ndarray]:
        """Per group: covariance of the errors of ``beta[:q] + b_i`` and of ``b_i`` alone.

        From the inverse of Henderson's mixed-model equations in the spherical
        random effects ``u`` (``b = T Lambda u`` on the original scale):
        ``Var(u_i err) = s2 (A_i^-1 + A_i^-1 c_i S^-1 c_i' A_i^-1)``,
        ``Cov(u_i err, beta err) = -s2 A_i^-1 c_i S^-1``, ``Var(beta err) = s2 S^-1``
        with ``A_i = I + Lambda'Z_i'Z_i Lambda``, ``c_i = Lambda'Z_i'X_i`` and
        ``S = X'W^-1 X``. The second array is lme4's ``ranef(condVar = TRUE)``
        (conditional on the fixed effects): ``s2 T Lambda A_i^-1 Lambda' T'``.
        Returns two arrays of shape (G, q, q).
        """
        cp, sc, lam = self._cp, self._scaling, self._lam_s
        q = cp.q
        s2 = self._sigma2
        prof = core.solve_pls(cp, lam)
        Ainv = np.moveaxis(prof.Ainv, -1, 0)  # (G, q, q)
        c = np.moveaxis(core._left(lam.T, cp.ZtX), -1, 0)  # (G, q, p)
        Sinv = linalg.cho_solve(prof.S_chol, np.eye(cp.p), check_finite=False)
        AC = Ainv @ c  # (G, q, p)
        Vuu = Ainv + AC @ Sinv @ np.swapaxes(AC, 1, 2)
        Cub = -AC @ Sinv  # (G, q, p), scaled beta
        TL = sc.T @ lam
        E = sc.M[:q, :]  # rows of beta (original scale) that carry the random terms
        Vbb = TL @ Vuu @ TL.T
        Cbb = TL @ Cub @ E.T
        Vff = E @ Sinv @ E.T
        full = s2 * (Vbb + Cbb + np.swapaxes(Cbb, 1, 2) + Vff)
        cond = s2 * (TL @ Ainv @ TL.T)
        return full, cond

    def patient_coefficients(self) -> pd.DataFrame:
        """Each patient's own line: fixed effects plus BLUPs (lme4's ``coef()``), with SEs.

        Returns
        -------
        pandas.DataFrame
            One row per patient: the group id, ``n_obs`` and ``n_pre`` (the
            patient's observations, and those before the first knot, i.e. before
            the first dose for a knot at 0), then the coefficients and their
            standard errors ``se_<name>``:

            - ``random="intercept"``: ``intercept``;
            - ``random="slope"``: ``intercept, slope``;
            - ``random="piecewise"`` with one knot: ``intercept, pre_slope,
              slope_change, on_slope`` (``on_slope = pre_slope + slope_change``);
              with knots ``k1 < k2 ...``: ``intercept, slope_1`` (before ``k1``),
              then per knot ``change_j`` and ``slope_{j+1}`` (the slope after it).

            ``intercept`` is the patient's value at time 0. Covariates are not
            included (the line is that of the covariates' reference level).

        Notes
        -----
        The standard errors are prediction-error SEs of the patient's
        coefficient, ``sqrt(Var(beta_hat + b_hat - beta - b))`` from the inverse
        of Henderson's mixed-model equations: they include the uncertainty of the
        fixed effects and its covariance with the BLUPs (lme4's
        ``ranef(condVar = TRUE)`` gives the part conditional on the fixed
        effects: :meth:`ranef_se`). Patients with few (or no) points before the
        first dose are kept: their pre-treatment slope is shrunk towards the
        population slope, and its SE is correspondingly close to the
        population's between-patient SD. With a singular fit some components
        have no between-patient variation and every patient gets the population
        value for them.

        Examples
        --------
        >>> import sma_outcomes as so
        >>> scores = so.load_example("cohort")  # 23 patients with visits before the first dose
        >>> fit = so.fit_lmm(scores, "HFMSE", random="piecewise")
        >>> pc = fit.patient_coefficients()
        >>> pc.columns.tolist()[:7]
        ['patient_id', 'n_obs', 'n_pre', 'intercept', 'pre_slope', 'slope_change', 'on_slope']
        >>> int(pc["n_pre"].sum()), len(pc)
        (127, 80)
        >>> so.fit_lmm(scores, "HFMSE").patient_coefficients().columns.tolist()[3:]
        ['intercept', 'slope', 'se_intercept', 'se_slope']
        """
        d: Design = self._design
        q = self._b.shape[1]
        coef = self._beta[:q] + self._b  # (G, q)
        full, _ = self._prediction_error()
        se = np.sqrt(np.maximum(np.diagonal(full, axis1=1, axis2=2), 0.0))
        t = d.frame[d.time].to_numpy(dtype=float)
        first = d.knots[0] if d.knots else 0.0
        out = pd.DataFrame({d.group: d.groups.to_numpy()})
        out["n_obs"] = np.bincount(d.codes, minlength=len(d.groups))
        out["n_pre"] = np.bincount(d.codes, weights=(t < first), minlength=len(d.groups)).astype(int)
        if d.random != "piecewise":
            names = ["intercept", "slope"][:q]
            for j, n in enumerate(names):
                out[n] = coef[:, j]
            for j, n in enumerate(names):
                out[f"se_{n}"] = se[:, j]
            return out
        K = len(d.knots)
        # slopes: cumulative sums of the time coefficient and the changes
        W = np.zeros((q, 0))
        names: list[str] = ["intercept"]
        cols = [np.eye(q)[:, 0]]
        for j in range(1, q):
            if j == 1:
                names.append("pre_slope" if K == 1 else "slope_1")
                cols.append(np.eye(q)[:, 1])
            else:
                names.append("slope_change" if K == 1 else f"change_{j - 1}")
                cols.append(np.eye(q)[:, j])
                names.append("on_slope" if K == 1 else f"slope_{j}")
                cols.append(np.eye(q)[:, 1 : j + 1].sum(axis=1))
        W = np.column_stack(cols)  # (q, k)
        vals = coef @ W
        var = np.einsum("ak,gab,bk->gk", W, full, W)
        for j, n in enumerate(names):
            out[n] = vals[:, j]
        for j, n in enumerate(names):
            out[f"se_{n}"] = np.sqrt(np.maximum(var[:, j], 0.0))
        return out

    def ranef_se(self) -> pd.DataFrame:
        """Conditional SDs of the BLUPs, as lme4's ``ranef(condVar = TRUE)``.

        Returns
        -------
        pandas.DataFrame
            The columns of :attr:`blups`, holding ``sqrt(diag(postVar))`` per group
            (conditional on the fixed-effect estimates).

        Examples
        --------
        >>> import sma_outcomes as so
        >>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE")
        >>> fit.ranef_se().columns.tolist()
        ['patient_id', 'intercept', 'slope']
        """
        _, cond = self._prediction_error()
        se = np.sqrt(np.maximum(np.diagonal(cond, axis1=1, axis2=2), 0.0))
        out = self.blups.copy()
        out.iloc[:, 1:] = se
        return out

    # --------------------------------------------------------------- plot
    def plot(self, ax: Any = None) -> Any:
        """Observed trajectories (thin grey lines) and the population curve with its band.

        The band is the confidence band at the fit's ``level``. With covariates,
        the curve is for the average design row of the fitted data (numeric
        covariates at their mean, categorical ones at their proportions in the
        data).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new Figure is made otherwise.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import sma_outcomes as so
        >>> fig = so.fit_lmm(so.load_example("cohort"), "HFMSE", level=0.8).plot()
        >>> fig.axes[0].get_legend().get_texts()[0].get_text()
        '80% confidence band'
        """
        from matplotlib.figure import Figure

        d: Design = self._design
        if ax is None:
            fig = Figure(figsize=(6.4, 4.2))
            ax = fig.add_subplot()
        fig = ax.figure
        frame = d.frame.sort_values([d.group, d.time])
        for _, g in frame.groupby(d.group, sort=True):
            ax.plot(g[d.time], g[d.y_name], color="0.6", lw=0.6, alpha=0.7, zorder=1)
        grid = np.linspace(frame[d.time].min(), frame[d.time].max(), 101)
        pop = self.population_curve(grid)
        ax.fill_between(
            grid,
            pop["ci_low"],
            pop["ci_high"],
            color="C0",
            alpha=0.25,
            lw=0,
            label=f"{self.level:.0%} confidence band",
            zorder=2,
        )
        ax.plot(grid, pop["estimate"], color="C0", lw=2.0, label="population curve", zorder=3)
        ax.set_xlabel(f"{d.time.capitalize()} since first dose" if d.time_from_day else d.time)
        ylabel = d.y_name
        if d.measure:
            try:
                ylabel = get_scale(d.measure).axis_label()
            except (KeyError, ValueError):
                ylabel = d.measure
        ax.set_ylabel(ylabel)
        ax.set_title(self._what_was_used(), fontsize="medium")
        ax.legend(loc="best", frameon=False)
        return fig


def _blup_columns(design: Design) -> list[str]:
    if design.random == "intercept":
        return ["intercept"]
    if design.random == "slope":
        return ["intercept", "slope"]
    return ["intercept", design.time, *[knot_label(design.time, k) for k in design.knots]]


def fit_lmm(
    data: pd.DataFrame,
    measure: str | None = None,
    *,
    y: str = "score",
    time: str = "months",
    group: str = "patient_id",
    random: str = "slope",
    knots: Sequence[float] | None = None,
    covariates: Sequence[str] | str | None = None,
    reml: bool = True,
    level: float = 0.95,
) -> LMMResult:
    """Fit a linear mixed model to trajectories: random intercept, slope or piecewise slopes.

    The model is ``y = b0 + b1 time [+ sum_k c_k (time - k)+] [+ covariates]``
    plus, per group, a random intercept (``random="intercept"``), a correlated
    random intercept and slope on ``time`` (``random="slope"``) or a correlated
    random intercept, slope and slope change at every knot
    (``random="piecewise"``: an interrupted time series, e.g. the slope before
    and after the first dose), and normal residuals. Fitted by REML (default) or
    ML.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per observation (the tidy score table or any frame).
        Never modified.
    measure : str, optional
        With a ``measure`` column: the measure to fit. Required when several
        measures are present.
    y, time, group : str
        Column names of the outcome, the time and the grouping (patient). If
        ``time`` is ``"days"``, ``"months"`` or ``"years"`` and no such column
        exists, it is derived from ``day`` (months = day / 30.4375, years =
        day / 365.25).
    random : {"slope", "intercept", "piecewise"}
        Random intercept and slope (correlated), random intercept only, or a
        random intercept, slope and slope change at each knot (all correlated;
        the knots default to ``[0]``, the first dose). Time may be negative
        (assessments before the first dose).
    knots : sequence of float, optional
        Piecewise-linear time: a hinge ``(time - k)+`` per knot enters the fixed
        effects (term ``"<time>_after_<k>"``: the change of slope after ``k``);
        with ``random="slope"`` the random slope stays on ``time``, with
        ``random="piecewise"`` every hinge also gets a random effect.
    covariates : str or sequence of str, optional
        Column names. Numeric columns enter as they are; categorical, boolean and
        string columns are treatment-coded against the first level (sorted, or the
        category order of a pandas Categorical), with terms like ``"sma_type[T.3]"``.
    reml : bool
        REML (default) or maximum likelihood (for comparing fixed effects by
        likelihood ratio).
    level : float
        Confidence level of the intervals of the result: the fixed-effects
        table, ``predict()`` and the band of ``plot()`` (and of
        ``plot_cohort(model=...)``).

    Returns
    -------
    LMMResult
        ``tidy()``/``fixed``, ``random``, ``blups``, ``patient_coefficients()``;
        ``predict()``, ``plot()``, ``summary()``, ``glance()``, likelihood and
        fit statistics, and ``notes``.

    Raises
    ------
    ColumnError
        A column is missing.
    MeasureError
        Several measures are present and none is chosen, or an unknown one is.
    OptionError
        A parameter has a value outside the allowed ones (e.g. ``group=[...]``).
    ValueError
        The fixed or random effects are not estimable from these data.

    Warns
    -----
    SingularFitWarning
        A variance is estimated as zero or the intercept-slope correlation as
        +-1 (the message names the component).
    ConvergenceWarning
        The optimum could not be verified (gradient or Hessian check).

    Notes
    -----
    Method (Bates et al. 2015, lme4): the relative covariance factor ``theta``
    (Cholesky factor of the random-effects covariance over ``sigma^2``) is
    optimised by L-BFGS-B (log-Cholesky parameters, from a method-of-moments
    start and lme4's start) on the profiled deviance, with ``beta`` and
    ``sigma`` profiled out and an analytic gradient; the work is done on
    per-patient cross-products in batched q x q algebra, so each evaluation is
    linear in the number of patients. With ``random="piecewise"`` a fit ending
    near the boundary is refitted with the small diagonal entries of the
    covariance factor fixed at zero, and the better one is kept. Internally ``y`` and the covariates are
    centred and time in the random part standardised; results are on the
    original scale. The optimum is compared with the best boundary fit
    (zero slope variance or correlation +-1, and zero variances) and the
    better one is kept; singular fits are reported.

    Degrees of freedom are Satterthwaite's, as lmerTest computes them
    (Kuznetsova et al. 2017): ``2 H^-1`` from the Hessian of the deviance in the
    ``(theta, sigma)`` parameterisation (pseudo-inverse over the positive
    eigenvalues) and the Jacobian of ``vcov(beta)``, both by Richardson-
    extrapolated differences with numDeriv's settings. ``theta`` is taken on the
    optimiser's standardised time scale, which leaves the df unchanged at an
    interior optimum but keeps the differences well conditioned whatever the
    unit and origin of time. The population predictions of ``predict`` get their
    df the same way (lmerTest's ``contest``).

    Differences from lme4/lmerTest: term names are ``Intercept`` and
    ``sma_type[T.3]`` where R writes ``(Intercept)`` and ``sma_type3``. On well-posed
    data the estimates agree to about 1e-6 relative (tests/reference/lmm). Where
    our deviance is lower than lme4's, lme4 stopped early (it does on large
    cohorts, with time in days, and on small badly scaled data).

    Missing data: rows with a missing outcome, time, group or covariate are
    excluded; their number per column is in ``messages`` and ``n_excluded``.
    All remaining rows are used (every assessment of the patient, not only the
    one analysed per timepoint).

    Examples
    --------
    >>> import sma_outcomes as so
    >>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE")
    >>> fit.fixed["term"].tolist()
    ['Intercept', 'months']
    >>> fit.n_obs, fit.n_patients, fit.singular
    (608, 80, False)
    >>> round(float(fit.fixed["estimate"].iloc[1]), 3)
    0.145
    """
    level = check_level(level)
    design = build_design(
        data,
        measure,
        y=y,
        time=time,
        group=group,
        random=random,
        knots=knots,
        covariates=covariates,
    )
    sc = Scaling(design)
    cp = core.cross_products(sc.X, sc.Z, sc.y, design.codes)
    q, p, n = cp.q, cp.p, cp.n
    messages: list[str] = []
    if design.excluded:
        parts = ", ".join(f"{k} missing in {v}" for k, v in design.excluded.items())
        messages.append(f"{design.n_excluded} row(s) excluded as incomplete ({parts}).")

    extra = None
    if q > 2:
        # lme4's start, theta = identity on the original scale of time
        extra = [core.start_from_lambda(np.linalg.cholesky(sc.Tinv @ sc.Tinv.T))]
    path = core.fit_theta(cp, reml, extra_starts=extra)
    lam_s = core.theta_to_lambda(path.theta, q)
    prof = core.solve_pls(cp, lam_s)
    dev = prof.deviance(reml)
    sigma2 = prof.sigma2(reml)
    D_rel = sc.T @ lam_s @ lam_s.T @ sc.T.T
    lam_o = core.psd_factor(D_rel)
    theta_o = core.lambda_to_theta(lam_o)
    D = sigma2 * D_rel

    beta = sc.M @ prof.beta
    beta[0] += sc.y_mean
    Sinv = linalg.cho_solve(prof.S_chol, np.eye(p), check_finite=False)
    vcov = sigma2 * sc.M @ Sinv @ sc.M.T
    b = (sc.T @ lam_s @ prof.u).T  # (G, q) on the original scale

    # convergence: projected gradient at the chosen point
    grad_s = core.deviance_gradient(cp, prof, reml)
    rows, cols = core._tril_colwise(q)
    pg = core.projected_gradient(path.theta, grad_s[rows, cols], q)
    conv_notes: list[str] = []
    converged = bool(np.max(np.abs(pg)) < max(_GRAD_TOL, _GRAD_RTOL * abs(dev)))
    if np.max(np.diag(lam_s)) > 0.999 * np.exp(core.LOG_LAMBDA_MAX):
        converged = False
        conv_notes.append(
            "The residual variance is practically zero next to the random-effects "
            "variance (their ratio reached the limit of 1e10); the scores follow each "
            "patient's own line exactly, so check for derived or duplicated values."
        )
    elif not converged:
        conv_notes.append(
            f"The optimiser did not reach a verified optimum (largest gradient "
            f"{np.max(np.abs(pg)):.2g}); treat the estimates with caution."
        )
    vcov_varpar, jac, evals, H = satterthwaite(cp, sc, path.theta, np.sqrt(sigma2), reml)
    # second-order check on the parameters off the boundary (a component on the
    # boundary was checked by the boundary fit; there the difference quotients
    # are at the rounding noise of the deviance)
    at_bound = (rows == cols) & (np.abs(path.theta) < SINGULAR_TOL)
    off = np.r_[~at_bound, True]
    evals_off = np.linalg.eigvalsh(H[np.ix_(off, off)])
    neg_tol = HESS_TOL * max(1.0, np.abs(evals_off).max())
    if (evals_off < -neg_tol).any():
        converged = False
        conv_notes.append(
            "The likelihood is not at a maximum in every direction (the Hessian of the "
            f"deviance has negative eigenvalue(s) {', '.join(f'{e:.1e}' for e in evals_off[evals_off < -neg_tol])}); "
            "the fit may not have converged."
        )
    messages.extend(conv_notes)

    names = design.random_names
    # singular fit, stated by component
    singular = bool(np.min(np.diag(lam_s)) < SINGULAR_TOL)
    if singular:
        messages.append(singular_message(lam_s, D, path.boundary, group, time, names))
    if path.boundary:
        messages.append(
            "The optimum lies on the boundary of the parameter space; it was confirmed "
            "by a separate fit on the boundary."
        )
    zero_ev = np.abs(evals) <= HESS_TOL
    if zero_ev.any():
        messages.append(
            f"Satterthwaite df: the likelihood is flat in {int(zero_ev.sum())} direction(s) "
            "of the variance parameters, which were left out (as lmerTest does)."
        )

    var_beta = np.diag(vcov)
    grad_var = jac[:, np.arange(p), np.arange(p)].T  # (p, k)
    denom = np.einsum("ik,kl,il->i", grad_var, vcov_varpar, grad_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denom > 0, 2.0 * var_beta**2 / denom, np.inf)
    n_par = p + len(theta_o) + 1
    loglik = -0.5 * dev
    group_sizes = np.bincount(design.codes)
    names = design.random_names
    blups = pd.DataFrame({group: design.groups.to_numpy()})
    for j, name in enumerate(_blup_columns(design)):
        blups[name] = b[:, j]

    result = LMMResult(
        random=variance_table(design, D, sigma2),
        random_covariance=pd.DataFrame(D, index=names, columns=names),
        blups=blups,
        loglik=loglik,
        deviance=dev,
        reml_criterion=dev if reml else np.nan,
        aic=dev + 2.0 * n_par,
        bic=dev + np.log(n) * n_par,
        n_obs=n,
        n_patients=len(design.groups),
        n_visits_max=int(group_sizes.max()),
        n_excluded=design.n_excluded,
        converged=converged,
        singular=singular,
        notes=messages,
        method="REML" if reml else "ML",
        level=level,
        theta=theta_o,
        sigma=float(np.sqrt(sigma2)),
        vcov=pd.DataFrame(vcov, index=design.terms, columns=design.terms),
        y=y,
        time=time,
        group=group,
        random_type=random,
        knots=design.knots,
        covariates=[c.name for c in design.covariates],
        measure=design.measure,
        _design=design,
        _beta=beta,
        _vcov=vcov,
        _df=df,
        _vcov_varpar=vcov_varpar,
        _jac=jac,
        _b=b,
        _cp=cp,
        _scaling=sc,
        _lam_s=lam_s,
        _sigma2=sigma2,
    )
    if singular:
        warnings.warn(
            messages[[m.startswith("Singular") for m in messages].index(True)],
            SingularFitWarning,
            stacklevel=2,
        )
    if not converged:
        warnings.warn(" ".join(conv_notes), ConvergenceWarning, stacklevel=2)
    return result
