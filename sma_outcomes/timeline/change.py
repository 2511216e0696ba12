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
from .._shared import require_columns
from ..exceptions import DataWarning
from ._common import append_flag, remove_flags
from .schedules import Schedule
from .timepoints import _assign

__all__ = ["change_from_baseline", "LAST_BEFORE_FIRST_DOSE"]

#: Default baseline rule: the last non-missing score on or before day 0, before any dose.
LAST_BEFORE_FIRST_DOSE = "last_before_first_dose"

_NO_BASELINE = "no baseline"
_BASELINE_ZERO = "baseline is 0"


def change_from_baseline(
    scores: pd.DataFrame,
    baseline: str = LAST_BEFORE_FIRST_DOSE,
    *,
    schedule: str | Schedule = "nusinersen",
    doses: pd.DataFrame | str | os.PathLike[str] | None = None,
    windows: pd.DataFrame | Mapping[str, tuple] | None = None,
    assessment_before_dose: bool = True,
) -> pd.DataFrame:
    """Add baseline, change and percent change per patient and measure.

    Parameters
    ----------
    scores : pandas.DataFrame
        The tidy score table. Without a ``timepoint`` column,
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
    schedule, doses, windows, assessment_before_dose
        Passed to :func:`~sma_outcomes.timeline.assign_timepoints` when needed.

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
    require_columns(scores, [S.PATIENT, S.MEASURE, S.SCORE], func="change_from_baseline")
    if S.TIMEPOINT not in scores.columns:
        out = _assign(scores, schedule, doses, windows, assessment_before_dose, stacklevel=4)
    else:
        require_columns(scores, [S.DAY], func="change_from_baseline")
        if doses is not None or windows is not None:
            warnings.warn(
                "change_from_baseline: the table already has a 'timepoint' column, so doses= "
                "and windows= are not used; call assign_timepoints(...) first to redo the "
                "timepoints with them",
                UserWarning,
                stacklevel=2,
            )
        out = scores.copy()
    if S.FLAG not in out.columns:
        out[S.FLAG] = ""
    flag = remove_flags(out[S.FLAG].fillna("").astype(str), (_NO_BASELINE, _BASELINE_ZERO))
    analysed = (
        out[S.ANALYSED].fillna(False).astype(bool).to_numpy()
        if S.ANALYSED in out.columns
        else np.ones(len(out), dtype=bool)
    )
    score = pd.to_numeric(out[S.SCORE], errors="coerce").to_numpy(float)
    day = pd.to_numeric(out[S.DAY], errors="coerce").to_numpy(float)
    pid = out[S.PATIENT].astype(str).to_numpy()
    measure = out[S.MEASURE].astype(str).to_numpy()
    key = pd.DataFrame(
        {
            "pid": pid,
            "measure": measure,
            "day": day,
            "analysed": analysed,
            "pos": np.arange(len(out)),
        }
    )
    has = ~np.isnan(score)

    if baseline == LAST_BEFORE_FIRST_DOSE:
        cand = has & (day <= 0)
        if S.DOSES_BEFORE in out.columns:
            nb = pd.to_numeric(out[S.DOSES_BEFORE], errors="coerce").to_numpy(float)
            cand &= nb == 0
        order = ["pid", "measure", "day", "analysed", "pos"]
        asc = [True, True, False, False, True]
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
        order = ["pid", "measure", "analysed", "day", "pos"]
        asc = [True, True, False, False, True]
    picked = key[cand].sort_values(order, ascending=asc, kind="stable")
    picked = picked[~picked.duplicated(["pid", "measure"], keep="first")]
    is_base = np.zeros(len(out), dtype=bool)
    is_base[picked["pos"].to_numpy()] = True
    base_val = pd.Series(score[picked["pos"].to_numpy()],
                         index=pd.MultiIndex.from_frame(picked[["pid", "measure"]]))
    idx = pd.MultiIndex.from_arrays([pid, measure])
    base = base_val.reindex(idx).to_numpy(float)

    change = score - base
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base == 0, np.nan, 100.0 * change / base)

    none = np.isnan(base)
    flag = append_flag(flag, none, _NO_BASELINE)
    flag = append_flag(flag, (base == 0) & has, _BASELINE_ZERO)
    if none.any():
        missing = key.loc[none, ["pid", "measure"]].drop_duplicates()
        listed = "; ".join(
            f"{p} ({', '.join(g['measure'])})" for p, g in missing.groupby("pid", sort=False)
        )
        warnings.warn(
            f"no baseline ({baseline}) for {len(missing)} patient x measure combination(s): "
            f"{listed}. Their rows are kept with flag {_NO_BASELINE!r} and no change.",
            DataWarning,
            stacklevel=2,
        )

    out[S.BASELINE] = base
    out[S.CHANGE] = change
    out[S.PCT_CHANGE] = pct
    out[S.IS_BASELINE] = is_base
    out[S.FLAG] = pd.Series(flag.to_numpy(), index=out.index).astype(str)
    return out
