"""Change beyond measurement error: the reliable change index and the MDC95.

:func:`reliable_change` classes each patient's change from baseline as a
reliable improvement, no reliable change or a reliable decline with the
reliable change index of Jacobson & Truax (1991); :func:`detectable_change`
puts the minimal detectable change beside the clinically meaningful threshold
of the registry.

Both need the standard error of measurement (SEM) of each measure. It comes
from the scale registry only where a published test-retest study gives it
(``get_scale(m).sem``, with ``sem_source``); today none does, so pass
``sem=``: one number for every measure, or a dict per measure whose values are
a number or a ``(number, source)`` pair naming where it comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import schema
from .._shared import check_level, measures_in, plain_number, require_columns
from ..exceptions import OptionError
from ..registry import get_scale
from ._input import analysed_rows, check_timepoint, check_unique, positive_number

__all__ = [
    "reliable_change",
    "detectable_change",
    "resolve_sem",
    "RELIABLE_COLUMNS",
    "DETECTABLE_COLUMNS",
    "RELIABLE_CLASSES",
]

#: What ``sem=`` accepts: one SEM, or per measure an SEM or an (SEM, source) pair.
SemSpec = float | Mapping[str, float | tuple[float, str]] | None

#: The three classes of :func:`reliable_change`, from best to worst.
RELIABLE_CLASSES: tuple[str, ...] = (
    "reliable improvement",
    "no reliable change",
    "reliable decline",
)

#: Columns of the table returned by :func:`reliable_change`, in order.
RELIABLE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "measure",
    "timepoint",
    "day",
    "baseline",
    "score",
    "change",
    "sem",
    "sem_source",
    "se_diff",
    "rci",
    "z",
    "mdc",
    "level",
    "reliable_change",
    "higher_is_better",
    "threshold",
    "threshold_source",
    "note",
)

#: Columns of the table returned by :func:`detectable_change`, in order.
DETECTABLE_COLUMNS: tuple[str, ...] = (
    "measure",
    "unit",
    "sem",
    "sem_source",
    "level",
    "z",
    "mdc",
    "threshold",
    "threshold_source",
    "mdc_above_threshold",
    "note",
)


def _scale(measure: str):
    try:
        return get_scale(measure)
    except KeyError:
        return None


def resolve_sem(measure: str, sem: SemSpec, *, func: str = "reliable_change") -> tuple[float, str]:
    """The SEM of one measure and its source: given, else the registry's.

    Parameters
    ----------
    measure : str
        Measure code.
    sem : float, dict or None
        As ``sem=`` of :func:`reliable_change`.
    func : str
        Function name for the error message.

    Returns
    -------
    (float, str)
        The SEM in the measure's unit and where it comes from.

    Raises
    ------
    OptionError
        When neither ``sem`` nor the registry gives an SEM for ``measure`` (the
        message says how to pass one), or the value is not a positive number.

    Examples
    --------
    >>> resolve_sem("HFMSE", {"HFMSE": (4.71, "Hara et al. 2025")})
    (4.71, 'given: Hara et al. 2025')
    >>> resolve_sem("RULM", 2.5)
    (2.5, 'given')
    """
    given = sem.get(measure) if isinstance(sem, Mapping) else sem
    scale = _scale(measure)
    if given is not None:
        source = "given"
        if isinstance(given, tuple):
            if len(given) != 2:
                raise OptionError(f"`sem` for {measure!r} must be a number or a (number, "
                                  f"source) pair, not {given!r}")
            given, text = given
            source = f"given: {text}"
        value = given
    elif scale is not None and scale.sem is not None:
        value, source = scale.sem, scale.sem_source
    else:
        why = f" ({scale.sem_source})" if scale is not None and scale.sem_source else ""
        raise OptionError(
            f"{func}() needs the standard error of measurement (SEM) of {measure!r}, and the "
            f"scale registry has none from a published test-retest study{why}. Pass it as "
            f"sem={{{measure!r}: <SEM in the scale's unit>}}, or sem={{{measure!r}: (<SEM>, "
            "'<source>')}} to name where it comes from, or one number for every measure"
        )
    return positive_number(value, "sem", measure), source


def _z(level: float) -> float:
    return float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))


def _threshold(measure: str) -> tuple[float, str, bool]:
    scale = _scale(measure)
    if scale is None:
        return math.nan, "measure not in the registry (higher is assumed better)", True
    thr = math.nan if scale.threshold is None else float(scale.threshold)
    return thr, scale.threshold_source, scale.higher_is_better


def detectable_change(
    measures: str | Sequence[str],
    sem: SemSpec = None,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Minimal detectable change of each measure beside its meaningful threshold.

    MDC = z * sqrt(2) * SEM, with z the two-sided normal quantile of ``level``
    (1.96 for 95%): the smallest change between two assessments that exceeds
    the measurement error of both with that confidence.

    Parameters
    ----------
    measures : str or sequence of str
        Measure codes.
    sem : float or dict, optional
        Standard error of measurement, as in :func:`reliable_change`.
    level : float
        Confidence level of the MDC (0.95 gives the MDC95).

    Returns
    -------
    DataFrame
        One row per measure: ``measure``, ``unit``, ``sem``, ``sem_source``,
        ``level``, ``z``, ``mdc``, ``threshold`` and ``threshold_source`` (the
        registry's clinically meaningful change; NaN when none),
        ``mdc_above_threshold`` (True when a change can reach the meaningful
        threshold without being detectable beyond measurement error), ``note``.

    Examples
    --------
    >>> t = detectable_change(["HFMSE", "RULM"], sem={"HFMSE": 2.0, "RULM": 1.0})
    >>> t[["measure", "sem", "mdc", "threshold", "mdc_above_threshold"]].round(3)
      measure  sem    mdc  threshold  mdc_above_threshold
    0   HFMSE  2.0  5.544        3.0                 True
    1    RULM  1.0  2.772        2.0                 True
    """
    level = check_level(level)
    names = [measures] if isinstance(measures, str) else list(measures)
    z = _z(level)
    rows = []
    for m in names:
        value, source = resolve_sem(m, sem, func="detectable_change")
        thr, thr_source, _higher = _threshold(m)
        mdc = z * math.sqrt(2.0) * value
        above = bool(mdc > thr) if math.isfinite(thr) else False
        scale = _scale(m)
        note = ""
        if above:
            note = (f"a change of {plain_number(thr)} is clinically meaningful but smaller than "
                    f"the MDC ({mdc:.1f}): in one patient it cannot be told apart from "
                    "measurement error")
        elif not math.isfinite(thr):
            note = "no clinically meaningful threshold is registered"
        rows.append({
            "measure": m, "unit": "" if scale is None else scale.unit, "sem": value,
            "sem_source": source, "level": level, "z": z, "mdc": mdc, "threshold": thr,
            "threshold_source": thr_source, "mdc_above_threshold": above, "note": note,
        })
    return pd.DataFrame(rows, columns=list(DETECTABLE_COLUMNS))


