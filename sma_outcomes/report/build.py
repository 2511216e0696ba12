"""``build_report``: one data file in, one self-contained report folder out.

Examples
--------
>>> import tempfile, pathlib
>>> from sma_outcomes.report import build_report
>>> out = pathlib.Path(tempfile.mkdtemp()) / "cs"
>>> html = build_report("data/sample/case_series.csv", out, patient_figures=False)  # doctest: +SKIP
>>> html.name  # doctest: +SKIP
'report.html'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema as S
from .content import Report
from .inference import captured
from .prepare import Prepared, default_timepoint, prepare

__all__ = ["build_report", "prepare", "Prepared", "default_timepoint", "FORMATS"]

#: Output formats besides the CSV tables and PNG/SVG figures.
FORMATS = ("html", "md", "pdf")

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
    from .figures import (
        add_change_figures,
        add_cohort_figures,
        add_item_figures,
        add_patient_figures,
    )
    from .inference import add_key_results, add_lmm, add_mmrm, add_paired, add_responders
    from .provenance import add_methods, input_table, options_table
    from .tables import add_patient_tables, add_summaries, data_summary, missing_codes

    def step(name: str) -> None:
        if progress is not None:
            progress.set_postfix_str(name)
            progress.update()

    from ..stats import summarize

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
    data: PathLike | pd.DataFrame | Sequence[PathLike],
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
    **read_options: Any,
) -> Path:
    """Analyse a score file and write a self-contained report.

    Parameters
    ----------
    data : path, DataFrame, or several paths / a folder
        Scores as :func:`sma_outcomes.read_scores` reads them. Several files or
        a folder give one report each plus an index (see
        :func:`sma_outcomes.report.batch.build_reports`, which this calls and
        which also reports failures without raising).
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
        Worker processes for per-patient figures and batches (default: all usable cores;
        1 works in this process).
    force : bool
        Replace an existing report folder.
    progress : bool
        Show a tqdm progress bar.
    title : str, optional
        Report title; default from the file name.
    **read_options
        Reading options of :func:`sma_outcomes.read_scores` (``sheet_name``,
        ``skiprows``, ``dayfirst``, ``encoding``, ``sep``, ``decimal``, ``purdue``...).

    Returns
    -------
    Path
        ``report.html`` in the report folder (``index.html`` for several inputs).

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
    >>> from sma_outcomes import build_report
    >>> build_report("data/sample/case_series.csv", "reports/case_series",
    ...              formats=["html", "md"], timepoint="Month 18")  # doctest: +SKIP
    PosixPath('reports/case_series/report.html')
    """
    if not isinstance(data, (str, os.PathLike, pd.DataFrame)) or (
        isinstance(data, (str, os.PathLike)) and Path(data).is_dir()
    ):
        from .batch import build_reports

        status = build_reports(
            data, out, formats=formats, measures=measures, timepoint=timepoint,
            schedule=schedule, doses=doses, windows=windows, pseudonymize=pseudonymize,
            pseudonym_key=pseudonym_key, patient_figures=patient_figures, jobs=jobs,
            force=force, progress=progress, **read_options)
        return Path(status.attrs["index"])
    return _build_one(data, out, formats=formats, measures=measures, timepoint=timepoint,
                      schedule=schedule, doses=doses, windows=windows,
                      pseudonymize=pseudonymize, pseudonym_key=pseudonym_key,
                      patient_figures=patient_figures, jobs=jobs, force=force,
                      progress=progress, title=title, read_options=read_options)


def _build_one(data: PathLike | pd.DataFrame, out: PathLike | None, *, formats: Sequence[str],
               measures: Sequence[str] | None, timepoint: str | None, schedule: str,
               doses: Any, windows: Any, pseudonymize: bool, pseudonym_key: str | None,
               patient_figures: bool, jobs: int | None, force: bool, progress: bool,
               title: str | None, read_options: Mapping[str, Any]) -> Path:
    from .provenance import generation_time
    from .render import render_html, render_markdown, render_pdf, write_assets
    from .safety import atomic_folder, check_target

    formats = _check_formats(formats)
    name = "report" if isinstance(data, pd.DataFrame) else Path(data).stem
    target = Path(out) if out is not None else Path("reports") / name
    check_target(target, force=force)
    if not isinstance(data, pd.DataFrame) and not Path(data).is_file():
        raise FileNotFoundError(f"file not found: {data}")
    bar = _bar(progress, 7, name)
    try:
        prep = prepare(data, measures=measures, timepoint=timepoint, schedule=schedule,
                       doses=doses, windows=windows, pseudonymize=pseudonymize,
                       pseudonym_key=pseudonym_key, read_options=read_options)
        if bar is not None:
            bar.set_postfix_str("read")
            bar.update()
        options = {
            "measures": prep.measures, "timepoint": prep.timepoint, "schedule": prep.schedule.name,
            "doses": doses, "windows": windows, "pseudonymize": pseudonymize,
            "pseudonym key": ("given" if (pseudonym_key or os.environ.get(
                "SMA_OUTCOMES_PSEUDONYM_KEY")) else "none") if pseudonymize else "",
            "formats": list(formats), "patient figures": patient_figures,
            **{f"read: {k}": v for k, v in sorted(read_options.items())},
        }
        inputs = {"scores": data, "doses": doses,
                  "windows": windows if isinstance(windows, (str, os.PathLike)) else None}
        generated = generation_time()
        rep = compose(prep, title=title or f"SMA outcomes report: {name}", options=options,
                      inputs=inputs, generated=generated, progress=bar)
        with atomic_folder(target, force=force) as tmp:
            write_assets(rep, tmp)
            if patient_figures:
                _patient_files(prep, tmp, jobs)
            if bar is not None:
                bar.set_postfix_str("documents")
                bar.update()
            if "html" in formats:
                (tmp / "report.html").write_text(render_html(rep), encoding="utf-8")
            if "md" in formats:
                (tmp / "report.md").write_text(render_markdown(rep), encoding="utf-8")
            if "pdf" in formats:
                render_pdf(rep, tmp / "report.pdf")
    finally:
        if bar is not None:
            bar.close()
    main_file = "report.html" if "html" in formats else f"report.{formats[0]}"
    return target / main_file


def _check_formats(formats: Sequence[str] | str) -> list[str]:
    if isinstance(formats, str):
        formats = formats.split(",")
    out = [f.strip().lower().lstrip(".") for f in formats if f.strip()]
    out = ["md" if f == "markdown" else f for f in out]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ValueError(f"format must be among {', '.join(FORMATS)}, not {', '.join(bad) or '(none)'}")
    return list(dict.fromkeys(out))


def _bar(progress: bool, total: int, name: str) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="step", leave=False, disable=None)


def _patient_files(prep: Prepared, folder: Path, jobs: int | None) -> None:
    from ..plot.batch import save_patient_figures

    for fmt in ("png", "svg"):
        captured(save_patient_figures, prep.changes, folder / "figures" / "patients",
                 jobs=jobs, fmt=fmt, dpi=150, doses=prep.doses, schedule=None,
                 measures=prep.measures)
