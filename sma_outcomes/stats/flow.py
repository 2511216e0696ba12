"""Patient flow: per timepoint, who was expected, who was assessed, and why the rest were not.

For each patient x measure x timepoint, :func:`patient_flow` decides one status:

1. ``not yet due``: the timepoint's window closes after the patient's data
   cut-off (time since the first dose at the cut-off);
2. ``assessed``: the analysed row of that timepoint has a score;
3. ``missing``, with a reason, in this order:

   - ``not done: <code>``: a visit was recorded but the test was not done
     (NT, UTA and the other missing-score codes; ``not done`` without a code);
   - ``event: <event>``: no visit, after an intercurrent event (a death or
     discontinuation before the timepoint if any, else the most recent event
     before it);
   - ``no visit recorded``.

The visit-level flow (``measure == "all"``) takes each patient's best status
over the measures (assessed, then not done, then event, then no visit), so a
visit where only the Purdue test could not be done still counts as assessed
there, and shows as ``not done: UTA`` in the Purdue flow.

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.stats.flow import patient_flow
>>> from sma_outcomes.timeline import change_from_baseline
>>> s = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"], "day": [0.0, 185, 0, 185],
...                   "measure": "HFMSE", "score": [20.0, 22, 30, None],
...                   "missing_code": ["", "", "", "UTA"]})
>>> flow = patient_flow(change_from_baseline(s), cutoff=400)
>>> flow.summary[["measure", "timepoint", "expected", "assessed", "missing"]]
  measure timepoint  expected  assessed  missing
0     all  Baseline         2         2        0
1     all   Loading         2         0        2
2     all   Month 6         2         1        1
3   HFMSE  Baseline         2         2        0
4   HFMSE   Loading         2         0        2
5   HFMSE   Month 6         2         1        1
>>> flow.reasons[["measure", "timepoint", "reason", "n"]]
  measure timepoint             reason  n
0     all   Loading  no visit recorded  2
1     all   Month 6      not done: UTA  1
2   HFMSE   Loading  no visit recorded  2
3   HFMSE   Month 6      not done: UTA  1
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import measures_in, require_columns
from ..exceptions import OptionError
from ..timeline import Schedule, default_windows, event_table, first_dose_dates, make_windows

__all__ = ["patient_flow", "visits_due", "cutoff_days", "FlowResult", "FLOW_COLUMNS",
           "STATUSES"]

#: Statuses of a patient x measure x timepoint, best first.
STATUSES = ("assessed", "missing", "not yet due")
#: Columns of ``FlowResult.summary``.
FLOW_COLUMNS = ("measure", "timepoint", "target_day", "window_end", "n_patients", "not_yet_due",
                "expected", "assessed", "missing")
ALL = "all"
NO_VISIT = "no visit recorded"
_ENDING = ("death", "discontinuation")


class FlowResult(NamedTuple):
    """What :func:`patient_flow` returns (``summary, reasons, status = patient_flow(...)``)."""

    #: One row per measure (``"all"`` first) x timepoint: the counts (see :func:`patient_flow`).
    summary: pd.DataFrame
    #: One row per measure x timepoint x reason for missing: ``n`` patients.
    reasons: pd.DataFrame
    #: One row per patient x measure x timepoint: ``status`` and ``reason``.
    status: pd.DataFrame


def _cutoff_days(cutoff: object, data: pd.DataFrame, pids: np.ndarray) -> np.ndarray:
    n = len(pids)
    if cutoff is None:
        return np.full(n, np.inf)
    if isinstance(cutoff, (int, float, np.integer, np.floating)) and not isinstance(cutoff, bool):
        return np.full(n, float(cutoff))
    if isinstance(cutoff, (Mapping, pd.Series)):
        by = pd.Series(cutoff)
        if by.empty:
            return np.full(n, np.inf)
        if pd.api.types.is_numeric_dtype(by):
            return by.astype(float).reindex(pids).fillna(np.inf).to_numpy(float)
        dates = pd.to_datetime(by, errors="coerce").reindex(pids)
    else:
        try:
            dates = pd.Series(pd.Timestamp(cutoff).normalize(), index=pids)
        except (TypeError, ValueError) as err:
            raise OptionError(f"`cutoff` takes a date, a study day, or a mapping patient -> "
                              f"date or day; not {cutoff!r}") from err
    first = first_dose_dates(data).reindex(pids)
    if first.isna().all():
        raise OptionError("`cutoff` is a date but the data have no dates: give the cut-off as "
                          "days since the first dose (a number, or patient -> day)")
    days = (pd.Series(dates.to_numpy(), index=pids) - first).dt.days.astype(float)
    return days.fillna(np.inf).to_numpy(float)


def cutoff_days(cutoff: object, data: pd.DataFrame) -> pd.Series:
    """The data cut-off of each patient as days since the first dose.

    A study day applies to every patient; a date becomes each patient's days
    from the first dose to it (the data need dates then); a mapping gives each
    patient's own. Patients without a cut-off get infinity (every visit due).

    Raises
    ------
    OptionError
        ``cutoff`` is not a date, a day or a mapping, or it is a date and the
        data have no dates.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"patient_id": ["a", "a", "b"], "day": [0.0, 30, 0],
    ...                   "date": pd.to_datetime(["2020-01-01", "2020-01-31", "2020-03-01"])})
    >>> cutoff_days("2020-12-31", d).to_dict()
    {'a': 365.0, 'b': 305.0}
    >>> cutoff_days(200, d).to_dict()
    {'a': 200.0, 'b': 200.0}
    """
    pids = np.array(sorted(pd.unique(data[S.PATIENT].astype(str))), dtype=object)
    return pd.Series(_cutoff_days(cutoff, data, pids), index=pids, dtype=float)


def _windows(data: pd.DataFrame, labels: list[str], schedule, windows) -> tuple[np.ndarray, np.ndarray]:
    """Target day and window end per timepoint label."""
    if windows is not None:
        win = make_windows(windows)
    else:
        day = pd.to_numeric(data[S.DAY], errors="coerce")
        win = default_windows(schedule, until_day=float(np.nanmax(day)) if day.notna().any() else 0.0)
    by = win.set_index("label")
    analysed = (data[S.ANALYSED].fillna(False).astype(bool) if S.ANALYSED in data.columns
                else pd.Series(True, index=data.index))
    seen = data[analysed].groupby(data[S.TIMEPOINT].astype(str))[S.DAY].median()
    target = np.array([by["target"].get(t, seen.get(t, np.nan)) for t in labels], dtype=float)
    end = np.array([by["hi"].get(t, seen.get(t, np.nan)) for t in labels], dtype=float)
    end = np.where(np.isfinite(end), end, target)
    return target, end


def _labels(data: pd.DataFrame) -> list[str]:
    tp = data[S.TIMEPOINT]
    return ([str(c) for c in tp.cat.categories] if isinstance(tp.dtype, pd.CategoricalDtype)
            else [str(c) for c in pd.unique(tp.dropna())])


def _due(data: pd.DataFrame, pids: np.ndarray, labels: list[str], cutoff: object, schedule,
         windows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Target day, window end, cut-off day per patient and the (patients x timepoints) due mask."""
    target, end = _windows(data, labels, schedule, windows)
    cut = _cutoff_days(cutoff, data, pids)
    return target, end, cut, end[None, :] <= cut[:, None]


