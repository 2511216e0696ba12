"""Report section "Is each patient doing better than expected?": per-patient verdicts.

:func:`add_patient_benefit` adds to a report, for the report's main measure
(the first of its measures: the HFMSE when it is there), the evidence of
:func:`~sma_outcomes.stats.verdict.patient_verdicts` one row per patient:

- the slope before and on treatment, from a piecewise mixed model
  (``fit_lmm(random="piecewise")``, knot at the first dose), where at least
  :data:`MIN_PRE_PATIENTS` patients have :data:`MIN_PRE` or more assessments
  before the first dose; otherwise one sentence says why not;
- the reliable change at the analysis timepoint, where a standard error of
  measurement (SEM) is known (given: the registry holds no test-retest SEM for
  these scales), with the MDC95 beside the clinically meaningful change;
- observed minus expected against natural-history references, where the
  data have ages and SMA types;
- the concordance with a second scale (HFMSE with RULM or a Purdue Pegboard
  hand) where both are measured and both have a clinically meaningful change;
- the verdict table (every patient, also as CSV), the forest figure of the
  change of slope (at most :data:`FOREST_MAX_PATIENTS` patients), and
  :data:`~sma_outcomes.stats.verdict.VERDICT_NOTES` once.

The other measures are not judged patient by patient in the report (one mixed
model more per measure); :func:`~sma_outcomes.stats.verdict.patient_verdicts`
does it for any measure.

Examples
--------
>>> from sma_outcomes.report.content import Report
>>> from sma_outcomes.report.prepare import prepare
>>> rep = Report("Demo")
>>> add_patient_benefit(rep, prepare("data/sample/case_series.csv"))
>>> rep.sections[0].title
'Is each patient doing better than expected?'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import natural_key, plain_number, signed
from ..exceptions import ColumnError
from ..plot.verdict import plot_slope_change
from ..registry import get_scale
from ..stats.lmm import fit_lmm
from ..stats.natural_history import (
    Reference,
    ages_at_visits,
    compare_to_reference,
    get_reference,
    list_references,
    summarize_comparison,
)
from ..stats.reliable import detectable_change, resolve_sem
from ..stats.verdict import VERDICT_NOTES, patient_verdicts
from .content import Report, Section, slug
from .inference import captured

__all__ = [
    "add_patient_benefit",
    "add_benefit_section",
    "main_measure",
    "partner_measure",
    "applicable_references",
    "reference_label",
    "SECTION_TITLE",
    "FOREST_MAX_PATIENTS",
    "MIN_PRE",
    "MIN_PRE_PATIENTS",
    "NOTES_SHOWN",
]

#: Title of the section.
SECTION_TITLE = "Is each patient doing better than expected?"

#: Most patients in the forest figure of the change of slope; beyond it the
#: figure shows those with the most assessments before the first dose (ties in
#: id order) and every patient is in the verdict table (CSV).
FOREST_MAX_PATIENTS = 40

#: Assessments before the first dose that give a patient a slope of their own.
MIN_PRE = 2

#: Patients with :data:`MIN_PRE` or more assessments before the first dose
#: needed to fit the piecewise model (its pre-treatment slope varies between
#: patients only through them).
MIN_PRE_PATIENTS = 3

#: Up to this many patients, each patient's findings are also written as text.
NOTES_SHOWN = 12

#: Second scale for the concordance, in order of preference, per main measure.
_PARTNERS = {
    "HFMSE": ("RULM", "PP_PREF", "PP_NONPREF"),
    "RULM": ("HFMSE",),
    "PP_PREF": ("HFMSE", "RULM"),
    "PP_NONPREF": ("HFMSE", "RULM"),
}

_RELIABLE_SHORT = {"reliable improvement": "yes, improved", "reliable decline": "yes, declined",
                   "no reliable change": "no"}


def main_measure(measures: Sequence[str]) -> str | None:
    """The measure judged patient by patient: the first of the report's measures.

    Examples
    --------
    >>> main_measure(["HFMSE", "RULM"]), main_measure([])
    ('HFMSE', None)
    """
    return str(measures[0]) if len(measures) else None


def partner_measure(measure: str, measures: Sequence[str],
                    sem: Any = None) -> tuple[str, str] | None:
    """The second scale for the concordance and how changes are classed, or None.

    The HFMSE pairs with the RULM, else a Purdue Pegboard hand; the RULM and the
    Purdue Pegboard with the HFMSE. Changes are classed by the registered
    clinically meaningful change where both scales have one (``"threshold"``),
    else by the reliable change where ``sem`` gives both an SEM
    (``"reliable"``); ``None`` when no measure qualifies.

    Examples
    --------
    >>> partner_measure("HFMSE", ["HFMSE", "RULM", "PP_PREF"])
    ('RULM', 'threshold')
    >>> partner_measure("HFMSE", ["HFMSE", "PP_PREF"]) is None  # no Purdue threshold
    True
    >>> partner_measure("HFMSE", ["HFMSE", "PP_PREF"], sem={"HFMSE": 1.5, "PP_PREF": 0.8})
    ('PP_PREF', 'reliable')
    """
    found = [o for o in _PARTNERS.get(measure, ()) if o in measures]
    for other in found:
        if _threshold(other) is not None and _threshold(measure) is not None:
            return other, "threshold"
    for other in found:
        if _has_sem(measure, sem) and _has_sem(other, sem):
            return other, "reliable"
    return None


def _threshold(measure: str) -> float | None:
    try:
        return get_scale(measure).threshold
    except KeyError:
        return None


def _name(measure: str) -> str:
    try:
        return get_scale(measure).name
    except KeyError:
        return measure


def _unit(measure: str) -> str:
    try:
        return get_scale(measure).unit
    except KeyError:
        return ""


def applicable_references(references: Sequence[Any] | None, measure: str,
                          types: set[str]) -> tuple[list[Reference], list[str]]:
    """The references to compare ``measure`` with, and why others were left out.

    ``None`` means the shipped published references that describe ``measure``
    and at least one of the SMA ``types`` of the data (all of them when the
    types are unknown); a list is taken as given (names or
    :class:`~sma_outcomes.stats.natural_history.Reference`), less those without
    rows for ``measure``.

    Examples
    --------
    >>> refs, left = applicable_references(None, "HFMSE", {"2"})
    >>> [r.name for r in refs], left
    (['mercuri2016_hfmse'], [])
    >>> applicable_references(None, "HFMSE", {"1"})[0]
    []
    """
    left: list[str] = []
    if references is None:
        table = list_references()
        names = []
        for name, g in table.groupby("reference", sort=False):
            rows = g.loc[g["measure"] == measure]
            if not len(rows):
                continue
            covered = {t.strip() for v in rows["sma_type"] for t in str(v).split(";")
                       if t.strip()}
            if types and covered and not (types & covered):
                continue
            names.append(str(name))
        refs = [get_reference(n) for n in names]
    else:
        refs = [get_reference(r) if isinstance(r, str) else r for r in references]
    out = []
    for r in refs:
        if (r.rates["measure"].astype(str) == measure).any():
            out.append(r)
        else:
            left.append(r.name)
    return out, left


def reference_label(name: str, published: bool = True) -> str:
    """A reference's name for readers: "Mercuri et al. 2016" for a shipped one, else its name.

    Examples
    --------
    >>> reference_label("mercuri2016_hfmse"), reference_label("my clinic", published=False)
    ('Mercuri et al. 2016', 'my clinic')
    """
    found = re.fullmatch(r"([a-z]+)(\d{4})_\w+", str(name))
    if not published or found is None:
        return str(name)
    return f"{found.group(1).capitalize()} et al. {found.group(2)}"


def add_patient_benefit(rep: Report, prep: Any) -> None:
    """Add the section "Is each patient doing better than expected?" to a report.

    Parameters
    ----------
    rep : Report
        The report being composed.
    prep : Prepared
        The prepared data (:func:`~sma_outcomes.report.prepare.prepare`): its
        ``changes``, ``measures``, ``timepoint``, ``sem`` (per-measure SEM or
        None) and ``references`` (None: the shipped published references that
        fit the data; ``[]``: none) are used.

    Examples
    --------
    >>> from sma_outcomes.report.prepare import prepare
    >>> rep = Report("Demo")
    >>> add_patient_benefit(rep, prepare("data/sample/case_series.csv"))
    >>> [t.name for t in rep.tables()]
    ['patient_verdicts_hfmse']
    """
    add_benefit_section(rep.section(SECTION_TITLE), prep.changes, list(prep.measures),
                        prep.timepoint, sem=prep.sem,
                        references=prep.references)


def add_benefit_section(
    sec: Section,
    changes: pd.DataFrame,
    measures: Sequence[str],
    timepoint: str,
    *,
    sem: Mapping[str, Any] | None = None,
    references: Sequence[Any] | None = None,
    context: str = "",
    no_ages: str = "",
    how_sem: str = "build_report(..., sem={{'{m}': 1.2}}) or --sem {m}=1.2 on the command line",
) -> pd.DataFrame | None:
    """Fill ``sec`` with the per-patient verdicts of the main measure; return the table.

    Parameters
    ----------
    sec : Section
        The section to fill.
    changes : DataFrame
        The changes table (``change_from_baseline``).
    measures : sequence of str
        The report's measures; the first is judged
        (:func:`main_measure`), a second one gives the concordance
        (:func:`partner_measure`).
    timepoint : str
        The analysis timepoint.
    sem : dict, optional
        SEM per measure (a number or a ``(number, source)`` pair).
    references : sequence, optional
        Natural-history references (None: the applicable shipped ones, see
        :func:`applicable_references`; ``[]``: none).
    context : str
        A sentence on the data, written after the introduction.
    no_ages : str
        What to say when the data have no ages, instead of the general
        sentence (e.g. that the publication prints none).
    how_sem : str
        How to give an SEM, in the sentence saying that reliable change is not
        assessed (``{m}`` stands for the measure).

    Returns
    -------
    DataFrame or None
        The verdict table (as ``tables/patient_verdicts_<measure>.csv``), None
        when the measure has no data.

    Examples
    --------
    >>> from sma_outcomes.report.prepare import prepare
    >>> prep = prepare("data/sample/case_series.csv")
    >>> sec = Section("Benefit")
    >>> v = add_benefit_section(sec, prep.changes, prep.measures, prep.timepoint,
    ...                         sem={"HFMSE": 1.5})
    >>> v[["patient_id", "change", "reliable_change"]].head(2)
      patient_id  change       reliable_change
    0       GK01     8.0  reliable improvement
    1       GK02     3.0    no reliable change
    """
    m = main_measure(measures)
    rows = scored = changes
    if m is not None:
        rows = scored = changes.loc[(changes[S.MEASURE].astype(str) == m).to_numpy()
                                    & changes[S.SCORE].notna().to_numpy()]
        if S.ANALYSED in rows.columns:
            rows = rows.loc[rows[S.ANALYSED].fillna(False).astype(bool).to_numpy()]
    if m is None or not len(rows):
        sec.text("No measure has scores to judge patient by patient.", "warn")
        return None
    name, unit = _name(m), _unit(m)
    n_pat = rows[S.PATIENT].nunique()
    others = [x for x in measures if x != m]
    sec.text(
        f"For each of the {n_pat} patients, the evidence on the {name}"
        + (" (the report's first measure)" if others else "")
        + " in one row: the slope before and on treatment, whether the change from baseline "
        f"to {timepoint} is larger than the test's own noise, how it compares with untreated "
        "patients of a published natural-history cohort, and whether a second scale agrees."
        + (f" The other measures ({'; '.join(_name(o) for o in others)}) are not judged "
           "patient by patient here; the function patient_verdicts() does it for any measure."
           if others else ""))
    if context:
        sec.text(context)
    warnings: list[str] = []

    # 1. Slopes before and on treatment
    slopes = _slopes(sec, scored, m, warnings)

    # 2. Reliable change
    sem_m = None
    try:
        resolve_sem(m, sem, func="add_patient_benefit")
        sem_m = sem
    except (ValueError, TypeError):  # OptionError: no SEM for m
        sec.note(
            f"Reliable change is not assessed: the scale registry holds no standard error of "
            f"measurement (SEM) from a published test-retest study of the {name}, and none "
            f"was given. To assess it, give an SEM from a test-retest study of comparable "
            f"patients and raters: {how_sem.format(m=m)} (1.2 stands for your SEM, in "
            f"{unit}).")
    _detectable(sec, [x for x in measures if _has_sem(x, sem)], sem, warnings)

    # 3. Natural history
    refs = _references(sec, rows, changes, m, references, no_ages)

    # 4. Concordance
    pair = partner_measure(m, measures, sem)
    partner, rule = pair if pair is not None else (None, "threshold")
    if partner is None:
        why = _no_partner(m, measures)
        if why:
            sec.text(why)
    elif rule == "reliable":
        sec.text(f"The {_name(m)} and the {_name(partner)} are compared by reliable change "
                 "(beyond measurement error, from the SEMs given), since no clinically "
                 "meaningful change is registered for the "
                 f"{_name(partner) if _threshold(partner) is None else _name(m)}.")

    try:
        verdicts, msgs = captured(
            patient_verdicts, changes, m, timepoint=timepoint, sem=sem_m,
            reference=refs or None,
            slopes=None if slopes is None else slopes.drop(columns=["n_obs"], errors="ignore"),
            concordance_with=partner, concordance_rule=rule)
    except (ValueError, KeyError, TypeError) as err:
        sec.text(f"{m}: the per-patient verdicts could not be computed ({err}).", "warn")
        return None
    warnings += msgs
    keys = [natural_key(p) for p in verdicts["patient_id"]]
    order = sorted(range(len(verdicts)), key=keys.__getitem__)
    verdicts = verdicts.iloc[order].reset_index(drop=True)
    if slopes is not None:
        counts = slopes.set_index("patient_id")["n_pre"]
        verdicts.insert(1, "n_pre", verdicts["patient_id"].map(counts).astype("Int64"))
    _summaries(sec, verdicts, m, timepoint, partner)
    if refs:
        _cohort_comparison(sec, changes, m, timepoint, refs, warnings)
    sec.table(f"patient_verdicts_{slug(m)}", verdicts, display=_display(verdicts, m, partner),
              title=f"{name}: each patient at {timepoint}.",
              caption=_table_caption(verdicts, slopes is not None, refs))
    judged = any(verdicts[c].astype(str).ne("").any()
                 for c in ("slope_verdict", "reliable_change", "reference", "concordance"))
    if not judged:
        pass  # the notes would only repeat the change shown in the table
    elif len(verdicts) <= NOTES_SHOWN:
        for pid, text in zip(verdicts["patient_id"], verdicts["notes"], strict=True):
            sec.text(f"{pid}: {text}")
    else:
        sec.text(f"Each patient's findings in words are in the notes column of "
                 f"tables/patient_verdicts_{slug(m)}.csv.")
    if slopes is not None:
        _forest(sec, verdicts, m, warnings)
    sec.text("What a single patient's estimate can and cannot show:")
    for note in VERDICT_NOTES:
        sec.note(note)
    for msg in dict.fromkeys(warnings):
        sec.text(f"{m}: {msg}", "warn")
    return verdicts


def _slopes(sec: Section, rows: pd.DataFrame, m: str, warnings: list[str]) -> pd.DataFrame | None:
    """Per-patient slopes of the piecewise model, or None with a sentence saying why not.

    ``rows`` are every scored assessment of ``m`` (also those not analysed at a
    timepoint, such as visits months before the first dose).
    """
    day = pd.to_numeric(rows[S.DAY], errors="coerce") if S.DAY in rows.columns else None
    if day is None or not day.notna().any():
        sec.text("Slopes before and on treatment are not estimated: the data have no study "
                 "day (days since the first dose).")
        return None
    pre = (day < 0).groupby(rows[S.PATIENT].to_numpy()).sum()
    with_any = int((pre > 0).sum())
    enough = int((pre >= MIN_PRE).sum())
    if with_any == 0:
        sec.text("Slopes before and on treatment are not compared: no patient has an "
                 "assessment before the first dose (the baseline is on the day of the first "
                 "dose or later), so there is no slope before treatment to compare with.")
        return None
    if enough == 0:
        latest = int(-day[day < 0].min())
        sec.text("Slopes before and on treatment are not compared: no patient has an "
                 "assessment before the first dose other than the baseline (at most "
                 f"{latest} days before it), so no patient has a slope before treatment.")
        return None
    if enough < MIN_PRE_PATIENTS:
        sec.text(f"Slopes before and on treatment are not compared: {enough} patient(s) have "
                 f"{MIN_PRE} or more assessments before the first dose, and the model needs at "
                 f"least {MIN_PRE_PATIENTS} such patients to estimate how the slope before "
                 "treatment varies between patients.")
        return None
    data = rows.loc[day.notna().to_numpy()]
    try:
        fit, msgs = captured(fit_lmm, data, m, random="piecewise", knots=[0.0], time="months")
    except (ValueError, KeyError, TypeError, np.linalg.LinAlgError) as err:
        sec.text(f"{m}: the piecewise mixed model could not be fitted "
                 f"({type(err).__name__}: {err}); no slopes before and on treatment.", "warn")
        return None
    warnings += [*fit.notes, *msgs]
    pc = fit.patient_coefficients()
    fx = fit.fixed.set_index("term")["estimate"]
    pre_s = float(fx.get("months", math.nan))
    change = float(fx.get("months_after_0", math.nan))
    unit = _unit(m)
    sec.text(
        f"Slopes: a mixed model with a straight line before the first dose and another after "
        f"it (knot at the first dose; each patient with their own intercept, slope and change "
        f"of slope), fitted to {fit.n_obs} assessments of {fit.n_patients} patients. "
        f"{enough} patients have {MIN_PRE} or more assessments before the first dose; the "
        f"others' slope before treatment comes mostly from the other patients (shrinkage). "
        f"On average the score changed by {_two(pre_s)} {unit} a month before treatment and "
        f"{_two(pre_s + change)} a month on treatment (change of slope {_two(change)}).")
    if fit.singular:
        sec.text(f"{m}: the piecewise model is singular (a variance or correlation of the "
                 "patients' lines is on its boundary): some per-patient slopes equal the "
                 "average, and their intervals are too narrow.", "warn")
    out = pc.rename(columns={"se_slope_change": "slope_change_se"})
    return out[["patient_id", "n_obs", "n_pre", "pre_slope", "slope_change", "on_slope",
                "slope_change_se"]]


def _two(x: float) -> str:
    return _pm(x, 2)


def _pm(x: float, digits: int) -> str:
    """``+0.25``, ``-1.3``, ``0.00`` (no sign on a value that rounds to zero); "" if missing.

    Examples
    --------
    >>> _pm(0.254, 2), _pm(-0.004, 2), _pm(-1.25, 1), _pm(float("nan"), 1)
    ('+0.25', '0.00', '-1.2', '')
    """
    if not math.isfinite(x):
        return ""
    if round(x, digits) == 0:
        return f"{0:.{digits}f}"
    return f"{x:+.{digits}f}"


def _has_sem(measure: str, sem: Any) -> bool:
    try:
        resolve_sem(measure, sem)
    except (ValueError, TypeError):
        return False
    return True


def _detectable(sec: Section, measures: list[str], sem: Any, warnings: list[str]) -> None:
    """MDC95 beside the clinically meaningful change, for the measures with an SEM."""
    if not measures:
        return
    tab, msgs = captured(detectable_change, measures, sem)
    warnings += msgs
    show = pd.DataFrame({
        "Measure": tab["measure"].map(_name),
        "SEM": tab["sem"], "SEM source": tab["sem_source"],
        "MDC95": tab["mdc"],
        "Clinically meaningful change": tab["threshold"],
    })
    sec.table("detectable_change", tab, display=show,
              title="Smallest change beyond measurement error (MDC95) beside the clinically "
              "meaningful change.", digits={"SEM": 2, "MDC95": 1},
              caption="MDC95 = 1.96 × √2 × SEM: the smallest change between two assessments "
              "that is larger than the measurement error of both, with 95% confidence.")
    for r in tab.itertuples(index=False):
        mdc, sem_text = f"{r.mdc:.1f} {r.unit}", plain_number(round(float(r.sem), 3))
        if not math.isfinite(r.threshold):
            sec.note(f"{_name(r.measure)}: a change larger than {mdc} is beyond measurement "
                     f"error (MDC95, from SEM {sem_text}); no clinically meaningful change is "
                     "registered to compare it with.")
        elif r.mdc_above_threshold:
            sec.note(f"{_name(r.measure)}: only a change larger than {mdc} is beyond "
                     f"measurement error (MDC95, from SEM {sem_text}), more than the clinically "
                     f"meaningful change of {plain_number(r.threshold)} {r.unit}: in one "
                     "patient, a meaningful change can still be measurement error.")
        else:
            sec.note(f"{_name(r.measure)}: a change larger than {mdc} is beyond measurement "
                     f"error (MDC95, from SEM {sem_text}), no more than the clinically "
                     f"meaningful change of {plain_number(r.threshold)} {r.unit}.")


def _references(sec: Section, rows: pd.DataFrame, changes: pd.DataFrame, m: str,
                references: Sequence[Any] | None, no_ages: str = "") -> list[Reference]:
    """The references to use, or [] with a sentence saying why none."""
    if references is not None and not len(references):
        sec.text("No natural-history comparison: no reference was asked for (references=[]).")
        return []
    types: set[str] = set()
    if "sma_type" in rows.columns:
        for v in rows["sma_type"].dropna().unique():
            v = int(v) if isinstance(v, float) and v.is_integer() else v
            types.add(str(v).strip())
    refs, left = applicable_references(references, m, types)
    if left:
        sec.text(f"Reference(s) {', '.join(left)} describe no {m} change and are not used.")
    if not refs:
        sec.text(f"No natural-history comparison: no shipped published reference describes "
                 f"{m} in SMA type(s) {', '.join(sorted(types)) or 'unknown'}; a reference "
                 "of your own can be given (references=, built with make_reference()).")
        return []
    which = ", ".join(reference_label(r.name, r.published) for r in refs)
    try:
        ages = ages_at_visits(changes, func="the natural-history comparison")
    except ColumnError:
        if no_ages:
            sec.text(no_ages)
            return []
        sec.text(f"No natural-history comparison with {which}: the data hold no ages (an "
                 "'age' column, 'age_at_first_dose' with the study day, or 'date_of_birth' "
                 "with the visit date), so the change expected without treatment over each "
                 "patient's age interval cannot be computed.")
        return []
    if not np.isfinite(ages).any():
        sec.text(f"No natural-history comparison with {which}: every age in the data is "
                 "missing.")
        return []
    if "sma_type" not in rows.columns or not types:
        sec.text(f"No natural-history comparison with {which}: the data have no SMA type "
                 "(an 'sma_type' column), and the references differ by type.")
        return []
    for r in refs:
        about = f" {r.note.rstrip('.')}." if r.note else ""
        sec.text(f"Natural-history reference {reference_label(r.name, r.published)} "
                 f"({r.name}, {'published' if r.published else 'user-supplied'}):{about} "
                 f"Source: {r.citation.rstrip('.')}.")
    return refs


def _no_partner(m: str, measures: Sequence[str]) -> str:
    found = [o for o in _PARTNERS.get(m, ()) if o in measures]
    if not found:
        return ""
    lacking = [x for x in (m, *found) if _threshold(x) is None]
    if all(o.startswith("PP_") for o in lacking):
        names, one = "the Purdue Pegboard", True
    else:
        names, one = " and ".join(_name(o) for o in lacking), len(lacking) == 1
    return (f"No agreement between scales: {'; '.join(_name(o) for o in (m, *found))} are "
            f"measured, but {names} {'has' if one else 'have'} no registered clinically "
            "meaningful change by which to class a change as improved, stable or declined, "
            "and no SEM was given to class it by reliable change instead.")


def _cohort_comparison(sec: Section, changes: pd.DataFrame, m: str, timepoint: str,
                       refs: list[Reference], warnings: list[str]) -> None:
    """Cohort mean of observed minus expected per reference (a sensitivity analysis)."""
    try:
        # the comparison the verdicts used, once more for the cohort mean (no model: cheap)
        cmp, msgs = captured(compare_to_reference, changes, refs, measures=m,
                             timepoint=timepoint)
    except (ValueError, KeyError, TypeError) as err:
        sec.text(f"{m}: the cohort comparison with natural history failed ({err}).", "warn")
        return
    warnings += msgs
    summ = summarize_comparison(cmp, references=refs)
    labels = {r.name: reference_label(r.name, r.published) for r in refs}
    show = pd.DataFrame({
        "Reference": summ["reference"].map(labels), "Patients compared": summ["n"],
        "Mean change": summ["mean_change"], "Mean expected": summ["mean_expected"],
        "Observed minus expected": summ["estimate"], "95% CI low": summ["ci_low"],
        "95% CI high": summ["ci_high"], "Better": summ["n_better"],
        "Within": summ["n_within"], "Worse": summ["n_worse"],
        "Not compared": summ["n_not_compared"],
    })
    sec.table(f"natural_history_{slug(m)}", summ, display=show,
              title=f"{_name(m)}: the cohort at {timepoint} against untreated patients.",
              digits={c: 2 for c in ("Mean change", "Mean expected", "Observed minus expected",
                                     "95% CI low", "95% CI high")},
              caption="The interval carries the uncertainty of the reference's mean, which "
              "does not shrink with more patients." + (
                  " One row per reference: how much the answer depends on the choice."
                  if len(refs) > 1 else ""))
    for r in summ.itertuples(index=False):
        if r.n < 2:
            continue
        sec.note(f"Against {labels.get(r.reference, r.reference)}, the {r.n} patients compared changed on average "
                 f"{signed(r.estimate, digits=1)} {_unit(m)} more than untreated patients of "
                 f"the same ages would (95% CI {r.ci_low:.1f} to {r.ci_high:.1f}); "
                 f"{r.n_better} {'was' if r.n_better == 1 else 'were'} better than expected, "
                 f"{r.n_within} within the expected range and {r.n_worse} worse." + (
                     f" {r.n_not_compared} could not be compared (see each patient's notes)."
                     if r.n_not_compared else ""))


def _summaries(sec: Section, v: pd.DataFrame, m: str, timepoint: str,
               partner: str | None) -> None:
    """Counts of each kind of verdict, in words."""
    if v["slope_verdict"].astype(str).ne("").any():
        c = v.loc[v["slope_verdict"].astype(str) != "", "slope_verdict"].value_counts()
        sec.note(f"Slope on treatment against slope before: {c.get('better on treatment', 0)} "
                 f"of {int(c.sum())} patients better on treatment, {c.get('no clear difference', 0)} "
                 f"without a clear difference, {c.get('worse on treatment', 0)} worse (95% "
                 "intervals of the change of slope, conditional on the model).")
    if v["reliable_change"].astype(str).ne("").any():
        c = v.loc[v["reliable_change"].astype(str) != "", "reliable_change"].value_counts()
        k = int(c.sum())
        sec.note(f"Change from baseline to {timepoint} beyond measurement error: "
                 f"{c.get('reliable improvement', 0)} of {k} patients improved reliably, "
                 f"{c.get('reliable decline', 0)} declined reliably, "
                 f"{c.get('no reliable change', 0)} changed within measurement error.")
    if partner is not None and v["concordance"].astype(str).ne("").any():
        c = v.loc[v["concordance"].astype(str) != "", "concordance"].value_counts()
        parts = "; ".join(f"{c[k]} {k}" for k in sorted(c.index, key=lambda x: (-c[x], x)))
        sec.note(f"{_name(m)} and {_name(partner)} at {timepoint} ({int(c.sum())} patients "
                 f"with both): "
                 f"{parts}.")


def _interval(est: float, lo: float, hi: float, digits: int) -> str:
    if not math.isfinite(est):
        return ""
    text = _pm(est, digits)
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" ({lo:.{digits}f} to {hi:.{digits}f})"
    return text


def _display(v: pd.DataFrame, m: str, partner: str | None) -> pd.DataFrame:
    """The verdict table as the documents show it: plain column names, only filled columns."""
    unit = _unit(m)
    out = pd.DataFrame({"Patient": v["patient_id"].astype(str)})
    if v["slope_verdict"].astype(str).ne("").any():
        out["Assessments before first dose"] = v["n_pre"]
        out[f"Slope before ({unit}/month)"] = [
            _pm(x, 2) for x in v["pre_slope"]]
        out[f"Slope on treatment ({unit}/month)"] = [
            _pm(x, 2) for x in v["on_slope"]]
        out["Change of slope (95% interval)"] = [
            _interval(e, lo, hi, 2) for e, lo, hi in zip(
                v["slope_change"], v["slope_change_low"], v["slope_change_high"], strict=True)]
        out["Slopes"] = v["slope_verdict"]
    tp = str(v["timepoint"].iloc[0]) if len(v) else ""
    out[f"Change at {tp} ({unit})"] = [
        "" if not math.isfinite(x) else signed(x, digits=0 if float(x).is_integer() else 1)
        for x in v["change"]]
    if v["reliable_change"].astype(str).ne("").any():
        out["Beyond measurement error?"] = v["reliable_change"].map(
            lambda s: _RELIABLE_SHORT.get(s, s))
    if v["versus_expected"].astype(str).ne("").any() or v["reference"].astype(str).ne("").any():
        out["Expected without treatment (95% prediction interval)"] = [
            _interval(e, lo, hi, 1) for e, lo, hi in zip(
                v["expected_change"], v["pi_low"], v["pi_high"], strict=True)]
        out["Observed minus expected"] = [
            _pm(x, 1) for x in v["observed_minus_expected"]]
        out["Compared with untreated"] = v["versus_expected"]
    if partner is not None:
        out[f"Agreement with {_name(partner)}"] = v["concordance"]
    return out


def _table_caption(v: pd.DataFrame, slopes: bool, refs: list[Reference]) -> str:
    parts = []
    if slopes:
        parts.append("Slopes per month from the piecewise mixed model (each patient's own "
                     "line: the average plus the patient's deviation); a patient with few "
                     "assessments before the first dose is pulled towards the average.")
    if refs:
        first = reference_label(refs[0].name, refs[0].published)
        parts.append(f"Expected change of untreated patients of the same ages and SMA type "
                     f"from {first}; the prediction interval includes how much untreated "
                     "patients differ." + (" The other references' verdicts are in the notes."
                                           if len(refs) > 1 else ""))
    tp = str(v["timepoint"].iloc[0]) if len(v) else ""
    if pd.to_numeric(v["change"], errors="coerce").isna().any():
        parts.append(f"Blank change: no score at {tp} (or no baseline).")
    parts.append("The CSV file has every number and each patient's notes.")
    return " ".join(parts)


def _forest(sec: Section, v: pd.DataFrame, m: str, warnings: list[str]) -> None:
    """Forest figure of the change of slope: every patient up to :data:`FOREST_MAX_PATIENTS`."""
    ok = v.loc[np.isfinite(v["slope_change"].to_numpy(dtype=float))]
    if not len(ok):
        return
    shown = ok
    if len(ok) > FOREST_MAX_PATIENTS:
        key = [(-int(n) if pd.notna(n) else 0, natural_key(p))
               for n, p in zip(ok["n_pre"], ok["patient_id"], strict=True)]
        order = sorted(range(len(ok)), key=lambda i: key[i])[:FOREST_MAX_PATIENTS]
        shown = ok.iloc[sorted(order)]
        sec.note(f"The figure shows {FOREST_MAX_PATIENTS} of the {len(ok)} patients: those "
                 "with the most assessments before the first dose (ties in id order), whose "
                 "slope before treatment is their own rather than the cohort's. Every "
                 f"patient's change of slope and interval is in the table above and in "
                 f"tables/patient_verdicts_{slug(m)}.csv.")
    data = shown[["patient_id", "measure", "slope_change", "slope_change_low",
                  "slope_change_high", "n_pre"]].copy()
    data["n_pre"] = pd.to_numeric(data["n_pre"], errors="coerce").astype(float)
    try:
        fig, msgs = captured(plot_slope_change, data, measure=m, time="months")
    except (ValueError, KeyError, TypeError) as err:
        sec.text(f"{m}: the figure of the change of slope was not drawn ({err}).", "warn")
        return
    warnings += msgs
    sec.figure(f"slope_change_{slug(m)}", fig,
               title=f"{_name(m)}: change of slope at the first dose, per patient.",
               caption="Dot: the patient's slope on treatment minus their slope before it; "
               "line: its 95% interval; the vertical line at 0 is no change of slope. Blue: "
               "the whole interval above 0; grey: it includes 0; red: below 0. An open dot "
               f"marks a patient with fewer than {MIN_PRE} assessments before the first dose, "
               "whose slope before treatment comes mostly from the other patients.")
