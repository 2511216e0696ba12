"""From the changes table to the MMRM design: analysis rows, formula, X, y, visits.

The mean model is either built from ``visit``, ``covariates``, ``arm`` and
``interactions`` (visit as a factor, reference level the first), or given as a
patsy ``formula``; the matrix comes from the package's one design builder
(:mod:`sma_outcomes.stats._design`, shared with :func:`fit_lmm`). Either way the module records which model variables are
factors (with their levels) and which are numeric, because the LS-means
reference grid (emmeans' and SAS's) needs that structure.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"id": list("aabb"), "vis": ["V1", "V2"] * 2, "chg": [1.0, 2, 3, 4]})
>>> spec = prepare(d, y="chg", visit="vis", group="id", covariates=())
>>> spec.formula, spec.visits
('Q("chg") ~ Q("vis")', ['V1', 'V2'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ... import schema
from ..._shared import pick_measure, require_columns
from ...exceptions import DataError, OptionError
from .._design import ModelMatrix, design_matrix, matrix_like
from .._input import shared_visits


@dataclass
class Design:
    """The analysis data and the mean model of an MMRM fit.

    Examples
    --------
    >>> d = pd.DataFrame({"id": list("aabb"), "vis": ["V1", "V2"] * 2, "chg": [1.0, 2, 3, 4]})
    >>> prepare(d, y="chg", visit="vis", group="id", covariates=()).factors
    {'vis': ['V1', 'V2']}
    """

    data: pd.DataFrame
    formula: str
    y: str
    visit: str
    group: str
    arm: str | None
    visits: list[str]
    arms: list[str] | None
    spec: ModelMatrix | None = None
    X: np.ndarray | None = None
    factors: dict[str, list] = field(default_factory=dict)
    numerics: dict[str, float] = field(default_factory=dict)
    n_baseline_only: int = 0
    n_no_value: int = 0
    measure: str | None = None
    baseline_only: list[str] = field(default_factory=list)
    no_value: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def coef_names(self) -> list[str]:
        """Clean names of the columns of ``X``."""
        return self.spec.names if self.spec is not None else []

    @property
    def design_info(self):
        """patsy's description of the mean model (the columns of ``X``)."""
        return self.spec.info if self.spec is not None else None


def _q(name: str) -> str:
    return f'Q("{name}")'


