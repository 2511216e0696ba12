"""Exact one-sample (paired) rank and sign procedures.

Building blocks of :func:`sma_outcomes.stats.paired_test`:

- :func:`signrank_test`: Wilcoxon signed-rank test. Exact null distribution of
  V (sum of the ranks of the positive differences) when there are no ties and no
  zeros, exactly as R's ``psignrank``; with tied absolute differences the exact
  *conditional* permutation distribution of V over the 2^n sign patterns of the
  observed mid-ranks; a normal approximation (identical to R's, with tie and
  continuity corrections) only for large n.
- :func:`hodges_lehmann`: pseudo-median (median of the Walsh averages) and the
  distribution-free confidence interval of Walsh-average order statistics.
- :func:`sign_test`: exact binomial sign test, median and its order-statistic
  interval.

References
----------
Hollander M, Wolfe DA, Chicken E (2014). *Nonparametric Statistical Methods*,
3rd ed., Wiley, chapter 3 (signed-rank test, Hodges-Lehmann estimator and its
interval, sign test). Pratt JW (1959), JASA 54:655-667 (zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

__all__ = [
    "EXACT_MAX_N",
    "TIE_DECIMALS",
    "signrank_pmf",
    "conditional_pmf",
    "signrank_test",
    "hodges_lehmann",
    "sign_test",
    "walsh_order_statistic",
    "SignRankResult",
    "IntervalResult",
]

#: Default: exact (conditional with ties) distributions up to this many non-zero
#: differences (R: n < 50 and only without ties or zeros).
EXACT_MAX_N = 200
#: Differences are rounded to this many decimals before ranking, zero and tie checks,
#: so that floating-point noise (10.333 - 7.333) does not break or create ties.
TIE_DECIMALS = 9
# Walsh averages are materialised up to this n; above, order statistics by selection.
_WALSH_MATERIALISE_N = 2000
# Exact signed-rank distribution for confidence intervals up to this n.
_PMF_MAX_N = 500


def _count_pmf(int_ranks: np.ndarray) -> np.ndarray:
    """Distribution of the sum of a random subset of ``int_ranks`` (each in with prob. 1/2).

    Subset counts are accumulated in float64 (exact while below 2^53, i.e. for
    n <= 52); for larger n the counts are rescaled by 2^-40 every 40 steps,
    which changes no ratio, and the result is divided by 2^n at the end.
    """
    int_ranks = np.asarray(int_ranks, dtype=np.int64)
    total = int(int_ranks.sum())
    dist = np.zeros(total + 1)
    dist[0] = 1.0
    top = 0
    scaled = 0
    for step, r in enumerate(int_ranks, start=1):
        r = int(r)
        dist[r : top + r + 1] += dist[: top + 1].copy()
        top += r
        if step % 40 == 0 and len(int_ranks) > 52:
            dist[: top + 1] *= 2.0**-40
            scaled += 40
    dist /= 2.0 ** (len(int_ranks) - scaled)
    return dist


@lru_cache(maxsize=64)
def _signrank_pmf_cached(n: int) -> np.ndarray:
    pmf = _count_pmf(np.arange(1, n + 1))
    pmf.setflags(write=False)
    return pmf


def signrank_pmf(n: int) -> np.ndarray:
    """Exact null distribution of V for ``n`` untied non-zero differences.

    Element ``v`` is P(V = v), v = 0 .. n(n+1)/2 (R's ``dsignrank``).

    Examples
    --------
    >>> signrank_pmf(3) * 8
    array([1., 1., 1., 2., 1., 1., 1.])
    """
    return _signrank_pmf_cached(int(n))


def conditional_pmf(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact permutation distribution of the sum of positive (mid-)ranks.

    Every one of the 2^n sign patterns of the given ranks is equally likely
    under the null hypothesis. Mid-ranks are multiples of 1/2, so the sum is
    computed on doubled ranks.

    Returns
    -------
    values : ndarray
        Possible values of V (doubled integer grid divided by 2).
    pmf : ndarray
        Their probabilities.

    Examples
    --------
    >>> v, p = conditional_pmf(np.array([1.5, 1.5, 3.0]))
    >>> [(float(a), float(b)) for a, b in zip(v, p) if b > 0]
    [(0.0, 0.125), (1.5, 0.25), (3.0, 0.25), (4.5, 0.25), (6.0, 0.125)]
    """
    doubled = np.rint(np.asarray(ranks, dtype=float) * 2.0).astype(np.int64)
    pmf = _count_pmf(doubled)
    return np.arange(len(pmf)) / 2.0, pmf


@dataclass(frozen=True)
class SignRankResult:
    """Result of :func:`signrank_test`."""

    statistic: float
    p_value: float
    min_p: float
    n_used: int
    n_zero: int
    ties: bool
    exact: bool
    method: str


def _prepare(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    return np.round(d, TIE_DECIMALS)


def signrank_test(
    d: np.ndarray,
    *,
    zero_method: str = "wilcox",
    exact: bool | None = None,
    correct: bool = True,
) -> SignRankResult:
    """Two-sided Wilcoxon signed-rank test of the differences ``d`` against 0.

    Parameters
    ----------
    d : array_like
        Paired differences (non-finite values are dropped).
    zero_method : {"wilcox", "pratt"}
        ``"wilcox"``: drop zero differences, then rank (Wilcoxon 1945; R's
        choice). ``"pratt"``: rank all absolute differences including the zeros,
        then drop the zeros (Pratt 1959).
    exact : bool or None
        Exact (conditional when tied) distribution. None: exact when at most
        :data:`EXACT_MAX_N` (200) non-zero differences remain; else the normal
        approximation of R (which R uses from n = 50, and at any n with ties).
    correct : bool
        Continuity correction of the normal approximation (as R).

    Returns
    -------
    SignRankResult
        ``statistic`` is V, the sum of the (mid-)ranks of positive differences.

    Examples
    --------
    >>> r = signrank_test([1.5, 2.0, -0.5, 3.1, 4.2])
    >>> float(r.statistic), float(r.p_value), r.exact
    (14.0, 0.125, True)
    """
    if zero_method not in ("wilcox", "pratt"):
        raise ValueError(f"zero_method must be 'wilcox' or 'pratt', got {zero_method!r}")
    x = _prepare(d)
    zero = x == 0
    n_zero = int(zero.sum())
    if zero_method == "wilcox":
        x = x[~zero]
        ranks = stats.rankdata(np.abs(x))
    else:
        ranks = stats.rankdata(np.abs(x))[~zero]
        x = x[~zero]
    n = len(x)
    ties = len(np.unique(np.abs(x))) < n
    v = float(ranks[x > 0].sum())
    if exact is None:
        exact = n <= EXACT_MAX_N
    zeros_txt = {
        "wilcox": f"{n_zero} zero difference(s) dropped before ranking (Wilcoxon)",
        "pratt": f"{n_zero} zero difference(s) ranked, then dropped (Pratt)",
    }[zero_method]
    if n == 0:
        return SignRankResult(v, 1.0, 1.0, 0, n_zero, False, True, "no non-zero difference")
    if exact:
        if not ties and zero_method == "wilcox":
            values, pmf = np.arange(n * (n + 1) // 2 + 1, dtype=float), signrank_pmf(n)
            method = "exact null distribution of V (no ties)"
        else:
            values, pmf = conditional_pmf(ranks)
            what = "mid-ranks" if ties else "ranks"
            method = f"exact conditional permutation distribution of V over the observed {what}"
        mean = ranks.sum() / 2.0
        cdf = np.cumsum(pmf)
        sf = np.cumsum(pmf[::-1])[::-1]
        idx = int(np.searchsorted(values, v - 0.25))  # grid step 1 or 1/2
        one = sf[idx] if v > mean else cdf[idx]
        p = min(1.0, 2.0 * one)
        # smallest attainable p: all differences of one sign
        min_p = min(1.0, 2.0 * min(pmf[0], pmf[-1]))
    else:
        mean = ranks.sum() / 2.0
        sigma = np.sqrt(np.sum(ranks**2) / 4.0)
        corr = 0.5 if correct else 0.0
        z = v - mean
        z = (z - np.sign(z) * corr) / sigma if sigma > 0 else np.nan
        p = float(min(1.0, 2.0 * stats.norm.sf(abs(z)))) if np.isfinite(z) else np.nan
        zmax = (ranks.sum() - mean - corr) / sigma if sigma > 0 else np.nan
        min_p = float(min(1.0, 2.0 * stats.norm.sf(zmax)))
        method = "normal approximation" + (" with tie correction" if ties else "") + (
            " and continuity correction" if correct else ""
        )
    return SignRankResult(v, float(p), float(min_p), n, n_zero, bool(ties), bool(exact),
                          f"{method}; {zeros_txt}")


@dataclass(frozen=True)
class IntervalResult:
    """Point estimate with an order-statistic confidence interval."""

    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float
    k: int
    method: str


def walsh_order_statistic(x: np.ndarray, k: int) -> float:
    """The k-th smallest (1-based) Walsh average (x_i + x_j) / 2, i <= j.

    For large samples the n(n+1)/2 averages are not stored: the value is found
    by bisection on the count of averages below a value (O(n log n) per step),
    exact up to a few ulp of floating-point rounding of x_i + x_j.

    Examples
    --------
    >>> walsh_order_statistic(np.array([1.0, 2.0, 4.0]), 2)
    1.5
    """
    xs = np.sort(np.asarray(x, dtype=float))
    n = len(xs)
    if n <= _WALSH_MATERIALISE_N:
        i, j = np.triu_indices(n)
        w = (xs[i] + xs[j]) / 2.0
        return float(np.partition(w, k - 1)[k - 1])
    idx = np.arange(n)

    def count_le(c: float) -> int:
        # pairs i <= j with xs[i] + xs[j] <= 2c
        j_hi = np.searchsorted(xs, 2.0 * c - xs, side="right")  # j < j_hi
        return int(np.clip(j_hi - idx, 0, None).sum())

    lo, hi = float(xs[0]), float(xs[-1])
    if count_le(lo) >= k:
        return lo
    for _ in range(200):
        mid = lo + (hi - lo) / 2.0
        if mid in (lo, hi):
            break
        if count_le(mid) >= k:
            hi = mid
        else:
            lo = mid
    # smallest Walsh average above lo
    j = np.searchsorted(xs, 2.0 * lo - xs, side="right")
    j = np.maximum(j, idx)
    ok = j < n
    return float(np.min((xs[ok] + xs[j[ok]]) / 2.0))


def _k_from_pmf(pmf: np.ndarray, alpha: float) -> tuple[int, float]:
    """R's rule: k = q(alpha/2) (smallest q with cdf >= alpha/2), at least 1.

    Returns k and the achieved two-sided coverage 1 - 2 P(T <= k - 1).
    """
    cdf = np.cumsum(pmf)
    k = int(np.searchsorted(cdf, alpha / 2.0 * (1 - 1e-12), side="left"))
    k = max(k, 1)
    return k, float(1.0 - 2.0 * cdf[k - 1])


def hodges_lehmann(d: np.ndarray, *, level: float = 0.95) -> IntervalResult:
    """Hodges-Lehmann pseudo-median and its distribution-free confidence interval.

    The estimate is the median of the n(n+1)/2 Walsh averages of all n
    differences (zeros included). The interval is [W_(k), W_(N-k+1)], N =
    n(n+1)/2, with k = the alpha/2 quantile of the exact signed-rank distribution
    for n (at least 1), the choice of R's ``wilcox.test(conf.int = TRUE)`` in its
    exact branch. ``conf_level`` is the level achieved, 1 - 2 P(V <= k - 1): for
    continuous data the exact coverage; with ties (integer scores) the closed
    interval covers at least that often under symmetry (Hollander, Wolfe &
    Chicken 2014, section 3.3). It can be below the nominal level when even
    [min, max] falls short (n <= 5 at 95%).

    Examples
    --------
    >>> r = hodges_lehmann(np.array([1.0, 2.0, 4.0, 7.0, 11.0]))
    >>> r.estimate, r.ci_low, r.ci_high, r.conf_level
    (4.5, 1.0, 11.0, 0.9375)
    """
    x = np.asarray(d, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return IntervalResult(np.nan, np.nan, np.nan, np.nan, 0, "no differences")
    big_n = n * (n + 1) // 2
    alpha = 1.0 - level
    if n <= _PMF_MAX_N:
        k, achieved = _k_from_pmf(signrank_pmf(n), alpha)
        how = "k from the exact signed-rank distribution"
    else:
        sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
        k = max(1, int(np.floor(big_n / 2.0 + stats.norm.ppf(alpha / 2.0) * sigma + 0.5)))
        achieved = float(1.0 - 2.0 * stats.norm.cdf((k - 0.5 - big_n / 2.0) / sigma))
        how = "k from the normal approximation to the signed-rank distribution (n > 500)"
    if big_n % 2:
        est = walsh_order_statistic(x, big_n // 2 + 1)
    else:
        est = 0.5 * (walsh_order_statistic(x, big_n // 2) + walsh_order_statistic(x, big_n // 2 + 1))
    lo = walsh_order_statistic(x, k)
    hi = walsh_order_statistic(x, big_n - k + 1)
    method = (
        f"median of the {big_n} Walsh averages; CI = Walsh averages number {k} and "
        f"{big_n - k + 1} ({how})"
    )
    return IntervalResult(float(est), lo, hi, achieved, k, method)


@dataclass(frozen=True)
class SignTestResult:
    """Result of :func:`sign_test`."""

    statistic: float
    p_value: float
    min_p: float
    n_used: int
    median: IntervalResult


def sign_test(d: np.ndarray, *, level: float = 0.95) -> SignTestResult:
    """Exact two-sided sign test (zeros dropped) and the median with its interval.

    The p-value is that of R's ``binom.test(n_pos, n_pos + n_neg)``; the
    statistic is the number of positive differences. The median of all
    differences (zeros included) gets the order-statistic interval
    [d_(k), d_(n-k+1)], k = the alpha/2 quantile of Binomial(n, 1/2) (at least
    1), achieved level 1 - 2 P(B <= k - 1), conservative with ties.

    Examples
    --------
    >>> r = sign_test(np.array([1.0, 2.0, 0.0, 3.0, -1.0, 4.0]))
    >>> r.statistic, r.p_value, r.min_p
    (4.0, 0.375, 0.0625)
    """
    x = _prepare(d)
    n_pos, n_neg = int((x > 0).sum()), int((x < 0).sum())
    m = n_pos + n_neg
    p = float(min(1.0, 2.0 * stats.binom.cdf(min(n_pos, n_neg), m, 0.5))) if m else 1.0
    min_p = float(min(1.0, 2.0 * 0.5**m))
    xs = np.sort(np.asarray(d, dtype=float)[np.isfinite(np.asarray(d, dtype=float))])
    n = len(xs)
    if n == 0:
        med = IntervalResult(np.nan, np.nan, np.nan, np.nan, 0, "no differences")
    else:
        k, achieved = _k_from_pmf(stats.binom.pmf(np.arange(n + 1), n, 0.5), 1.0 - level)
        med = IntervalResult(
            float(np.median(xs)), float(xs[k - 1]), float(xs[n - k]), achieved, k,
            f"median of the {n} differences; CI = order statistics number {k} and {n - k + 1} "
            "(k from Binomial(n, 1/2))",
        )
    return SignTestResult(float(n_pos), p, min_p, m, med)
