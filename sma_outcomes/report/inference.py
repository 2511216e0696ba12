"""Report sections for inference: paired tests, responders, LMM and MMRM.

Every model is fitted with warnings captured; what they say is written into
the report in plain words, never printed.

Examples
--------
>>> choose_mmrm_structure(n_patients=5, n_visits=5)[0]
'cs'
>>> choose_mmrm_structure(n_patients=80, n_visits=7)[0]
'us'
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from .. import schema as S
from .._shared import signed
from ..registry import get_scale, plain_name
from ..stats import fit_lmm, fit_mmrm, paired_test, responders
from ..stats.responder_rates import clopper_pearson
from .content import Section, slug

__all__ = ["add_key_results", "add_paired", "paired_tests", "format_p", "add_responders",
           "add_lmm", "add_mmrm", "choose_mmrm_structure", "captured", "small_sample_caveat", "with_any_improvement",
           "SMALL_SAMPLE"]

#: Covariance structures tried for the MMRM, simplest last, with their parameter counts.
STRUCTURES: tuple[tuple[str, str, Callable[[int], int]], ...] = (
    ("us", "unstructured", lambda t: t * (t + 1) // 2),
    ("toeph", "heterogeneous Toeplitz", lambda t: 2 * t - 1),
    ("ar1h", "heterogeneous first-order autoregressive", lambda t: t + 1),
    ("csh", "heterogeneous compound symmetry", lambda t: t + 1),
    ("cs", "compound symmetry", lambda t: 2),
)

#: Fewest post-baseline timepoints for an MMRM.
MMRM_MIN_VISITS = 3

#: Below this many patients a model's p-values and CIs carry a small-sample caveat.
SMALL_SAMPLE = 10


def small_sample_caveat(n: int, what: str = "model") -> str:
    """The caveat stated next to a model p-value from fewer than :data:`SMALL_SAMPLE` patients.

    Examples
    --------
    >>> small_sample_caveat(12)
    ''
    >>> small_sample_caveat(5)[:60]
    'Small sample: with 5 patients the model p-values and 95% CIs'
    """
    if n >= SMALL_SAMPLE:
        return ""
    return (f"Small sample: with {n} patients the {what} p-values and 95% CIs rest on "
            "approximations (Satterthwaite degrees of freedom, normal random effects) that "
            f"need more patients than that (about {SMALL_SAMPLE} or more); read them as "
            "descriptive, as with the Wilcoxon test's smallest attainable p-value.")


def captured(func: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, list[str]]:
    """Call ``func`` and return its result and the distinct warning messages it raised.

    Examples
    --------
    >>> import warnings
    >>> def noisy():
    ...     warnings.warn("careful")
    ...     return 1
    >>> captured(noisy)
    (1, ['careful'])
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(*args, **kw)
    msgs: list[str] = []
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, FutureWarning, PendingDeprecationWarning)):
            continue
        text = str(w.message)
        if text not in msgs:
            msgs.append(text)
    return out, msgs


def choose_mmrm_structure(n_patients: int, n_visits: int) -> tuple[str, str, int]:
    """The richest covariance structure that the patients can support.

    Rule: the first of unstructured, heterogeneous Toeplitz, heterogeneous
    AR(1), heterogeneous compound symmetry and compound symmetry whose number
    of covariance parameters is smaller than the number of patients with
    post-baseline values (each patient contributes one independent residual
    vector to estimating the visit x visit covariance).

    Returns
    -------
    tuple
        (code, name, number of parameters); code ``""`` when even compound
        symmetry is not supported.

    Examples
    --------
    >>> choose_mmrm_structure(n_patients=9, n_visits=4)
    ('toeph', 'heterogeneous Toeplitz', 7)
    """
    for code, name, count in STRUCTURES:
        k = count(n_visits)
        if k < n_patients:
            return code, name, k
    return "", "", 0


def format_p(p: float) -> str:
    """A p-value as the report's sentences give it.

    Examples
    --------
    >>> format_p(0.0625), format_p(0.00001)
    ('p = 0.0625', 'p < 0.0001')
    """
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.4f}"


