"""Dose tables: planned doses from a schedule, or real doses from a dose file.

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.timeline import dose_table
>>> scores = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [0.0, 190.0],
...                        "measure": "HFMSE", "score": [20.0, 23.0]})
>>> dose_table(scores)[["patient_id", "dose_number", "day", "dose", "phase"]]
  patient_id  dose_number    day  dose        phase
0         P1            1    0.0  12.0      loading
1         P1            2   14.0  12.0      loading
2         P1            3   28.0  12.0      loading
3         P1            4   63.0  12.0      loading
4         P1            5  185.0  12.0  maintenance
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import require_columns
from ..exceptions import DataError, DataWarning
from ..load import read_doses
from ._common import first_dose_dates, fmt_day, per_row
from .schedules import Schedule, get_schedule

__all__ = ["dose_table", "DOSE_TABLE_COLUMNS"]

#: Columns of :func:`dose_table`, in order.
DOSE_TABLE_COLUMNS = (
    "patient_id",
    "dose_number",
    "day",
    "date",
    "dose",
    "drug",
    "phase",
    "planned",
)

def _read_doses(doses: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """A dose table as a DataFrame with patient_id, date, day, dose, drug."""
    if isinstance(doses, (str, os.PathLike)):
        doses = read_doses(doses)
    require_columns(doses, [S.PATIENT], func="dose_table")
    if S.DAY not in doses.columns and S.DATE not in doses.columns:
        raise DataError(
            "dose table: give a 'day' (days from the first dose) or a 'date' column; "
            f"it has {list(doses.columns)}"
        )
    out = pd.DataFrame(index=doses.index)
    out[S.PATIENT] = doses[S.PATIENT].astype(str)
    out[S.DATE] = (
        pd.to_datetime(doses[S.DATE], errors="coerce").astype("datetime64[ns]")
        if S.DATE in doses.columns
        else pd.Series(pd.NaT, index=doses.index, dtype="datetime64[ns]")
    )
    out[S.DAY] = (
        pd.to_numeric(doses[S.DAY], errors="coerce").astype(float)
        if S.DAY in doses.columns
        else np.nan
    )
    out["dose"] = (
        pd.to_numeric(doses["dose"], errors="coerce").astype(float)
        if "dose" in doses.columns
        else np.nan
    )
    out["drug"] = doses["drug"].fillna("").astype(str) if "drug" in doses.columns else ""
    none = out[S.DAY].isna() & out[S.DATE].isna()
    if none.any():
        rows = ", ".join(f"{i} ({p})" for i, p in out.loc[none, S.PATIENT].items())
        raise DataError(
            f"dose table: {int(none.sum())} dose(s) have neither a day nor a valid date "
            f"(row index, patient): {rows}. Give the date or the day of every dose."
        )
    return out


def _table_doses(
    table: pd.DataFrame, first_dates: pd.Series, stacklevel: int
) -> pd.DataFrame:
    """Days for doses from a dose table (origin: the patient's first-dose date)."""
    parts = []
    late = []
    for pid, grp in table.groupby(S.PATIENT, sort=False):
        grp = grp.copy()
        origin = first_dates.get(pid, pd.NaT)
        if pd.isna(origin):
            origin = grp[S.DATE].min()
        if grp[S.DAY].isna().any():
            grp[S.DAY] = grp[S.DAY].fillna((grp[S.DATE] - origin).dt.days.astype(float))
        if grp[S.DATE].isna().any() and not pd.isna(origin):
            grp[S.DATE] = grp[S.DATE].fillna(origin + pd.to_timedelta(grp[S.DAY], unit="D"))
        grp = grp.sort_values(S.DAY, kind="stable")
        dup = grp[S.DAY][grp[S.DAY].duplicated()]
        if len(dup):
            raise DataError(
                f"dose table: patient {pid} has more than one dose on day(s) "
                f"{sorted({fmt_day(d) for d in dup})}; keep one row per dose"
            )
        if grp[S.DAY].iloc[0] != 0:
            late.append(f"{pid} (day {fmt_day(grp[S.DAY].iloc[0])})")
        parts.append(grp)
    if late:
        warnings.warn(
            "dose table: the first dose is not on day 0 for " + ", ".join(late)
            + "; scores count days from the first-dose date they were read with",
            DataWarning,
            stacklevel=stacklevel,
        )
    out = pd.concat(parts) if parts else table.iloc[:0]
    out["planned"] = False
    return out


def resolve_doses(
    scores: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    first_dates: pd.Series | None = None,
    stacklevel: int = 3,
) -> pd.DataFrame:
    """Dose table for every patient in ``scores`` (and in ``doses``); see :func:`dose_table`."""
    sched = get_schedule(schedule)
    require_columns(scores, [S.PATIENT], func="dose_table")
    scores_pid = scores[S.PATIENT].astype(str)
    if first_dates is None:
        first_dates = first_dose_dates(scores.assign(**{S.PATIENT: scores_pid}))
    pids = list(pd.unique(scores_pid))
    parts: list[pd.DataFrame] = []
    have: set[str] = set()
    if doses is not None:
        table = _table_doses(_read_doses(doses), first_dates, stacklevel + 1)
        have = set(table[S.PATIENT])
        parts.append(table)
        no_doses = [p for p in pids if p not in have]
        if no_doses:
            warnings.warn(
                f"no doses in the dose table for {len(no_doses)} patient(s): "
                f"{', '.join(no_doses)}; using the planned {sched.name} schedule for them",
                DataWarning,
                stacklevel=stacklevel,
            )
    day = (
        pd.to_numeric(scores[S.DAY], errors="coerce")
        if S.DAY in scores.columns
        else pd.Series(np.nan, index=scores.index)
    )
    if S.DATE in scores.columns:  # days from dates where only dates are known
        date = pd.to_datetime(scores[S.DATE], errors="coerce")
        origin = per_row(first_dates, scores_pid)
        day = day.fillna((date - origin).dt.days.astype(float))
    last_day = day.groupby(scores_pid).max()
    planned_rows = []
    for pid in pids:
        if pid in have:
            continue
        origin = first_dates.get(pid, pd.NaT)
        days = sched.dose_days(
            until_day=last_day.get(pid, np.nan),
            first_dose_date=None if pd.isna(origin) else origin,
        )
        for d in days:
            planned_rows.append((pid, pd.NaT if pd.isna(origin) else origin + pd.Timedelta(days=d), d))
    if planned_rows:
        planned = pd.DataFrame(planned_rows, columns=[S.PATIENT, S.DATE, S.DAY])
        planned[S.DATE] = planned[S.DATE].astype("datetime64[ns]")
        planned["dose"] = np.nan
        planned["drug"] = ""
        planned["planned"] = True
        parts.append(planned)
    if not parts:
        return pd.DataFrame({c: [] for c in DOSE_TABLE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    order = {p: i for i, p in enumerate(pids + sorted(have - set(pids)))}
    out["_o"] = out[S.PATIENT].map(order)
    out = out.sort_values(["_o", S.DAY], kind="stable").drop(columns="_o")
    out["dose_number"] = out.groupby(S.PATIENT, sort=False).cumcount() + 1
    mg = out["dose_number"].map(sched.dose_mg)
    out["dose"] = out["dose"].where(out["dose"].notna() | ~out["planned"], mg).astype(float)
    out["drug"] = out["drug"].where(out["drug"] != "", sched.drug)
    out["phase"] = np.where(out["dose_number"] <= sched.n_loading, "loading", "maintenance")
    out["planned"] = out["planned"].astype(bool)
    out[S.DAY] = out[S.DAY].astype(float)
    return out[list(DOSE_TABLE_COLUMNS)].reset_index(drop=True)


def dose_table(
    scores: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """One row per patient x dose: the doses given (dose table) or planned (schedule).

    Parameters
    ----------
    scores : pandas.DataFrame
        The tidy score table (``patient_id``; ``day``, ``date`` and a
        ``first_dose_date`` column are used when present).
    schedule : str or Schedule
        Planned schedule for patients without rows in ``doses``
        (see :func:`~sma_outcomes.timeline.get_schedule`).
    doses : DataFrame or path, optional
        Real doses: columns ``patient_id`` and ``date`` and/or ``day``, optional
        ``dose`` (mg) and ``drug``, as returned by
        :func:`sma_outcomes.load.read_doses` (a path is read with it).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, dose_number, day, date, dose, drug, phase, planned``:
        ``dose_number`` counts from 1 in time order, ``day`` is days from the
        patient's first dose, ``date`` is NaT when unknown, ``dose`` in mg
        (NaN when a dose table does not give it, or for weight-based doses),
        ``drug`` (the schedule's drug when not given), ``phase`` (``"loading"``
        for the first ``n_loading`` doses, else ``"maintenance"``) and
        ``planned`` (True from the schedule, False from the dose table).
        Patients are in order of first appearance in ``scores``, then patients
        found only in the dose table.

    Notes
    -----
    Planned doses: all loading doses, then maintenance doses up to the
    patient's last assessment day (calendar months when the first-dose date
    is known, see :mod:`~sma_outcomes.timeline.schedules`). A continuous schedule
    (risdiplam) gives one row, the treatment start on day 0. Dose-table days:
    the ``day`` column when given, else the date minus the patient's first-dose
    date from ``scores`` (or the earliest dose date when ``scores`` has no
    dates); a :class:`~sma_outcomes.DataWarning` notes a first dose that is not
    on day 0, and patients of ``scores`` without doses in the table (they get
    the planned schedule). Two doses on one day raise
    :class:`~sma_outcomes.DataError`.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"patient_id": ["P1"], "day": [200.0],
    ...                        "measure": "HFMSE", "score": [25.0]})
    >>> doses = pd.DataFrame({"patient_id": "P1", "day": [0.0, 14, 28, 80, 210]})
    >>> dose_table(scores, doses=doses)[["dose_number", "day", "phase", "planned"]]
       dose_number    day        phase  planned
    0            1    0.0      loading    False
    1            2   14.0      loading    False
    2            3   28.0      loading    False
    3            4   80.0      loading    False
    4            5  210.0  maintenance    False
    """
    return resolve_doses(scores, schedule, doses)
