"""Data helpers shared by the plot functions (no drawing here).

Examples
--------
>>> import numpy as np
>>> to_time(np.array([0.0, 30.4375]), "months").tolist()
[0.0, 1.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .._shared import check_choice, natural_key, require_columns
from ..exceptions import DataError, DataWarning
from ..registry import SCALES, get_scale, plain_name
from ..registry import axis_label as _registry_axis_label
from ..schema import (
    ANALYSED,
    BASELINE,
    DAY,
    DAYS_PER_MONTH,
    MEASURE,
    PATIENT,
    SCORE,
    TIMEPOINT,
)
from ..timeline import dose_table

TIME_UNITS = ("months", "days")


def to_time(day: pd.Series | np.ndarray | float, time: str) -> np.ndarray:
    """Study day to the plotted time unit (months = day / 30.4375).

    Examples
    --------
    >>> to_time(np.array([0.0, 30.4375]), "months").tolist()
    [0.0, 1.0]
    """
    check_choice("time", time, TIME_UNITS)
    x = np.asarray(day, dtype=float)
    return x / DAYS_PER_MONTH if time == "months" else x


def time_label(time: str) -> str:
    """x-axis label for the time unit.

    Examples
    --------
    >>> time_label("days")
    'Days since first dose'
    """
    return "Months since first dose" if time == "months" else "Days since first dose"


def patient_order(ids: Iterable[object]) -> list[str]:
    """Unique patient ids in natural order.

    Examples
    --------
    >>> patient_order(["B", "A10", "A2", "B"])
    ['A2', 'A10', 'B']
    """
    return sorted({str(i) for i in ids}, key=natural_key)


def default_measures(data: pd.DataFrame) -> list[str]:
    """Totals (not items) present in the table, in registry order.

    Examples
    --------
    >>> default_measures(pd.DataFrame({"measure": ["PP_PREF", "HFMSE_01", "HFMSE"]}))
    ['HFMSE', 'PP_PREF']
    """
    present = set(data[MEASURE].astype(str))
    known = [c for c in SCALES if c in present and SCALES[c].parent is None]
    unknown = sorted(present - set(SCALES))
    return known + unknown


def resolve_threshold(measure: str, threshold: float | dict | None) -> float | None:
    """Threshold of clinically meaningful change: the user's, else the registry's.

    Examples
    --------
    >>> resolve_threshold("HFMSE", None), resolve_threshold("PP_PREF", None)
    (3.0, None)
    >>> resolve_threshold("PP_PREF", {"PP_PREF": 2})
    2.0
    """
    if isinstance(threshold, dict):
        value = threshold.get(measure)
        if value is not None:
            return float(value)
        threshold = None
    if threshold is not None:
        value = float(threshold)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"`threshold` must be a positive number, not {threshold!r}")
        return value
    try:
        return get_scale(measure).threshold
    except KeyError:
        return None


def axis_label(measure: str, *, change: bool = False, percent: bool = False) -> str:
    """Axis label naming the measure and its unit, from the registry.

    An unknown measure is labelled with its code.

    Examples
    --------
    >>> axis_label("RULM"), axis_label("PP_PREF", change=True)
    ('RULM (points)', 'Change in Purdue Pegboard, preferred hand (pins in 30 s)')
    """
    return _registry_axis_label(measure, change=change, percent=percent)


def title_name(measure: str) -> str:
    """Plain name of a measure for titles (the code for an unknown measure).

    Examples
    --------
    >>> title_name("PP_NONPREF")
    'Purdue Pegboard, non-preferred hand'
    """
    return plain_name(measure)


def short_name(measure: str) -> str:
    """Abbreviation from the registry (the code for an unknown measure).

    Examples
    --------
    >>> short_name("PP_NONPREF")
    'PP non-pref'
    """
    scale = SCALES.get(measure)
    return scale.abbreviation if scale is not None else measure


def scale_limits(measure: str) -> tuple[float, float]:
    """Hard limits of the scale (``-inf, inf`` for an unknown measure).

    Examples
    --------
    >>> scale_limits("HFMSE")
    (0.0, 66.0)
    """
    scale = SCALES.get(measure)
    if scale is None:
        return -np.inf, np.inf
    return scale.minimum, scale.maximum


def patient_baseline(rows: pd.DataFrame) -> float:
    """The patient's baseline for one measure.

    The ``baseline`` column when the timeline has added it, otherwise the last
    non-missing score on or before day 0 (the timeline's default rule); NaN
    when there is none.

    Examples
    --------
    >>> rows = pd.DataFrame({"day": [-3.0, 0.0, 40.0], "score": [20.0, np.nan, 25.0]})
    >>> patient_baseline(rows)
    20.0
    """
    if BASELINE in rows.columns:
        values = pd.to_numeric(rows[BASELINE], errors="coerce").dropna()
        if len(values):
            return float(values.iloc[0])
    pre = rows[(rows[DAY] <= 0) & rows[SCORE].notna()]
    if len(pre) == 0:
        return float("nan")
    return float(pre.sort_values(DAY, kind="mergesort")[SCORE].iloc[-1])


def drop_unplaced(rows: pd.DataFrame, what: str) -> pd.DataFrame:
    """Drop rows with no study day, with a :class:`DataWarning` naming them.

    Examples
    --------
    >>> drop_unplaced(pd.DataFrame({"day": [1.0]}), "x").shape
    (1, 1)
    """
    bad = rows[DAY].isna()
    if bad.any():
        ids = patient_order(rows.loc[bad, PATIENT]) if PATIENT in rows else []
        warnings.warn(
            f"{int(bad.sum())} assessment(s) of {what} have no study day and are not "
            f"plotted (patients: {', '.join(ids)}); give a date or day for them",
            DataWarning,
            stacklevel=3,
        )
        rows = rows[~bad]
    return rows


def at_timepoint(
    data: pd.DataFrame, measure: str, timepoint: str, columns: Sequence[str]
) -> pd.DataFrame:
    """The analysed rows of one measure at one nominal timepoint.

    Examples
    --------
    >>> df = pd.DataFrame({"patient_id": ["a"], "measure": ["HFMSE"],
    ...     "timepoint": ["Month 6"], "change": [2.0]})
    >>> at_timepoint(df, "HFMSE", "Month 6", ["change"])["change"].tolist()
    [2.0]
    """
    hint = "run sma_outcomes.change_from_baseline(data) first"
    require_columns(data, [PATIENT, MEASURE, TIMEPOINT, *columns], func="at_timepoint", hint=hint)
    rows = data[(data[MEASURE] == measure) & (data[TIMEPOINT].astype(object) == timepoint)]
    if ANALYSED in rows.columns:
        rows = rows[rows[ANALYSED].fillna(False).astype(bool)]
    if len(rows) == 0:
        tps = [str(t) for t in pd.unique(data.loc[data[MEASURE] == measure, TIMEPOINT].dropna())]
        raise DataError(
            f"no analysed {measure} assessment at timepoint {timepoint!r}; "
            f"timepoints with {measure}: {', '.join(tps) or 'none'}"
        )
    dup = rows[PATIENT].duplicated(keep=False)
    if dup.any():
        raise DataError(
            f"several analysed {measure} rows at {timepoint!r} for patient(s) "
            f"{', '.join(patient_order(rows.loc[dup, PATIENT]))}; keep one per patient "
            "(the timeline's `analysed` column does this)"
        )
    return rows


def resolve_doses(
    data: pd.DataFrame, doses: pd.DataFrame | None, schedule: str | None,
    events: pd.DataFrame | None = None,
) -> pd.DataFrame | None:
    """Dose table to draw: the one given, else the timeline's ``dose_table``.

    Returns None when there is nothing to draw (``schedule=None`` and no
    ``doses``). The result has columns patient_id, day, dose_number, phase.
    Planned doses follow the ``events`` (a treatment switch starts the new
    drug's schedule, a discontinuation stops the doses), as in
    :func:`~sma_outcomes.timeline.dose_table`; events it cannot follow (a
    switch to a drug it does not know) give a :class:`DataWarning` and the
    planned schedule unchanged.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["a", "a"], "day": [14, 0]})
    >>> resolve_doses(pd.DataFrame(), d, None)[["day", "dose_number", "phase"]].values.tolist()
    [[0.0, 1, ''], [14.0, 2, '']]
    """
    if doses is None:
        if schedule is None:
            return None
        try:
            doses = dose_table(data, schedule=schedule, events=events)
        except DataError as err:
            if events is None:
                raise
            # an events table good enough to draw but not to move the schedule (e.g. a
            # switch whose new drug is free text): the planned schedule, and say why
            warnings.warn(f"planned doses drawn without following the events: {err}",
                          DataWarning, stacklevel=3)
            doses = dose_table(data, schedule=schedule)
    require_columns(doses, [PATIENT, DAY], func="resolve_doses", hint="a dose table needs patient_id and day")
    out = doses.copy()
    out[PATIENT] = out[PATIENT].astype(str)
    out[DAY] = pd.to_numeric(out[DAY], errors="coerce").astype(float)
    out = out[out[DAY].notna()].sort_values([PATIENT, DAY], kind="mergesort")
    if "dose_number" not in out.columns:
        out["dose_number"] = out.groupby(PATIENT).cumcount() + 1
    if "phase" not in out.columns:
        out["phase"] = ""
    out["phase"] = out["phase"].fillna("").astype(str)
    return out.reset_index(drop=True)


def event_label(event: object, detail: object = None, width: int = 30) -> str:
    """Short text for an event marker: the event with its detail, shortened to ``width``.

    Examples
    --------
    >>> event_label("treatment_switch", "risdiplam")
    'Treatment switch: risdiplam'
    >>> event_label("scoliosis surgery", float("nan"))
    'Scoliosis surgery'
    """
    text = str(event).replace("_", " ").strip()
    text = text[:1].upper() + text[1:]
    if isinstance(detail, str) and detail.strip():
        text = f"{text}: {detail.strip()}"
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def resolve_events(events: pd.DataFrame | None, func: str) -> pd.DataFrame | None:
    """Events to draw: patient_id (text), day, label; rows without a day dropped with a warning.

    Examples
    --------
    >>> ev = pd.DataFrame({"patient_id": [1], "day": [200], "event": ["death"]})
    >>> resolve_events(ev, "plot_patient")[["patient_id", "day", "label"]].values.tolist()
    [['1', 200.0, 'Death']]
    """
    if events is None:
        return None
    require_columns(events, [PATIENT, DAY, "event"], func=func,
                    hint="an events table has patient_id, day, event and optionally detail")
    out = pd.DataFrame({
        PATIENT: events[PATIENT].astype(str).to_numpy(),
        DAY: pd.to_numeric(events[DAY], errors="coerce").to_numpy(float),
        "event": events["event"].astype(str).to_numpy(),
    })
    details = events["detail"].to_numpy(object) if "detail" in events.columns else [None] * len(out)
    out["label"] = [event_label(e, d) for e, d in zip(out["event"], details, strict=True)]
    out = drop_unplaced(out, "events")
    return out.sort_values([PATIENT, DAY], kind="mergesort").reset_index(drop=True)