def change_rows(
    data: pd.DataFrame,
    measures: str | Sequence[str] | None,
    timepoint: str | Sequence[str] | None,
    *,
    func: str,
) -> pd.DataFrame:
    """Analysed non-baseline rows with a change, for the chosen measures and timepoints."""
    keys = [schema.PATIENT, schema.MEASURE, schema.TIMEPOINT]
    require_columns(data, [*keys, schema.CHANGE], func=func,
                    hint="run change_from_baseline() first")
    rows = analysed_rows(data)
    names = measures_in(rows, measures)
    rows = rows.loc[rows[schema.MEASURE].isin(names).to_numpy()]
    if schema.IS_BASELINE in rows.columns:
        rows = rows.loc[~rows[schema.IS_BASELINE].fillna(False).astype(bool).to_numpy()]
    else:
        rows = rows.loc[(rows[schema.TIMEPOINT].astype(str) != "Baseline").to_numpy()]
    if timepoint is not None:
        wanted = [timepoint] if isinstance(timepoint, str) else list(timepoint)
        for t in wanted:
            check_timepoint(analysed_rows(data), t)
        rows = rows.loc[rows[schema.TIMEPOINT].astype(str).isin(wanted).to_numpy()]
    rows = rows.loc[rows[schema.CHANGE].notna().to_numpy()]
    check_unique(rows, keys, func=func)
    return rows


