"""``sma-outcomes reproduce case-series``: the Gu & Kong 2021 analysis, regenerated.

From ``data/sample/case_series.csv`` (five children with SMA type 2 on
nusinersen; a reconstruction consistent with every published summary, not the
patients' recorded values): the per-patient table of baseline, Month 18,
change and percent change for HFMSE and the Purdue Pegboard preferred and
non-preferred hand; the ranges the paper quotes, computed from the data;
paired tests with the smallest attainable p-value; each child's verdict ("Is each
patient doing better than expected?": the data have no visit before the first
dose and no ages, which the section states); trajectory and slope figures.

Examples
--------
>>> from sma_outcomes.report.reproduce import case_series_path
>>> case_series_path().name
'case_series.csv'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema as S
from .._shared import signed
from ..load import example_path, read_scores
from ..plot import plot_patients, plot_slope, plot_waterfall
from ..registry import get_scale
from ..timeline import change_from_baseline, default_windows, get_schedule
from ..timeline.schedules import round_half_up
from .content import Report
from .figures import add_cohort_figures
from .inference import add_key_results, add_lmm, add_paired, captured
from .provenance import add_methods, generation_time, input_table, options_table
from .render import render_html, render_markdown, write_assets
from .safety import atomic_folder, check_target
from .verdict import SECTION_TITLE, add_benefit_section

__all__ = ["reproduce_case_series", "case_series_path", "case_series_tables", "PUBLISHED",
           "MEASURES", "TIMEPOINT"]

#: Measures of the case series, in the paper's order.
MEASURES = ("HFMSE", "PP_PREF", "PP_NONPREF")

#: Timepoint compared with baseline.
TIMEPOINT = "Month 18"

#: Why the case series has no natural-history comparison (written when the data have no ages).
NO_AGES = (
    "No natural-history comparison: the five children have SMA type 2, which the published "
    "HFMSE reference covers (Mercuri et al. 2016: untreated types 2 and 3 aged 2.5 to 55.5 "
    "years), but the paper prints no ages and the reconstructed data hold none, so the change "
    "expected without treatment cannot be computed. Each child's age (an 'age_at_first_dose' "
    "column) would allow it."
)

#: Ranges as the paper states them (change low, high; percent low, high), for comparison only.
PUBLISHED = {
    "HFMSE": (3, 10, 13, 53),
    "PP_PREF": (4, 9, 80, 225),
    "PP_NONPREF": (3, 7, 60, 500),
}


def case_series_path() -> Path:
    """``data/sample/case_series.csv``: in the source tree holding the package, else installed.

    The repository root is ``Path(sma_outcomes.__file__).parents[1]``; when the
    package is installed from a wheel the same file ships as
    ``sma_outcomes.sample_data`` (:func:`sma_outcomes.load.example_path`).

    Raises
    ------
    FileNotFoundError
        When neither is found, saying where it looked.

    Examples
    --------
    >>> case_series_path().parent.name
    'sample'
    """
    return example_path("case_series")


def _half_up(x: float) -> float:

    return float("nan") if pd.isna(x) else round_half_up(float(x))


def range_sentence(r: Any) -> str:
    """One sentence on a measure's range of change, every word computed from ``r``.

    ``r`` is a row of the ``ranges`` table of :func:`case_series_tables`.

    Examples
    --------
    >>> from types import SimpleNamespace as Row
    >>> r = Row(measure="HFMSE", n=5, n_improved=4, change_min=-3.0, change_max=10.0,
    ...         pct_min=-10.0, pct_max=53.0, matches=False, paper_change_min=3,
    ...         paper_change_max=10, paper_pct_min=13, paper_pct_max=53)
    >>> range_sentence(r)
    'HFMSE total: 4 of 5 children improved; changes -3 to +10 points, -10% to +53% of baseline — the paper states +3 to +10 and +13% to +53%.'
    """
    sc = get_scale(r.measure)
    who = (f"every child improved ({r.n_improved} of {r.n})" if r.n_improved == r.n
           else f"{r.n_improved} of {r.n} children improved")
    text = (f"{sc.name}: {who}; changes {signed(r.change_min, digits=_digits(r.change_min))} "
            f"to {signed(r.change_max, digits=_digits(r.change_max))} {sc.unit}, "
            f"{signed(r.pct_min, '%')} to {signed(r.pct_max, '%')} of baseline")
    if r.matches:
        return text + " — as published."
    return (text + f" — the paper states {signed(r.paper_change_min)} to "
            f"{signed(r.paper_change_max)} and {signed(r.paper_pct_min, '%')} to "
            f"{signed(r.paper_pct_max, '%')}.")


def _digits(x: float) -> int:
    return 0 if float(x) == round(float(x)) else 1


def case_series_tables(changes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-patient table and ranges of the change from baseline to Month 18.

    Parameters
    ----------
    changes : DataFrame
        ``change_from_baseline`` of the case-series scores.

    Returns
    -------
    per_patient : DataFrame
        ``patient_id, measure, baseline, month_18, change, pct_change,
        pct_change_rounded`` (percent rounded half up to a whole percent).
    ranges : DataFrame
        Per measure: ``n, change_min, change_max, pct_min, pct_max`` (rounded
        percents), ``n_improved``, the paper's stated range (``paper_change_min``,
        ``paper_change_max``, ``paper_pct_min``, ``paper_pct_max``) and ``matches``.

    Examples
    --------
    >>> from sma_outcomes import change_from_baseline, read_scores
    >>> per, ranges = case_series_tables(change_from_baseline(read_scores(case_series_path())))
    >>> ranges[["measure", "change_min", "change_max", "pct_min", "pct_max"]].values.tolist()
    [['HFMSE', 3.0, 10.0, 13.0, 53.0], ['PP_PREF', 4.0, 9.0, 80.0, 225.0], ['PP_NONPREF', 3.0, 7.0, 60.0, 500.0]]
    """
    d = changes[changes[S.MEASURE].isin(MEASURES) & (changes[S.TIMEPOINT] == TIMEPOINT)]
    if S.ANALYSED in d.columns:
        d = d[d[S.ANALYSED].astype(bool)]
    d = d[d[S.CHANGE].notna()]
    per = pd.DataFrame({
        "patient_id": d[S.PATIENT].astype(str),
        "measure": pd.Categorical(d[S.MEASURE].astype(str), MEASURES, ordered=True),
        "baseline": d[S.BASELINE].astype(float),
        "month_18": d[S.SCORE].astype(float),
        "change": d[S.CHANGE].astype(float),
        "pct_change": d[S.PCT_CHANGE].astype(float),
    })
    per["pct_change_rounded"] = per["pct_change"].map(_half_up)
    per = per.sort_values(["measure", "patient_id"], kind="stable").reset_index(drop=True)
    rows = []
    for m in MEASURES:
        g = per[per["measure"] == m]
        pub = PUBLISHED[m]
        got = (g["change"].min(), g["change"].max(), g["pct_change_rounded"].min(),
               g["pct_change_rounded"].max())
        rows.append({
            "measure": m, "n": len(g), "n_improved": int((g["change"] > 0).sum()),
            "change_min": got[0], "change_max": got[1], "pct_min": got[2], "pct_max": got[3],
            "paper_change_min": pub[0], "paper_change_max": pub[1], "paper_pct_min": pub[2],
            "paper_pct_max": pub[3],
            "matches": bool(all(float(a) == float(b) for a, b in zip(got, pub, strict=True))),
        })
    per["measure"] = per["measure"].astype(str)
    return per, pd.DataFrame(rows)


