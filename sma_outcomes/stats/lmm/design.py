"""Model frame and design matrices for :func:`sma_outcomes.stats.fit_lmm`.

Selects the measure, derives ``days``/``months``/``years`` from ``day`` when
asked, drops (and counts) incomplete rows, and builds the fixed-effects matrix
with the package's one design builder (:mod:`sma_outcomes.stats._design`):
intercept, time, one hinge ``(time - k)+`` per knot, then the covariates
(numeric as they are; categorical, boolean and string columns treatment-coded
against their first level). The random-effects matrix is ``1`` (random
intercept), ``1, time`` (random slope) or ``1, time, (time - k)+ ...``
(``random="piecewise"``).

Examples
--------
>>> import sma_outcomes as so
>>> d = build_design(so.load_example("cohort"), "HFMSE", y="score", time="months",
...                  group="patient_id", random="slope", knots=None, covariates=None)
>>> d.terms, d.X.shape[1], d.Z.shape[1]
(['Intercept', 'months'], 2, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ... import schema
from ..._shared import check_choice, pick_measure, require_columns
from ...exceptions import ColumnError, OptionError
from .._design import ModelMatrix, design_matrix, matrix_like, quote

_DERIVED_TIME = {
    "days": 1.0,
    "months": schema.DAYS_PER_MONTH,
    "years": schema.DAYS_PER_YEAR,
}
RANDOM_CHOICES = ("slope", "intercept", "piecewise")


@dataclass
class Covariate:
    """How one covariate enters the model."""

    name: str
    levels: list | None = None  # None: numeric; else levels, the first is the reference
    mean: float = 0.0  # numeric: mean in the fitted data

    def model_column(self, values: pd.Series) -> pd.Series | pd.Categorical:
        """The column as the design builder sees it (levels checked)."""
        if self.levels is None:
            out = pd.to_numeric(values, errors="coerce").astype(float)
            if out.isna().any():
                raise OptionError(f"covariate {self.name!r} needs numeric values for every row")
            return out.to_numpy()
        known = set(self.levels)
        unknown = sorted({str(v) for v in values if v not in known})
        if unknown:
            raise OptionError(
                f"covariate {self.name!r} has level(s) {unknown} that the model was not "
                f"fitted with; known levels: {self.levels}"
            )
        return pd.Categorical(values.to_numpy(dtype=object), categories=self.levels)


def knot_label(time: str, k: float) -> str:
    """Name of the hinge ``(time - k)+``: ``months_after_2``."""
    return f"{time}_after_{k:g}"


@dataclass
class Design:
    """Everything the fit needs, plus what is needed to predict and describe."""

    frame: pd.DataFrame  # the rows used (y, time, group, covariates)
    X: np.ndarray
    Z: np.ndarray
    y: np.ndarray
    codes: np.ndarray
    groups: pd.Index
    terms: list[str]
    y_name: str
    time: str
    group: str
    knots: list[float]
    covariates: list[Covariate]
    random: str
    measure: str | None
    spec: ModelMatrix | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    time_from_day: bool = False  # time was derived from the study day (day 0 = first dose)

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded.values())

    @property
    def random_names(self) -> list[str]:
        """Names of the random effects, in the order of the columns of ``Z``."""
        if self.random == "intercept":
            return ["Intercept"]
        if self.random == "slope":
            return ["Intercept", self.time]
        return ["Intercept", self.time, *[knot_label(self.time, k) for k in self.knots]]

    def model_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Time, hinges and covariates as the design builder sees them."""
        t = pd.to_numeric(frame[self.time], errors="coerce").to_numpy(dtype=float)
        cols: dict[str, object] = {self.time: t}
        for k in self.knots:
            cols[knot_label(self.time, k)] = np.maximum(t - k, 0.0)
        for cov in self.covariates:
            cols[cov.name] = cov.model_column(frame[cov.name])
        return pd.DataFrame(cols)

    def rhs(self) -> str:
        names = [self.time, *[knot_label(self.time, k) for k in self.knots]]
        names += [c.name for c in self.covariates]
        return " + ".join(quote(n) for n in names)

    def fixed_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Fixed-effects matrix for new rows (same columns as the fit)."""
        mf = self.model_frame(frame)
        if self.spec is None:
            X, self.spec = design_matrix(self.rhs(), mf, formula_order=True)
            return X
        if mf[self.time].isna().any():
            return np.full((len(mf), len(self.terms)), np.nan)
        return matrix_like(self.spec, mf)

    def time_columns(self, t: np.ndarray) -> np.ndarray:
        """Intercept, time and one hinge ``(time - k)+`` per knot."""
        t = np.asarray(t, dtype=float)
        cols = [np.ones_like(t), t] + [np.maximum(t - k, 0.0) for k in self.knots]
        return np.column_stack(cols)

    def random_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        t = pd.to_numeric(frame[self.time], errors="coerce").to_numpy(dtype=float)
        if self.random == "intercept":
            return np.ones((len(t), 1))
        if self.random == "slope":
            return np.column_stack([np.ones_like(t), t])
        return self.time_columns(t)


def _column_name(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise OptionError(
            f"fit_lmm(): `{name}` takes one column name (a str), not "
            f"{type(value).__name__} {value!r}"
            + ("; to adjust for several columns use covariates=[...]" if name == "group" else "")
        )
    return value


def select_rows(
    data: pd.DataFrame, measure: str | None, time: str
) -> tuple[pd.DataFrame, str | None]:
    """The measure's rows, with the time column derived from ``day`` if needed."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"fit_lmm() expects a pandas DataFrame as `data`, got {type(data).__name__}")
    frame = data
    if schema.MEASURE in data.columns:
        measure = pick_measure(data, measure, func="fit_lmm")
        frame = data.loc[data[schema.MEASURE] == measure]
    elif measure is not None:
        raise ColumnError(
            f"fit_lmm(): `measure`={measure!r} was given but the table has no "
            f"{schema.MEASURE!r} column"
        )
    if time not in frame.columns:
        if time in _DERIVED_TIME and schema.DAY in frame.columns:
            frame = frame.assign(
                **{time: pd.to_numeric(frame[schema.DAY], errors="coerce") / _DERIVED_TIME[time]}
            )
        else:
            hint = (
                f"or a {schema.DAY!r} column to derive it from"
                if time in _DERIVED_TIME
                else "pass `time=` the name of the time column"
            )
            require_columns(frame, [time], func="fit_lmm", hint=f"`time`: {hint}")
    return frame, measure


