"""Report sections of figures: cohort trajectories, change at a timepoint, patients.

Figures are drawn here one at a time; the report's figure writer
(:class:`sma_outcomes.report.render.FigureWriter`) saves each as it is added
(PNG, plus SVG when asked; deterministic bytes) and releases it.

Examples
--------
>>> chunks(list("abcde"), 2)
[['a', 'b'], ['c', 'd'], ['e']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import schema as S
from .._shared import natural_key
from ..plot import plot_cohort, plot_item_heatmap, plot_patients, plot_slope, plot_waterfall
from ..registry import get_scale, items_of, plain_name
from .content import Section, slug
from .inference import captured

__all__ = ["add_cohort_figures", "add_change_figures", "add_item_figures",
           "add_patient_figures", "chunks"]

#: Patients per small-multiples figure embedded in the report.
PATIENTS_PER_FIGURE = 12

#: Most patients in a slope chart: above it one line per patient is a solid block,
#: so the report shows the waterfall (every patient, one bar each) and says so.
SLOPE_MAX_PATIENTS = 200

#: Most patients drawn in the report's own small multiples (the first ones in
#: natural order); the others are in ``figures/patients/`` (one file each) when
#: per-patient figures are written, and in the tables in any case.
PATIENTS_SHOWN = 12


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """Consecutive pieces of at most ``size`` items.

    Examples
    --------
    >>> chunks([1, 2, 3], 2)
    [[1, 2], [3]]
    """
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _warn(sec: Section, what: str, err: Exception) -> None:
    sec.text(f"{what}: figure not drawn ({err}).", "warn")


def add_cohort_figures(
    sec: Section, changes: pd.DataFrame, measures: list[str], lmm: dict[str, Any]
) -> None:
    """Cohort trajectory per measure, with the LMM population curve when fitted.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Figures")
    >>> add_cohort_figures(sec, prep.changes, prep.measures, {})
    >>> [f.name for f in sec.items]
    ['cohort_hfmse']
    """

    for m in measures:
        try:
            fig, _ = captured(plot_cohort, changes, measure=m, model=lmm.get(m))
        except (ValueError, KeyError, TypeError, IndexError) as err:
            _warn(sec, m, err)
            continue
        curve = " and the mixed model's population curve with its 95% band" if m in lmm else ""
        sec.figure(
            f"cohort_{slug(m)}", fig, title=f"{get_scale(m).name}: cohort trajectory.",
            caption=f"Each patient as a thin line; mean with 95% CI at each timepoint{curve}.",
        )


def add_change_figures(
    sec: Section, changes: pd.DataFrame, measures: list[str], timepoint: str
) -> None:
    """Slope chart and waterfall of the change at ``timepoint`` per measure.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Figures")
    >>> add_change_figures(sec, prep.changes, prep.measures, "Month 18")
    >>> [f.name for f in sec.items]
    ['slope_hfmse', 'waterfall_hfmse']
    >>> import sma_outcomes.report.figures as F
    >>> F.SLOPE_MAX_PATIENTS, sec = 3, Section("Figures")
    >>> add_change_figures(sec, prep.changes, prep.measures, "Month 18")
    >>> [i.kind for i in sec.items], sec.items[0].body[:36]
    (['text', 'figure'], 'HFMSE: no slope chart for 5 patients')
    >>> F.SLOPE_MAX_PATIENTS = 200
    """

    for m in measures:
        at = changes[(changes[S.MEASURE] == m) & (changes[S.TIMEPOINT] == timepoint)
                     & changes[S.CHANGE].notna()]
        if not len(at):
            sec.text(f"{plain_name(m)}: no change at {timepoint}; no change figures.", "warn")
            continue
        thr = get_scale(m).threshold
        band = f" Dashed lines: ±{thr:g} {get_scale(m).unit}, the clinically meaningful change." \
            if thr is not None else " No clinically meaningful change is registered for it."
        kinds = [("slope", plot_slope), ("waterfall", plot_waterfall)]
        n_at = at[S.PATIENT].nunique()
        if n_at > SLOPE_MAX_PATIENTS:
            kinds = kinds[1:]
            sec.note(f"{plain_name(m)}: no slope chart for {n_at} patients (it is drawn up to "
                     f"{SLOPE_MAX_PATIENTS}, beyond which the lines merge into one block); "
                     "the waterfall shows every patient's change.")
        for kind, func in kinds:
            try:
                fig, _ = captured(func, changes, measure=m, timepoint=timepoint)
            except (ValueError, KeyError, TypeError, IndexError) as err:
                _warn(sec, f"{plain_name(m)} {kind}", err)
                continue
            what = ("each patient's baseline joined to their score at " + timepoint
                    if kind == "slope" else "each patient's change at " + timepoint + ", sorted")
            sec.figure(f"{kind}_{slug(m)}", fig,
                       title=f"{get_scale(m).name}: {kind} chart.",
                       caption=f"{what[0].upper()}{what[1:]}." + (band if kind == "waterfall" else ""))


def add_item_figures(
    sec: Section, changes: pd.DataFrame, measures: list[str], timepoint: str
) -> None:
    """Item-level heatmap of change at ``timepoint`` for scales scored item by item.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Figures")
    >>> add_item_figures(sec, prep.changes, prep.measures, "Month 18")  # no item scores
    >>> sec.items
    []
    """

    present = set(changes[S.MEASURE].astype(str))
    for m in measures:
        items = [c for c in items_of(m) if c in present] if get_scale(m).items else []
        if not items:
            continue
        try:
            fig, _ = captured(plot_item_heatmap, changes, scale=m, timepoint=timepoint)
        except (ValueError, KeyError, TypeError, IndexError) as err:
            _warn(sec, f"{plain_name(m)} items", err)
            continue
        sec.figure(f"items_{slug(m)}", fig, title=f"{get_scale(m).name}: change by item at "
                   f"{timepoint}.", caption="Patients x items; gains blue, losses red, items "
                   "not scored grey.")


def add_patient_figures(
    sec: Section, changes: pd.DataFrame, measures: list[str], doses: pd.DataFrame | None,
    schedule: str | None, *, limit: int = PATIENTS_SHOWN, files: bool = False,
) -> None:
    """Small multiples of the patients' trajectories (all measures), at most ``limit`` patients.

    The first ``limit`` patients in natural order are drawn in figures of
    :data:`PATIENTS_PER_FIGURE`; a note says where the others are: one file
    per patient in ``figures/patients/`` when ``files`` (per-patient figures
    are written), else only in the tables. The cost of the report therefore
    does not grow with the number of patients.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Figures")
    >>> add_patient_figures(sec, prep.changes, prep.measures, prep.doses, None)
    >>> [f.name for f in sec.items]
    ['patients_01']
    >>> sec = Section("Figures")
    >>> add_patient_figures(sec, prep.changes, prep.measures, prep.doses, None, limit=2)
    >>> [i.kind for i in sec.items], sec.items[0].body[:40]
    (['text', 'figure'], 'The figure shows the first 2 of 5 patien')
    """

    pids = sorted(changes[S.PATIENT].astype(str).unique(), key=natural_key)
    shown = pids[:max(0, limit)]
    if len(shown) < len(pids):
        where = ("every patient has a figure of their own in figures/patients/ (one PNG per "
                 "patient, named after the patient id)" if files else
                 "the others' scores are in the tables above and in tables/patients_*.csv; "
                 "per-patient figure files were not asked for (--no-patient-figures)")
        sec.note(f"The figure shows the first {len(shown)} of {len(pids)} patients in id "
                 f"order; {where}.")
    groups = chunks(shown, PATIENTS_PER_FIGURE)
    for i, group in enumerate(groups, start=1):
        part = f" ({i} of {len(groups)})" if len(groups) > 1 else ""
        rows = changes[changes[S.PATIENT].astype(str).isin(group)]  # not the whole registry
        dose_rows = (doses[doses[S.PATIENT].astype(str).isin(group)]
                     if doses is not None and S.PATIENT in doses.columns else doses)
        try:
            fig, _ = captured(plot_patients, rows, patient_ids=group, measures=measures,
                              doses=dose_rows, schedule=schedule)
        except (ValueError, KeyError, TypeError, IndexError) as err:
            _warn(sec, "patients" + part, err)
            continue
        sec.figure(
            f"patients_{i:02d}", fig, title=f"Per-patient trajectories{part}.",
            caption="Scores over months since first dose; dashed line: the patient's baseline, "
            "band: ± the clinically meaningful change; dose days marked; a missing score "
            "breaks the line.",
        )