def paired_tests(changes: pd.DataFrame, measures: list[str],
                 timepoint: str) -> tuple[pd.DataFrame, list[str]]:
    """The paired tests of every measure at ``timepoint`` and their warnings, computed once
    for the key results and the tests section.

    Examples
    --------
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> tab, msgs = paired_tests(prep.changes, ["HFMSE"], "Month 18")
    >>> tab["test"].tolist()
    ['wilcoxon', 't', 'sign']
    """
    return captured(paired_test, changes, timepoint=timepoint, measures=measures)


def add_key_results(
    sec: Section, changes: pd.DataFrame, measures: list[str], timepoint: str,
    tests: tuple[pd.DataFrame, list[str]] | None = None,
) -> None:
    """One plain-language sentence per measure: the change from baseline to ``timepoint``.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Key results")
    >>> add_key_results(sec, prep.changes, ["HFMSE"], "Month 18")
    >>> print(sec.items[0].body)  # doctest: +NORMALIZE_WHITESPACE
    HFMSE total: 5 of 5 patients improved from baseline to Month 18 (0 unchanged, 0
    declined); mean change +6.40 points (95% CI 3.05 to 9.75), median +6 (range +3 to
    +10); 5 of 5 reached the clinically meaningful change of 3 points. Wilcoxon
    signed-rank p = 0.0625, the smallest p-value 5 patients allow.
    """

    tab, _ = tests if tests is not None else paired_tests(changes, measures, timepoint)
    for m in measures:
        sc = get_scale(m)
        t = tab[(tab["measure"] == m) & (tab["test"] == "t")]
        w = tab[(tab["measure"] == m) & (tab["test"] == "wilcoxon")]
        if not len(t) or t.iloc[0]["n"] == 0:
            sec.text(f"{sc.name}: no patient has both a baseline and a {timepoint} score.")
            continue
        t, w = t.iloc[0], w.iloc[0]
        at = changes[(changes[S.MEASURE] == m) & (changes[S.TIMEPOINT] == timepoint)
                     & changes[S.CHANGE].notna()]
        if S.ANALYSED in at.columns:
            at = at[at[S.ANALYSED].astype(bool)]
        ch = at[S.CHANGE]
        n = int(t["n"])
        text = (
            f"{sc.name}: {int(t['n_positive'])} of {n} patients improved from baseline to "
            f"{timepoint} ({int(t['n_zero'])} unchanged, {int(t['n_negative'])} declined); "
            f"mean change {signed(t['estimate'], digits=2)} {sc.unit}"
        )
        if pd.notna(t["ci_low"]):
            text += f" (95% CI {t['ci_low']:.2f} to {t['ci_high']:.2f})"
        text += (f", median {signed(ch.median(), digits=0 if ch.median() == round(ch.median()) else 1)}"
                 f" (range {signed(ch.min())} to {signed(ch.max())})")
        if sc.threshold is not None:
            k = int((ch >= sc.threshold).sum()) if sc.higher_is_better else int(
                (ch <= -sc.threshold).sum())
            text += (f"; {k} of {n} reached the clinically meaningful change of "
                     f"{sc.threshold:g} {sc.unit}")
        text += f". Wilcoxon signed-rank {format_p(w['p_value'])}"
        if w["min_p"] < 0.001:  # the floor only matters in small samples
            text += "."
        elif w["p_value"] <= w["min_p"] * (1 + 1e-9):
            text += f", the smallest p-value {n} patients allow."
        else:
            text += f" (the smallest attainable with {n} patients is {w['min_p']:.4g})."
        sec.note(text)


