"""``build_report``: one data file in, one self-contained report folder out.

The batch module (:mod:`sma_outcomes.report.batch`) imports this one, never the
other way round.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema as S
from ..exceptions import OptionError
from ..stats import summarize
from ..stats.estimand import Estimand
from .content import Report
from .estimand import add_estimand_sections
from .figures import (
    add_change_figures,
    add_cohort_figures,
    add_item_figures,
    add_patient_figures,
)
from .inference import (
    add_key_results,
    add_lmm,
    add_mmrm,
    add_paired,
    add_responders,
    captured,
    paired_tests,
)
from .options import ReportOptions
from .patients import write_patient_figures
from .prepare import Prepared, prepare
from .progress import Progress
from .provenance import add_methods, generation_time, input_table, options_table
from .render import FigureWriter, render_html, render_markdown, render_pdf, write_assets
from .safety import atomic_folder, check_target
from .tables import add_patient_tables, add_summaries, data_summary, missing_codes
from .verdict import add_patient_benefit

__all__ = ["build_report", "build_one", "compose"]

PathLike = str | os.PathLike


def compose(prep: Prepared, *, title: str, options: dict[str, Any],
            inputs: dict[str, Any], generated: str, progress: Progress | None = None,
            sink: Any = None, patient_files: bool = False) -> Report:
    """The :class:`Report` of prepared data: every section, figures drawn.

    With ``sink`` (a :class:`~sma_outcomes.report.render.FigureWriter`) each
    figure is saved and released as soon as it is drawn.

    Examples
    --------
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> rep = compose(prep, title="Demo", options={}, inputs={}, generated="now")
    >>> rep.sections[0].title
    'Data summary'
    """

    def step(name: str) -> None:
        if progress is not None:
            progress.stage(name)

    ch, ms, tp = prep.changes, prep.measures, prep.timepoint
    rep = Report(title=title, generated=generated, sink=sink,
                 subtitle=f"{ch[S.PATIENT].nunique()} patients; measures {', '.join(ms)}; "
                 f"comparison of baseline with {tp} ({prep.timepoint_reason}).")
    sec = rep.section("Data summary")
    sec.table("data_summary", data_summary(prep.scores, ch, ms), title="The data.")
    mc = missing_codes(prep.scores)
    if len(mc):
        sec.table("missing_codes", mc, title="Missing scores by the source's code.")
    warn = prep.problems[prep.problems["severity"] != "error"] if len(prep.problems) else None
    if warn is not None and len(warn):
        sec.table("validation_warnings",
                  warn[["row", "column", "value", "rule", "message"]].reset_index(drop=True),
                  title="Validation warnings.")
    for m in prep.warnings:
        sec.text(m, "warn")
    if (warn is None or not len(warn)) and not prep.warnings:
        sec.text("Validation found no problems.")
    tests = paired_tests(ch, ms, tp)
    add_key_results(rep.section(f"Key results: baseline to {tp}"), ch, ms, tp, tests)
    step("tables")
    add_patient_tables(rep.section("Scores by patient and timepoint"), ch, ms)
    summary, _ = captured(summarize, ch, variables=("score", "change", "pct_change"))
    summary = summary[summary["measure"].isin(ms)]
    add_summaries(rep.section("Summaries by timepoint"), summary, ms)
    step("paired tests and responders")
    sec = rep.section(f"Change from baseline to {tp}")
    add_paired(sec, ch, ms, tp, tests)
    add_responders(sec, ch, ms, tp)
    step("linear mixed models")
    lmm = add_lmm(rep.section("Trajectories: linear mixed model"), ch, ms)
    step("MMRM")
    add_mmrm(rep.section("Change by timepoint: mixed model for repeated measures"), ch, ms)
    if prep.events is not None:
        step("estimand, patient flow and sensitivity")
    add_estimand_sections(rep, prep)
    step("per-patient verdicts")
    add_patient_benefit(rep, prep)
    step("cohort figures")
    add_cohort_figures(rep.section("Figures: cohort trajectories"), ch, ms, lmm)
    add_change_figures(rep.section(f"Figures: change from baseline to {tp}"), ch, ms, tp)
    items = rep.section(f"Figures: change by item at {tp}")
    add_item_figures(items, ch, ms, tp)
    if not items.items:
        rep.sections.remove(items)
    add_patient_figures(rep.section("Figures: patients"), ch, ms, prep.doses, None,
                        files=patient_files)
    add_methods(rep.section("Methods and provenance"), inputs=input_table(inputs),
                options=options_table(options), schedule=prep.schedule, windows=prep.windows,
                doses_given=inputs.get("doses") is not None,
                pseudonymized=bool(options.get("pseudonymize")), generated=generated)
    return rep


def build_report(
    data: PathLike | pd.DataFrame,
    out: PathLike | None = None,
    *,
    formats: Sequence[str] = ("html",),
    measures: Sequence[str] | None = None,
    timepoint: str | None = None,
    schedule: str = "nusinersen",
    doses: PathLike | pd.DataFrame | None = None,
    windows: PathLike | pd.DataFrame | Mapping | None = None,
    pseudonymize: bool = False,
    pseudonym_key: str | None = None,
    patient_figures: bool = True,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = False,
    title: str | None = None,
    figure_formats: Sequence[str] = ("png",),
    dpi: int = 300,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    dayfirst: bool | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    purdue: str | None = None,
    columns: Mapping[str, str] | None = None,
    events: PathLike | pd.DataFrame | None = None,
    estimand: Estimand | None = None,
    cutoff: Any = None,
    sem: Mapping[str, float] | None = None,
    references: Sequence[Any] | None = None,
) -> Path:
    """Analyse one score file and write a self-contained report.

    Parameters
    ----------
    data : path or DataFrame
        Scores as :func:`sma_outcomes.read_scores` reads them. For several files
        or a folder use :func:`sma_outcomes.build_reports` (one report each plus
        an index).
    out : path, optional
        Report folder; default ``reports/<file stem>`` (``reports/report`` for
        a DataFrame). Built in a temporary folder beside it and renamed into
        place when complete.
    formats : sequence of {"html", "md", "pdf"}
        Documents to write; tables (CSV) and figures (PNG) are always written.
    measures : sequence of str, optional
        Measure codes; default every total in the data, in registry order.
    timepoint : str, optional
        Timepoint compared with baseline (e.g. ``"Month 18"``); default the last
        one at which at least half of the patients with a baseline have a score.
    schedule : str
        Built-in dosing schedule (:func:`sma_outcomes.timeline.get_schedule`).
    doses : path or DataFrame, optional
        Real per-patient doses (:func:`sma_outcomes.read_doses`).
    windows : path, DataFrame or dict, optional
        Visit windows (``label, lo, hi`` and optional ``target, anchor``).
    pseudonymize : bool
        Replace patient ids by stable codes everywhere (see
        :func:`~sma_outcomes.report.safety.pseudonym_map`) and leave out dates.
    pseudonym_key : str, optional
        Key for ``"P-xxxxxxxx"`` codes (default: ``SMA_OUTCOMES_PSEUDONYM_KEY``,
        else sequential codes ``P01``...).
    patient_figures : bool
        Also write one figure file per patient under ``figures/patients/``
        (named by :func:`~sma_outcomes.report.safety.patient_file_names`). The
        report itself draws at most
        :data:`~sma_outcomes.report.figures.PATIENTS_SHOWN` patients either way.
    jobs : int, optional
        Worker processes for per-patient figures (default: one process below
        300 patients, then up to all usable cores, see
        :func:`~sma_outcomes.report.patients.patient_jobs`; 1 works in this process).
    force : bool
        Replace an existing report folder: only one this tool wrote (it holds
        ``.sma-outcomes-manifest.json``) and whose files nobody added or
        changed since (:func:`~sma_outcomes.report.safety.check_target`).
    progress : bool
        Show progress on stderr (a tqdm bar on a terminal, plain lines elsewhere).
    title : str, optional
        Report title; default from the file name.
    figure_formats : sequence of {"png", "svg", "pdf"}
        Figure files to write; PNG always (the documents embed it), others
        only when asked, so no format is rendered that nobody asked for.
    dpi : int
        Resolution of the PNGs (default 300).
    sheet_name, skiprows, dayfirst, encoding, sep, decimal, purdue, columns
        Reading options, as :func:`sma_outcomes.read_scores` takes them
        (None: the reader's default).
    events : path or DataFrame, optional
        Intercurrent events (:func:`sma_outcomes.read_events`). They are placed
        on the timeline (a treatment switch starts the new drug's schedule),
        and the report gains the estimand, the patient flow, the primary
        analysis under the estimand and its sensitivity to missing data.
    estimand : Estimand, optional
        The strategy per event type (default
        :class:`~sma_outcomes.stats.estimand.Estimand` ``()``: treatment policy
        for every event).
    cutoff : date or number, optional
        The data cut-off (a date, or a study day), for the events check and
        the patient flow (visits not yet due are not missing).
    sem : dict, optional
        Standard error of measurement per measure (``{"HFMSE": 1.2}``) for the
        reliable change of each patient; the registry holds none that a
        published test-retest study gives for these scales.
    references : sequence, optional
        Natural-history references for observed minus expected change (names
        of :func:`~sma_outcomes.stats.natural_history.list_references` or
        :class:`~sma_outcomes.stats.natural_history.Reference` objects);
        default the shipped published ones that fit the data, ``[]`` for none.

    Returns
    -------
    Path
        The main document in the report folder (``report.html`` when HTML is written).

    Raises
    ------
    DataError
        The data have errors (nothing is written).
    ReportExistsError
        ``out`` exists and ``force`` is False, or is not ours to replace, or
        is the current folder, one of its parents or the home folder.
    OutputError
        The folder cannot be written (disk full, read-only, permission, name
        too long); nothing is left behind.

    Notes
    -----
    The same input and options give byte-identical tables, figures, Markdown
    and PDF; the HTML differs only in the stated generation time
    (``SOURCE_DATE_EPOCH`` fixes that too).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sma_outcomes import build_report
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "case_series"
    >>> build_report("data/sample/case_series.csv", out, measures=["HFMSE"],
    ...              patient_figures=False).name
    'report.html'
    """
    if not isinstance(data, (str, os.PathLike, pd.DataFrame)) or (
        isinstance(data, (str, os.PathLike)) and Path(data).is_dir()
    ):
        raise OptionError("build_report() takes one file or DataFrame as `data`; for several "
                          "files or a folder use sma_outcomes.build_reports()")
    read = {"sheet_name": sheet_name, "skiprows": skiprows, "dayfirst": dayfirst,
            "encoding": encoding, "sep": sep, "decimal": decimal, "purdue": purdue,
            "columns": columns}
    options = ReportOptions(
        formats=tuple(formats) if not isinstance(formats, str) else formats,
        measures=measures, timepoint=timepoint, schedule=schedule, doses=doses,
        windows=windows, pseudonymize=pseudonymize, pseudonym_key=pseudonym_key,
        patient_figures=patient_figures, jobs=jobs, title=title, read=read,
        figure_formats=figure_formats, dpi=dpi, events=events, estimand=estimand,
        cutoff=cutoff, sem=sem, references=references)
    return build_one(data, out, options, force=force, progress=progress)


def build_one(data: PathLike | pd.DataFrame, out: PathLike | None, options: ReportOptions, *,
              force: bool = False, progress: bool = False) -> Path:
    """Write the report of one input with resolved :class:`ReportOptions`.

    The batch module calls this for each file; users call :func:`build_report`.
    """
    name = "report" if isinstance(data, pd.DataFrame) else Path(data).stem
    target = Path(out) if out is not None else Path("reports") / name
    check_target(target, force=force)
    if not isinstance(data, pd.DataFrame) and not Path(data).is_file():
        raise FileNotFoundError(f"file not found: {data}")
    o = options
    bar = Progress(name, enabled=progress)
    try:
        bar.stage("reading and checking the data")
        prep = prepare(data, measures=o.measures, timepoint=o.timepoint, schedule=o.schedule,
                       doses=o.doses, windows=o.windows, pseudonymize=o.pseudonymize,
                       pseudonym_key=o.pseudonym_key, read_options=o.read, events=o.events,
                       estimand=o.estimand, cutoff=o.cutoff, sem=o.sem,
                       references=o.references)
        shown = {
            "measures": prep.measures, "timepoint": prep.timepoint,
            "schedule": prep.schedule.name, "doses": o.doses, "windows": o.windows,
            "pseudonymize": o.pseudonymize,
            "pseudonym key": ("given" if (o.pseudonym_key or os.environ.get(
                "SMA_OUTCOMES_PSEUDONYM_KEY")) else "none") if o.pseudonymize else "",
            "formats": list(o.formats), "patient figures": o.patient_figures,
            "figure formats": list(o.figure_formats), "dpi": o.dpi,
            **({"events": o.events, "cutoff": o.cutoff} if o.events is not None else {}),
            **({"sem": ", ".join(f"{k}={v:g}" for k, v in o.sem.items())} if o.sem else {}),
            **({"references": list(o.references)} if o.references is not None else {}),
            **{f"read: {k}": v for k, v in sorted(o.read.items())},
        }
        inputs = {"scores": data, "doses": o.doses, "events": o.events,
                  "windows": o.windows if isinstance(o.windows, (str, os.PathLike)) else None}
        generated = generation_time()
        with atomic_folder(target, force=force) as tmp:
            rep = compose(prep, title=o.title or f"SMA outcomes report: {name}", options=shown,
                          inputs=inputs, generated=generated, progress=bar,
                          sink=FigureWriter(tmp, o.figure_formats, o.dpi),
                          patient_files=o.patient_figures)
            bar.stage("writing tables")
            write_assets(rep, tmp, o.figure_formats, o.dpi)
            if o.patient_figures:
                bar.stage("patient figures")
                bar.patients(prep.changes[S.PATIENT].nunique())
                write_patient_figures(prep.changes, tmp / "figures" / "patients",
                                      measures=prep.measures, doses=prep.doses,
                                      formats=o.figure_formats, dpi=o.dpi, jobs=o.jobs,
                                      progress=bar.advance)
            bar.stage("writing documents")
            if "html" in o.formats:
                (tmp / "report.html").write_text(render_html(rep), encoding="utf-8")
            if "md" in o.formats:
                (tmp / "report.md").write_text(render_markdown(rep), encoding="utf-8")
            if "pdf" in o.formats:
                render_pdf(rep, tmp / "report.pdf")
    finally:
        bar.close()
    return target / o.main_file
