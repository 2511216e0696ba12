"""Baseline, change and percent change from baseline (ADaM BASE, CHG, PCHG).

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.timeline import change_from_baseline
>>> scores = pd.DataFrame({"patient_id": "P1", "day": [-5.0, 0, 550],
...                        "measure": "HFMSE", "score": [20.0, 21, 26]})
>>> out = change_from_baseline(scores)
>>> out[["day", "timepoint", "baseline", "change", "pct_change", "is_baseline"]]
     day timepoint  baseline  change  pct_change  is_baseline
0   -5.0  Baseline      21.0    -1.0   -4.761905        False
1    0.0  Baseline      21.0     0.0    0.000000         True
2  550.0  Month 18      21.0     5.0   23.809524        False
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
from ._common import append_flag, codes_of, first_dose_dates, remove_flags
from .events import annotate, event_table
from .schedules import Schedule
from .timepoints import _assign

__all__ = ["change_from_baseline", "LAST_BEFORE_FIRST_DOSE"]

#: Default baseline rule: the last non-missing score on or before day 0, before any dose.
LAST_BEFORE_FIRST_DOSE = "last_before_first_dose"

_NO_BASELINE = "no baseline"
_BASELINE_ZERO = "baseline is 0"


@renamed(scores="data")
def change_from_baseline(
    data: pd.DataFrame,
    baseline: str = LAST_BEFORE_FIRST_DOSE,
    *,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    windows: pd.DataFrame | Mapping[str, tuple] | None = None,
    assessment_before_dose: bool = True,
    events: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Add baseline, change and percent change per patient and measure.

    Parameters
    ----------
    data : pandas.DataFrame
        The tidy score table (the old keyword ``scores=`` still works, with a
        ``FutureWarning``). Without a ``timepoint`` column,
        :func:`~sma_outcomes.timeline.assign_timepoints` is called first with
        ``schedule``, ``doses``, ``windows`` and ``assessment_before_dose``
        (so ``change_from_baseline(read_scores(path))`` works in one step);
        with one, those arguments are not used (a ``UserWarning`` says so
        when ``doses`` or ``windows`` is given).
    baseline : str
        ``"last_before_first_dose"`` (default): the last non-missing score on
        or before day 0 with no dose before it (latest day; on a tie, the
        analysed row, then the first row). Otherwise a timepoint label (the
        analysed non-missing row of that timepoint) or, when no timepoint has
        that label, a ``visit`` label (its non-missing row; on a tie the
        analysed, then the latest).
    schedule, doses, windows, assessment_before_dose, events
        Passed to :func:`~sma_outcomes.timeline.assign_timepoints` when needed.
        With a ``timepoint`` column already present, ``events`` still adds
        ``events_before`` and the ``after_<event>`` flags (doses and phase
        stay as they are: give ``events`` to ``assign_timepoints`` for those).

    Returns
    -------
    pandas.DataFrame
        A new table (same rows, same order) with ``baseline`` (float),
        ``change`` = score - baseline, ``pct_change`` = 100 x change / baseline,
        ``is_baseline`` (bool, the row used as baseline), and ``flag`` extended.
        Change is computed on every row with a score, analysed or not; the
        baseline row has change 0.

    Warns
    -----
    DataWarning
        Listing every patient and measure without a baseline; their rows stay,
        with NaN baseline/change and the flag ``"no baseline"``.

    Notes
    -----
    Works the same for totals, subscores and items: each ``measure`` is its
    own parameter. Edge cases, as in admiral's ``derive_var_pchg``: a
    baseline of 0 gives NaN ``pct_change`` and the flag ``"baseline is 0"``
    on rows with a score (the change itself is still given). Flags are joined
    with ``"; "``; running the function again replaces its own flags.

    Examples
    --------
    HFMSE at Month 18 in the bundled case series:

    >>> from sma_outcomes.load import load_example
    >>> out = change_from_baseline(load_example("case_series"))
    >>> m18 = out[(out["timepoint"] == "Month 18") & (out["measure"] == "HFMSE")]
    >>> m18[["patient_id", "day", "score", "baseline", "change"]]
       patient_id    day  score  baseline  change
    15       GK01  552.0   23.0      15.0     8.0
    33       GK02  555.0   26.0      23.0     3.0
    51       GK03  552.0   29.0      19.0    10.0
    69       GK04  550.0   35.0      30.0     5.0
    87       GK05  551.0   18.0      12.0     6.0

    A zero baseline (possible for a non-preferred hand):

    >>> import pandas as pd
    >>> s = pd.DataFrame({"patient_id": "P1", "day": [0.0, 552], "measure": "PP_NONPREF",
    ...                   "score": [0.0, 3.0]})
    >>> out = change_from_baseline(s)
    >>> out[["change", "pct_change", "flag"]]
       change  pct_change           flag
    0     0.0         NaN  baseline is 0
    1     3.0         NaN  baseline is 0
    """
    require_columns(data, [S.PATIENT, S.MEASURE, S.SCORE], func="change_from_baseline")
    keep: dict = {}
    if S.TIMEPOINT not in data.columns:
        out = _assign(data, schedule, doses, windows, assessment_before_dose, stacklevel=5,
                      keep=keep, events=events)
        pcode, puniq, mcode = keep["pcode"], keep["puniq"], keep["mcode"]
        flag = keep["flag"]
        score, day = keep["score"], keep["day"]
        nb = keep["nb"]
    else:
        require_columns(data, [S.DAY], func="change_from_baseline")
        if doses is not None or windows is not None:
            warnings.warn(
                "change_from_baseline: the table already has a 'timepoint' column, so doses= "
                "and windows= are not used; call assign_timepoints(...) first to redo the "
                "timepoints with them",
                UserWarning,
                stacklevel=3,
            )
        out = data.copy()
        pcode, puniq = codes_of(out[S.PATIENT])
        if events is not None:
            ev = event_table(events, first_dates=first_dose_dates(out, (pcode, puniq)))
            annotate(out, pd.to_numeric(out[S.DAY], errors="coerce").to_numpy(float), pcode,
                     ev, puniq)
        mcode = codes_of(out[S.MEASURE])[0]
        old = out[S.FLAG].fillna("").astype(str) if S.FLAG in out.columns else None
        flag = (
            remove_flags(old, (_NO_BASELINE, _BASELINE_ZERO)).to_numpy(object)
            if old is not None
            else np.full(len(out), "", dtype=object)
        )
        score = pd.to_numeric(out[S.SCORE], errors="coerce").to_numpy(float)
        day = pd.to_numeric(out[S.DAY], errors="coerce").to_numpy(float)
        nb = (
            pd.to_numeric(out[S.DOSES_BEFORE], errors="coerce").to_numpy(float)
            if S.DOSES_BEFORE in out.columns
            else None
        )
    analysed = (
        out[S.ANALYSED].fillna(False).astype(bool).to_numpy()
        if S.ANALYSED in out.columns
        else np.ones(len(out), dtype=bool)
    )
    has = ~np.isnan(score)

    if baseline == LAST_BEFORE_FIRST_DOSE:
        cand = has & (day <= 0)
        if nb is not None:
            cand &= nb == 0
        rows = np.flatnonzero(cand)
        # latest day first; on a tie the analysed row, then the first row
        order = rows[np.lexsort((~analysed[rows], -day[rows], mcode[rows], pcode[rows]))]
    else:
        cats = (
            list(out[S.TIMEPOINT].cat.categories)
            if isinstance(out[S.TIMEPOINT].dtype, pd.CategoricalDtype)
            else list(pd.unique(out[S.TIMEPOINT].dropna()))
        )
        if baseline in cats:
            cand = has & analysed & (out[S.TIMEPOINT].astype(object) == baseline).to_numpy()
        elif S.VISIT in out.columns and (out[S.VISIT].astype(str) == baseline).any():
            cand = has & (out[S.VISIT].astype(str) == baseline).to_numpy()
        else:
            visits = list(pd.unique(out[S.VISIT].astype(str))) if S.VISIT in out.columns else []
            raise ValueError(
                f"baseline={baseline!r} is neither {LAST_BEFORE_FIRST_DOSE!r}, a timepoint "
                f"{cats} nor a visit {visits}"
            )
        rows = np.flatnonzero(cand)
        # the analysed row first, then the latest day, then the first row
        order = rows[np.lexsort((-day[rows], ~analysed[rows], mcode[rows], pcode[rows]))]
    first = np.zeros(len(order), dtype=bool)
    first[:1] = True
    for k in (pcode, mcode):
        ks = k[order]
        first[1:] |= ks[1:] != ks[:-1]
    picked = order[first]
    is_base = np.zeros(len(out), dtype=bool)
    is_base[picked] = True
    n_measures = int(mcode.max()) + 1 if len(mcode) else 1
    by_key = np.full(len(puniq) * n_measures, np.nan)
    by_key[pcode[picked] * n_measures + mcode[picked]] = score[picked]
    base = by_key[pcode * n_measures + mcode]

    change = score - base
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base == 0, np.nan, 100.0 * change / base)

    none = np.isnan(base)
    flag = append_flag(flag, none, _NO_BASELINE)
    flag = append_flag(flag, (base == 0) & has, _BASELINE_ZERO)
    if none.any():
        keys = pcode[none] * n_measures + mcode[none]
        _, at = np.unique(keys, return_index=True)
        at = np.flatnonzero(none)[np.sort(at)]  # first row of each, in table order
        measures = out[S.MEASURE].iloc[at].astype(str).to_numpy(object)
        listed_by: dict[str, list[str]] = {}
        for p, m in zip(puniq[pcode[at]], measures, strict=True):
            listed_by.setdefault(p, []).append(m)
        listed = "; ".join(f"{p} ({', '.join(ms)})" for p, ms in listed_by.items())
        warnings.warn(
            f"no baseline ({baseline}) for {len(at)} patient x measure combination(s): "
            f"{listed}. Their rows are kept with flag {_NO_BASELINE!r} and no change.",
            DataWarning,
            stacklevel=3,
        )

    out[S.BASELINE] = base
    out[S.CHANGE] = change
    out[S.PCT_CHANGE] = pct
    out[S.IS_BASELINE] = is_base
    out[S.FLAG] = pd.Series(flag, index=out.index).astype(str)
    return out