def _levels(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = set(series.dropna().unique().tolist())
        return [c for c in series.cat.categories if c in used]
    vals = series.dropna().unique().tolist()
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def _referenced(code: str, columns: Sequence[str]) -> list[str]:
    out = []
    for c in columns:
        pat = rf"(?<![\w.]){re.escape(str(c))}(?![\w])"
        if re.search(pat, code):
            out.append(c)
    return out


def select_rows(
    changes: pd.DataFrame,
    measure: str | None,
    *,
    y: str,
    visit: str,
    group: str,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Rows of one measure that enter the model, and the patients left out.

    With the timeline columns, keeps ``analysed == True`` and ``is_baseline ==
    False``. Returns the post-baseline rows (outcome may still be missing), the
    ids of patients with a baseline but no post-baseline value, and the ids of
    other patients without any usable value (e.g. no baseline, hence no change).

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["a", "a", "b"], "measure": "HFMSE",
    ...                   "timepoint": ["Baseline", "Month 6", "Baseline"],
    ...                   "is_baseline": [True, False, True], "change": [None, 2.0, None]})
    >>> rows, only, none = select_rows(d, "HFMSE", y="change", visit="timepoint",
    ...                                group="patient_id")
    >>> len(rows), only, none
    (1, ['b'], [])
    """
    if not isinstance(changes, pd.DataFrame):
        raise TypeError(f"fit_mmrm() expects a pandas DataFrame, got {type(changes).__name__}")
    data = changes
    if schema.MEASURE in data.columns:
        present = data[schema.MEASURE].dropna()
        if measure is not None or present.nunique() > 1:
            measure = pick_measure(data, measure, func="fit_mmrm")
            data = data.loc[data[schema.MEASURE] == measure]
    elif measure is not None:
        raise DataError(f"measure={measure!r} was given but the table has no 'measure' column")
    require_columns(data, [y, visit, group], func="fit_mmrm")
    if schema.ANALYSED in data.columns:
        data = data.loc[data[schema.ANALYSED].fillna(False).astype(bool).to_numpy()]
    all_ids = pd.unique(data[group].dropna())
    base_ids: set = set()
    if schema.IS_BASELINE in data.columns:
        is_base = data[schema.IS_BASELINE].fillna(False).astype(bool).to_numpy()
        base_ids = set(data.loc[is_base, group].tolist())
        data = data.loc[~is_base]
    ok = data[y].notna() & data[visit].notna()
    with_value = set(data.loc[ok, group].tolist())
    left_out = [i for i in all_ids if i not in with_value]
    baseline_only = sorted(str(i) for i in left_out if i in base_ids)
    no_value = sorted(str(i) for i in left_out if i not in base_ids)
    return data, baseline_only, no_value


def prepare(
    changes: pd.DataFrame,
    measure: str | None = None,
    *,
    y: str = "change",
    visit: str = "timepoint",
    group: str = "patient_id",
    arm: str | None = None,
    covariates: Sequence[str] = ("baseline",),
    interactions: Sequence[str] = (),
    formula: str | None = None,
) -> Design:
    """Select the analysis rows, write the formula and build the design matrix.

    Examples
    --------
    >>> d = pd.DataFrame({"id": list("aabb"), "vis": ["V1", "V2"] * 2,
    ...                   "trt": list("ppqq"), "chg": [1.0, 2, 3, 4]})
    >>> prepare(d, y="chg", visit="vis", group="id", arm="trt", covariates=()).X.shape
    (4, 4)
    """
    if formula is not None:
        lhs = formula.split("~", 1)[0].strip() if "~" in formula else ""
        if not lhs:
            raise OptionError(f"fit_mmrm(): `formula`={formula!r} needs an outcome on the left of '~'")
        m = re.fullmatch(r'Q\(\s*["\'](.+)["\']\s*\)', lhs)
        y = m.group(1) if m else lhs
    if isinstance(covariates, str):
        covariates = (covariates,)
    if isinstance(interactions, str):
        interactions = (interactions,)
    rows, baseline_only, no_value = select_rows(changes, measure, y=y, visit=visit, group=group)
    require_columns(rows, [y], func="fit_mmrm")

    # variables of the mean model
    if formula is None:
        require_columns(rows, [*covariates, *(arm and [arm] or [])], func="fit_mmrm",
                        hint="named in `covariates`/`arm`")
        terms = [_q(visit), *(_q(c) for c in covariates)]
        if arm is not None:
            terms += [_q(arm), f"{_q(arm)}:{_q(visit)}"]
        for it in interactions:
            if ":" in it or "*" in it:
                terms.append(it)
            else:
                require_columns(rows, [it], func="fit_mmrm", hint="named in `interactions`")
                terms.append(f"{_q(it)}:{_q(visit)}")
        formula = f"{_q(y)} ~ " + " + ".join(terms)
    rhs = formula.split("~", 1)[1]
    used = _referenced(rhs, [c for c in rows.columns if c not in (y,)])
    for c in (visit, group, *([arm] if arm else [])):
        if c not in used:
            used.append(c)
    if arm is not None:
        require_columns(rows, [arm], func="fit_mmrm", hint="named in `arm`")
    keep = rows[y].notna()
    for c in used:
        keep &= rows[c].notna()
    dropped_cov = int((rows[y].notna() & ~keep).sum())
    data = rows.loc[keep, list(dict.fromkeys([y, *used]))].copy()
    if data.empty:
        raise DataError(
            f"no rows with a value of {y!r} and of every model variable ({', '.join(used)})"
        )
    notes = []
    if dropped_cov:
        notes.append(
            f"{dropped_cov} observation(s) with an outcome were left out because a model "
            "variable was missing"
        )
    n_shared, listing = shared_visits(data, group, visit, head=10)
    if n_shared:
        raise DataError(
            f"{n_shared} rows share a patient and visit (e.g. {listing}); an MMRM needs "
            "at most one value per patient and visit: keep the analysed assessment "
            "(analysed == True) or aggregate first"
        )

    visits = _levels(data[visit])
    data[visit] = pd.Categorical(data[visit].to_numpy(dtype=object), categories=visits)
    arms = None
    if arm is not None:
        arms = _levels(data[arm])
        data[arm] = pd.Categorical(data[arm].to_numpy(dtype=object), categories=arms)
    for c in data.columns:
        if isinstance(data[c].dtype, pd.CategoricalDtype) and c not in (visit, arm):
            data[c] = data[c].cat.remove_unused_categories().cat.as_unordered()
    data = data.reset_index(drop=True)

    X, spec = design_matrix(rhs, data)
    info = spec.info
    factors: dict[str, list] = {}
    numerics: dict[str, float] = {}
    for fac, finfo in info.factor_infos.items():
        cols = _referenced(fac.name(), list(data.columns))
        if finfo.type == "categorical":
            if len(cols) == 1:
                factors[cols[0]] = list(finfo.categories)
            else:
                raise ValueError(
                    f"the factor {fac.name()!r} refers to {cols}; LS means need each factor to be "
                    "one column of the data"
                )
        else:
            for c in cols:
                if c in factors:
                    continue
                if pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(
                    data[c]
                ):
                    numerics[c] = float(data[c].astype(float).mean())
                else:
                    factors[c] = _levels(data[c])
    for c in numerics:
        factors.pop(c, None)
    return Design(
        data=data,
        formula=formula,
        y=y,
        visit=visit,
        group=group,
        arm=arm,
        visits=visits,
        arms=arms,
        spec=spec,
        X=X,
        factors=factors,
        numerics=numerics,
        n_baseline_only=len(baseline_only),
        n_no_value=len(no_value),
        no_value=no_value,
        measure=measure,
        baseline_only=baseline_only,
        notes=notes,
    )


def reference_grid(design: Design, by: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """LS-means coefficient rows averaged over the reference grid, one per ``by`` cell.

    Numeric covariates are set to their mean over the analysis rows; every other
    factor is averaged with equal weights (emmeans' and SAS's default grid).

    Returns the ``by`` cells (a DataFrame) and the matrix of coefficient rows.

    Examples
    --------
    >>> d = pd.DataFrame({"id": list("aabb"), "vis": ["V1", "V2"] * 2, "chg": [1.0, 2, 3, 4]})
    >>> cells, L = reference_grid(prepare(d, y="chg", visit="vis", group="id", covariates=()),
    ...                           ["vis"])
    >>> L.tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    levels = {k: v for k, v in design.factors.items()}
    for b in by:
        if b not in levels:
            raise ValueError(f"{b!r} is not a factor of the mean model {design.formula!r}")
    names = list(levels)
    index = pd.MultiIndex.from_product([levels[n] for n in names], names=names)
    grid = index.to_frame(index=False)
    for n in names:
        src = design.data[n]
        if isinstance(src.dtype, pd.CategoricalDtype):
            grid[n] = pd.Categorical(grid[n], categories=list(src.cat.categories))
    for c, mean in design.numerics.items():
        grid[c] = mean
    Xg = matrix_like(design.spec, grid)
    keys = grid[list(by)].astype(object)
    cells = keys.drop_duplicates().reset_index(drop=True)
    order = []
    for b in by:
        order.append({v: i for i, v in enumerate(levels[b])})
    cells = cells.sort_values(list(by), key=lambda s: s.map(order[list(by).index(s.name)]))
    cells = cells.reset_index(drop=True)
    L = np.empty((len(cells), Xg.shape[1]))
    kv = keys.to_numpy()
    for i, row in enumerate(cells.itertuples(index=False)):
        sel = np.all(kv == np.array(row, dtype=object), axis=1)
        L[i] = Xg[sel].mean(axis=0)
    return cells, L
