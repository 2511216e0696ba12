"""From a long table to the per-patient arrays multiple imputation works on.

Every patient gets one row per visit (a *grid*, patient-major: row ``i * d + j``
is patient ``i`` at visit ``j``), as rbmi's ``data`` must have. Patient-level
columns (arm, baseline, ...) are filled into the added rows from the patient's
other rows; a column that varies within a patient must be given on every row.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"patient_id": ["a", "a", "b"], "timepoint": ["V1", "V2", "V1"],
...                   "baseline": [10.0, 10.0, 12.0], "change": [1.0, 2.0, 0.5]})
>>> md = prepare_data(d, y="change", visit="timepoint", group="patient_id", arm=None,
...                   columns=["baseline"])
>>> md.Y.tolist()
[[1.0, 2.0], [0.5, nan]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ... import schema
from ..._shared import natural_key, pick_measure, require_columns
from ...exceptions import DataError
from .._input import shared_visits


@dataclass
class MIData:
    """The analysis data of :func:`fit_mi` in wide form.

    Attributes
    ----------
    ids : ndarray
        Patient identifiers, in the order of the rows of ``Y``.
    visits : list
        Visit levels, in order.
    Y : ndarray (n, d)
        Outcome, NaN where missing.
    grid : DataFrame
        ``n * d`` rows (patient-major) with the group, visit, arm, outcome and
        every model column, visit and arm as categoricals.
    arm_code : ndarray (n,) of int
        Index of each patient's arm in ``arms`` (all 0 without an arm).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": ["a", "b"], "v": ["V1", "V1"], "y": [1.0, 2.0]})
    >>> prepare_data(d, y="y", visit="v", group="id", arm=None, columns=[]).n
    2
    """

    ids: np.ndarray
    visits: list
    arms: list | None
    arm_code: np.ndarray
    Y: np.ndarray
    grid: pd.DataFrame
    y: str
    visit: str
    group: str
    arm: str | None
    measure: str | None = None
    notes: list[str] = field(default_factory=list)
    due: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.Y.shape[0])

    @property
    def d(self) -> int:
        """Number of visits."""
        return int(self.Y.shape[1])

    @property
    def observed(self) -> np.ndarray:
        """Boolean (n, d): the outcome is observed."""
        return ~np.isnan(self.Y)

    @property
    def in_analysis(self) -> np.ndarray:
        """Boolean (n, d): the visit exists for the patient (observed, or due and missing).

        A visit not yet due at the data cut-off and without a value is not
        missing data: it is neither imputed nor analysed.
        """
        if self.due is None:
            return np.ones(self.Y.shape, dtype=bool)
        return self.due | self.observed

    @property
    def missing(self) -> np.ndarray:
        """Boolean (n, d): the values to impute (missing at a visit that exists)."""
        return np.isnan(self.Y) & self.in_analysis


def _levels(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = set(series.dropna().unique().tolist())
        return [c for c in series.cat.categories if c in used]
    vals = series.dropna().unique().tolist()
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in vals):
        return sorted(vals)
    return sorted(vals, key=natural_key)


def select_rows(data: pd.DataFrame, measure: str | None, *, func: str) -> tuple[pd.DataFrame, str | None]:
    """The rows of one measure, analysed and post-baseline when those columns exist.

    Examples
    --------
    >>> d = pd.DataFrame({"measure": ["HFMSE", "RULM"], "is_baseline": [False, False]})
    >>> len(select_rows(d, "HFMSE", func="fit_mi")[0])
    1
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{func}() expects a pandas DataFrame, got {type(data).__name__}")
    if schema.MEASURE in data.columns:
        measure = pick_measure(data, measure, func=func)
        data = data.loc[data[schema.MEASURE] == measure]
    elif measure is not None:
        raise DataError(f"{func}(): measure={measure!r} was given but the table has no "
                        "'measure' column")
    if schema.ANALYSED in data.columns:
        data = data.loc[data[schema.ANALYSED].fillna(False).astype(bool).to_numpy()]
    if schema.IS_BASELINE in data.columns:
        data = data.loc[~data[schema.IS_BASELINE].fillna(False).astype(bool).to_numpy()]
    return data, measure


