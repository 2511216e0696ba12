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
from .._shared import renamed, require_columns
from ..exceptions import DataError, DataWarning
from ..load import read_doses
from ._common import codes_of, first_dose_dates, fmt_day, per_row
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
    """Days for doses from a dose table (origin: the patient's first-dose date).

    Patients in order of first appearance, each patient's doses by day (stable).
    """
    if table.empty:
        out = table.copy()
        out["planned"] = False
        return out
    pid = table[S.PATIENT]
    code, uniq = pd.factorize(pid)
    origin = first_dates.astype("datetime64[ns]").reindex(uniq).to_numpy()
    date = table[S.DATE].to_numpy("datetime64[ns]")
    min_date = pd.Series(date).groupby(code).min().reindex(range(len(uniq))).to_numpy(
        "datetime64[ns]"
    )
    origin = np.where(np.isnat(origin), min_date, origin)
    row_origin = origin[code]
    day = table[S.DAY].to_numpy(float).copy()
    fill = np.isnan(day)
    if fill.any():
        derived = pd.Series(date[fill] - row_origin[fill]).dt.days.to_numpy(float)
        day[fill] = derived
    fill = np.isnat(date) & ~np.isnat(row_origin) & ~np.isnan(day)
    if fill.any():
        date = date.copy()
        date[fill] = pd.Series(row_origin[fill]) + pd.to_timedelta(day[fill], unit="D")
    out = table.copy()
    out[S.DAY] = day
    out[S.DATE] = pd.Series(date, index=table.index, dtype="datetime64[ns]")
    order = np.lexsort((day, code))
    out = out.iloc[order]
    code_s, day_s = code[order], day[order]
    dup = np.zeros(len(out), dtype=bool)
    dup[1:] = (code_s[1:] == code_s[:-1]) & (day_s[1:] == day_s[:-1])
    if dup.any():
        first = int(code_s[dup].min())
        days = sorted({fmt_day(d) for d in day_s[dup & (code_s == first)]})
        raise DataError(
            f"dose table: patient {uniq[first]} has more than one dose on day(s) "
            f"{days}; keep one row per dose"
        )
    starts = np.flatnonzero(np.r_[True, code_s[1:] != code_s[:-1]])
    late = [f"{uniq[code_s[i]]} (day {fmt_day(day_s[i])})" for i in starts if day_s[i] != 0]
    if late:
        warnings.warn(
            "dose table: the first dose is not on day 0 for " + ", ".join(late)
            + "; scores count days from the first-dose date they were read with",
            DataWarning,
            stacklevel=stacklevel,
        )
    out["planned"] = False
    return out


def planned_doses(
    sched: Schedule, pids: list[str] | np.ndarray, origins: np.ndarray, until: np.ndarray
) -> pd.DataFrame:
    """Planned doses of many patients: ``patient_id, date, day`` (see :meth:`Schedule.dose_days`).

    ``origins`` are the first-dose dates (NaT when unknown) and ``until`` the
    last day to cover (NaN: loading doses only), one per patient.
    """
    pids = np.asarray(pids, dtype=object)
    origins = np.asarray(origins, dtype="datetime64[ns]")
    until = np.asarray(until, dtype=float)
    n = len(pids)
    load = np.asarray(sched.loading_days, dtype=float)
    who = [np.repeat(np.arange(n), len(load))]
    days = [np.tile(load, n)]
    seq = [np.tile(np.arange(len(load)), n)]
    if sched.has_maintenance and n:
        # an upper bound on the number of maintenance doses up to `until` (months >= 28 days)
        step = 28.0 * float(sched.maintenance_months)  # type: ignore[arg-type]
        span = np.where(np.isnan(until), -1.0, until - load[-1])
        n_k = np.where(span >= 0, np.floor(np.maximum(span, 0) / step) + 2, 0).astype(np.int64)
        rep = np.repeat(np.arange(n), n_k)
        if rep.size:
            first = np.cumsum(n_k) - n_k
            k = np.arange(rep.size) - np.repeat(first, n_k) + 1
            d = sched.maintenance_days(k, origins[rep])
            ok = d <= until[rep]
            # stop at the first dose after `until`, as Schedule.dose_days does
            late = np.cumsum(~ok)
            starts = first[n_k > 0]
            late -= np.repeat(late[starts] - (~ok)[starts], n_k[n_k > 0])
            keep = late == 0
            who.append(rep[keep])
            days.append(d[keep])
            seq.append(len(load) + k[keep])
    who_a, day_a, seq_a = np.concatenate(who), np.concatenate(days), np.concatenate(seq)
    order = np.lexsort((seq_a, who_a))
    who_a, day_a = who_a[order], day_a[order]
    date = pd.Series(origins[who_a], dtype="datetime64[ns]") + pd.to_timedelta(day_a, unit="D")
    return pd.DataFrame({S.PATIENT: pids[who_a], S.DATE: date.to_numpy("datetime64[ns]"),
                         S.DAY: day_a})


