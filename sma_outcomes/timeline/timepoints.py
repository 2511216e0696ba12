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
from .._shared import renamed, require_columns
from ..exceptions import DataWarning
from ..schema import DAYS_PER_MONTH, PHASES
from ._common import codes_of, first_dose_dates, fmt_day, per_row
from .doses import resolve_doses
from .events import DRUG, annotate, event_table, regimen_doses
from .schedules import Schedule, get_schedule
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


def _grouped_numbers(days: np.ndarray, starts: np.ndarray, sched: Schedule) -> np.ndarray:
    """:func:`scheduled_numbers` of many patients at once.

    ``days`` are sorted within each patient and patients are contiguous;
    ``starts`` holds the first position of each patient.
    """
    n = len(days)
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, sizes)
    nums = pos + 1
    if not sched.has_maintenance or n == 0:
        return nums
    interval = float(sched.maintenance_months) * DAYS_PER_MONTH  # type: ignore[arg-type]
    gap = np.zeros(n)
    gap[1:] = days[1:] - days[:-1]
    step = np.where(pos >= sched.n_loading,
                    np.floor(np.abs(gap / interval) + 0.5) * np.sign(gap), 0.0).astype(np.int64)
    cum = np.cumsum(step)
    cum -= np.repeat(cum[starts] - step[starts], sizes)
    return np.where(pos < sched.n_loading, nums, sched.n_loading + cum)


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
    days = np.asarray(days, dtype=float)
    return _grouped_numbers(days, np.zeros(min(len(days), 1), dtype=np.int64), sched)


class _Shifts:
    """Per patient and anchor dose number: actual day - planned (fixed-month) day.

    The actual day is that of the first dose with that scheduled number; when
    the dose is missing (missed, or after the last dose), the shift of the last
    earlier dose is used (0 when there is none or it cannot be computed).
    Computed once per dose table; :meth:`of` caches each anchor.
    """

    def __init__(self, dose_frame: pd.DataFrame, sched: Schedule) -> None:
        code, self.patients = pd.factorize(dose_frame[S.PATIENT].to_numpy(object))
        day = dose_frame[S.DAY].to_numpy(float)
        order = np.lexsort((day, code))
        self.code, self.day = code[order], day[order]
        n_pat = len(self.patients)
        self.starts = np.searchsorted(self.code, np.arange(n_pat), side="left")
        self.ends = np.searchsorted(self.code, np.arange(n_pat), side="right")
        self.nums = _grouped_numbers(self.day, self.starts, sched)
        uniq, inv = np.unique(self.nums, return_inverse=True)
        planned = np.array([_planned_fixed(sched, int(j)) for j in uniq], dtype=float)
        shift = self.day - planned[inv.reshape(-1)]
        self.shift = np.where(np.isnan(shift), 0.0, shift)
        span = float(self.nums.max()) + 2.0 if len(self.nums) else 2.0
        self.key = self.code * span + self.nums
        self.span = span
        self._cache: dict[int, np.ndarray] = {}
        self.sizes = self.ends - self.starts

    def of(self, anchor: int) -> np.ndarray:
        """Shift of dose ``anchor`` for every patient (in ``self.patients`` order)."""
        if anchor < 1:
            return np.zeros(len(self.patients))
        if anchor not in self._cache:
            n_pat = len(self.patients)
            q = min(anchor, self.span - 1.0)  # beyond every dose: the last dose's shift
            idx = np.searchsorted(self.key, np.arange(n_pat) * self.span + q, side="left")
            hit = idx < self.ends
            hit[hit] = self.nums[idx[hit]] == anchor
            i = np.where(hit, idx, idx - 1)
            ok = i >= self.starts
            self._cache[anchor] = np.where(ok, self.shift[np.where(ok, i, 0)], 0.0)
        return self._cache[anchor]