def add_paired(sec: Section, changes: pd.DataFrame, measures: list[str], timepoint: str,
               tests: tuple[pd.DataFrame, list[str]] | None = None) -> None:
    """Paired tests of baseline versus ``timepoint`` with the smallest attainable p.

    ``tests`` are :func:`paired_tests` already computed (by default computed here).

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Tests")
    >>> add_paired(sec, prep.changes, ["HFMSE"], "Month 18")
    >>> sec.items[0].frame["p_value"].round(4).tolist()
    [0.0625, 0.0061, 0.0625]
    """

    tab, msgs = tests if tests is not None else paired_tests(changes, measures, timepoint)
    if not len(tab):
        sec.text(f"No patient has both a baseline and a {timepoint} score; no paired test.")
        return
    show = tab[["measure", "test", "n", "estimand", "estimate", "ci_low", "ci_high",
                "conf_level", "p_value", "min_p", "method", "note"]].copy()
    show["min_p"] = show["min_p"].where(show["min_p"] > 0)  # t-test: no floor
    sec.table("paired_tests", tab, display=show,
              title=f"Baseline versus {timepoint}: paired tests.",
              digits={"estimate": 2, "ci_low": 2, "ci_high": 2, "conf_level": 4})
    for m in measures:
        label = plain_name(m)
        w = tab[(tab["measure"] == m) & (tab["test"] == "wilcoxon")]
        t = tab[(tab["measure"] == m) & (tab["test"] == "t")]
        if not len(w):
            continue
        w, t = w.iloc[0], t.iloc[0] if len(t) else None
        unit = get_scale(m).unit
        text = (
            f"{label}: {int(w['n'])} patients have both scores; {int(w['n_positive'])} improved, "
            f"{int(w['n_zero'])} did not change and {int(w['n_negative'])} declined. "
            f"The Wilcoxon signed-rank test gives {format_p(w['p_value'])}; with {int(w['n'])} "
            f"patients no result of this test can go below {w['min_p']:.4g}"
        )
        text += (", so it cannot reach 0.05 whatever the data." if w["min_p"] > 0.05 else ".")
        if t is not None and pd.notna(t["estimate"]):
            text += (
                f" The mean change is {t['estimate']:.2f} {unit} (95% CI {t['ci_low']:.2f} to "
                f"{t['ci_high']:.2f}; paired t-test {format_p(t['p_value'])}, which assumes "
                "roughly normal changes)."
            )
        sec.note(text)
    for m in msgs:
        sec.text(m, "warn")


def add_responders(
    sec: Section, changes: pd.DataFrame, measures: list[str], timepoint: str
) -> None:
    """Responder rates for measures with a registered threshold.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Responders")
    >>> add_responders(sec, prep.changes, ["HFMSE"], "Month 18")
    >>> sec.items[0].frame["count"].tolist()
    [5, 5, 0, 0]
    """

    with_t = [m for m in measures if get_scale(m).threshold is not None]
    without = [m for m in measures if m not in with_t]
    if without:
        sec.text(
            "No clinically meaningful change is established for "
            f"{'; '.join(plain_name(w) for w in without)} in the "
            "scale registry, so no responder rate is given for "
            f"{'it' if len(without) == 1 else 'them'}.", "note")
    if not with_t:
        return
    tab, msgs = captured(responders, changes, timepoint=timepoint, measures=with_t)
    tab = with_any_improvement(tab, changes, timepoint)
    show = tab[["measure", "category", "definition", "n", "count", "estimate", "ci_low",
                "ci_high", "threshold_source"]]
    sec.table("responders", tab, display=show,
              title=f"Responders at {timepoint} (exact Clopper-Pearson 95% CI, as proportions).",
              digits={"estimate": 2, "ci_low": 2, "ci_high": 2})
    for m in with_t:
        label = plain_name(m)
        r = tab[(tab["measure"] == m) & (tab["category"] == "improved")]
        if len(r) and r.iloc[0]["n"] > 0:
            r = r.iloc[0]
            sec.note(
                f"{label}: {int(r['count'])} of {int(r['n'])} patients "
                f"({100 * r['estimate']:.0f}%) "
                f"improved by at least {r['threshold']:g} {get_scale(m).unit} "
                f"(95% CI {100 * r['ci_low']:.0f}% to {100 * r['ci_high']:.0f}%)."
            )
    for m in msgs:
        sec.text(m, "warn")


