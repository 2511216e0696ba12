"""Intercurrent events on the timeline: which events came before each assessment.

Used by :func:`~sma_outcomes.timeline.assign_timepoints` and
:func:`~sma_outcomes.timeline.change_from_baseline` through ``events=``.

Timing rule: an event counts as *before* an assessment when its day is
earlier than the assessment's day; an assessment on the day of an event is
taken as done before it (as assessments are done before a dose).

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.timeline import assign_timepoints
>>> scores = pd.DataFrame({"patient_id": "P1", "day": [0.0, 185, 307, 428],
...                        "measure": "HFMSE", "score": [20.0, 22, 21, 22]})
>>> events = pd.DataFrame({"patient_id": ["P1"], "day": [200.0],
...                        "event": ["treatment switch"], "detail": ["risdiplam"]})
>>> out = assign_timepoints(scores, events=events)
>>> out[["day", "doses_before", "drug", "events_before"]]
     day  doses_before        drug  events_before
0    0.0             0  nusinersen              0
1  185.0             4  nusinersen              0
2  307.0           107   risdiplam              1
3  428.0           228   risdiplam              1
>>> out["after_treatment_switch"].tolist()
[False, False, True, True]
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import require_columns
from ..exceptions import DataError
from ..load import read_events
from ..load.events import DRUG_EVENTS, EVENT_TYPES, drug_code, event_code
from ._common import codes_of, first_dose_dates, per_row
from ._planned import planned_doses
from .schedules import Schedule, get_schedule

__all__ = ["event_table", "EVENTS_BEFORE", "AFTER_PREFIX", "DRUG", "after_column",
           "regimen_periods", "switch_doses"]

#: Column: number of events before the assessment.
EVENTS_BEFORE = "events_before"
#: Prefix of the per-event flag columns (``after_death``, ``after_treatment_switch``, ...).
AFTER_PREFIX = "after_"
#: Column: the disease-modifying treatment at the assessment (a schedule name).
DRUG = "drug"


def after_column(event: str) -> str:
    """Name of the flag column of an event type: ``after_<event>``.

    Examples
    --------
    >>> after_column("scoliosis_surgery")
    'after_scoliosis_surgery'
    """
    return AFTER_PREFIX + event


def event_table(
    events: pd.DataFrame | str | os.PathLike[str],
    data: pd.DataFrame | None = None,
    *,
    first_dates: pd.Series | None = None,
) -> pd.DataFrame:
    """Events as ``patient_id, day, event, detail, drug`` with event codes and days.

    Parameters
    ----------
    events : DataFrame or path
        As returned by :func:`sma_outcomes.load.read_events` (a path is read
        with it), or any table with ``patient_id``, ``event`` (codes or
        spellings) and ``day`` and/or ``date``, optionally ``detail``.
    data : DataFrame, optional
        The score table, whose first-dose dates (a ``first_dose_date``
        column, or ``date - day``) turn event dates into days.
    first_dates : Series, optional
        First-dose date per patient (instead of ``data``).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, day, event, detail, drug``, sorted by patient and day.

    Examples
    --------
    >>> import pandas as pd
    >>> event_table(pd.DataFrame({"patient_id": ["P1"], "day": [30], "event": ["NIV"]}))
      patient_id   day              event detail drug
    0         P1  30.0  ventilation_start

    Raises
    ------
    DataError
        An unknown event type or drug, or an event without a day that cannot
        be derived from a date.
    """
    if isinstance(events, (str, os.PathLike)):
        events = read_events(events)
    require_columns(events, [S.PATIENT, "event"], func="events")
    if first_dates is None and data is not None:
        first_dates = first_dose_dates(data)
    if S.DAY not in events.columns and S.DATE not in events.columns:
        raise DataError(f"events: give a 'day' or a 'date' column; it has {list(events.columns)}")
    pid = events[S.PATIENT].astype(str).to_numpy(object)
    raw = events["event"].astype(str).to_numpy(object)
    code = np.array([e if e in EVENT_TYPES else (event_code(e) or "") for e in raw], dtype=object)
    if (code == "").any():
        bad = sorted(set(raw[code == ""]))
        raise DataError(f"events: unknown event type(s) {bad}; use one of {list(EVENT_TYPES)} "
                        "(or read the file with read_events, which accepts common spellings)")
    detail = (events["detail"].fillna("").astype(str).to_numpy(object)
              if "detail" in events.columns else np.full(len(events), "", dtype=object))
    if "drug" in events.columns:
        drug = events["drug"].fillna("").astype(str).to_numpy(object)
    else:
        drug = np.array([drug_code(d) or "" for d in detail], dtype=object)
    drug = np.where(np.isin(code, DRUG_EVENTS), drug, "")
    no_drug = (code == "treatment_switch") & (drug == "")
    if no_drug.any():
        raise DataError(f"events: a treatment switch without a known new drug for patient(s) "
                        f"{sorted(set(pid[no_drug]))}; give the drug in 'detail'")
    day = (pd.to_numeric(events[S.DAY], errors="coerce").to_numpy(float)
           if S.DAY in events.columns else np.full(len(events), np.nan))
    if S.DATE in events.columns and np.isnan(day).any():
        date = pd.Series(pd.to_datetime(events[S.DATE], errors="coerce").to_numpy(), dtype="datetime64[ns]")
        fd = (per_row(first_dates, pd.Series(pid)) if first_dates is not None
              else pd.Series(pd.NaT, index=date.index, dtype="datetime64[ns]"))
        day = np.where(np.isnan(day), (date - fd).dt.days.to_numpy(float), day)
    if np.isnan(day).any():
        who = sorted(set(pid[np.isnan(day)]))
        raise DataError(f"events: the day of {int(np.isnan(day).sum())} event(s) is unknown "
                        f"(patients {who}): give the day, or dates with a first-dose date "
                        "(a first_dose_date column in the scores, or a dose table with dates)")
    out = pd.DataFrame({S.PATIENT: pid, S.DAY: day, "event": code, "detail": detail,
                        "drug": drug})
    return out.sort_values([S.PATIENT, S.DAY], kind="stable").reset_index(drop=True)


def _keyed(pcode: np.ndarray, day: np.ndarray, span: float) -> np.ndarray:
    return pcode * span + day


def _span(*days: np.ndarray) -> float:
    m = max((np.nanmax(np.abs(d), initial=0.0) for d in days if len(d)), default=0.0)
    return 2.0 * float(m) + 4.0


def count_before(day: np.ndarray, pcode: np.ndarray, ev_code: np.ndarray,
                 ev_day: np.ndarray, strict: bool = True) -> np.ndarray:
    """Per row: events of the same patient (code) with day < ``day`` (<= when not strict)."""
    span = _span(day, ev_day)
    key = np.sort(_keyed(ev_code, ev_day, span))
    start = np.searchsorted(key, pcode * span - span / 2.0, side="left")
    res = np.searchsorted(key, _keyed(pcode, day, span), side="left" if strict else "right")
    return (res - start).astype(float)


def last_before(day: np.ndarray, pcode: np.ndarray, ev_code: np.ndarray,
                ev_day: np.ndarray) -> np.ndarray:
    """Per row: index (into the events) of the patient's last event with day < ``day``, or -1."""
    span = _span(day, ev_day)
    key = _keyed(ev_code, ev_day, span)
    order = np.argsort(key, kind="stable")
    idx = np.searchsorted(key[order], _keyed(pcode, day, span), side="left") - 1
    ok = idx >= 0
    ok[ok] = ev_code[order[idx[ok]]] == pcode[ok]
    return np.where(ok, order[np.maximum(idx, 0)], -1)