def _doses_before(
    day: np.ndarray, pcode: np.ndarray, puniq: np.ndarray, dose_frame: pd.DataFrame,
    sched: Schedule, before: bool,
) -> np.ndarray:
    """Number of doses strictly before each assessment (NaN when day unknown).

    ``pcode`` codes each row's patient in ``puniq`` (``pandas.factorize``).
    """
    res = np.full(len(day), np.nan)
    known = ~np.isnan(day)
    if sched.continuous:
        d = day[known]
        res[known] = np.where(d < 0, 0, np.ceil(d) if before else np.floor(d) + 1)
        return res
    side = "left" if before else "right"
    # one sorted key per dose: patient code, then day; count doses of the same patient below
    dose_code = pd.Index(puniq).get_indexer(dose_frame[S.PATIENT].to_numpy(object))
    dose_day = dose_frame[S.DAY].to_numpy(float)
    mine = dose_code >= 0
    dose_code, dose_day = dose_code[mine], dose_day[mine]
    span = 2.0 * max(np.nanmax(np.abs(dose_day), initial=0.0), np.nanmax(np.abs(day), initial=0.0)) + 2.0
    dose_key = np.sort(dose_code * span + dose_day)
    start = np.searchsorted(dose_key, np.arange(len(puniq)) * span - span / 2.0, side="left")
    row_key = pcode[known] * span + day[known]
    res[known] = np.searchsorted(dose_key, row_key, side=side) - start[pcode[known]]
    return res


