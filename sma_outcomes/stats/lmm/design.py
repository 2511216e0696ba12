"""Model frame and design matrices for :func:`sma_outcomes.stats.fit_lmm`.

Selects the measure, derives ``days``/``months``/``years`` from ``day`` when
asked, drops (and counts) incomplete rows, and builds the fixed-effects matrix:
intercept, time, one hinge ``(time - k)+`` per knot, then the covariates
(numeric as they are; categorical, boolean and string columns treatment-coded
against their first level).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ... import schema

_DERIVED_TIME = {
    "days": 1.0,
    "months": schema.DAYS_PER_MONTH,
    "years": schema.DAYS_PER_YEAR,
}


@dataclass
class Covariate:
    """How one covariate enters the model."""

    name: str
    levels: list | None = None  # None: numeric; else levels, the first is the reference
    mean: float = 0.0  # numeric: mean in the fitted data

    @property
    def terms(self) -> list[str]:
        if self.levels is None:
            return [self.name]
        return [f"{self.name}[T.{lvl}]" for lvl in self.levels[1:]]

    def columns(self, values: pd.Series) -> np.ndarray:
        if self.levels is None:
            out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            if np.isnan(out).any():
                raise ValueError(f"covariate {self.name!r} needs numeric values for every row")
            return out[:, None]
        known = set(self.levels)
        unknown = sorted({str(v) for v in values if v not in known})
        if unknown:
            raise ValueError(
                f"covariate {self.name!r} has level(s) {unknown} that the model was not "
                f"fitted with; known levels: {self.levels}"
            )
        arr = values.to_numpy(dtype=object)
        return np.column_stack([(arr == lvl).astype(float) for lvl in self.levels[1:]]).reshape(
            len(arr), len(self.levels) - 1
        )


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
    excluded: dict[str, int] = field(default_factory=dict)
    time_from_day: bool = False  # time was derived from the study day (day 0 = first dose)

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded.values())

    def fixed_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Fixed-effects matrix for new rows (same columns as the fit)."""
        t = pd.to_numeric(frame[self.time], errors="coerce").to_numpy(dtype=float)
        parts = [self.time_columns(t)]
        for cov in self.covariates:
            parts.append(cov.columns(frame[cov.name]))
        return np.hstack(parts)

    def time_columns(self, t: np.ndarray) -> np.ndarray:
        """Intercept, time and one hinge ``(time - k)+`` per knot."""
        t = np.asarray(t, dtype=float)
        cols = [np.ones_like(t), t] + [np.maximum(t - k, 0.0) for k in self.knots]
        return np.column_stack(cols)

    def random_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        t = pd.to_numeric(frame[self.time], errors="coerce").to_numpy(dtype=float)
        if self.random == "intercept":
            return np.ones((len(t), 1))
        return np.column_stack([np.ones_like(t), t])


def _knot_label(time: str, k: float) -> str:
    return f"{time}_after_{k:g}"


def select_rows(
    data: pd.DataFrame, measure: str | None, time: str
) -> tuple[pd.DataFrame, str | None]:
    """The measure's rows, with the time column derived from ``day`` if needed."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    frame = data
    if schema.MEASURE in data.columns:
        present = sorted(pd.unique(data[schema.MEASURE].dropna().astype(str)))
        if measure is None:
            if len(present) > 1:
                raise ValueError(
                    f"data holds {len(present)} measures ({', '.join(present)}); "
                    "choose one with measure=, e.g. measure='HFMSE'"
                )
            measure = present[0] if present else None
        elif measure not in present:
            raise ValueError(
                f"measure {measure!r} is not in the data; measures present: {', '.join(present)}"
            )
        frame = data.loc[data[schema.MEASURE] == measure]
    elif measure is not None:
        raise ValueError(f"measure={measure!r} was given but data has no {schema.MEASURE!r} column")
    if time not in frame.columns:
        if time in _DERIVED_TIME and schema.DAY in frame.columns:
            frame = frame.assign(
                **{time: pd.to_numeric(frame[schema.DAY], errors="coerce") / _DERIVED_TIME[time]}
            )
        else:
            hint = (
                f" (or a {schema.DAY!r} column to derive it from)" if time in _DERIVED_TIME else ""
            )
            raise ValueError(f"time column {time!r} not found in data{hint}")
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
    if random not in ("slope", "intercept"):
        raise ValueError(f"random must be 'slope' or 'intercept', got {random!r}")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    knots = sorted(float(k) for k in (knots or []))
    frame, measure = select_rows(data, measure, time)
    needed = [y, time, group, *covariates]
    missing_cols = [c for c in needed if c not in frame.columns]
    if missing_cols:
        raise ValueError(
            f"column(s) {missing_cols} not found in data; columns are {list(frame.columns)}"
        )
    if len(set(needed)) != len(needed):
        raise ValueError(f"y, time, group and covariates must be distinct columns: {needed}")
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
    terms = ["Intercept", time, *[_knot_label(time, k) for k in knots]]
    for cov in covs:
        terms += cov.terms
    design = Design(
        frame=frame,
        X=np.empty((0, 0)),
        Z=np.empty((0, 0)),
        y=frame[y].to_numpy(dtype=float),
        codes=codes.astype(np.intp),
        groups=pd.Index(groups, name=group),
        terms=terms,
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
    design.Z = design.random_matrix(frame)
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
    if n_obs <= n_groups:
        raise ValueError(
            f"{n_obs} observations from {n_groups} groups: a random intercept needs more "
            "observations than groups (repeated measurements per patient)"
        )
    if random == "slope" and n_obs <= 2 * n_groups:
        raise ValueError(
            f"{n_obs} observations from {n_groups} groups cannot estimate {2 * n_groups} "
            "random effects (an intercept and a slope per group); try random='intercept'"
        )
    return design
