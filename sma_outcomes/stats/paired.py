"""Baseline versus one timepoint: Wilcoxon signed-rank, paired t and sign test.

:func:`paired_test` reads the changes table and returns one row per measure x
test, stating the method, how zeros and ties were handled, the confidence level
actually achieved, and the smallest p-value the sample size allows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import schema
from .._shared import check_level, last_common_timepoint, renamed
from ._input import changes_at
from ._signrank import hodges_lehmann, sign_test, signrank_test

__all__ = ["paired_test", "PAIRED_COLUMNS"]

#: Columns of the table returned by :func:`paired_test`, in order.
PAIRED_COLUMNS: tuple[str, ...] = (
    "measure",
    "timepoint",
    "test",
    "estimand",
    "n",
    "n_positive",
    "n_zero",
    "n_negative",
    "estimate",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "conf_level",
    "statistic",
    "p_value",
    "min_p",
    "method",
    "note",
)


@renamed(changes="data")
def paired_test(
    data: pd.DataFrame,
    timepoint: str | None = None,
    measures: str | Sequence[str] | None = None,
    level: float = 0.95,
    *,
    zero_method: str = "wilcox",
    exact: bool | None = None,
) -> pd.DataFrame:
    """Compare each measure at ``timepoint`` with baseline in the same patients.

    Uses the analysed rows (``analysed == True`` when that column exists) at
    ``timepoint`` that have a change from baseline, i.e. the patients with both
    a baseline and a ``timepoint`` score. All tests are two-sided, of the null
    hypothesis of no change.

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``); needs the columns
        ``patient_id``, ``measure``, ``timepoint`` and ``change``.
    timepoint : str, optional
        Timepoint compared with baseline; default the last timepoint at which at
        least half of the patients have a change
        (:func:`~sma_outcomes._shared.last_common_timepoint`).
    measures : str or sequence of str, optional
        Measures to test; default all measures in the data.
    level : float
        Nominal confidence level of the intervals.
    zero_method : {"wilcox", "pratt"}
        Zero differences in the signed-rank test: dropped before ranking
        (``"wilcox"``, Wilcoxon 1945, as R) or ranked and then dropped
        (``"pratt"``, Pratt 1959). The sign test always drops them.
    exact : bool, optional
        Exact (conditional with ties) signed-rank distribution; default when
        at most 200 non-zero changes remain, else the normal approximation.

    Returns
    -------
    DataFrame
        One row per measure x test, columns:

        - ``measure``, ``timepoint``: what was compared with baseline.
        - ``test``: ``"wilcoxon"`` (signed-rank test with the Hodges-Lehmann
          estimate), ``"t"`` (paired t-test), ``"sign"`` (sign test).
        - ``estimand``: ``"pseudo-median change"`` (Hodges-Lehmann),
          ``"mean change"``, ``"median change"``.
        - ``n``: patients with both baseline and ``timepoint``;
          ``n_positive``, ``n_zero``, ``n_negative``: their changes by sign.
        - ``estimate``, ``ci_low``, ``ci_high``: the estimand and its interval.
        - ``se``, ``df``: standard error and degrees of freedom (t-test only,
          else NaN).
        - ``conf_level``: the confidence level achieved by the interval (the
          nominal ``level`` for the t-test; for the order-statistic intervals the
          exact level of the interval chosen, which with ties is a lower bound
          of the coverage, see Notes).
        - ``statistic``: V (sum of the ranks of positive changes, as R), t, or
          the number of positive changes (sign test).
        - ``p_value``: two-sided p-value.
        - ``min_p``: smallest two-sided p-value that this test can give with
          these patients (all changes of one sign; 0 for the t-test). Five
          patients cannot go below 0.0625 with the exact Wilcoxon or sign test.
        - ``method``: which distribution and which zero/tie handling was used.
        - ``note``: warnings in words ("" when none).

    Notes
    -----
    *Wilcoxon signed-rank test* (Hollander, Wolfe & Chicken 2014, section 3.1).
    V is the sum of the ranks of the absolute non-zero changes that are
    positive. Without ties and zeros the p-value comes from the exact null
    distribution of V and equals R's ``wilcox.test(paired = TRUE, exact =
    TRUE)`` (R's default is exact for n < 50 only). With ties (frequent with
    integer scores) the p-value comes from the exact conditional permutation
    distribution of V given the observed mid-ranks (all 2^n sign patterns
    equally likely), where R would switch to a normal approximation. Above 200
    non-zero changes (or with ``exact=False``): R's normal approximation with
    tie and continuity correction. Changes are rounded to 9 decimals before
    zero and tie checks.

    *Hodges-Lehmann estimate*: median of the n(n+1)/2 Walsh averages of all n
    changes (zeros included; R drops zeros first, which biases the estimate
    away from 0). The interval consists of Walsh averages number k and
    N - k + 1, with k the alpha/2 quantile of the exact signed-rank null
    distribution for n (at least 1). Without ties and zeros this is R's exact
    interval. Its level, 1 - 2 P(V <= k - 1), is exact for continuous data. With
    ties the closed interval covers at least that often for a symmetric
    distribution, so the reported ``conf_level`` is a lower bound. R instead
    inverts the normal approximation and silently reports a level it does not
    reach. With n <= 5 at 95% even [min, max] falls short: n = 5 gives
    93.75%, reported as such.

    *Paired t-test*: mean change, SE = SD / sqrt(n), df = n - 1, t-based
    interval (R's ``t.test(paired = TRUE)``). When all changes are equal, t is
    undefined and p is NaN.

    *Sign test*: exact binomial test of the numbers of positive and negative
    changes, zeros dropped (Dixon & Mood 1946; R's ``binom.test``). The median
    of all changes gets the order-statistic interval with k from
    Binomial(n, 1/2).

    References
    ----------
    Hollander M, Wolfe DA, Chicken E (2014). *Nonparametric Statistical
    Methods*, 3rd ed., Wiley, chapter 3. Pratt JW (1959). Remarks on zeros and
    ties in the Wilcoxon signed rank procedures. JASA 54:655-667.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats import paired_test
    >>> changes = pd.DataFrame({
    ...     "patient_id": [f"P{i}" for i in range(1, 6)],
    ...     "measure": "HFMSE", "timepoint": "Month 18",
    ...     "change": [1.0, 3.0, 4.0, 6.0, 9.0]})
    >>> res = paired_test(changes)
    >>> res[["test", "estimate", "conf_level", "p_value", "min_p"]].round(4)
           test  estimate  conf_level  p_value   min_p
    0  wilcoxon       4.5      0.9375   0.0625  0.0625
    1         t       4.6      0.9500   0.0280  0.0000
    2      sign       4.0      0.9375   0.0625  0.0625
    """
    level = check_level(level)
    if zero_method not in ("wilcox", "pratt"):
        raise ValueError(f"zero_method must be 'wilcox' or 'pratt', got {zero_method!r}")
    if timepoint is None:
        timepoint = last_common_timepoint(data, [measures] if isinstance(measures, str)
                                          else measures, func="paired_test")
    groups = changes_at(data, timepoint, measures, func="paired_test")
    rows: list[dict] = []
    for measure, sub in groups.items():
        d = sub[schema.CHANGE].to_numpy(dtype=float)
        rows.extend(_tests_one(measure, timepoint, d, level, zero_method, exact))
    out = pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))
    return out


def _tests_one(
    measure: str,
    timepoint: str,
    d: np.ndarray,
    level: float,
    zero_method: str,
    exact: bool | None,
) -> list[dict]:
    rounded = np.round(d, 9)
    n = len(d)
    base = {
        "measure": measure,
        "timepoint": timepoint,
        "n": n,
        "n_positive": int((rounded > 0).sum()),
        "n_zero": int((rounded == 0).sum()),
        "n_negative": int((rounded < 0).sum()),
    }
    nan = float("nan")
    empty = {"estimate": nan, "se": nan, "df": nan, "ci_low": nan, "ci_high": nan,
             "conf_level": nan, "statistic": nan, "p_value": nan, "min_p": nan}
    if n == 0:
        note = f"no patient has both a baseline and a {timepoint} score"
        return [
            {**base, **empty, "test": t, "estimand": e, "method": "", "note": note}
            for t, e in _TESTS
        ]
    small = "only one patient" if n == 1 else ""
    # Wilcoxon + Hodges-Lehmann
    sr = signrank_test(d, zero_method=zero_method, exact=exact)
    hl = hodges_lehmann(d, level=level)
    notes = [small] if small else []
    if sr.ties:
        notes.append("tied changes: exact conditional p-value" if sr.exact else "tied changes")
    if hl.conf_level < level - 1e-12:
        notes.append(
            f"{level:.0%} interval not attainable with n = {n}; widest interval has "
            f"{hl.conf_level:.2%}"
        )
    wil = {
        **base, **empty, "test": "wilcoxon", "estimand": "pseudo-median change",
        "estimate": hl.estimate, "ci_low": hl.ci_low, "ci_high": hl.ci_high,
        "conf_level": hl.conf_level, "statistic": sr.statistic, "p_value": sr.p_value,
        "min_p": sr.min_p,
        "method": f"Wilcoxon signed-rank, {sr.method}; Hodges-Lehmann {hl.method}",
        "note": "; ".join(notes),
    }
    # paired t
    t_row = {**base, **empty, "test": "t", "estimand": "mean change", "min_p": 0.0,
             "conf_level": level, "method": "paired t-test (one-sample t on the changes)"}
    mean = float(np.mean(d))
    t_row["estimate"] = mean
    if n >= 2:
        sd = float(np.std(d, ddof=1))
        se = sd / np.sqrt(n)
        q = stats.t.ppf(0.5 + level / 2.0, n - 1)
        t_row.update(se=se, df=float(n - 1), ci_low=mean - q * se, ci_high=mean + q * se)
        if se > 0:
            t = mean / se
            t_row.update(statistic=t, p_value=float(2.0 * stats.t.sf(abs(t), n - 1)))
            t_row["note"] = small
        else:
            t_row["note"] = "all changes are equal: t undefined"
    else:
        t_row["note"] = "t-test needs at least 2 patients"
    # sign test
    sg = sign_test(d, level=level)
    s_notes = [small] if small else []
    if sg.median.conf_level < level - 1e-12:
        s_notes.append(
            f"{level:.0%} interval not attainable with n = {n}; widest interval has "
            f"{sg.median.conf_level:.2%}"
        )
    sign = {
        **base, **empty, "test": "sign", "estimand": "median change",
        "estimate": sg.median.estimate, "ci_low": sg.median.ci_low,
        "ci_high": sg.median.ci_high, "conf_level": sg.median.conf_level,
        "statistic": sg.statistic, "p_value": sg.p_value, "min_p": sg.min_p,
        "method": (
            f"exact binomial sign test, {base['n_zero']} zero change(s) dropped; "
            f"{sg.median.method}"
        ),
        "note": "; ".join(s_notes),
    }
    return [wil, t_row, sign]


_TESTS = (
    ("wilcoxon", "pseudo-median change"),
    ("t", "mean change"),
    ("sign", "median change"),
)