def visits_due(
    data: pd.DataFrame,
    cutoff: object,
    *,
    schedule: str | Schedule = "nusinersen",
    windows: pd.DataFrame | Mapping[str, tuple] | None = None,
) -> pd.DataFrame:
    """Which timepoints each patient has reached by the data cut-off.

    The rule of :func:`patient_flow`: a timepoint is due for a patient when its
    window ends on or before the patient's cut-off day (days since the first
    dose at the cut-off). A timepoint not yet due is not missing data: the
    patient has not got there yet.

    Parameters
    ----------
    data : pandas.DataFrame
        A timed table (``patient_id``, ``day``, ``timepoint``; dates or
        first-dose dates when ``cutoff`` is a date).
    cutoff : date, number or mapping
        The data cut-off, as in :func:`patient_flow` (None: everything is due).
    schedule, windows
        As in :func:`patient_flow`.

    Returns
    -------
    pandas.DataFrame
        One row per patient x timepoint: ``patient_id, timepoint, window_end,
        cutoff_day, due`` (bool).

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.timeline import assign_timepoints
    >>> s = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [0.0, 185, 0],
    ...                   "measure": "HFMSE", "score": [20.0, 22, 30]})
    >>> visits_due(assign_timepoints(s), cutoff={"P1": 400, "P2": 60})
      patient_id timepoint  window_end  cutoff_day    due
    0         P1  Baseline         0.0       400.0   True
    1         P1   Loading        63.0       400.0   True
    2         P1   Month 6       245.0       400.0   True
    3         P2  Baseline         0.0        60.0   True
    4         P2   Loading        63.0        60.0  False
    5         P2   Month 6       245.0        60.0  False
    """
    require_columns(data, [S.PATIENT, S.DAY, S.TIMEPOINT], func="visits_due",
                    hint="run assign_timepoints() or change_from_baseline() first")
    labels = _labels(data)
    pids = np.asarray(pd.unique(data[S.PATIENT].astype(str)), dtype=object)
    _, end, cut, due = _due(data, pids, labels, cutoff, schedule, windows)
    n_p, n_t = len(pids), len(labels)
    out = pd.DataFrame({
        S.PATIENT: np.repeat(pids, n_t),
        S.TIMEPOINT: pd.Categorical(np.tile(labels, n_p), categories=labels, ordered=True),
        "window_end": np.tile(end, n_p),
        "cutoff_day": np.repeat(cut, n_t),
        "due": due.ravel(),
    })
    return out