def _wide(per: pd.DataFrame) -> pd.DataFrame:

    rows = []
    for pid, g in per.groupby("patient_id", sort=True):
        row: dict[str, object] = {"patient": pid}
        for m in MEASURES:
            r = g[g["measure"] == m]
            if not len(r):
                continue
            r = r.iloc[0]
            row[f"{m} baseline"] = r["baseline"]
            row[f"{m} {TIMEPOINT}"] = r["month_18"]
            row[f"{m} change"] = signed(r["change"])
            row[f"{m} %"] = signed(r["pct_change"], "%")
        rows.append(row)
    return pd.DataFrame(rows)


def reproduce_case_series(
    out: str | os.PathLike = "reports/case-series",
    *,
    force: bool = False,
    progress: bool = False,
    data: str | os.PathLike | None = None,
    sem: Mapping[str, Any] | None = None,
    references: Sequence[Any] | None = None,
) -> Path:
    """Regenerate the case-series analysis as an HTML report with CSV tables and figures.

    Parameters
    ----------
    out : path
        Report folder (built in a temporary folder beside it, renamed when complete).
    force : bool
        Replace an existing report folder.
    progress : bool
        Show a tqdm progress bar.
    data : path, optional
        Another copy of the case-series file (default: :func:`case_series_path`).
    sem : dict, optional
        Standard error of measurement per measure (``{"HFMSE": 1.2}`` or
        ``{"HFMSE": (4.71, "source")}``) for each child's reliable change; the
        registry holds no test-retest SEM for these scales, so without it the
        section says that reliable change is not assessed.
    references : sequence, optional
        Natural-history references (names or ``Reference`` objects); default
        the shipped published ones for SMA type 2 (the data hold no ages, so
        none can be applied; the section says so).

    Returns
    -------
    Path
        ``report.html`` in ``out``; beside it ``report.md``, ``tables/*.csv``
        (``per_patient.csv``, ``ranges.csv``, ``paired_tests.csv``, ...) and
        ``figures/*.png`` and ``.svg`` (vector figures for a journal).

    Raises
    ------
    ReportExistsError
        ``out`` exists and ``force`` is False.
    FileNotFoundError
        The sample data are not found.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sma_outcomes.report import reproduce_case_series
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "case-series"
    >>> reproduce_case_series(out).name
    'report.html'
    """

    target = Path(out)
    check_target(target, force=force)
    path = Path(data) if data is not None else case_series_path()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=4, desc="case series", unit="step", leave=False, disable=None)

    def step() -> None:
        if bar is not None:
            bar.update()

    try:
        scores, read_msgs = captured(read_scores, path)
        changes, msgs = captured(change_from_baseline, scores, schedule="nusinersen")
        per, ranges = case_series_tables(changes)
        step()
        rep = Report(
            title="Nusinersen in five children with SMA type 2: motor function at Month 18",
            subtitle="Reproduction of the Gu & Kong 2021 case-series analysis (HFMSE and "
            "Purdue Pegboard, baseline versus Month 18) from data/sample/case_series.csv.",
            generated=generation_time(),
        )
        sec = rep.section("Data")
        sec.text(
            f"{scores[S.PATIENT].nunique()} children, {len(scores)} scores; nusinersen 12 mg on "
            "days 0, 14, 28 and 63, then every 4 months; assessments at baseline, between the "
            "3rd and 4th dose, and before each maintenance dose up to Month 18.")
        sec.text(
            "The per-patient values are a reconstruction consistent with every summary the "
            "paper publishes; they are not the patients' recorded values.", "warn")
        for m in [*read_msgs, *msgs]:
            sec.text(m, "warn")
        add_key_results(rep.section(f"Key results: baseline to {TIMEPOINT}"), changes,
                        list(MEASURES), TIMEPOINT)
        sec = rep.section(f"Change from baseline to {TIMEPOINT}, per patient")
        sec.table("per_patient", per, display=_wide(per),
                  title=f"Baseline, {TIMEPOINT}, change and percent change (rounded half up).")
        sec = rep.section("The published ranges, computed from the data")
        sec.table("ranges", ranges,
                  title="Range of the change and of the percent change across the five "
                  "children, next to the ranges the paper states.")
        for r in ranges.itertuples(index=False):
            sec.note(range_sentence(r))
        step()
        sec = rep.section("Paired tests: baseline versus Month 18")
        add_paired(sec, changes, list(MEASURES), TIMEPOINT)
        n = int(per[S.PATIENT].nunique()) if S.PATIENT in per.columns else len(per)
        sec.note(
            f"With {n} patients the exact Wilcoxon signed-rank and sign tests cannot give a "
            f"two-sided p-value below {2 / 2**n:.4g} (= 2 / 2^{n}), even when all {n} "
            "improve: the consistency of the changes, not a p-value, is the finding of a "
            "case series.")
        sec = rep.section("Trajectories")
        lmm = add_lmm(sec, changes, list(MEASURES))
        add_benefit_section(rep.section(SECTION_TITLE), changes, list(MEASURES), TIMEPOINT,
                            sem=sem, references=references,
                            no_ages=NO_AGES,
                            how_sem="reproduce_case_series(sem={{'{m}': 1.2}})")
        step()
        sec = rep.section("Figures: trajectories")
        fig, _ = captured(plot_patients, changes, measures=list(MEASURES))
        sec.figure("trajectories", fig, title="Each child's scores over months since first dose.",
                   caption="Dose days marked; dashed line: baseline; band: ± the clinically "
                   "meaningful change where one is registered.")
        add_cohort_figures(sec, changes, list(MEASURES), lmm)
        sec = rep.section(f"Figures: baseline to {TIMEPOINT}")
        for m in MEASURES:
            f, _ = captured(plot_slope, changes, measure=m, timepoint=TIMEPOINT)
            sec.figure(f"slope_{m.lower()}", f, title=f"{get_scale(m).name}: baseline to "
                       f"{TIMEPOINT}.", caption="One line per child.")
            f, _ = captured(plot_waterfall, changes, measure=m, timepoint=TIMEPOINT)
            sec.figure(f"waterfall_{m.lower()}", f,
                       title=f"{get_scale(m).name}: change at {TIMEPOINT}.",
                       caption="Sorted by change.")
        sched = get_schedule("nusinersen")
        add_methods(
            rep.section("Methods and provenance"), inputs=input_table({"scores": path}),
            options=options_table({"command": "sma-outcomes reproduce case-series",
                                   "schedule": sched.name, "timepoint": TIMEPOINT,
                                   "measures": list(MEASURES)}),
            schedule=sched, windows=default_windows(sched), doses_given=False,
            pseudonymized=False, generated=rep.generated)
        with atomic_folder(target, force=force) as tmp:
            write_assets(rep, tmp, ("png", "svg"))  # a paper's figures: vector too
            (tmp / "report.html").write_text(render_html(rep), encoding="utf-8")
            (tmp / "report.md").write_text(render_markdown(rep), encoding="utf-8")
        step()
    finally:
        if bar is not None:
            bar.close()
    return target / "report.html"
