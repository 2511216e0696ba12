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
from ._planned import planned_doses
from .events import event_table, regimen_periods, switch_doses
from .schedules import Schedule, get_schedule

__all__ = ["dose_table", "DOSE_TABLE_COLUMNS", "planned_doses"]

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


def resolve_doses(
    scores: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    first_dates: pd.Series | None = None,
    stacklevel: int = 3,
    day_filled: bool = False,
    factorized: tuple[np.ndarray, np.ndarray] | None = None,
    events: pd.DataFrame | str | os.PathLike[str] | None = None,
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
        scheds = [sched]
        if events is not None:
            planned, scheds = _planned_after_events(
                planned, sched, event_table(events, first_dates=first_dates), puniq[todo],
                first_dates, last_day[todo])
        parts.append(planned)
    else:
        scheds = [sched]
    if not parts:
        return pd.DataFrame({c: [] for c in DOSE_TABLE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    if "_regimen" not in out.columns:
        out["_regimen"] = 0
    out["_regimen"] = out["_regimen"].fillna(0).astype(np.int64)
    order = pd.Index(pids + sorted(have - set(pids)))
    o = order.get_indexer(out[S.PATIENT])
    out = out.iloc[np.lexsort((out[S.DAY].to_numpy(float), o))]
    out["dose_number"] = out.groupby([S.PATIENT, "_regimen"], sort=False).cumcount().to_numpy() + 1
    num = out["dose_number"].to_numpy()
    sched_of = np.zeros(len(out), dtype=np.int64)
    if "_schedule" in out.columns:
        sched_of = out["_schedule"].fillna(0).to_numpy().astype(np.int64)
    mg = np.full(len(out), np.nan)
    phase = np.empty(len(out), dtype=object)
    drug_default = np.empty(len(out), dtype=object)
    for i, sc in enumerate(scheds):
        rows = sched_of == i
        if not rows.any():
            continue
        n = num[rows]
        load_mg = np.asarray(sc.loading_dose_mg, float)
        maint = float(sc.maintenance_dose_mg) if sc.maintenance_dose_mg is not None else np.nan
        mg[rows] = np.where(n <= sc.n_loading, load_mg[np.minimum(n, sc.n_loading) - 1], maint)
        phase[rows] = np.where(n <= sc.n_loading, "loading", "maintenance")
        drug_default[rows] = sc.drug
    planned_mask = out["planned"].to_numpy(bool)
    dose = out["dose"].to_numpy(float)
    out["dose"] = np.where(np.isnan(dose) & planned_mask, mg, dose)
    out["drug"] = out["drug"].where(out["drug"] != "", pd.Series(drug_default, index=out.index))
    out["phase"] = phase
    out["planned"] = planned_mask
    out[S.DAY] = out[S.DAY].astype(float)
    return out[list(DOSE_TABLE_COLUMNS)].reset_index(drop=True)


def _planned_after_events(
    planned: pd.DataFrame, sched: Schedule, ev: pd.DataFrame, pids: np.ndarray,
    first_dates: pd.Series, last_day: np.ndarray,
) -> tuple[pd.DataFrame, list[Schedule]]:
    """Planned doses with treatment switches and discontinuations (see :func:`dose_table`).

    The first regimen's doses stop at its first switch or discontinuation; each
    switch adds the new drug's planned doses from the switch day (the rules and
    the doses of :func:`~sma_outcomes.timeline.events.regimen_periods` and
    :func:`~sma_outcomes.timeline.events.switch_doses`, as for ``doses_before``
    in :func:`~sma_outcomes.timeline.assign_timepoints`). Adds ``_regimen``
    (0: the first regimen, k: the k-th switch) and ``_schedule`` (index into
    the returned schedules).
    """
    pids = np.asarray(pids, dtype=object)
    first_stop, switches = regimen_periods(ev, pids)
    code = pd.Index(pids).get_indexer(planned[S.PATIENT].to_numpy(object))
    keep = planned[S.DAY].to_numpy(float) < first_stop[code]
    planned = planned[keep].assign(_regimen=0, _schedule=0)
    parts = [planned]
    scheds = [sched]
    for k, name in enumerate(pd.unique(switches["drug"].to_numpy(object))):
        new = get_schedule(str(name))
        sw = switches[switches["drug"].to_numpy(object) == name]
        start = sw["start"].to_numpy(float)
        stop = sw["stop"].to_numpy(float)
        last = last_day[sw["code"].to_numpy()]
        # up to the last assessment or the next stop; no assessment day: loading doses only
        until = np.where(np.isnan(last), np.nan, np.minimum(last, stop)) - start
        doses = switch_doses(new, ev, sw["key"].to_numpy(), first_dates, until)
        at = doses[S.PATIENT].astype(int).to_numpy()
        day = start[at] + doses[S.DAY].to_numpy(float)
        ok = day < stop[at]
        at = at[ok]
        scheds.append(new)
        parts.append(pd.DataFrame({
            S.PATIENT: pids[sw["code"].to_numpy()[at]],
            S.DATE: doses[S.DATE].to_numpy("datetime64[ns]")[ok],
            S.DAY: day[ok], "dose": np.nan, "drug": "", "planned": True,
            "_regimen": sw.index.to_numpy()[at] + 1, "_schedule": k + 1}))
    return pd.concat(parts, ignore_index=True), scheds


@renamed(scores="data")
def dose_table(
    data: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    events: pd.DataFrame | str | os.PathLike[str] | None = None,
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
    events : DataFrame or path, optional
        Intercurrent events, as read by :func:`sma_outcomes.load.read_events`
        (a path is read with it). Planned doses then follow treatment
        switches and discontinuations, by the rules ``doses_before`` and
        ``phase`` follow in :func:`~sma_outcomes.timeline.assign_timepoints`:
        the schedule's doses stop at the patient's first switch or
        discontinuation (a dose on that day is not given); a switch starts
        the new drug's planned schedule on the switch day (its day 0; its
        calendar months count from that date), up to the last assessment or
        the next switch or discontinuation. ``drug`` names the drug of each
        dose, and ``dose_number``, ``dose`` and ``phase`` restart with the
        new drug's schedule. Doses from ``doses`` are what was given and
        stay as they are.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, dose_number, day, date, dose, drug, phase, planned``:
        ``dose_number`` counts from 1 in time order (from 1 again at a
        treatment switch, see ``events``), ``day`` is days from the
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

    A switch to risdiplam on day 200: nusinersen stops, risdiplam starts:

    >>> events = pd.DataFrame({"patient_id": ["P1"], "day": [200.0],
    ...                        "event": ["treatment switch"], "detail": ["risdiplam"]})
    >>> dose_table(scores, events=events)[["dose_number", "day", "drug", "phase"]]
       dose_number    day        drug        phase
    0            1    0.0  nusinersen      loading
    1            2   14.0  nusinersen      loading
    2            3   28.0  nusinersen      loading
    3            4   63.0  nusinersen      loading
    4            5  185.0  nusinersen  maintenance
    5            1  200.0   risdiplam      loading
    """
    return resolve_doses(data, schedule, doses, stacklevel=4, events=events)
