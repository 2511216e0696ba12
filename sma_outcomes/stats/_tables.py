"""Shared construction of estimate tables with the package's column names.

Every statistics table that reports an estimate uses the columns
``term, estimate, se, df, t, p_value, ci_low, ci_high`` (``t`` and ``term`` where
they apply), so results from different functions stack with ``pd.concat``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

T_TABLE_COLUMNS = ("term", "estimate", "se", "df", "t", "p_value", "ci_low", "ci_high")


def t_table(
    terms: Sequence[str],
    estimate: np.ndarray,
    se: np.ndarray,
    df: np.ndarray | float,
    *,
    level: float = 0.95,
    null: float = 0.0,
) -> pd.DataFrame:
    """Wald t table: t statistic, two-sided p-value and t-based confidence interval.

    Parameters
    ----------
    terms : sequence of str
        Row labels (the ``term`` column).
    estimate, se : array_like
        Estimates and their standard errors.
    df : array_like or float
        Degrees of freedom (``inf`` gives the normal distribution).
    level : float
        Confidence level of ``ci_low`` and ``ci_high``.
    null : float
        Value under the null hypothesis.

    Examples
    --------
    >>> t_table(["slope"], [1.0], [0.5], 10.0).round(4).iloc[0].to_dict()["p_value"]
    0.0734
    """
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    df_arr = np.broadcast_to(np.asarray(df, dtype=float), estimate.shape).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (estimate - null) / se
    p = 2.0 * stats.t.sf(np.abs(t), df_arr)
    q = stats.t.ppf(0.5 + level / 2.0, df_arr)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": estimate,
            "se": se,
            "df": df_arr,
            "t": t,
            "p_value": p,
            "ci_low": estimate - q * se,
            "ci_high": estimate + q * se,
        }
    )