def with_any_improvement(tab: pd.DataFrame, changes: pd.DataFrame,
                         timepoint: str) -> pd.DataFrame:
    """Responder rows in the order a reader needs: the clinically meaningful change
    first, then "any improvement" (change > 0, or < 0 where lower is better), then
    stable and worsened.

    Examples
    --------
    >>> from sma_outcomes.report.prepare import prepare
    >>> from sma_outcomes.stats import responders
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> t = responders(prep.changes, timepoint="Month 18", measures=["HFMSE"])
    >>> with_any_improvement(t, prep.changes, "Month 18")[["category", "count"]].values.tolist()
    [['improved', 5], ['any improvement', 5], ['stable', 0], ['worsened', 0]]
    """
    rows = []
    for m, g in tab.groupby("measure", sort=False):
        rows.append(g[g["category"] == "improved"])
        at = changes[(changes[S.MEASURE] == m) & (changes[S.TIMEPOINT] == timepoint)
                     & changes[S.CHANGE].notna()]
        if S.ANALYSED in at.columns:
            at = at[at[S.ANALYSED].astype(bool)]
        sc = get_scale(str(m))
        better = at[S.CHANGE] > 0 if sc.higher_is_better else at[S.CHANGE] < 0
        n, k = len(at), int(better.sum())
        lo, hi = clopper_pearson(k, n)
        any_row = g[g["category"] == "improved"].copy()
        if len(any_row):
            any_row["category"] = "any improvement"
            any_row["definition"] = "change > 0" if sc.higher_is_better else "change < 0"
            any_row["n"], any_row["count"] = n, k
            any_row["estimate"] = k / n if n else float("nan")
            any_row["ci_low"], any_row["ci_high"] = float(lo), float(hi)
            any_row["threshold_source"] = "any change in the better direction"
            rows.append(any_row)
        rows.append(g[g["category"] != "improved"])
    return pd.concat(rows, ignore_index=True) if rows else tab


def add_lmm(sec: Section, changes: pd.DataFrame, measures: list[str]) -> dict[str, Any]:
    """Random-slope LMM of score over months per measure; returns the fits.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> fits = add_lmm(Section("LMM"), prep.changes, ["HFMSE"])
    >>> fits["HFMSE"].n_groups
    5
    """

    sec.text(
        "Linear mixed model per measure: score = intercept + slope x months since first dose, "
        "with a random intercept and slope per patient (correlated), fitted by REML; "
        "Satterthwaite degrees of freedom. All analysed assessments are used, including "
        "patients with missed visits."
    )
    fits: dict[str, Any] = {}
    for m in measures:
        label = plain_name(m)
        d = changes[(changes[S.MEASURE] == m) & changes[S.SCORE].notna()]
        if S.ANALYSED in d.columns:
            d = d[d[S.ANALYSED].astype(bool)]
        if d[S.PATIENT].nunique() < 3 or len(d) < 6:
            sec.text(f"{label}: too few patients or assessments for a mixed model; skipped.",
                     "warn")
            continue
        try:
            fit, msgs = captured(fit_lmm, d, m, random="slope")
        except Exception as err:  # a failed model is reported, the report goes on
            sec.text(f"{label}: the mixed model could not be fitted ({type(err).__name__}: {err}).",
                     "warn")
            continue
        fits[m] = fit
        sec.text(f"{label}: {fit.n_obs} observations from {fit.n_groups} patients, "
                 f"up to {fit.max_visits} visits.")
        caveat = small_sample_caveat(int(fit.n_groups), "mixed-model")
        sec.table(f"lmm_{slug(m)}_fixed", fit.fixed, title=f"{label}: fixed effects.",
                  caption=caveat,
                  digits={"estimate": 3, "se": 3, "df": 1, "t": 2, "ci_low": 3, "ci_high": 3})
        sec.table(f"lmm_{slug(m)}_random", fit.random, title=f"{label}: random effects.",
                  digits={"variance": 3, "sd": 3, "corr": 3})
        slope = fit.fixed[fit.fixed["term"] == "months"]
        if len(slope):
            s = slope.iloc[0]
            unit = get_scale(m).unit
            sec.note(
                f"{label}: on average the score changed by {s['estimate']:.2f} {unit} per month "
                f"(95% CI {s['ci_low']:.2f} to {s['ci_high']:.2f}, {format_p(s['p_value'])}), "
                f"that is {12 * s['estimate']:.1f} {unit} per year. A straight line is a "
                "summary: real trajectories may level off." + (f" {caveat}" if caveat else "")
            )
        for msg in dict.fromkeys([*fit.messages, *msgs]):
            sec.text(f"{label}: {msg}", "warn")
    return fits


