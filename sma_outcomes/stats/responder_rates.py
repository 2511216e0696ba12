"""Responder rates: improved, stable and worsened by a clinically meaningful change."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from .. import schema
from .._shared import check_level, last_common_timepoint, plain_number, renamed
from ..exceptions import OptionError
from ..registry import get_scale
from ._input import changes_at, positive_number

__all__ = ["responders", "clopper_pearson", "RESPONDER_COLUMNS"]

#: Columns of the table returned by :func:`responders`, in order.
RESPONDER_COLUMNS: tuple[str, ...] = (
    "measure",
    "timepoint",
    "category",
    "definition",
    "threshold",
    "threshold_source",
    "higher_is_better",
    "n",
    "count",
    "estimate",
    "ci_low",
    "ci_high",
    "note",
)

_CATEGORIES = ("improved", "stable", "worsened")


def clopper_pearson(
    count: np.ndarray | int, n: np.ndarray | int, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) confidence interval of a binomial proportion.

    statsmodels' ``proportion_confint(method="beta")``: lower = Beta(alpha/2;
    x, n - x + 1) quantile (0 when x = 0), upper = Beta(1 - alpha/2; x + 1,
    n - x) quantile (1 when x = n), as R's ``binom.test``; NaN when n = 0.

    Examples
    --------
    >>> lo, hi = clopper_pearson(3, 5)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1466, 0.9473)
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    empty = n <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(x, np.where(empty, 1.0, n), alpha=1.0 - level,
                                    method="beta")
    lo = np.where(empty, np.nan, lo)
    hi = np.where(empty, np.nan, hi)
    return lo, hi


@renamed(changes="data")
def responders(
    data: pd.DataFrame,
    timepoint: str | None = None,
    threshold: float | Mapping[str, float] | None = None,
    measures: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of patients improved, stable or worsened by a meaningful change.

    For each measure, the patients with both a baseline and a ``timepoint``
    score (analysed rows with a change) are classed by their change from
    baseline: *improved* when the change reaches the threshold in the good
    direction (change >= threshold for scales where higher is better, change
    <= -threshold otherwise), *worsened* when it reaches the threshold in the
    bad direction, *stable* in between. Each share gets the exact
    Clopper-Pearson interval.

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``); needs the columns
        ``patient_id``, ``measure``, ``timepoint`` and ``change``.
    timepoint : str, optional
        Timepoint compared with baseline; default the last timepoint at which at
        least half of the patients have a change
        (:func:`~sma_outcomes._shared.last_common_timepoint`).
    threshold : float or dict, optional
        Clinically meaningful change (positive, in the scale's unit): one number
        for every measure, or a dict per measure. Default, and for measures not
        in the dict: the registry's threshold (``get_scale(m).threshold``: HFMSE
        3, RULM 2, CHOP INTEND 4, 6MWT 30 m, MFM-32 3). A measure with neither
        raises ``ValueError``.
    measures : str or sequence of str, optional
        Measures to analyse; default all measures in the data.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per measure x category, columns:

        - ``measure``, ``timepoint``;
        - ``category``: ``"improved"`` (the responders), ``"stable"``,
          ``"worsened"``;
        - ``definition``: the rule in words, e.g. ``"change >= 3"``;
        - ``threshold``: the threshold used; ``threshold_source``: where it
          comes from (the registry's citation, or ``"given"``);
        - ``higher_is_better``: direction of the scale (registry; assumed True
          for measures not in the registry);
        - ``n``: patients with both baseline and ``timepoint``;
        - ``count``: patients in the category;
        - ``estimate``: share, count / n (0..1);
        - ``ci_low``, ``ci_high``: exact Clopper-Pearson interval (0..1), equal
          to R's ``binom.test(count, n, conf.level = level)``;
        - ``note``: "" or why the row is empty.

    Notes
    -----
    A change counts as reaching the threshold when it is within 1e-9 (relative)
    of it, so that 10.333 - 7.333 reaches 3. Clopper-Pearson intervals are
    exact in the sense of guaranteed coverage (at least ``level``), and
    conservative (Clopper & Pearson 1934, Biometrika 26:404-413).

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats import responders
    >>> changes = pd.DataFrame({
    ...     "patient_id": [f"P{i}" for i in range(1, 6)],
    ...     "measure": "HFMSE", "timepoint": "Month 18",
    ...     "change": [1.0, 3.0, 4.0, -3.0, 9.0]})
    >>> r = responders(changes)
    >>> r[["category", "definition", "count", "estimate", "ci_low", "ci_high"]].round(4)
       category       definition  count  estimate  ci_low  ci_high
    0  improved      change >= 3      3       0.6  0.1466   0.9473
    1    stable  -3 < change < 3      1       0.2  0.0051   0.7164
    2  worsened     change <= -3      1       0.2  0.0051   0.7164
    """
    level = check_level(level)
    if timepoint is None:
        timepoint = last_common_timepoint(data, [measures] if isinstance(measures, str)
                                          else measures, func="responders")
    groups = changes_at(data, timepoint, measures, func="responders")
    rules = {m: _threshold_for(m, threshold) for m in groups}
    rows: list[dict] = []
    for measure, sub in groups.items():
        thr, source, higher = rules[measure]
        d = sub[schema.CHANGE].to_numpy(dtype=float)
        tol = 1e-9 * max(1.0, abs(thr))
        up = d >= thr - tol
        down = d <= -thr + tol
        improved, worsened = (up, down) if higher else (down, up)
        counts = {
            "improved": int(improved.sum()),
            "worsened": int(worsened.sum()),
            "stable": int((~improved & ~worsened).sum()),
        }
        n = len(d)
        t = plain_number(thr)
        good, bad = (f"change >= {t}", f"change <= -{t}")
        if not higher:
            good, bad = bad, good
        definition = {"improved": good, "stable": f"-{t} < change < {t}", "worsened": bad}
        note = "" if n else f"no patient has both a baseline and a {timepoint} score"
        for cat in _CATEGORIES:
            lo, hi = clopper_pearson(counts[cat], n, level)
            rows.append(
                {
                    "measure": measure,
                    "timepoint": timepoint,
                    "category": cat,
                    "definition": definition[cat],
                    "threshold": thr,
                    "threshold_source": source,
                    "higher_is_better": higher,
                    "n": n,
                    "count": counts[cat],
                    "estimate": counts[cat] / n if n else math.nan,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=list(RESPONDER_COLUMNS))


def _threshold_for(
    measure: str, threshold: float | Mapping[str, float] | None
) -> tuple[float, str, bool]:
    """Threshold, its source and the scale direction for one measure."""
    try:
        scale = get_scale(measure)
    except KeyError:
        scale = None
    higher = True if scale is None else scale.higher_is_better
    given = threshold.get(measure) if isinstance(threshold, Mapping) else threshold
    if given is not None:
        value, source = given, "given"
        if scale is None:
            source += " (measure not in the registry: higher is assumed better)"
    elif scale is not None and scale.threshold is not None:
        value, source = scale.threshold, scale.threshold_source or "scale registry"
    else:
        why = f" ({scale.threshold_source})" if scale is not None and scale.threshold_source else ""
        raise OptionError(
            f"no clinically meaningful threshold is registered for measure {measure!r}{why}; "
            f"pass one, e.g. responders(changes, threshold={{{measure!r}: 2.0}}) "
            "or threshold=2.0 for every measure"
        )
    what = " (the size of a meaningful change, direction taken from the scale)"
    return positive_number(value, "threshold", measure, what=what), source, higher