def resolve_doses(
    scores: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    first_dates: pd.Series | None = None,
    stacklevel: int = 3,
    day_filled: bool = False,
    factorized: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Dose table for every patient in ``scores`` (and in ``doses``); see :func:`dose_table`.

    ``day_filled`` says that ``scores[day]`` already holds the days derived from
    dates (as in :func:`~sma_outcomes.timeline.assign_timepoints`);
    ``factorized`` is ``codes_of(scores[patient_id])`` when the caller has it.
    """
    sched = get_schedule(schedule)
    require_columns(scores, [S.PATIENT], func="dose_table")
    pcode, puniq = factorized if factorized is not None else codes_of(scores[S.PATIENT])
    if first_dates is None:
        first_dates = first_dose_dates(scores, (pcode, puniq))
    pids = list(puniq)
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
        pd.to_numeric(scores[S.DAY], errors="coerce").to_numpy(float)
        if S.DAY in scores.columns
        else np.full(len(scores), np.nan)
    )
    if S.DATE in scores.columns and not day_filled and np.isnan(day).any():
        # days from dates where only dates are known
        date = pd.to_datetime(scores[S.DATE], errors="coerce")
        origin = per_row(first_dates, scores[S.PATIENT], (pcode, puniq))
        day = np.where(np.isnan(day), (date - origin).dt.days.to_numpy(float), day)
    last_day = np.full(len(puniq), np.nan)
    known = ~np.isnan(day)
    np.fmax.at(last_day, pcode[known], day[known])
    todo = np.array([p not in have for p in pids], dtype=bool)
    if todo.any():
        origins = first_dates.astype("datetime64[ns]").reindex(puniq[todo]).to_numpy()
        planned = planned_doses(sched, puniq[todo], origins, last_day[todo])
        planned["dose"] = np.nan
        planned["drug"] = ""
        planned["planned"] = True
        parts.append(planned)
    if not parts:
        return pd.DataFrame({c: [] for c in DOSE_TABLE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    order = pd.Index(pids + sorted(have - set(pids)))
    o = order.get_indexer(out[S.PATIENT])
    out = out.iloc[np.lexsort((out[S.DAY].to_numpy(float), o))]
    out["dose_number"] = out.groupby(S.PATIENT, sort=False).cumcount().to_numpy() + 1
    num = out["dose_number"].to_numpy()
    mg = np.where(num <= sched.n_loading,
                  np.asarray(sched.loading_dose_mg, float)[np.minimum(num, sched.n_loading) - 1],
                  float(sched.maintenance_dose_mg))
    planned_mask = out["planned"].to_numpy(bool)
    dose = out["dose"].to_numpy(float)
    out["dose"] = np.where(np.isnan(dose) & planned_mask, mg, dose)
    out["drug"] = out["drug"].where(out["drug"] != "", sched.drug)
    out["phase"] = np.where(num <= sched.n_loading, "loading", "maintenance")
    out["planned"] = planned_mask
    out[S.DAY] = out[S.DAY].astype(float)
    return out[list(DOSE_TABLE_COLUMNS)].reset_index(drop=True)


@renamed(scores="data")
def dose_table(
    data: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """One row per patient x dose: the doses given (dose table) or planned (schedule).

    Parameters
    ----------
    data : pandas.DataFrame
        The tidy score table (the old keyword ``scores=`` still works, with a
        ``FutureWarning``): ``patient_id``; ``day``, ``date`` and a
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
        Patients are in order of first appearance in ``data``, then patients
        found only in the dose table.

    Notes
    -----
    Planned doses: all loading doses, then maintenance doses up to the
    patient's last assessment day (calendar months when the first-dose date
    is known, see :mod:`~sma_outcomes.timeline.schedules`). A continuous schedule
    (risdiplam) gives one row, the treatment start on day 0. Dose-table days:
    the ``day`` column when given, else the date minus the patient's first-dose
    date from ``data`` (or the earliest dose date when ``data`` has no
    dates); a :class:`~sma_outcomes.DataWarning` notes a first dose that is not
    on day 0, and patients of ``data`` without doses in the table (they get
    the planned schedule). Two doses on one day raise
    :class:`~sma_outcomes.DataError`.

    Examples
    --------
    Planned doses of one child of the bundled case series (calendar months from
    the first-dose date):

    >>> from sma_outcomes.load import load_example
    >>> d = dose_table(load_example("case_series"))
    >>> d.loc[d["patient_id"] == "GK01", ["dose_number", "day", "date", "phase"]].tail(3)
       dose_number    day       date        phase
    5            6  308.0 2020-01-06  maintenance
    6            7  429.0 2020-05-06  maintenance
    7            8  552.0 2020-09-06  maintenance

    Real doses, the 4th one delayed:

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
    return resolve_doses(data, schedule, doses, stacklevel=4)
