"""Nominal timepoints and their visit windows.

A window is one row of a small table with columns ``label`` (the timepoint
name), ``target`` (nominal day), ``lo`` and ``hi`` (inclusive day limits) and
``anchor`` (a dose number in the schedule, or missing). An anchored window
moves, per patient, with that patient's doses: ``target`` and ``hi`` by (actual
day of dose ``anchor``) - (its planned day), ``lo`` by the same difference for
the dose before it, so that "before the 5th dose" stays before the 5th dose when
doses are delayed (see :func:`~sma_outcomes.timeline.assign_timepoints`).
Unanchored windows are fixed days.

Examples
--------
>>> from sma_outcomes.timeline.windows import default_windows
>>> default_windows("nusinersen", until_day=560)
      label  target     lo     hi  anchor
0  Baseline     0.0   -inf    0.0       1
1   Loading    63.0   29.0   63.0       4
2   Month 6   185.0  125.0  246.0       5
3  Month 10   307.0  247.0  367.0       6
4  Month 14   428.0  368.0  489.0       7
5  Month 18   550.0  490.0  610.0       8
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..schema import DAYS_PER_MONTH
from .schedules import Schedule, get_schedule, round_half_up

__all__ = ["default_windows", "make_windows", "BASELINE_LOOKBACK_DAYS", "WINDOW_COLUMNS"]

#: How far before the first dose (days) the default Baseline window reaches: every
#: pre-treatment assessment, so that the analysed Baseline row is the record that
#: :func:`~sma_outcomes.timeline.change_from_baseline` uses as baseline by default.
BASELINE_LOOKBACK_DAYS = float("inf")

WINDOW_COLUMNS = ("label", "target", "lo", "hi", "anchor")


def _month_label(day: float) -> str:
    return f"Month {int(round_half_up(day / DAYS_PER_MONTH))}"


def default_windows(
    schedule: str | Schedule = "nusinersen",
    until_day: float = 600.0,
    baseline_lookback: float = BASELINE_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """Default nominal timepoints of a schedule, up to ``until_day``.

    Parameters
    ----------
    schedule : str or Schedule
        See :func:`~sma_outcomes.timeline.get_schedule`.
    until_day : float
        Generate timepoints until a window starts after this day.
    baseline_lookback : float
        Days before the first dose covered by the Baseline window (default: all).

    Returns
    -------
    pandas.DataFrame
        Columns ``label, target, lo, hi, anchor`` (``anchor`` is a nullable
        integer dose number), one row per timepoint in time order.

    Notes
    -----
    Planned days use fixed months of 30.4375 days (the windows are shared by
    all patients); anchored windows then move with each patient's own doses.

    - ``Baseline``: target day 0, window [-``baseline_lookback``, 0] (default
      every day up to 0), anchored to dose 1. Only pre-treatment assessments
      (no dose before) qualify for a window that ends on or before day 0, so
      the analysed Baseline row is the last non-missing pre-treatment score,
      the default baseline of :func:`~sma_outcomes.timeline.change_from_baseline`.
    - ``Loading`` (schedules with 2 or more loading doses): the visit before
      the last loading dose; window from the day after the second-to-last
      loading dose to the day of the last one (nusinersen: days 29-63,
      between the 3rd and 4th dose), target the last loading dose, anchored
      to it.
    - ``Month N`` before each maintenance dose: target the planned dose day,
      N = target / 30.4375 rounded half up (Month 6, 10, 14, 18, ... for
      nusinersen). The window reaches half an interval (60 days for 4 months)
      before the target and up to the day before the next window, so that
      maintenance windows tile the time axis; anchored to that dose.
    - Schedules without maintenance doses (single dose, continuous): ``Month
      N`` every ``schedule.visit_months`` months, unanchored, windows of half
      an interval either side.

    Examples
    --------
    >>> default_windows("risdiplam", until_day=200, baseline_lookback=28)
          label  target    lo     hi  anchor
    0  Baseline     0.0 -28.0    0.0       1
    1   Month 6   183.0  92.0  273.0    <NA>
    """
    sched = get_schedule(schedule)
    rows: list[tuple[str, float, float, float, object]] = [
        ("Baseline", 0.0, -float(baseline_lookback), 0.0, 1)
    ]
    if sched.has_maintenance:
        if sched.n_loading >= 2:
            last, prev = sched.loading_days[-1], sched.loading_days[-2]
            rows.append(("Loading", float(last), float(prev) + 1.0, float(last), sched.n_loading))
        interval = float(sched.maintenance_months) * DAYS_PER_MONTH  # type: ignore[arg-type]
        half = math.floor(interval / 2.0)
        targets: list[float] = []
        k = 1
        while True:
            t = sched.maintenance_day(k)
            if t - half > until_day and targets:
                break
            targets.append(t)
            k += 1
        targets.append(sched.maintenance_day(k))  # the next one, to close the last window
        for i, t in enumerate(targets[:-1]):
            lo = t - half
            hi = targets[i + 1] - half - 1.0 if i + 1 < len(targets) - 1 else t + half
            rows.append((_month_label(t), t, lo, hi, sched.n_loading + i + 1))
    else:
        step = sched.visit_months * DAYS_PER_MONTH
        half = math.floor(step / 2.0)
        m = 1
        while True:
            t = round_half_up(m * step)
            if t - half > until_day and m > 1:
                break
            nxt = round_half_up((m + 1) * step)
            rows.append((_month_label(t), t, t - half, nxt - half - 1.0, pd.NA))
            m += 1
    seen: set[str] = set()
    for i, r in enumerate(rows):  # custom schedules: keep labels unique
        if r[0] in seen:
            rows[i] = (f"Day {int(r[1])}", *r[1:])
        seen.add(rows[i][0])
    out = pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))
    out["anchor"] = out["anchor"].astype("Int64")
    for c in ("target", "lo", "hi"):
        out[c] = out[c].astype(float)
    return out


def _middle(lo, hi):
    """Middle of [lo, hi]; the finite end when the other is infinite."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(lo), hi, np.where(np.isinf(hi), lo, (lo + hi) / 2.0))