def patient_flow(
    data: pd.DataFrame,
    events: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    cutoff: object = None,
    measures: str | list[str] | None = None,
    schedule: str | Schedule = "nusinersen",
    windows: pd.DataFrame | Mapping[str, tuple] | None = None,
) -> FlowResult:
    """Patient flow per timepoint, for all measures together and per measure.

    Parameters
    ----------
    data : pandas.DataFrame
        A timed table (:func:`~sma_outcomes.timeline.assign_timepoints` or
        :func:`~sma_outcomes.timeline.change_from_baseline`): ``patient_id``,
        ``measure``, ``day``, ``score``, ``timepoint``; ``analysed`` and
        ``missing_code`` are used when present. Every patient in it is
        counted.
    events : DataFrame or path, optional
        Intercurrent events (:func:`~sma_outcomes.load.read_events`), the
        reasons for visits that did not happen.
    cutoff : date, number or mapping, optional
        The data cut-off: a date (needs dates or first-dose dates in
        ``data``), a study day for every patient, or a mapping patient ->
        date or day. Without it every timepoint is due for everybody.
    measures : str or list, optional
        Measures to give a flow for (default: all in the data).
    schedule, windows
        The schedule and windows the timepoints were made with (default
        windows of ``schedule``); they give each timepoint's target day and
        window end. Timepoints not in them use the median day of their
        analysed rows.

    Returns
    -------
    FlowResult
        ``summary``: one row per measure (``"all"``, the visit-level flow,
        first) x timepoint, columns ``measure, timepoint, target_day,
        window_end, n_patients, not_yet_due, expected`` (= n_patients -
        not_yet_due) ``, assessed, missing`` (= expected - assessed).

        ``reasons``: ``measure, timepoint, reason, n``: the missing broken
        down (``"not done: NT"``, ``"event: death"``, ``"no visit recorded"``),
        most frequent first within a timepoint.

        ``status``: one row per patient x measure x timepoint, columns
        ``patient_id, measure, timepoint, status`` (:data:`STATUSES`),
        ``reason`` ("" when assessed) ``, event`` (the event code behind an
        ``event:`` reason, else "").

    Notes
    -----
    A timepoint is due for a patient when its window (moved by no dose
    shift) ends on or before the patient's cut-off day. The module notes give
    the order of the reasons. Suitable for a CONSORT-style figure: one box
    per timepoint with ``expected``, ``assessed`` and the ``reasons``.

    Examples
    --------
    The bundled cohort and its events:

    >>> import warnings
    >>> from sma_outcomes.load import example_path, load_example, read_events
    >>> from sma_outcomes.timeline import change_from_baseline
    >>> events = read_events(example_path("cohort").with_name("events.csv"))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     changes = change_from_baseline(load_example("cohort"), events=events)
    >>> flow = patient_flow(changes, events)
    >>> flow.summary.loc[flow.summary["measure"] == "all",
    ...                  ["timepoint", "expected", "assessed", "missing"]].tail(2)
      timepoint  expected  assessed  missing
    6  Month 22        80        64       16
    7  Month 26        80        60       20
    >>> r = flow.reasons
    >>> r.loc[(r["measure"] == "all") & (r["timepoint"] == "Month 26"), ["reason", "n"]]
                        reason  n
    14  event: discontinuation  8
    15       no visit recorded  7
    16            event: death  4
    17    event: spinal_fusion  1
    """
    require_columns(data, [S.PATIENT, S.MEASURE, S.DAY, S.SCORE, S.TIMEPOINT],
                    func="patient_flow", hint="run assign_timepoints() or "
                    "change_from_baseline() first")
    tp = data[S.TIMEPOINT]
    labels = _labels(data)
    mlist = measures_in(data[[S.MEASURE]].drop_duplicates(), measures)
    pids = np.asarray(pd.unique(data[S.PATIENT].astype(str)), dtype=object)
    n_p, n_m, n_t = len(pids), len(mlist), len(labels)
    target, end, _, due = _due(data, pids, labels, cutoff, schedule, windows)

    # analysed rows: 2 = scored, 1 = recorded but not done
    analysed = (data[S.ANALYSED].fillna(False).astype(bool).to_numpy() if S.ANALYSED in data.columns
                else np.ones(len(data), dtype=bool))
    p_i = pd.Index(pids).get_indexer(data[S.PATIENT].astype(str))
    m_i = pd.Index(mlist).get_indexer(data[S.MEASURE].astype(str))
    t_i = pd.Index(labels).get_indexer(tp.astype(object).where(tp.notna(), None))
    ok = analysed & (p_i >= 0) & (m_i >= 0) & (t_i >= 0)
    grid = np.zeros((n_p, n_m, n_t), dtype=int)
    code = np.full((n_p, n_m, n_t), "", dtype=object)
    score = pd.to_numeric(data[S.SCORE], errors="coerce").to_numpy(float)
    grid[p_i[ok], m_i[ok], t_i[ok]] = np.where(np.isnan(score[ok]), 1, 2)
    if S.MISSING_CODE in data.columns:
        code[p_i[ok], m_i[ok], t_i[ok]] = data[S.MISSING_CODE].fillna("").astype(str).to_numpy(
            object)[ok]

    # the event behind a visit that did not happen, per patient x timepoint
    ev_reason = np.full((n_p, n_t), "", dtype=object)
    if events is not None:
        ev = event_table(events, data)
        ev = ev[ev[S.PATIENT].isin(pids)]
        e_p = pd.Index(pids).get_indexer(ev[S.PATIENT])
        e_day = ev[S.DAY].to_numpy(float)
        e_type = ev["event"].to_numpy(object)
        ending = np.isin(e_type, _ENDING)
        for t in range(n_t):
            before = e_day < target[t]
            # events are in day order: the latest before the timepoint wins, an
            # ending event (death, discontinuation) over any other
            for sel in (before & ~ending, before & ending):
                ev_reason[e_p[sel], t] = e_type[sel]
    status = np.full((n_p, n_m + 1, n_t), "", dtype=object)
    reason = np.full((n_p, n_m + 1, n_t), "", dtype=object)
    event = np.full((n_p, n_m + 1, n_t), "", dtype=object)
    # visit level: the best over the measures
    best = grid.max(axis=1)
    visit_code = np.full((n_p, n_t), "", dtype=object)
    for m in reversed(range(n_m)):  # the first measure with a code wins
        has = (grid[:, m, :] == 1) & (code[:, m, :] != "")
        visit_code = np.where(has, code[:, m, :], visit_code)
    levels = np.concatenate([best[:, None, :], grid], axis=1)
    codes = np.concatenate([visit_code[:, None, :], code], axis=1)
    for j in range(n_m + 1):
        lv, cd = levels[:, j, :], codes[:, j, :]
        st = np.where(~due, "not yet due", np.where(lv == 2, "assessed", "missing"))
        rs = np.where(st == "not yet due", "not yet due", "")
        miss = st == "missing"
        done = miss & (lv == 1)
        rs = np.where(done, np.where(cd != "", "not done: " + cd.astype(str), "not done"), rs)
        evm = miss & (lv == 0) & (ev_reason != "")
        rs = np.where(evm, "event: " + ev_reason.astype(str), rs)
        rs = np.where(miss & (lv == 0) & (ev_reason == ""), NO_VISIT, rs)
        status[:, j, :], reason[:, j, :] = st, rs
        event[:, j, :] = np.where(evm, ev_reason, "")
    names = [ALL, *mlist]
    long = pd.DataFrame({
        S.PATIENT: np.repeat(pids, (n_m + 1) * n_t),
        S.MEASURE: np.tile(np.repeat(names, n_t), n_p),
        S.TIMEPOINT: np.tile(labels, n_p * (n_m + 1)),
        "status": status.ravel(), "reason": reason.ravel(), "event": event.ravel(),
    })
    long[S.TIMEPOINT] = pd.Categorical(long[S.TIMEPOINT], categories=labels, ordered=True)
    long[S.MEASURE] = pd.Categorical(long[S.MEASURE], categories=names)
    long = long.sort_values([S.MEASURE, S.TIMEPOINT, S.PATIENT], kind="stable").reset_index(
        drop=True)
    long[S.MEASURE] = long[S.MEASURE].astype(str)

    assessed_n = (status == "assessed").sum(axis=0)  # (n_m + 1) x n_t
    nyd_n = np.broadcast_to((~due).sum(axis=0), (n_m + 1, n_t))
    summary = pd.DataFrame({
        S.MEASURE: np.repeat(names, n_t),
        S.TIMEPOINT: pd.Categorical(np.tile(labels, n_m + 1), categories=labels, ordered=True),
        "target_day": np.tile(target, n_m + 1),
        "window_end": np.tile(end, n_m + 1),
        "n_patients": n_p,
        "not_yet_due": nyd_n.ravel(),
        "assessed": assessed_n.ravel(),
    })
    summary["expected"] = summary["n_patients"] - summary["not_yet_due"]
    summary["missing"] = summary["expected"] - summary["assessed"]
    summary = summary[list(FLOW_COLUMNS)]
    for c in ("n_patients", "not_yet_due", "expected", "assessed", "missing"):
        summary[c] = summary[c].astype(int)

    miss = long[long["status"] == "missing"]
    reasons = (miss.groupby([S.MEASURE, S.TIMEPOINT, "reason"], sort=False, observed=True)
               .size().rename("n").reset_index())
    order_m = {m: i for i, m in enumerate(names)}
    reasons = reasons.assign(_m=reasons[S.MEASURE].map(order_m)).sort_values(
        ["_m", S.TIMEPOINT, "n", "reason"], ascending=[True, True, False, True],
        kind="stable").drop(columns="_m").reset_index(drop=True)
    reasons["n"] = reasons["n"].astype(int)
    return FlowResult(summary, reasons, long)
