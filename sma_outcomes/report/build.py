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
from ..plot.batch import save_patient_figures
from ..stats import summarize
from .content import Report
from .figures import (
    add_change_figures,
    add_cohort_figures,
    add_item_figures,
    add_patient_figures,
)
from .inference import add_key_results, add_lmm, add_mmrm, add_paired, add_responders, captured
from .options import ReportOptions
from .prepare import Prepared, prepare
from .provenance import add_methods, generation_time, input_table, options_table
from .render import render_html, render_markdown, render_pdf, write_assets
from .safety import atomic_folder, check_target
from .tables import add_patient_tables, add_summaries, data_summary, missing_codes

__all__ = ["build_report", "build_one", "compose"]

PathLike = str | os.PathLike


def compose(prep: Prepared, *, title: str, options: dict[str, Any],
            inputs: dict[str, Any], generated: str, progress: Any = None) -> Report:
    """The :class:`Report` of prepared data: every section, figures drawn.

    Examples
    --------
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])  # doctest: +SKIP
    >>> rep = compose(prep, title="Demo", options={}, inputs={}, generated="now")  # doctest: +SKIP
    >>> rep.sections[0].title  # doctest: +SKIP
    'Data summary'
    """

    def step(name: str) -> None:
        if progress is not None:
            progress.set_postfix_str(name)
            progress.update()


    ch, ms, tp = prep.changes, prep.measures, prep.timepoint
    rep = Report(title=title, generated=generated,
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
    add_key_results(rep.section(f"Key results: baseline to {tp}"), ch, ms, tp)
    step("tables")
    add_patient_tables(rep.section("Scores by patient and timepoint"), ch, ms)
    summary, _ = captured(summarize, ch, variables=("score", "change", "pct_change"))
    summary = summary[summary["measure"].isin(ms)]
    add_summaries(rep.section("Summaries by timepoint"), summary, ms)
    step("tests")
    sec = rep.section(f"Change from baseline to {tp}")
    add_paired(sec, ch, ms, tp)
    add_responders(sec, ch, ms, tp)
    step("mixed model")
    lmm = add_lmm(rep.section("Trajectories: linear mixed model"), ch, ms)
    step("MMRM")
    add_mmrm(rep.section("Change by timepoint: mixed model for repeated measures"), ch, ms)
    step("figures")
    add_cohort_figures(rep.section("Figures: cohort trajectories"), ch, ms, lmm)
    add_change_figures(rep.section(f"Figures: change from baseline to {tp}"), ch, ms, tp)
    items = rep.section(f"Figures: change by item at {tp}")
    add_item_figures(items, ch, ms, tp)
    if not items.items:
        rep.sections.remove(items)
    add_patient_figures(rep.section("Figures: patients"), ch, ms, prep.doses, None)
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
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    dayfirst: bool | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    purdue: str | None = None,
    columns: Mapping[str, str] | None = None,
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
        Documents to write; tables (CSV) and figures (PNG, SVG) are always written.
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
        Also write one PNG and SVG per patient under ``figures/patients/``.
    jobs : int, optional
        Worker processes for per-patient figures (default: all usable cores;
        1 works in this process).
    force : bool
        Replace an existing report folder (only one this tool wrote).
    progress : bool
        Show a tqdm progress bar.
    title : str, optional
        Report title; default from the file name.
    sheet_name, skiprows, dayfirst, encoding, sep, decimal, purdue, columns
        Reading options, as :func:`sma_outcomes.read_scores` takes them
        (None: the reader's default).

    Returns
    -------
    Path
        The main document in the report folder (``report.html`` when HTML is written).

    Raises
    ------
    DataError
        The data have errors (nothing is written).
    ReportExistsError
        ``out`` exists and ``force`` is False.

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
        patient_figures=patient_figures, jobs=jobs, title=title, read=read)
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
    bar = _bar(progress, 7, name)
    try:
        prep = prepare(data, measures=o.measures, timepoint=o.timepoint, schedule=o.schedule,
                       doses=o.doses, windows=o.windows, pseudonymize=o.pseudonymize,
                       pseudonym_key=o.pseudonym_key, read_options=o.read)
        if bar is not None:
            bar.set_postfix_str("read")
            bar.update()
        shown = {
            "measures": prep.measures, "timepoint": prep.timepoint,
            "schedule": prep.schedule.name, "doses": o.doses, "windows": o.windows,
            "pseudonymize": o.pseudonymize,
            "pseudonym key": ("given" if (o.pseudonym_key or os.environ.get(
                "SMA_OUTCOMES_PSEUDONYM_KEY")) else "none") if o.pseudonymize else "",
            "formats": list(o.formats), "patient figures": o.patient_figures,
            **{f"read: {k}": v for k, v in sorted(o.read.items())},
        }
        inputs = {"scores": data, "doses": o.doses,
                  "windows": o.windows if isinstance(o.windows, (str, os.PathLike)) else None}
        generated = generation_time()
        rep = compose(prep, title=o.title or f"SMA outcomes report: {name}", options=shown,
                      inputs=inputs, generated=generated, progress=bar)
        with atomic_folder(target, force=force) as tmp:
            write_assets(rep, tmp)
            if o.patient_figures:
                _patient_files(prep, tmp, o.jobs)
            if bar is not None:
                bar.set_postfix_str("documents")
                bar.update()
            if "html" in o.formats:
                (tmp / "report.html").write_text(render_html(rep), encoding="utf-8")
            if "md" in o.formats:
                (tmp / "report.md").write_text(render_markdown(rep), encoding="utf-8")
            if "pdf" in o.formats:
                render_pdf(rep, tmp / "report.pdf")
    finally:
        if bar is not None:
            bar.close()
    return target / o.main_file


def _bar(progress: bool, total: int, name: str) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="step", leave=False, disable=None)


def _patient_files(prep: Prepared, folder: Path, jobs: int | None) -> None:

    for fmt in ("png", "svg"):
        captured(save_patient_figures, prep.changes, folder / "figures" / "patients",
                 jobs=jobs, fmt=fmt, dpi=150, doses=prep.doses, schedule=None,
                 measures=prep.measures)