def first_after(lo: np.ndarray, pcode: np.ndarray, ev_code: np.ndarray,
                ev_day: np.ndarray) -> np.ndarray:
    """Per row: index of the patient's first event with day > ``lo``, or -1."""
    span = _span(lo[np.isfinite(lo)], ev_day)
    lo = np.where(np.isfinite(lo), lo, -span / 4.0)
    key = _keyed(ev_code, ev_day, span)
    order = np.argsort(key, kind="stable")
    idx = np.searchsorted(key[order], _keyed(pcode, lo, span), side="right")
    ok = idx < len(order)
    ok[ok] = ev_code[order[idx[ok]]] == pcode[ok]
    return np.where(ok, order[np.minimum(idx, max(len(order) - 1, 0))], -1)


def regimen_doses(
    day: np.ndarray, nb: np.ndarray, pcode: np.ndarray, puniq: np.ndarray, ev: pd.DataFrame,
    sched: Schedule, first_dates: pd.Series, count_original, before: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Doses before each assessment allowing for switches and discontinuations.

    Returns ``(doses_before, n_loading, drug)`` per row: after a treatment
    switch the new drug's planned schedule counts from the switch day (its
    day 0); after a discontinuation (and before any later switch) the count
    stops at the doses given before the discontinuation day.
    ``count_original(days, rows)`` counts the original regimen's doses.
    """
    n = len(day)
    nb = nb.copy()
    n_load = np.full(n, sched.n_loading, dtype=np.int64)
    drug = np.full(n, sched.name, dtype=object)
    ev_code = pd.Index(puniq).get_indexer(ev[S.PATIENT].to_numpy(object))
    mine = ev_code >= 0
    ev = ev[mine].reset_index(drop=True)
    ev_code = ev_code[mine]
    sw = (ev["event"] == "treatment_switch").to_numpy()
    dc = (ev["event"] == "discontinuation").to_numpy()
    ev_day = ev[S.DAY].to_numpy(float)
    known = ~np.isnan(day)
    s_idx = np.full(n, -1)
    if sw.any():
        lb = last_before(day[known], pcode[known], ev_code[sw], ev_day[sw])
        s_idx[known] = np.where(lb >= 0, np.flatnonzero(sw)[np.maximum(lb, 0)], -1)
    s_day = np.where(s_idx >= 0, ev_day[np.maximum(s_idx, 0)] if len(ev_day) else 0.0, -np.inf)
    eff = day.copy()
    if dc.any():
        d_idx = np.full(n, -1)
        d_idx[known] = first_after(s_day[known], pcode[known], ev_code[dc], ev_day[dc])
        d_day = np.where(d_idx >= 0, ev_day[dc][np.maximum(d_idx, 0)], np.inf)
        stop = known & (d_day < day)
        eff = np.where(stop, d_day, day)
        orig = stop & (s_idx < 0)
        if orig.any():
            nb[orig] = count_original(eff[orig], np.flatnonzero(orig))
    switched = s_idx >= 0
    if switched.any():
        ev_drug = ev["drug"].to_numpy(object)
        for name in pd.unique(ev_drug[s_idx[switched]]):
            new = get_schedule(str(name))
            rows = np.flatnonzero(switched & (ev_drug[np.maximum(s_idx, 0)] == name))
            rel = eff[rows] - s_day[rows]
            drug[rows] = new.name
            n_load[rows] = new.n_loading
            if new.continuous:
                nb[rows] = np.where(rel < 0, 0, np.ceil(rel) if before else np.floor(rel) + 1)
                continue
            keys = s_idx[rows]
            uniq_keys, inv = np.unique(keys, return_inverse=True)
            until = np.full(len(uniq_keys), -np.inf)
            np.maximum.at(until, inv, rel)
            doses = switch_doses(new, ev, uniq_keys, first_dates, until)
            dose_key = doses[S.PATIENT].astype(int).to_numpy()
            nb[rows] = count_before(rel, inv, dose_key, doses[S.DAY].to_numpy(float),
                                    strict=before)
    return nb, n_load, drug


def switch_doses(new: Schedule, ev: pd.DataFrame, keys: np.ndarray, first_dates: pd.Series,
                 until: np.ndarray) -> pd.DataFrame:
    """Planned doses of the drug that treatment switches start, counted from the switch day.

    ``keys`` are rows of ``ev`` (switch events of :func:`event_table`);
    ``until`` the last day to cover, in days since each switch. The new
    schedule's day 0 is the switch day (calendar months count from the
    first-dose date plus the switch day). Returns :func:`planned_doses`'s
    table with ``patient_id`` the position in ``keys`` (as text) and ``day``
    in days since the switch.
    """
    keys = np.asarray(keys, dtype=np.int64)
    fd = first_dates.astype("datetime64[ns]").reindex(
        ev[S.PATIENT].to_numpy(object)[keys]).to_numpy("datetime64[ns]")
    origins = fd + (ev[S.DAY].to_numpy(float)[keys] * 86400e9).astype("timedelta64[ns]")
    return planned_doses(new, np.arange(len(keys)).astype(str), origins, until)


def regimen_periods(ev: pd.DataFrame, puniq: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """When each patient's regimens start and stop, by the rules of :func:`regimen_doses`.

    Returns ``(first_stop, switches)``: ``first_stop`` per patient of
    ``puniq``, the day the first regimen stops (its first treatment switch
    or discontinuation; inf if none); ``switches``, one row per treatment
    switch of those patients: ``code`` (into ``puniq``), ``key`` (row of
    ``ev``), ``start`` (the switch day), ``stop`` (the patient's next
    switch or discontinuation after the switch day, inf if none) and
    ``drug`` (the new schedule's name). Doses count before a stop when
    their day is earlier than the stop day.
    """
    code = pd.Index(puniq).get_indexer(ev[S.PATIENT].to_numpy(object))
    kind = ev["event"].to_numpy(object)
    sw = (kind == "treatment_switch") & (code >= 0)
    stops = ((kind == "treatment_switch") | (kind == "discontinuation")) & (code >= 0)
    ev_day = ev[S.DAY].to_numpy(float)
    first_stop = np.full(len(puniq), np.inf)
    np.minimum.at(first_stop, code[stops], ev_day[stops])
    keys = np.flatnonzero(sw)
    stop = np.full(len(keys), np.inf)
    if len(keys):
        nxt = first_after(ev_day[keys], code[keys], code[stops], ev_day[stops])
        stop = np.where(nxt >= 0, ev_day[stops][np.maximum(nxt, 0)], np.inf)
    switches = pd.DataFrame({"code": code[keys], "key": keys, "start": ev_day[keys],
                             "stop": stop, "drug": ev["drug"].to_numpy(object)[keys]})
    return first_stop, switches


def annotate(out: pd.DataFrame, day: np.ndarray, pcode: np.ndarray, ev: pd.DataFrame,
             puniq: np.ndarray) -> None:
    """Add ``events_before`` and one ``after_<event>`` flag per event type present."""
    ev_code = pd.Index(puniq).get_indexer(ev[S.PATIENT].to_numpy(object))
    mine = ev_code >= 0
    ev_code, ev_day = ev_code[mine], ev[S.DAY].to_numpy(float)[mine]
    ev_type = ev["event"].to_numpy(object)[mine]
    known = ~np.isnan(day)
    before = np.zeros(len(out))
    before[known] = count_before(day[known], pcode[known], ev_code, ev_day)
    col = pd.array(before.astype(int), dtype="Int64")
    if not known.all():
        col[~known] = pd.NA
    out[EVENTS_BEFORE] = col
    for event in EVENT_TYPES:
        sel = ev_type == event
        if not sel.any():
            continue
        first = np.full(len(puniq), np.inf)
        np.minimum.at(first, ev_code[sel], ev_day[sel])
        with np.errstate(invalid="ignore"):
            out[after_column(event)] = day > first[pcode]


def codes_for(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Patient codes of a table (see :func:`~sma_outcomes.timeline._common.codes_of`)."""
    return codes_of(data[S.PATIENT])