def prepare_data(
    data: pd.DataFrame,
    measure: str | None = None,
    *,
    y: str,
    visit: str,
    group: str,
    arm: str | None,
    columns: Sequence[str],
    func: str = "fit_mi",
) -> MIData:
    """Complete the patient x visit grid and put the outcome in wide form.

    ``columns`` are the model columns besides the outcome, visit, group and arm.

    Examples
    --------
    >>> d = pd.DataFrame({"id": ["a", "a", "b"], "v": [1, 2, 2], "trt": ["A", "A", "B"],
    ...                   "y": [1.0, None, 3.0]})
    >>> md = prepare_data(d, y="y", visit="v", group="id", arm="trt", columns=[])
    >>> md.grid["trt"].tolist(), md.arm_code.tolist()
    (['A', 'A', 'B', 'B'], [0, 1])
    """
    rows, measure = select_rows(data, measure, func=func)
    need = [group, visit, y, *([arm] if arm else []), *columns]
    require_columns(rows, list(dict.fromkeys(need)), func=func)
    rows = rows.loc[rows[group].notna() & rows[visit].notna()]
    if rows.empty:
        raise DataError(f"{func}(): no rows with a patient and a visit")
    n_shared, listing = shared_visits(rows, group, visit, head=5)
    if n_shared:
        raise DataError(
            f"{func}(): {n_shared} rows share a patient and visit (e.g. {listing}); "
            "keep one row per patient and visit (the analysed assessment) first"
        )
    visits = _levels(rows[visit])
    ids = np.array(sorted(pd.unique(rows[group]), key=natural_key), dtype=object)
    n, d = len(ids), len(visits)
    index = pd.MultiIndex.from_product([ids, visits], names=[group, visit])
    keyed = rows.set_index([group, visit])
    extra = list(dict.fromkeys([y, *([arm] if arm else []), *columns]))
    grid = keyed[extra].reindex(index).reset_index()
    notes: list[str] = []
    for c in extra:
        if c == y:
            continue
        per = rows.groupby(group, sort=False)[c].nunique(dropna=True)
        if (per <= 1).all():
            first = rows.dropna(subset=[c]).drop_duplicates(group).set_index(group)[c]
            grid[c] = grid[group].map(first)
        missing = grid[c].isna()
        if missing.any():
            bad = grid.loc[missing, [group, visit]].head(5)
            listing = "; ".join(f"{a} at {b}" for a, b in bad.itertuples(index=False))
            raise DataError(
                f"{func}(): column {c!r} is missing for {int(missing.sum())} patient x visit "
                f"row(s) (e.g. {listing}); every patient needs it at every visit (a "
                "patient-level value is filled in from the patient's other rows)"
            )
    grid[visit] = pd.Categorical(grid[visit].to_numpy(dtype=object), categories=visits)
    arms = None
    arm_code = np.zeros(n, dtype=np.int64)
    if arm is not None:
        arms = _levels(rows[arm])
        grid[arm] = pd.Categorical(grid[arm].to_numpy(dtype=object), categories=arms)
        arm_code = grid[arm].cat.codes.to_numpy()[::d].astype(np.int64)
    Y = grid[y].to_numpy(dtype=float).reshape(n, d)
    none = int((~np.isfinite(Y)).all(axis=1).sum())
    if none:
        notes.append(
            f"{none} patient(s) have no observed value of {y!r}: every visit of theirs is "
            "imputed from the model means"
        )
    return MIData(ids=ids, visits=visits, arms=arms, arm_code=arm_code, Y=Y, grid=grid, y=y,
                  visit=visit, group=group, arm=arm, measure=measure, notes=notes)


def restrict_due(md: MIData, due: np.ndarray, why: str) -> MIData:
    """Leave out the visits not yet due (``due`` False and no value), and patients with none.

    ``why`` ends the note, e.g. ``"at the data cut-off"``.

    Examples
    --------
    >>> d = pd.DataFrame({"id": ["a", "a", "b"], "v": [1, 2, 1], "y": [1.0, 2.0, 3.0]})
    >>> md = prepare_data(d, y="y", visit="v", group="id", arm=None, columns=[])
    >>> md = restrict_due(md, np.array([[True, True], [True, False]]), "at the cut-off")
    >>> md.missing.tolist(), md.notes
    ([[False, False], [False, False]], ['1 visit(s) not yet due at the cut-off are left out (not imputed, not analysed)'])
    """
    due = np.asarray(due, dtype=bool) | md.observed
    out = md.notes
    skipped = int((~due).sum())
    if not skipped:
        return md
    keep = due.any(axis=1)
    msg = f"{skipped} visit(s) not yet due {why} are left out (not imputed, not analysed)"
    if not keep.all():
        msg += (f"; {int((~keep).sum())} patient(s) with no visit due are not in the "
                "analysis")
        rows = np.repeat(keep, md.d)
        md = MIData(ids=md.ids[keep], visits=md.visits, arms=md.arms,
                    arm_code=md.arm_code[keep], Y=md.Y[keep],
                    grid=md.grid.loc[rows].reset_index(drop=True), y=md.y, visit=md.visit,
                    group=md.group, arm=md.arm, measure=md.measure, notes=list(out))
        due = due[keep]
    md.due = due
    md.notes.append(msg)
    return md
