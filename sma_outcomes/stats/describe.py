"""Descriptive statistics of scores and changes per measure x timepoint."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._shared import check_level, renamed, require_columns
from ._input import analysed_rows

__all__ = ["summarize", "SUMMARY_COLUMNS"]

#: Statistic columns of :func:`summarize` (after the ``by`` columns and ``variable``).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "n",
    "n_missing",
    "mean",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "median",
    "q1",
    "q3",
    "min",
    "max",
)


@renamed(changes="data")
def summarize(
    data: pd.DataFrame,
    by: str | Sequence[str] = ("measure", "timepoint"),
    level: float = 0.95,
    *,
    variables: Sequence[str] = ("score", "change"),
) -> pd.DataFrame:
    """Mean, SD, t-based CI, median and quartiles per group, for scores and changes.

    Uses the analysed rows (``analysed == True`` when that column exists) and
    leaves out rows whose ``by`` values are missing (unscheduled visits have
    no timepoint).

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``); any long table with
        the ``by`` columns and the ``variables`` works.
    by : str or sequence of str
        Grouping columns, default measure x timepoint.
    level : float
        Confidence level of the interval of the mean.
    variables : sequence of str
        Numeric columns to describe, default ``("score", "change")``
        (``"pct_change"`` may be added).

    Returns
    -------
    DataFrame
        Long form: one row per group x variable, in the order of the groups
        (categorical order for categorical columns such as ``timepoint``,
        sorted otherwise) and of ``variables``. Columns:

        - the ``by`` columns;
        - ``variable``: which column is described (``"score"``, ``"change"``, ...);
        - ``n``: non-missing values; ``n_missing``: analysed rows of the group
          where the value is missing;
        - ``mean``, ``sd`` (n - 1 denominator), ``se`` = sd / sqrt(n);
        - ``ci_low``, ``ci_high``: mean -/+ t(1 - alpha/2, n - 1) x se (NaN
          when n < 2);
        - ``median``, ``q1``, ``q3``: 50%, 25% and 75% quantiles by linear
          interpolation between order statistics, the definition of R's
          ``quantile(type = 7)`` and numpy's default: for sorted values
          x_1..x_n, Q(p) = x_h + (h - floor(h)) (x_{h+1} - x_h) with
          h = 1 + (n - 1) p (1-based, floor taken);
        - ``min``, ``max``.

    Notes
    -----
    The interval of the mean is the one-sample t interval (Student 1908);
    with small groups it relies on approximate normality, which the median and
    quartiles do not need. At baseline the change is 0 by construction.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats import summarize
    >>> changes = pd.DataFrame({
    ...     "measure": "HFMSE", "timepoint": "Month 18",
    ...     "score": [20.0, 22.0, 23.0, 27.0, 33.0],
    ...     "change": [1.0, 3.0, 4.0, 6.0, 9.0]})
    >>> s = summarize(changes)
    >>> s[["variable", "n", "mean", "median", "q1", "q3"]]
      variable  n  mean  median    q1    q3
    0    score  5  25.0    23.0  22.0  27.0
    1   change  5   4.6     4.0   3.0   6.0
    """
    level = check_level(level)
    by = [by] if isinstance(by, str) else list(by)
    if not by:
        raise ValueError("by must name at least one column, e.g. by=('measure', 'timepoint')")
    variables = list(variables)
    if not variables or len(set(variables)) != len(variables):
        raise ValueError(f"variables must be distinct column names, got {variables}")
    clash = set(by) & ({"variable", *SUMMARY_COLUMNS} | set(variables))
    if clash:
        raise ValueError(f"by columns {sorted(clash)} clash with variables or output columns")
    require_columns(data, [*by, *variables], func="summarize")
    rows = analysed_rows(data)
    rows = rows.loc[rows[by].notna().all(axis=1).to_numpy(), [*by, *variables]]
    long = rows.melt(id_vars=by, value_vars=variables, var_name="variable")
    long["variable"] = pd.Categorical(long["variable"], categories=variables, ordered=True)
    long["value"] = pd.to_numeric(long["value"], errors="raise").astype(float)
    grouped = long.groupby([*by, "variable"], observed=True, sort=True)["value"]
    out = grouped.agg(
        n="count",
        size="size",
        mean="mean",
        sd=lambda v: v.std(ddof=1),
        median="median",
        q1=lambda v: v.quantile(0.25),
        q3=lambda v: v.quantile(0.75),
        min="min",
        max="max",
    ).reset_index()
    out["n_missing"] = out.pop("size") - out["n"]
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = out["sd"].to_numpy() / np.sqrt(n)
        q = stats.t.ppf(0.5 + level / 2.0, np.where(n >= 2, n - 1, np.nan))
    out["se"] = se
    out["ci_low"] = out["mean"] - q * se
    out["ci_high"] = out["mean"] + q * se
    out["variable"] = out["variable"].astype(str)
    out["n"] = out["n"].astype(int)
    out["n_missing"] = out["n_missing"].astype(int)
    return out[[*by, "variable", *SUMMARY_COLUMNS]].reset_index(drop=True)