@renamed(scores="data")
def assign_timepoints(
    data: pd.DataFrame,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    windows: pd.DataFrame | Mapping[str, tuple] | None = None,
    *,
    assessment_before_dose: bool = True,
    events: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Add treatment time and nominal timepoints to every assessment.

    Parameters
    ----------
    data : pandas.DataFrame
        The tidy score table: ``patient_id``, ``measure``, ``score`` and ``day``
        and/or ``date`` (a ``first_dose_date`` column is used when present).
        (The old keyword ``scores=`` still works, with a ``FutureWarning``.)
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
    events : DataFrame or path, optional
        Intercurrent events (``patient_id``, ``day`` and/or ``date``,
        ``event``, ``detail``), e.g. from :func:`sma_outcomes.load.read_events`
        (a path is read with it). Adds ``drug``, ``events_before`` and the
        ``after_<event>`` flags (see Returns); a treatment switch restarts
        ``doses_before`` and ``phase`` on the new drug's schedule, a
        discontinuation stops the dose count (module
        :mod:`~sma_outcomes.timeline.events`).

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

        With ``events``, also:

        - ``drug``: the treatment at the assessment, a schedule name (the
          schedule's, or the new drug after a treatment switch);
        - ``events_before`` (Int64): events of the patient before the
          assessment (an event on the assessment day counts as after it);
        - ``after_<event>`` (bool), one per event type in ``events``
          (``after_death``, ``after_treatment_switch``, ...): the assessment
          is after the first such event.

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
    The bundled case series (nusinersen, planned doses, calendar months):

    >>> from sma_outcomes.load import load_example
    >>> out = assign_timepoints(load_example("case_series"))
    >>> out.loc[out["measure"] == "HFMSE",
    ...         ["patient_id", "day", "doses_before", "phase", "timepoint"]].head(4)
      patient_id    day  doses_before          phase timepoint
    0       GK01    0.0             0  pre-treatment  Baseline
    3       GK01   49.0             3        loading   Loading
    6       GK01  186.0             4    maintenance   Month 6
    9       GK01  310.0             6    maintenance  Month 10

    An assessment on the day of the 4th dose counts as before it, unless told otherwise:

    >>> import pandas as pd
    >>> s = pd.DataFrame({"patient_id": "P1", "day": [63.0], "measure": "HFMSE",
    ...                   "score": [22.0]})
    >>> assign_timepoints(s)["doses_before"].tolist()
    [3]
    >>> assign_timepoints(s, assessment_before_dose=False)["doses_before"].tolist()
    [4]
    """
    return _assign(data, schedule, doses, windows, assessment_before_dose, stacklevel=5,
                   events=events)


def _assign(
    scores: pd.DataFrame,
    schedule: str | Schedule,
    doses: pd.DataFrame | str | os.PathLike[str] | None,
    windows: pd.DataFrame | Mapping[str, tuple] | None,
    before: bool,
    stacklevel: int,
    *,
    keep: dict | None = None,
    events: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Body of :func:`assign_timepoints`.

    ``keep``, when given, receives the work arrays (patient and measure codes,
    the flag array) for :func:`~sma_outcomes.timeline.change_from_baseline`,
    which then writes the flag column itself.
    """
    require_columns(scores, [S.PATIENT, S.MEASURE, S.SCORE], func="assign_timepoints")
    if S.DATE not in scores.columns:
        require_columns(scores, [S.DAY], func="assign_timepoints")
    sched = get_schedule(schedule)
    out = scores.copy()
    pcode, puniq = codes_of(out[S.PATIENT])
    pid_s = pd.Series(puniq[pcode], index=out.index) if len(out) else out[S.PATIENT].astype(str)
    work = pd.DataFrame({S.PATIENT: pid_s}, index=out.index)
    if S.DATE in out.columns:
        work[S.DATE] = pd.to_datetime(out[S.DATE], errors="coerce")
    if S.DAY in out.columns:
        work[S.DAY] = pd.to_numeric(out[S.DAY], errors="coerce").astype(float)
    else:
        work[S.DAY] = np.nan
    if "first_dose_date" in out.columns:
        work["first_dose_date"] = out["first_dose_date"]
    fdd = first_dose_dates(work, (pcode, puniq))

    def fill_day(first: pd.Series) -> None:
        if S.DATE not in work.columns or not work[S.DAY].isna().any():
            return
        origin = per_row(first, pid_s, (pcode, puniq))
        derived = (work[S.DATE] - origin).dt.days.astype(float)
        work[S.DAY] = work[S.DAY].fillna(derived)

    fill_day(fdd)
    dose_frame = resolve_doses(work, sched, doses, fdd, stacklevel=stacklevel, day_filled=True,
                               factorized=(pcode, puniq))
    if fdd.isna().any():  # first-dose dates known only from the dose table
        first_rows = dose_frame[dose_frame[S.DAY] == 0].drop_duplicates(S.PATIENT)
        fdd = fdd.fillna(first_rows.set_index(S.PATIENT)[S.DATE].astype("datetime64[ns]"))
        fill_day(fdd)

    day = work[S.DAY].to_numpy(float)
    unknown = np.isnan(day)
    if unknown.any():
        who = list(pd.unique(puniq[pcode[unknown]]))
        warnings.warn(
            f"day unknown for {int(unknown.sum())} assessment(s) of {len(who)} patient(s): "
            f"{', '.join(map(str, who[:20]))}{' ...' if len(who) > 20 else ''}. Give the day, "
            "the date with a first_dose_date column, or a dose table with dates; these rows "
            "are kept with flag 'day unknown'.",
            DataWarning,
            stacklevel=stacklevel - 1,
        )
    nb = _doses_before(day, pcode, puniq, dose_frame, sched, before)
    n_loading: int | np.ndarray = sched.n_loading
    ev = None
    if events is not None:
        ev = event_table(events, first_dates=fdd)

        def count_original(days: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return _doses_before(days, pcode[rows], puniq, dose_frame, sched, before)

        nb, n_loading, drug = regimen_doses(day, nb, pcode, puniq, ev, sched, fdd,
                                            count_original, before)
    known = ~np.isnan(nb)
    nb0 = np.where(known, nb, 0.0)
    phase_names = np.array([*PHASES, np.nan], dtype=object)
    phase = phase_names[np.where(known, (nb0 > 0).astype(int) + (nb0 >= n_loading), 3)]

    # windows; shifts computed once per patient and anchor dose
    shifts = _Shifts(dose_frame, sched)
    user_windows = windows is not None
    if user_windows:
        win = make_windows(windows)  # type: ignore[arg-type]
    else:
        n_max = int(shifts.sizes.max()) if len(shifts.sizes) else 1
        max_shift = max(
            (float(np.abs(shifts.of(a)).max(initial=0.0)) for a in range(1, n_max + 2)),
            default=0.0,
        )
        until = np.nanmax(day) + max_shift if known.any() else 0.0
        win = default_windows(sched, until_day=float(until))
    # target and hi move with the anchor dose, lo with the dose before it
    row_pat = pd.Index(shifts.patients).get_indexer(puniq)[pcode]
    zeros = np.zeros(len(out))

    def shift_of(anchor: int) -> np.ndarray:
        if anchor < 1:
            return zeros
        by_pat = np.r_[shifts.of(anchor), 0.0]  # patients without doses: 0
        return by_pat[row_pat]

    best = np.full(len(out), -1, dtype=int)
    best_dist = np.full(len(out), np.inf)
    for i, w in enumerate(win.itertuples(index=False)):
        if pd.isna(w.anchor):
            s_hi = s_lo = zeros
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
    codes = best
    if not user_windows:
        used = codes[codes >= 0]
        last = int(used.max()) if used.size else 0
        labels = labels[: last + 1]
    timepoint = pd.Categorical.from_codes(codes, categories=labels, ordered=True)

    # choose one assessment per patient x measure x timepoint
    score = pd.to_numeric(out[S.SCORE], errors="coerce").to_numpy(float)
    mcode, _ = codes_of(out[S.MEASURE])
    rows = np.flatnonzero(codes >= 0)
    order = rows[np.lexsort((day[rows], best_dist[rows], np.isnan(score[rows]), codes[rows],
                             mcode[rows], pcode[rows]))]
    first = np.zeros(len(order), dtype=bool)
    first[:1] = True
    for k in (pcode, mcode, codes):
        ks = k[order]
        first[1:] |= ks[1:] != ks[:-1]
    analysed = np.zeros(len(out), dtype=bool)
    analysed[order[first]] = True

    flag = np.full(len(out), "", dtype=object)
    flag[unknown] = "day unknown"
    flag[~unknown & (codes < 0)] = "unscheduled"
    if not first.all():
        chosen_day = day[order[first]][np.cumsum(first) - 1]
        dups = order[~first]
        flag[dups] = [
            f"duplicate in window ({labels[t]}); day {fmt_day(d)} chosen"
            for t, d in zip(codes[dups], chosen_day[~first], strict=True)
        ]
    miss = np.flatnonzero(analysed & np.isnan(score))
    if miss.size:
        if S.MISSING_CODE in out.columns:
            code = out[S.MISSING_CODE].iloc[miss].fillna("").astype(str).to_numpy(object)
        else:
            code = np.full(miss.size, "", dtype=object)
        flag[miss] = [f"score missing ({c})" if c else "score missing" for c in code]

    out[S.DAY] = day
    doses_before = pd.array(nb0.astype(int), dtype="Int64")
    if not known.all():
        doses_before[~known] = pd.NA
    out[S.DOSES_BEFORE] = doses_before
    out[S.PHASE] = phase
    out[S.TIMEPOINT] = pd.Series(timepoint, index=out.index)
    out[S.ANALYSED] = analysed
    if ev is not None:
        out[DRUG] = drug
        annotate(out, day, pcode, ev, puniq)
    if keep is not None:  # the caller writes the final flags
        keep.update(pcode=pcode, puniq=puniq, mcode=mcode, flag=flag, score=score, day=day,
                    nb=nb)
        out[S.FLAG] = ""
        return out
    out[S.FLAG] = pd.Series(flag, index=out.index).astype(str)
    return out