def add_mmrm(sec: Section, changes: pd.DataFrame, measures: list[str]) -> None:
    """MMRM of change by visit where the data support it; otherwise say why not.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("MMRM")
    >>> add_mmrm(sec, prep.changes, ["HFMSE"])
    >>> sec.items[1].body[:40]
    'HFMSE: an unstructured covariance over 5'
    """

    sec.text(
        "Mixed model for repeated measures per measure: change from baseline ~ timepoint "
        "(factor) + baseline score, residual covariance across timepoints within patient, "
        "REML, Satterthwaite degrees of freedom; missing visits handled by the likelihood "
        f"(missing at random), nothing imputed. It needs at least {MMRM_MIN_VISITS} "
        "post-baseline timepoints; the covariance structure is the richest one with fewer "
        "parameters than patients (unstructured, then heterogeneous Toeplitz, "
        "heterogeneous AR(1), heterogeneous compound symmetry, compound symmetry)."
    )
    for m in measures:
        label = plain_name(m)
        d = changes[(changes[S.MEASURE] == m) & changes[S.CHANGE].notna()]
        if S.ANALYSED in d.columns:
            d = d[d[S.ANALYSED].astype(bool)]
        if S.IS_BASELINE in d.columns:
            d = d[~d[S.IS_BASELINE].astype(bool)]
        d = d[d[S.TIMEPOINT].notna()]
        counts = d.groupby(S.TIMEPOINT, observed=True)[S.PATIENT].nunique()
        visits = [str(v) for v, n in counts.items() if n >= 2]
        n_pat = d[S.PATIENT].nunique()
        if len(visits) < MMRM_MIN_VISITS:
            sec.text(
                f"{label}: MMRM skipped: {len(visits)} post-baseline timepoint(s) with at least "
                f"2 patients; it needs {MMRM_MIN_VISITS}.", "warn")
            continue
        d = d[d[S.TIMEPOINT].astype(str).isin(visits)]
        code, name, k = choose_mmrm_structure(n_pat, len(visits))
        if not code:
            sec.text(f"{label}: MMRM skipped: {n_pat} patients cannot support even compound "
                     "symmetry (2 covariance parameters).", "warn")
            continue
        if code != "us":
            k_us = STRUCTURES[0][2](len(visits))
            sec.text(
                f"{label}: an unstructured covariance over {len(visits)} timepoints has {k_us} "
                f"parameters, not fewer than the {n_pat} patients; {name} ({code}, {k} "
                "parameters) was used instead.", "note")
        try:
            fit, msgs = captured(fit_mmrm, d, m, covariance=code)
        except Exception as err:  # a failed model is reported, the report goes on
            sec.text(f"{label}: the MMRM could not be fitted ({type(err).__name__}: {err}).",
                     "warn")
            continue
        summary_line = (
            f"{label}: {fit.n_obs} observations from {fit.n_patients} patients, "
            f"{len(fit.visits)} timepoints; covariance {fit.structure.code}."
        )
        sec.text(summary_line)
        ls = fit.lsmeans.copy()
        ls["visit"] = ls["visit"].astype(str)
        caveat = small_sample_caveat(int(fit.n_patients), "MMRM")
        sec.table(f"mmrm_{slug(m)}_lsmeans", ls,
                  title=f"{label}: LS mean change from baseline by timepoint.", caption=caveat,
                  digits={c: 3 for c in ("estimate", "se", "t", "ci_low", "ci_high")} | {"df": 1})
        last = ls.iloc[-1]
        sec.note(
            f"{label}: the model-based mean change at {last['visit']} is {last['estimate']:.2f} "
            f"{get_scale(m).unit} (95% CI {last['ci_low']:.2f} to {last['ci_high']:.2f}, "
            f"{format_p(last['p_value'])}), adjusted for baseline score."
            + (f" {caveat}" if caveat else "")
        )
        for msg in dict.fromkeys([*fit.notes, *msgs]):
            sec.text(f"{label}: {msg}", "warn")