def build_design(
    data: pd.DataFrame,
    measure: str | None,
    *,
    y: str,
    time: str,
    group: str,
    random: str,
    knots: Sequence[float] | None,
    covariates: Sequence[str] | str | None,
) -> Design:
    """Validate the arguments and build the design of :func:`fit_lmm`."""
    check_choice("random", random, RANDOM_CHOICES)
    y = _column_name("y", y)
    time = _column_name("time", time)
    group = _column_name("group", group)
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    for c in covariates:
        _column_name("covariates", c)
    if knots is None or (np.ndim(knots) == 0 and not isinstance(knots, str)):
        knots = [] if knots is None else [knots]
    try:
        knots = sorted(float(k) for k in knots)
    except (TypeError, ValueError):
        raise OptionError(f"fit_lmm(): `knots` takes numbers (times), not {knots!r}") from None
    if len(set(knots)) != len(knots):
        raise OptionError(f"fit_lmm(): `knots` has a repeated value: {knots}")
    if random == "piecewise" and not knots:
        knots = [0.0]  # the first dose
    frame, measure = select_rows(data, measure, time)
    needed = [y, time, group, *covariates]
    require_columns(frame, needed, func="fit_lmm")
    if len(set(needed)) != len(needed):
        raise OptionError(f"fit_lmm(): y, time, group and covariates must be distinct columns: {needed}")
    frame = frame.loc[:, needed].copy()
    for col in (y, time):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    excluded: dict[str, int] = {}
    keep = np.ones(len(frame), dtype=bool)
    for col in needed:
        isna = frame[col].isna().to_numpy().copy()
        if col in (y, time):
            isna |= ~np.isfinite(frame[col].to_numpy(dtype=float, na_value=np.nan))
        n_new = int((isna & keep).sum())
        if n_new:
            excluded[col] = n_new
        keep &= ~isna
    frame = frame.loc[keep]
    if len(frame) == 0:
        raise ValueError("no complete rows to fit (every row misses y, time, group or a covariate)")

    covs: list[Covariate] = []
    for name in covariates:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            if isinstance(col.dtype, pd.CategoricalDtype):
                levels = [c for c in col.cat.categories if (col == c).any()]
            else:
                levels = sorted(pd.unique(col))
            if len(levels) < 2:
                raise ValueError(f"covariate {name!r} has only one level ({levels}) in the data")
            covs.append(Covariate(name, levels=list(levels)))
        else:
            covs.append(Covariate(name, mean=float(col.mean())))

    codes, groups = pd.factorize(frame[group], sort=True)
    design = Design(
        frame=frame,
        X=np.empty((0, 0)),
        Z=np.empty((0, 0)),
        y=frame[y].to_numpy(dtype=float),
        codes=codes.astype(np.intp),
        groups=pd.Index(groups, name=group),
        terms=[],
        y_name=y,
        time=time,
        group=group,
        knots=knots,
        covariates=covs,
        random=random,
        measure=measure,
        excluded=excluded,
        time_from_day=time not in data.columns,
    )
    design.X = design.fixed_matrix(frame)
    design.terms = design.spec.names
    design.Z = design.random_matrix(frame)
    terms = design.terms
    rank = np.linalg.matrix_rank(design.X)
    if rank < design.X.shape[1]:
        raise ValueError(
            f"the fixed effects ({', '.join(terms)}) are not estimable from these data "
            f"(design rank {rank} < {len(terms)} columns); drop a covariate or knot"
        )
    if len(frame) <= design.X.shape[1]:
        raise ValueError(f"{len(frame)} observations cannot estimate {len(terms)} fixed effects")
    # lme4's checks check.nobs.vs.nlev and check.nobs.vs.nRE (both "stop" by default)
    n_obs, n_groups = len(frame), len(design.groups)
    q = design.Z.shape[1]
    if n_obs <= n_groups:
        raise ValueError(
            f"{n_obs} observations from {n_groups} groups: a random intercept needs more "
            "observations than groups (repeated measurements per patient)"
        )
    if q > 1 and n_obs <= q * n_groups:
        what = "an intercept and a slope" if q == 2 else f"{q} coefficients"
        raise ValueError(
            f"{n_obs} observations from {n_groups} groups cannot estimate {q * n_groups} "
            f"random effects ({what} per group); try random='intercept'"
        )
    return design
