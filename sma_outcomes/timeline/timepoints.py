"""Treatment time for every assessment: doses before, phase, nominal timepoint.

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.timeline import assign_timepoints
>>> scores = pd.DataFrame({"patient_id": "P1", "visit": ["V1", "V2", "V3", "V4"],
...                        "day": [0.0, 50, 183, 190], "measure": "HFMSE",
...                        "score": [20.0, 21, 23, 24]})
>>> out = assign_timepoints(scores)
>>> out[["day", "doses_before", "phase", "timepoint", "analysed"]]
     day  doses_before          phase timepoint  analysed
0    0.0             0  pre-treatment  Baseline      True
1   50.0             3        loading   Loading      True
2  183.0             4    maintenance   Month 6      True
3  190.0             5    maintenance   Month 6     False
>>> out.loc[3, "flag"]
'duplicate in window (Month 6); day 183 chosen'
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import require_columns
from ..exceptions import DataWarning
from ..schema import DAYS_PER_MONTH, PHASES
from ._common import first_dose_dates, fmt_day, per_row
from .doses import resolve_doses
from .schedules import Schedule, get_schedule, round_half_up
from .windows import default_windows, make_windows

__all__ = ["assign_timepoints", "scheduled_numbers"]


def _planned_fixed(sched: Schedule, number: int) -> float:
    """Planned day of dose ``number`` with fixed 30.4375-day months (the windows' clock)."""
    if sched.continuous:
        return float(number - 1)
    if number <= sched.n_loading:
        return float(sched.loading_days[number - 1])
    if not sched.has_maintenance:
        return float("nan")
    return sched.maintenance_day(number - sched.n_loading)


def scheduled_numbers(days: np.ndarray, sched: Schedule) -> np.ndarray:
    """Schedule position of each actual dose (sorted days), allowing for missed doses.

    Loading doses count 1, 2, ...; after them each dose advances the count by
    the gap to the previous dose in maintenance intervals, rounded half up: a
    gap of about 8 months after a missed maintenance dose advances by 2, an
    extra dose 14 days after another (re-loading) by 0 (it shares the number).

    Examples
    --------
    >>> from sma_outcomes.timeline import get_schedule
    >>> days = np.array([0, 14, 28, 63, 185, 428, 442, 560.0])
    >>> scheduled_numbers(days, get_schedule("nusinersen")).tolist()
    [1, 2, 3, 4, 5, 7, 7, 8]
    """
    nums = np.arange(1, len(days) + 1)
    if not sched.has_maintenance or len(days) <= sched.n_loading:
        return nums
    interval = float(sched.maintenance_months) * DAYS_PER_MONTH  # type: ignore[arg-type]
    k = sched.n_loading
    for i in range(sched.n_loading, len(days)):
        k += int(round_half_up((days[i] - days[i - 1]) / interval))
        nums[i] = k
    return nums


def _shifts(dose_frame: pd.DataFrame, sched: Schedule, anchors: list[int]) -> dict[int, dict]:
    """Per anchor (scheduled dose number): {patient: actual day - planned day}.

    The actual day is that of the first dose with that scheduled number; when
    the dose is missing (missed, or after the last dose), the shift of the last
    earlier dose is used (0 when there is none or it cannot be computed).
    """
    out: dict[int, dict] = {a: {} for a in anchors}
    planned: dict[int, float] = {}

    def plan(j: int) -> float:
        if j not in planned:
            planned[j] = _planned_fixed(sched, j)
        return planned[j]

    for pid, days in dose_frame.groupby(S.PATIENT, sort=False)[S.DAY]:
        days = np.sort(days.to_numpy(float))
        nums = scheduled_numbers(days, sched)
        for a in anchors:
            hit = np.flatnonzero(nums == a)
            if hit.size:
                i = hit[0]
            else:
                below = np.flatnonzero(nums < a)
                i = below[-1] if below.size else -1
            shift = days[i] - plan(int(nums[i])) if i >= 0 else 0.0
            out[a][pid] = 0.0 if np.isnan(shift) else float(shift)
    return out


def _doses_before(
    day: np.ndarray, pid: np.ndarray, dose_frame: pd.DataFrame, sched: Schedule, before: bool
) -> np.ndarray:
    """Number of doses strictly before each assessment (NaN when day unknown)."""
    res = np.full(len(day), np.nan)
    known = ~np.isnan(day)
    if sched.continuous:
        d = day[known]
        res[known] = np.where(d < 0, 0, np.ceil(d) if before else np.floor(d) + 1)
        return res
    side = "left" if before else "right"
    # one sorted key per dose: patient code, then day; count doses of the same patient below
    codes, uniq = pd.factorize(np.concatenate([pid, dose_frame[S.PATIENT].to_numpy(str)]))
    row_code, dose_code = codes[: len(pid)], codes[len(pid) :]
    dose_day = dose_frame[S.DAY].to_numpy(float)
    span = 2.0 * max(np.nanmax(np.abs(dose_day), initial=0.0), np.nanmax(np.abs(day), initial=0.0)) + 2.0
    dose_key = np.sort(dose_code * span + dose_day)
    start = np.searchsorted(dose_key, np.arange(len(uniq)) * span - span / 2.0, side="left")
    row_key = row_code[known] * span + day[known]
    res[known] = np.searchsorted(dose_key, row_key, side=side) - start[row_code[known]]
    return res


def assign_timepoints(
    scores: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    windows: pd.DataFrame | Mapping[str, tuple] | None = None,
    *,
    assessment_before_dose: bool = True,
) -> pd.DataFrame:
    """Add treatment time and nominal timepoints to every assessment.

    Parameters
    ----------
    scores : pandas.DataFrame
        The tidy score table: ``patient_id``, ``measure``, ``score`` and ``day``
        and/or ``date`` (a ``first_dose_date`` column is used when present).
    schedule : str or Schedule
        Dosing schedule (see :func:`~sma_outcomes.timeline.get_schedule`): the
        planned doses of patients without rows in ``doses``, the phase rule and
        the default windows.
    doses : DataFrame or path, optional
        Real per-patient doses (``patient_id``, ``date`` and/or ``day``,
        optional ``dose`` and ``drug``), e.g. from
        :func:`sma_outcomes.load.read_doses`; delayed or missed doses move
        ``doses_before``, ``phase`` and the anchored default windows.
    windows : DataFrame or dict, optional
        Nominal timepoints (see :func:`~sma_outcomes.timeline.windows.make_windows`):
        ``{label: (lo, hi)}``, ``{label: (target, lo, hi)}`` or a table with
        ``label, lo, hi`` and optional ``target, anchor``. Default:
        :func:`~sma_outcomes.timeline.windows.default_windows` of the schedule.
    assessment_before_dose : bool
        An assessment on a dose day was done before that day's dose (the usual
        practice, so that the lumbar puncture does not affect performance).
        ``False`` counts the dose of that day as given before it.

    Returns
    -------
    pandas.DataFrame
        A new table, same rows in the same order, with columns added (or
        replaced):

        - ``day``: filled from ``date`` - first-dose date where it was missing;
        - ``doses_before`` (nullable Int64): doses given strictly before the
          assessment (see ``assessment_before_dose``); <NA> when the day is unknown;
        - ``phase``: ``"pre-treatment"``, ``"loading"`` or ``"maintenance"``
          (see :class:`~sma_outcomes.timeline.Schedule`); NaN when the day is unknown;
        - ``timepoint``: ordered Categorical of the window labels (NaN when
          the assessment is in no window);
        - ``analysed`` (bool): the one assessment chosen for its patient x
          measure x timepoint;
        - ``flag`` (str): ``""`` or why the row is not analysed:
          ``"unscheduled"``, ``"day unknown"``, ``"duplicate in window
          (Month 6); day 190 chosen"``, or ``"score missing"`` for a chosen
          row without a score.

    Notes
    -----
    Rules, in order:

    1. An assessment belongs to the window (``lo <= day <= hi``, moved by the
       patient's shift for anchored windows) whose target is closest; ties go
       to the earlier window. A window ending on or before day 0 only takes
       pre-treatment assessments (``doses_before == 0``).
    2. Within a patient x measure x timepoint, the analysed row is the one
       with a score (non-missing before missing), then closest to the target,
       then the earlier day, then the first row. The others stay, with
       ``analysed=False`` and a flag naming the chosen day.
    3. Nothing is deleted and the input is not modified.

    Anchored windows (the defaults: Baseline on dose 1, Loading on the last
    loading dose, Month N on its maintenance dose) move per patient by the
    actual minus the planned day of their dose: ``target`` and ``hi`` with the
    anchor dose, ``lo`` with the dose before it, so that a window stretches
    when its dose is delayed and default windows still tile the time axis. With a dose table, actual
    doses are matched to schedule positions by :func:`scheduled_numbers`, so a
    missed maintenance dose does not relabel the later visits (the window of
    the missed dose keeps the shift of the dose before it). ``doses_before``
    always counts the doses actually given (or planned, without a dose table).

    With default windows, trailing timepoints that no assessment reached are
    dropped from the categories; user windows are kept as given.

    Examples
    --------
    An assessment on the day of the 4th dose counts as before it, unless told otherwise:

    >>> import pandas as pd
    >>> s = pd.DataFrame({"patient_id": "P1", "day": [63.0], "measure": "HFMSE",
    ...                   "score": [22.0]})
    >>> assign_timepoints(s)["doses_before"].tolist()
    [3]
    >>> assign_timepoints(s, assessment_before_dose=False)["doses_before"].tolist()
    [4]
    """
    return _assign(scores, schedule, doses, windows, assessment_before_dose, stacklevel=4)


def _assign(
    scores: pd.DataFrame,
    schedule: str | Schedule,
    doses: pd.DataFrame | str | os.PathLike[str] | None,
    windows: pd.DataFrame | Mapping[str, tuple] | None,
    before: bool,
    stacklevel: int,
) -> pd.DataFrame:
    require_columns(scores, [S.PATIENT, S.MEASURE, S.SCORE], func="assign_timepoints")
    if S.DATE not in scores.columns:
        require_columns(scores, [S.DAY], func="assign_timepoints")
    sched = get_schedule(schedule)
    out = scores.copy()
    pid_s = out[S.PATIENT].astype(str)
    work = pd.DataFrame({S.PATIENT: pid_s}, index=out.index)
    if S.DATE in out.columns:
        work[S.DATE] = pd.to_datetime(out[S.DATE], errors="coerce")
    if S.DAY in out.columns:
        work[S.DAY] = pd.to_numeric(out[S.DAY], errors="coerce").astype(float)
    else:
        work[S.DAY] = np.nan
    if "first_dose_date" in out.columns:
        work["first_dose_date"] = out["first_dose_date"]
    fdd = first_dose_dates(work)

    def fill_day(first: pd.Series) -> None:
        if S.DATE not in work.columns:
            return
        origin = per_row(first, pid_s)
        derived = (work[S.DATE] - origin).dt.days.astype(float)
        work[S.DAY] = work[S.DAY].fillna(derived)

    fill_day(fdd)
    dose_frame = resolve_doses(work, sched, doses, fdd, stacklevel=stacklevel)
    if fdd.isna().any():  # first-dose dates known only from the dose table
        first_rows = dose_frame[dose_frame[S.DAY] == 0].drop_duplicates(S.PATIENT)
        fdd = fdd.fillna(first_rows.set_index(S.PATIENT)[S.DATE].astype("datetime64[ns]"))
        fill_day(fdd)

    day = work[S.DAY].to_numpy(float)
    pid = pid_s.to_numpy()
    if np.isnan(day).any():
        who = list(pd.unique(pid[np.isnan(day)]))
        warnings.warn(
            f"day unknown for {int(np.isnan(day).sum())} assessment(s) of {len(who)} patient(s): "
            f"{', '.join(map(str, who[:20]))}{' ...' if len(who) > 20 else ''}. Give the day, "
            "the date with a first_dose_date column, or a dose table with dates; these rows "
            "are kept with flag 'day unknown'.",
            DataWarning,
            stacklevel=stacklevel - 1,
        )
    nb = _doses_before(day, pid, dose_frame, sched, before)
    known = ~np.isnan(nb)
    phase = np.full(len(out), np.nan, dtype=object)
    phase[known] = np.select(
        [nb[known] <= 0, nb[known] < sched.n_loading], list(PHASES[:2]), PHASES[2]
    )

    # windows
    user_windows = windows is not None
    if user_windows:
        win = make_windows(windows)  # type: ignore[arg-type]
    else:
        n_max = int(dose_frame.groupby(S.PATIENT).size().max()) if len(dose_frame) else 1
        anchors_all = list(range(1, n_max + 2))
        sh = _shifts(dose_frame, sched, anchors_all)
        max_shift = max((abs(v) for d in sh.values() for v in d.values()), default=0.0)
        until = np.nanmax(day) + max_shift if known.any() else 0.0
        win = default_windows(sched, until_day=float(until))
    anchors = sorted({int(a) for a in win["anchor"].dropna()})
    # target and hi move with the anchor dose, lo with the dose before it
    shifts = _shifts(dose_frame, sched, sorted(set(anchors) | {a - 1 for a in anchors if a > 1}))

    pcode, puniq = pd.factorize(pid)

    def shift_of(anchor: int) -> np.ndarray:
        if anchor < 1:
            return np.zeros(len(out))
        by_pid = shifts[anchor]
        return np.array([by_pid.get(p, 0.0) for p in puniq], dtype=float)[pcode]

    best = np.full(len(out), -1, dtype=int)
    best_dist = np.full(len(out), np.inf)
    for i, w in enumerate(win.itertuples(index=False)):
        if pd.isna(w.anchor):
            s_hi = s_lo = np.zeros(len(out))
        else:
            s_hi, s_lo = shift_of(int(w.anchor)), shift_of(int(w.anchor) - 1)
        with np.errstate(invalid="ignore"):
            inside = (day >= w.lo + s_lo) & (day <= w.hi + s_hi)
            if w.hi <= 0:
                inside &= nb == 0
            dist = np.abs(day - (w.target + s_hi))
        better = inside & (dist < best_dist)
        best[better] = i
        best_dist[better] = dist[better]

    labels = list(win["label"])
    codes = best.copy()
    if not user_windows:
        used = codes[codes >= 0]
        last = int(used.max()) if used.size else 0
        labels = labels[: last + 1]
    timepoint = pd.Categorical.from_codes(codes, categories=labels, ordered=True)

    # choose one assessment per patient x measure x timepoint
    score = pd.to_numeric(out[S.SCORE], errors="coerce").to_numpy(float)
    key = pd.DataFrame(
        {
            "pid": pid,
            "measure": out[S.MEASURE].astype(str).to_numpy(),
            "tp": codes,
            "missing": np.isnan(score),
            "dist": best_dist,
            "day": day,
            "pos": np.arange(len(out)),
        }
    )
    in_tp = key[key["tp"] >= 0].sort_values(
        ["pid", "measure", "tp", "missing", "dist", "day", "pos"], kind="stable"
    )
    first = ~in_tp.duplicated(["pid", "measure", "tp"], keep="first")
    chosen_pos = in_tp.loc[first, "pos"].to_numpy()
    analysed = np.zeros(len(out), dtype=bool)
    analysed[chosen_pos] = True
    chosen_day = in_tp.loc[first].set_index(["pid", "measure", "tp"])["day"]

    flag = np.full(len(out), "", dtype=object)
    flag[np.isnan(day)] = "day unknown"
    flag[~np.isnan(day) & (codes < 0)] = "unscheduled"
    dups = in_tp.loc[~first]
    if len(dups):
        cd = chosen_day.reindex(pd.MultiIndex.from_frame(dups[["pid", "measure", "tp"]]))
        flag[dups["pos"].to_numpy()] = [
            f"duplicate in window ({labels[t]}); day {fmt_day(d)} chosen"
            for t, d in zip(dups["tp"], cd.to_numpy(), strict=True)
        ]
    miss = analysed & np.isnan(score)
    if miss.any():
        code = (
            out[S.MISSING_CODE].fillna("").astype(str).to_numpy()
            if S.MISSING_CODE in out.columns
            else np.full(len(out), "")
        )
        flag[miss] = [f"score missing ({c})" if c else "score missing" for c in code[miss]]

    out[S.DAY] = day
    out[S.DOSES_BEFORE] = pd.array(np.where(known, nb, 0).astype(int), dtype="Int64")
    out.loc[~known, S.DOSES_BEFORE] = pd.NA
    out[S.PHASE] = phase
    out[S.TIMEPOINT] = pd.Series(timepoint, index=out.index)
    out[S.ANALYSED] = analysed
    out[S.FLAG] = pd.Series(flag, index=out.index).astype(str)
    return out
