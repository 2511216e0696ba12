"""Report sections of the estimand analysis: estimand, patient flow, primary and sensitivity analyses.

Added by :func:`add_estimand_sections` when the report is given intercurrent
events (``build_report(..., events=...)``, ``sma-outcomes report --events``):

- **Estimand**: population, variable, the strategy for each event type with
  the patients affected, and the summary measure (ICH E9(R1));
- **Patient flow**: per timepoint the patients expected, assessed and missing
  by reason (table and CONSORT-style figure), for the visits and for each
  measure whose flow differs from the visits';
- **Primary analysis under the estimand**: the MMRM of each measure on the
  analysis table of :func:`~sma_outcomes.stats.estimand.apply_estimand`
  (values set aside by a hypothetical or while-on-treatment strategy count
  as missing);
- **Sensitivity to missing data**: multiple imputation under MAR, delta
  adjustment and the tipping point (jump to reference as well when the data
  have an ``arm`` column with two arms), with one plain sentence on
  robustness.

Multiple imputation here uses bootstrapped MMRM fits (approximate Bayesian
multiple imputation) with a fixed seed and a modest number of imputations
(:func:`mi_imputations`), for the first measure: conditional mean imputation
with jackknife standard errors refits the model once per patient, too slow for
a registry-sized report.

Examples
--------
>>> mi_imputations(80), mi_imputations(2000)
(10, 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import schema as S
from ..exceptions import DataError
from ..plot import plot_flow, plot_tipping_point
from ..registry import plain_name, unit_label
from ..stats import fit_mmrm
from ..stats.estimand import Estimand, apply_estimand, estimand_table, ice_table
from ..stats.flow import patient_flow
from ..stats.mi import fit_mi, tipping_point
from .content import Report, Section, slug
from .inference import (
    MMRM_MIN_VISITS,
    captured,
    choose_mmrm_structure,
    format_p,
    small_sample_caveat,
)

__all__ = ["add_estimand_sections", "flow_table", "mi_imputations", "MI_SEED"]

#: Seed of the multiple imputations in the report (results are reproducible).
MI_SEED = 13
#: Imputations up to :data:`MI_LARGE` patients, and above.
MI_SMALL, MI_LARGE_IMPUTATIONS, MI_LARGE = 10, 5, 500
#: Imputation strategy of the values each estimand strategy sets aside.
MI_STRATEGIES = {"hypothetical": "MAR", "while_on_treatment": "MAR"}


def mi_imputations(n_patients: int) -> int:
    """Imputations the report draws: 10, or 5 above 500 patients (each one is an MMRM fit).

    With many patients the imputations differ little from one another, so
    fewer suffice for the same precision of the pooled estimate (Rubin's
    rules with Barnard-Rubin degrees of freedom account for their number).

    Examples
    --------
    >>> mi_imputations(500), mi_imputations(501)
    (10, 5)
    """
    return MI_SMALL if n_patients <= MI_LARGE else MI_LARGE_IMPUTATIONS


def _words(code: object) -> str:
    return str(code).replace("_", " ")


def flow_table(flow: Any, measure: str = "all") -> pd.DataFrame:
    """One measure's flow as one row per timepoint: the counts, then one column per reason.

    ``assessed`` plus the reason columns add up to ``expected``; ``expected``
    plus ``not_yet_due`` is ``n_patients``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats.flow import patient_flow
    >>> from sma_outcomes.timeline import change_from_baseline
    >>> s = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"], "day": [0.0, 185, 0, 185],
    ...                   "measure": "HFMSE", "score": [20.0, 22, 30, None],
    ...                   "missing_code": ["", "", "", "UTA"]})
    >>> t = flow_table(patient_flow(change_from_baseline(s), cutoff=400))
    >>> t.columns.tolist()[3:]
    ['expected', 'assessed', 'missing', 'not done: UTA', 'no visit recorded']
    >>> t.iloc[:, 3:].values.tolist()
    [[2, 2, 0, 0, 0], [2, 0, 2, 0, 2], [2, 1, 1, 1, 0]]
    """
    s = flow.summary[flow.summary[S.MEASURE] == measure]
    out = s[[S.TIMEPOINT, "n_patients", "not_yet_due", "expected", "assessed", "missing"]].copy()
    out[S.TIMEPOINT] = out[S.TIMEPOINT].astype(str)
    r = flow.reasons[flow.reasons[S.MEASURE] == measure]
    reasons = list(dict.fromkeys(r.sort_values("n", ascending=False, kind="stable")["reason"]))
    # not done first, then events, then no visit
    reasons.sort(key=lambda x: (0 if x.startswith("not done") else 1 if x.startswith("event")
                                else 2))
    wide = r.assign(**{S.TIMEPOINT: r[S.TIMEPOINT].astype(str)}).pivot_table(
        index=S.TIMEPOINT, columns="reason", values="n", aggfunc="sum", fill_value=0)
    for reason in reasons:
        out[reason] = out[S.TIMEPOINT].map(wide[reason]).fillna(0).astype(int).to_numpy()
    return out.reset_index(drop=True)


def add_estimand_sections(rep: Report, prep: Any) -> None:
    """The estimand, patient flow, primary and sensitivity sections, when events are given.

    ``prep`` is the report's :class:`~sma_outcomes.report.prepare.Prepared`;
    nothing is added when ``prep.events`` is None.

    Examples
    --------
    >>> from sma_outcomes.report.prepare import prepare
    >>> from sma_outcomes.report.content import Report
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> rep = Report("Demo")
    >>> add_estimand_sections(rep, prep)  # no events: no sections
    >>> rep.sections
    []
    """
    events = getattr(prep, "events", None)
    if events is None:
        return
    estimand = getattr(prep, "estimand", None) or Estimand()
    ch, ms = prep.changes, list(prep.measures)
    analyses: dict[str, pd.DataFrame] = {}
    msgs: list[str] = []
    for m in ms:  # one measure at a time: added composite rows carry its baseline
        res, more = captured(apply_estimand, ch[ch[S.MEASURE] == m], events, estimand)
        analyses[m] = res.data
        msgs += [x for x in more if x not in msgs]
    data = pd.concat(list(analyses.values()), ignore_index=True)
    _estimand_section(rep.section("Estimand"), data, events, estimand, msgs)
    _flow_section(rep.section("Patient flow"), prep, ms)
    fits = _primary_section(rep.section("Primary analysis under the estimand"), analyses, ms,
                            prep.timepoint)
    _sensitivity_section(rep.section("Sensitivity to missing data"), analyses, ms, prep, fits)


# ---------------------------------------------------------------- estimand
def _estimand_section(sec: Section, data: pd.DataFrame, events: pd.DataFrame,
                      estimand: Estimand, msgs: list[str]) -> None:
    table = estimand_table(data, events, estimand)
    show = table.copy()
    show["event"] = show["event"].map(lambda e: _words(e) if e else "")
    show["strategy"] = show["strategy"].map(lambda e: _words(e) if e else "")
    show = show.rename(columns={"n_patients": "patients", "n_values": "values"})
    sec.text(
        "The estimand (ICH E9(R1)) states what is estimated: in which patients, which "
        "variable, what happens to values after each intercurrent event, and the "
        "population-level summary. For each event type the table gives the strategy, the "
        "patients of the population with that event, and the values (assessments, all "
        "measures) whose handling the event decides.")
    sec.table("estimand", table, display=show, title="Estimand: population, variable, "
              "strategy per intercurrent event, summary measure.")
    n_ev = int(events[S.PATIENT].astype(str).nunique())
    aside = int(data["set_aside"].astype(bool).sum())
    added = int(data["added"].astype(bool).sum()) if "added" in data.columns else 0
    composite = int((data["strategy"] == "composite").sum())
    text = (f"{n_ev} patient(s) had at least one intercurrent event ({len(events)} events). ")
    if aside:
        text += (f"{aside} value(s) after a hypothetical or while-on-treatment event are set "
                 "aside (kept in the tables, flagged) and count as missing in the analyses "
                 "below. ")
    else:
        text += "No value is set aside: every observed value is analysed as observed. "
    if composite:
        text += (f"{composite} value(s) under the composite strategy get the fixed composite "
                 f"value ({added} of them for timepoints the patient no longer reached). ")
    sec.note(text.strip())
    for m in msgs:
        sec.text(m, "warn")


# -------------------------------------------------------------------- flow
def _flow_section(sec: Section, prep: Any, ms: list[str]) -> None:
    cutoff = getattr(prep, "cutoff", None)
    try:
        flow, msgs = captured(patient_flow, prep.changes, prep.events, cutoff=cutoff,
                              measures=ms, schedule=prep.schedule, windows=prep.windows)
    except (DataError, ValueError, KeyError) as err:
        sec.text(f"The patient flow could not be computed ({err}).", "warn")
        return
    sec.text(
        "Per timepoint: the patients expected there (all patients, less those for whom the "
        "timepoint was not yet due at the data cut-off), the patients assessed, and the "
        "reason for each missing assessment: a test not done (by the source's code), an "
        "intercurrent event before the timepoint (death or discontinuation first), or no "
        "visit recorded. A visit counts as assessed when any measure was scored.")
    if cutoff is None:
        sec.text("No data cut-off was given, so every timepoint counts as due for every "
                 "patient; give the cut-off (--cutoff) to count the timepoints a patient has "
                 "not reached yet as not yet due rather than missing.", "note")
    base = flow_table(flow, "all")
    sec.table("flow", base, display=_flow_display(base),
              title="Patient flow: visits (any measure scored).")
    try:
        fig, _ = captured(plot_flow, flow)
        sec.figure("flow", fig, title="Patient flow: visits.",
                   caption="Each row a timepoint with the patients expected there; left: "
                   "assessed, missing and not yet due; right: the missing by reason.")
    except (ValueError, KeyError, TypeError, IndexError) as err:
        sec.text(f"Patient flow: figure not drawn ({err}).", "warn")
    same = []
    for m in ms:
        label = plain_name(m)
        t = flow_table(flow, m)
        if t.shape == base.shape and (t.columns == base.columns).all() and t.equals(base):
            same.append(m)
            continue
        missed = int(t["missing"].sum() - base["missing"].sum())
        sec.table(f"flow_{slug(m)}", t, display=_flow_display(t),
                  title=f"Patient flow: {label}.",
                  caption=f"{missed} more missing assessment(s) of {label} than "
                  "missing visits.")
        try:
            fig, _ = captured(plot_flow, flow, measure=m)
            sec.figure(f"flow_{slug(m)}", fig, title=f"Patient flow: {label}.")
        except (ValueError, KeyError, TypeError, IndexError) as err:
            sec.text(f"{label}: patient flow figure not drawn ({err}).", "warn")
    if same:
        sec.text(f"The flow of {', '.join(plain_name(m) for m in same)} is that of the visits.")
    for m in msgs:
        sec.text(m, "warn")


def _flow_display(t: pd.DataFrame) -> pd.DataFrame:
    return t.rename(columns=lambda c: str(c).replace("_", " ").replace("n patients",
                                                                      "patients"))


# ---------------------------------------------------------------- primary
def _model_rows(d: pd.DataFrame) -> pd.DataFrame:
    if S.ANALYSED in d.columns:
        d = d[d[S.ANALYSED].fillna(False).astype(bool)]
    if S.IS_BASELINE in d.columns:
        d = d[~d[S.IS_BASELINE].fillna(False).astype(bool)]
    return d[d[S.TIMEPOINT].notna()]


def _primary_section(sec: Section, analyses: dict[str, pd.DataFrame], ms: list[str],
                     timepoint: str) -> dict[str, Any]:
    sec.text(
        "The MMRM of the change from baseline (timepoint as a factor, baseline score, "
        "residual covariance across timepoints, REML, Satterthwaite df) on the analysis table "
        "of the estimand: values set aside by a hypothetical or while-on-treatment strategy "
        "count as missing (the likelihood treats them as missing at random), composite "
        "values are analysed as given, and every other value as observed.")
    fits: dict[str, Any] = {}
    for k, m in enumerate(ms):
        label = plain_name(m)
        d = _model_rows(analyses[m])
        unchanged = (not d["added"].astype(bool).any() if "added" in d.columns else True) and (
            np.array_equal(d["analysis_change"].to_numpy(float), d[S.CHANGE].to_numpy(float),
                           equal_nan=True))
        if unchanged and k > 0:  # the first measure is fitted for the sensitivity analysis
            sec.text(f"{label}: the estimand leaves every value as observed, so the analysis "
                     "under the estimand is the MMRM of the section 'Change by timepoint' "
                     "above.")
            continue
        d = d[d["analysis_change"].notna()]
        counts = d.groupby(S.TIMEPOINT, observed=True)[S.PATIENT].nunique()
        visits = [str(v) for v, n in counts.items() if n >= 2]
        if len(visits) < MMRM_MIN_VISITS:
            sec.text(f"{label}: skipped: {len(visits)} post-baseline timepoint(s) with at least "
                     f"2 patients; the MMRM needs {MMRM_MIN_VISITS}.", "warn")
            continue
        d = d[d[S.TIMEPOINT].astype(str).isin(visits)]
        n_pat = int(d[S.PATIENT].nunique())
        code, name, _ = choose_mmrm_structure(n_pat, len(visits))
        if not code:
            sec.text(f"{label}: skipped: {n_pat} patients cannot support even compound symmetry.",
                     "warn")
            continue
        arms = _two_arms(d)
        try:
            fit, msgs = captured(fit_mmrm, d, m, y="analysis_change", covariance=code,
                                 arm="arm" if arms else None)
        except Exception as err:  # a failed model is reported, the report goes on
            sec.text(f"{label}: the MMRM could not be fitted ({type(err).__name__}: {err}).",
                     "warn")
            continue
        fits[m] = fit
        ls = fit.lsmeans.copy()
        ls["visit"] = ls["visit"].astype(str)
        caveat = small_sample_caveat(int(fit.n_patients), "MMRM")
        aside = int(_model_rows(analyses[m])["set_aside"].astype(bool).sum())
        sec.text(f"{label}: {fit.n_obs} values from {fit.n_patients} patients, {len(fit.visits)} "
                 f"timepoints, covariance {fit.structure.code}; {aside} value(s) set aside.")
        sec.table(f"estimand_mmrm_{slug(m)}", ls,
                  title=f"{label}: mean change from baseline by timepoint under the estimand.",
                  caption=caveat, digits={c: 3 for c in ("estimate", "se", "t", "ci_low",
                                                          "ci_high")} | {"df": 1})
        pick = ls[ls["kind"] == "difference"] if arms else ls
        row = pick[pick["visit"] == timepoint]
        row = row.iloc[0] if len(row) else pick.iloc[-1]
        what = (f"the difference {row['arm']} in the mean change from baseline to {row['visit']}"
                if arms else f"the mean change from baseline to {row['visit']}")
        sec.note(f"{label}: under the estimand {what} is {row['estimate']:+.2f} {unit_label(m)} "
                 f"(95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}, "
                 f"{format_p(row['p_value'])}).")
        for msg in dict.fromkeys([*fit.notes, *msgs]):
            sec.text(f"{label}: {msg}", "warn")
    return fits


# ------------------------------------------------------------ sensitivity
def _two_arms(d: pd.DataFrame) -> list | None:
    if "arm" not in d.columns:
        return None
    col = d["arm"]
    levels = ([c for c in col.cat.categories if c in set(col.dropna())]
              if isinstance(col.dtype, pd.CategoricalDtype) else sorted(col.dropna().unique()))
    return list(levels) if len(levels) == 2 else None


def _row(tab: pd.DataFrame, visit: str, term: str | None) -> pd.Series:
    sel = tab["visit"].astype(str) == visit
    if term is not None and "arm" in tab.columns:
        sel &= tab["arm"].astype(str) == term
    return tab.loc[sel].iloc[0]


def _sensitivity_section(sec: Section, analyses: dict[str, pd.DataFrame], ms: list[str],
                         prep: Any, fits: dict[str, Any]) -> None:
    m = next((x for x in ms if x in fits), None)
    if m is None:
        sec.text("No primary analysis was fitted, so there is nothing to test for "
                 "sensitivity.", "warn")
        return
    primary, label = fits[m], plain_name(m)
    visits = [str(v) for v in primary.visits]
    d = _model_rows(analyses[m])
    d = d[d[S.TIMEPOINT].astype(str).isin(visits)]
    n_pat = int(d[S.PATIENT].nunique())
    k = mi_imputations(n_pat)
    arms = _two_arms(d)
    visit = prep.timepoint if prep.timepoint in visits else visits[-1]
    sec.text(
        f"How much the result for {label} depends on the missing values. Missing values (and "
        "values set aside by the estimand) are imputed from an MMRM with unstructured "
        "covariance fitted to the observed values (baseline x timepoint"
        + (", arm x timepoint" if arms else "") + "): first under missing at random (MAR), "
        "then shifted by a fixed amount (delta adjustment) until the conclusion changes (the "
        f"tipping point). Multiple imputation with {k} imputations from bootstrapped MMRM fits "
        f"(approximate Bayesian; seed {MI_SEED}, so the numbers are reproducible), ANCOVA at "
        "each timepoint (change ~ baseline), pooled by Rubin's rules; conditional mean "
        "imputation with jackknife standard errors would refit the model once per patient, "
        "too slow for a report. "
        + (f"{label} is the first measure; the others are not repeated here." if len(ms) > 1
           else ""))
    common = dict(y="analysis_change", method="bootstrap", n_imputations=k, seed=MI_SEED,
                  cutoff=getattr(prep, "cutoff", None), schedule=prep.schedule,
                  windows=prep.windows)
    ice = ice_table(d, m)
    ice_arg = ice if len(ice) else None
    try:
        mar, msgs = captured(fit_mi, d, m, ice=ice_arg,
                             strategies=MI_STRATEGIES if ice_arg is not None else None,
                             arm="arm" if arms else None, **common)
    except Exception as err:  # a failed model is reported, the report goes on
        sec.text(f"{label}: multiple imputation failed ({type(err).__name__}: {err}).", "warn")
        return
    imputed = dict(zip([str(v) for v in mar.visits], mar.md.missing.sum(axis=0).tolist(),
                       strict=True))
    if not any(imputed.values()):
        sec.note(f"No {label} value is missing at the timepoints analysed (visits not yet due do "
                 "not count), so the results cannot depend on missing data.")
        return
    if not imputed.get(visit):
        alt = [v for v in visits if imputed.get(v)][-1]
        sec.text(f"No {label} value is missing at {visit} (visits not yet due do not count); "
                 f"the sensitivity analysis is shown at {alt}, the last timepoint with missing "
                 "values.")
        visit = alt
    term = f"{arms[1]} - {arms[0]}" if arms else None
    tab = mar.tidy()
    rows = []
    p_row = primary.lsmeans
    if arms:
        p_row = p_row[p_row["kind"] == "difference"]
    p_row = p_row[p_row["visit"].astype(str) == visit]
    if len(p_row):
        r = p_row.iloc[0]
        rows.append(("MMRM under the estimand (primary)", 0.0, r["estimate"], r["ci_low"],
                     r["ci_high"], r["p_value"]))
    r = _row(tab, visit, term)
    rows.append(("Multiple imputation, MAR", 0.0, r["estimate"], r["ci_low"], r["ci_high"],
                 r["p_value"]))
    sentence = ""
    tp = None
    try:
        tp, more = captured(tipping_point, mar, visit=visit, n_grid=11,
                            arm=arms[1] if arms else None)
        msgs += more
    except (DataError, ValueError) as err:
        sec.text(f"{label}: no tipping point at {visit} ({err}).", "note")
    if tp is not None:
        sentence = tp.sentence()
        if tp.found:
            r = _row(mar.with_delta(_delta_of(tp, mar)).tidy(), visit, term)
            rows.append((f"MAR, imputed values shifted by {tp.tipping_delta:+.2f} "
                         "(tipping point)", tp.tipping_delta, r["estimate"], r["ci_low"],
                         r["ci_high"], r["p_value"]))
    if arms:
        try:
            jr, more = captured(fit_mi, d, m, ice=ice_arg,
                                strategies={s: "JR" for s in MI_STRATEGIES}
                                if ice_arg is not None else None,
                                arm="arm", references={arms[1]: arms[0]}, **common)
            r = _row(jr.tidy(), visit, term)
            rows.append((f"Jump to reference ({arms[0]})", 0.0, r["estimate"], r["ci_low"],
                         r["ci_high"], r["p_value"]))
            msgs += more
        except Exception as err:  # a failed model is reported, the report goes on
            sec.text(f"{label}: jump to reference failed ({type(err).__name__}: {err}).", "warn")
    what = f"difference {term}" if arms else "mean change from baseline"
    comp = pd.DataFrame(rows, columns=["analysis", "delta", "estimate", "ci_low", "ci_high",
                                       "p_value"])
    head = len(sec.items)  # where the robustness sentence goes: before the tables
    sec.table(f"sensitivity_{slug(m)}", comp,
              title=f"{label}: {what} at {visit} ({unit_label(m)}) by the handling of missing "
              "values.", caption=f"{mar.n_imputed} value(s) imputed in each of {k} data sets.",
              digits={"delta": 2, "estimate": 2, "ci_low": 2, "ci_high": 2})
    if tp is not None:
        grid = tp.table[["delta", "estimate", "ci_low", "ci_high", "p_value", "significant"]]
        grid = grid.iloc[grid["delta"].abs().argsort(kind="stable")]  # MAR (delta 0) first
        sec.table(f"tipping_{slug(m)}", grid.reset_index(drop=True),
                  title=f"{label}: delta adjustment at {visit}: the imputed values "
                  f"{'of ' + str(tp.arm) + ' ' if tp.arm else ''}shifted by delta "
                  f"({unit_label(m)}).",
                  digits={"delta": 2, "estimate": 2, "ci_low": 2, "ci_high": 2})
        try:
            fig, _ = captured(plot_tipping_point, tp, measure=m, y="change", width=5.0,
                              height=3.0)
            sec.figure(f"tipping_{slug(m)}", fig, title=f"{label}: tipping point at {visit}.",
                       caption="Estimate and 95% CI against the shift added to the imputed "
                       "values; filled dots where significant.")
        except (ValueError, KeyError, TypeError, IndexError) as err:
            sec.text(f"{label}: tipping-point figure not drawn ({err}).", "warn")
    if sentence:  # the message first, right under the description of the method
        sec.note(sentence)
        sec.items.insert(head, sec.items.pop())
    for note in mar.notes:
        if "not yet due" in note:
            sec.text(f"{label}: {note}.")
    for msg in dict.fromkeys(msgs):
        sec.text(f"{label}: {msg}", "warn")


def _delta_of(tp: Any, fit: Any) -> object:
    if tp.arm is None:
        return float(tp.tipping_delta)
    arm = next(a for a in fit.md.arms if str(a) == str(tp.arm))
    return {arm: float(tp.tipping_delta)}