def reliable_change(
    data: pd.DataFrame,
    sem: SemSpec = None,
    *,
    measures: str | Sequence[str] | None = None,
    timepoint: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Class each patient's change as reliable improvement, no reliable change or decline.

    For every analysed patient x measure x timepoint after baseline with a
    change from baseline, the reliable change index (Jacobson & Truax 1991)

        RCI = change / (sqrt(2) * SEM)

    is compared with z, the two-sided normal quantile of ``level`` (1.96 at
    95%). A change whose RCI lies beyond z in the good direction of the scale
    is a *reliable improvement*; beyond z in the bad direction, a *reliable
    decline*; otherwise *no reliable change*. Equivalently, the change exceeds
    the minimal detectable change MDC = z * sqrt(2) * SEM in absolute value.
    The direction comes from the registry (``higher_is_better``: True for the
    HFMSE, RULM, Purdue Pegboard ...).

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``); needs
        ``patient_id``, ``measure``, ``timepoint`` and ``change``. ``day``,
        ``baseline`` and ``score`` are carried over when present.
    sem : float or dict, optional
        Standard error of measurement in the scale's unit: one number for
        every measure, or a dict per measure whose values are a number or a
        ``(number, source)`` pair (the source is reported). Measures not given
        take the registry's SEM, which exists only where a published
        test-retest study gives one; without either an ``OptionError`` says
        how to pass it.
    measures : str or sequence of str, optional
        Measures to class; default all measures in the data.
    timepoint : str or sequence of str, optional
        Timepoints to class; default every timepoint after baseline.
    level : float
        Confidence level of the classification (0.95: |RCI| > 1.96).

    Returns
    -------
    DataFrame
        One row per patient x measure x timepoint, columns:

        - ``patient_id``, ``measure``, ``timepoint``, ``day`` (NaN when the
          table has none), ``baseline``, ``score``, ``change``;
        - ``sem``, ``sem_source``: the SEM used and where it comes from;
        - ``se_diff``: sqrt(2) * SEM, the standard error of a difference of
          two assessments;
        - ``rci``: change / se_diff;
        - ``z``, ``level``: the critical value and its confidence level;
        - ``mdc``: z * se_diff, the minimal detectable change;
        - ``reliable_change``: one of :data:`RELIABLE_CLASSES`;
        - ``higher_is_better``: direction used;
        - ``threshold``, ``threshold_source``: the registry's clinically
          meaningful change, for reading beside ``mdc`` (NaN when none);
        - ``note``: "" or a remark, e.g. a change that reaches the meaningful
          threshold but not the MDC.

    Notes
    -----
    The classification is exact at the boundary: a change equal to the MDC is
    not reliable (Jacobson & Truax use RCI > 1.96). The RCI treats the SEM as
    known and equal at every score; near the floor or ceiling of a scale, or
    with raters other than those of the SEM's study, it may not hold. Rows
    without a change (no baseline, score not done) are left out; rows marked
    ``analysed == False`` are ignored.

    References
    ----------
    Jacobson NS, Truax P (1991). Clinical significance: a statistical approach
    to defining meaningful change in psychotherapy research. J Consult Clin
    Psychol 59:12-19.

    Examples
    --------
    The reconstructed case series, with the distribution-based HFMSE SEM of
    Hara et al. (2025) given explicitly (the registry holds no test-retest SEM):

    >>> from sma_outcomes import load_example, assign_timepoints, change_from_baseline
    >>> changes = change_from_baseline(assign_timepoints(load_example("case_series")))
    >>> rc = reliable_change(changes, sem={"HFMSE": (4.71, "Hara et al. 2025")},
    ...                      measures="HFMSE", timepoint="Month 18")
    >>> rc[["patient_id", "change", "rci", "mdc", "reliable_change"]].round(2)
      patient_id  change   rci    mdc     reliable_change
    0       GK01     8.0  1.20  13.06  no reliable change
    1       GK02     3.0  0.45  13.06  no reliable change
    2       GK03    10.0  1.50  13.06  no reliable change
    3       GK04     5.0  0.75  13.06  no reliable change
    4       GK05     6.0  0.90  13.06  no reliable change

    With an SEM that large no single child's gain is beyond measurement error,
    although every gain reaches the 3-point threshold (see ``note``).
    """
    level = check_level(level)
    rows = change_rows(data, measures, timepoint, func="reliable_change")
    names = measures_in(rows, measures) if len(rows) else []
    z = _z(level)
    sems = {m: resolve_sem(m, sem) for m in names}
    out = []
    for m in names:
        sub = rows.loc[(rows[schema.MEASURE] == m).to_numpy()]
        if not len(sub):
            continue
        value, source = sems[m]
        thr, thr_source, higher = _threshold(m)
        se_diff = math.sqrt(2.0) * value
        change = sub[schema.CHANGE].to_numpy(dtype=float)
        rci = change / se_diff
        good = rci if higher else -rci
        cls = np.where(good > z, RELIABLE_CLASSES[0],
                       np.where(good < -z, RELIABLE_CLASSES[2], RELIABLE_CLASSES[1]))
        mdc = z * se_diff
        notes = []
        for d, c in zip(change, cls, strict=True):
            g = d if higher else -d
            if c == RELIABLE_CLASSES[1] and math.isfinite(thr) and abs(g) >= thr - 1e-9:
                word = "improvement" if g > 0 else "decline"
                notes.append(f"a clinically meaningful {word} (|change| >= "
                             f"{plain_number(thr)}) but within measurement error "
                             f"(MDC {mdc:.1f})")
            else:
                notes.append("")
        out.append(pd.DataFrame({
            "patient_id": sub[schema.PATIENT].to_numpy(),
            "measure": m,
            "timepoint": sub[schema.TIMEPOINT].astype(str).to_numpy(),
            "day": _col(sub, schema.DAY),
            "baseline": _col(sub, schema.BASELINE),
            "score": _col(sub, schema.SCORE),
            "change": change,
            "sem": value,
            "sem_source": source,
            "se_diff": se_diff,
            "rci": rci,
            "z": z,
            "mdc": mdc,
            "level": level,
            "reliable_change": cls,
            "higher_is_better": higher,
            "threshold": thr,
            "threshold_source": thr_source,
            "note": notes,
        }))
    if not out:
        return pd.DataFrame(columns=list(RELIABLE_COLUMNS))
    return pd.concat(out, ignore_index=True)[list(RELIABLE_COLUMNS)]


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(frame), np.nan)