def make_windows(windows: pd.DataFrame | Mapping[str, tuple]) -> pd.DataFrame:
    """Normalise user windows to the table of :func:`default_windows`.

    Parameters
    ----------
    windows : DataFrame or dict
        A table with columns ``label``, ``lo``, ``hi`` and optionally ``target``
        (default: the middle of the window, or its finite end when the other
        is infinite) and ``anchor`` (a dose number), or a
        dict ``{label: (lo, hi)}`` or ``{label: (target, lo, hi)}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``label, target, lo, hi, anchor``, sorted by target (stable), so
        that the timepoint categories are in time order.

    Raises
    ------
    ValueError
        Duplicate labels, ``lo > hi``, a target outside its window, or a
        malformed entry; the message names the label.

    Examples
    --------
    >>> make_windows({"Baseline": (-30, 0), "Week 52": (364, 330, 400)})
          label  target     lo     hi  anchor
    0  Baseline   -15.0  -30.0    0.0    <NA>
    1   Week 52   364.0  330.0  400.0    <NA>
    """
    if isinstance(windows, pd.DataFrame):
        missing = [c for c in ("label", "lo", "hi") if c not in windows.columns]
        if missing:
            raise ValueError(
                f"windows table needs columns label, lo, hi (and optionally target, anchor); "
                f"missing {missing}, got {list(windows.columns)}"
            )
        tab = windows.copy()
        tab["label"] = tab["label"].astype(str)
        tab["lo"] = pd.to_numeric(tab["lo"], errors="raise").astype(float)
        tab["hi"] = pd.to_numeric(tab["hi"], errors="raise").astype(float)
        if "target" not in tab.columns:
            tab["target"] = np.nan
        tab["target"] = pd.to_numeric(tab["target"], errors="raise").astype(float)
        tab["target"] = tab["target"].fillna(
            pd.Series(_middle(tab["lo"], tab["hi"]), index=tab.index)
        )
        if "anchor" not in tab.columns:
            tab["anchor"] = pd.NA
        tab = tab[list(WINDOW_COLUMNS)]
    elif isinstance(windows, Mapping):
        rows = []
        for label, spec in windows.items():
            vals = tuple(spec) if isinstance(spec, (tuple, list)) else ()
            if len(vals) == 2:
                lo, hi = map(float, vals)
                rows.append((str(label), float(_middle(lo, hi)), lo, hi, pd.NA))
            elif len(vals) == 3:
                t, lo, hi = map(float, vals)
                rows.append((str(label), t, lo, hi, pd.NA))
            else:
                raise ValueError(
                    f"window {label!r}: give (lo, hi) or (target, lo, hi) in days, got {spec!r}"
                )
        tab = pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))
    else:
        raise TypeError(
            f"windows must be a DataFrame or a dict {{label: (lo, hi)}}, got {type(windows).__name__}"
        )
    if tab.empty:
        raise ValueError("windows is empty: give at least one timepoint")
    dup = tab["label"][tab["label"].duplicated()].tolist()
    if dup:
        raise ValueError(f"windows: duplicate labels {dup}")
    bad = tab.loc[tab["lo"] > tab["hi"], "label"].tolist()
    if bad:
        raise ValueError(f"windows: lo > hi for {bad}")
    bad = tab.loc[(tab["target"] < tab["lo"]) | (tab["target"] > tab["hi"]), "label"].tolist()
    if bad:
        raise ValueError(f"windows: target outside [lo, hi] for {bad}")
    tab["anchor"] = tab["anchor"].astype("Int64")
    tab = tab.sort_values("target", kind="stable").reset_index(drop=True)
    return tab
