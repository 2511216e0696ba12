"""Several data files (or a folder) in, one report each plus an index page out.

A file with bad data is listed in the index with its DataError; the others
are still reported.

Examples
--------
>>> report_names(["a/x.csv", "b/x.xlsx", "y.csv"])
['x_csv', 'x_xlsx', 'y']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import DataError
from .build import build_one
from .options import ReportOptions
from .provenance import generation_time
from .render import render_index
from .safety import OutputError, atomic_folder, check_target, sha256_file, write_csv

__all__ = ["build_reports", "BatchResult", "expand_inputs", "report_names", "usable_cores",
           "DATA_SUFFIXES"]

#: File suffixes taken from a folder.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xpt")


def expand_inputs(data: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The data files: the paths given, folders replaced by their data files (sorted).

    Raises
    ------
    FileNotFoundError
        A path does not exist, or a folder holds no data file.

    Examples
    --------
    >>> [p.name for p in expand_inputs("data/sample")][:3]
    ['case_series.csv', 'clinic_export.xlsx', 'cohort.csv']
    """
    items = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                           and f.suffix.lower() in DATA_SUFFIXES)
            if not found:
                raise FileNotFoundError(f"no data file ({', '.join(DATA_SUFFIXES)}) in folder {p}")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"file not found: {item}")
    return out


def usable_cores() -> int:
    """Cores this process may run on.

    Examples
    --------
    >>> usable_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def report_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Folder name of each report: the file stem, with the suffix when stems collide.

    Examples
    --------
    >>> report_names(["a.csv", "b.csv"])
    ['a', 'b']
    """
    stems = [Path(p).stem for p in paths]
    return [
        f"{Path(p).stem}_{Path(p).suffix.lstrip('.').lower()}" if stems.count(Path(p).stem) > 1
        else Path(p).stem
        for p in paths
    ]


@dataclass(frozen=True)
class BatchResult:
    """What :func:`build_reports` wrote.

    Attributes
    ----------
    index : Path
        The batch's ``index.html``.
    status : DataFrame
        ``input, report, sha256, status, detail`` per file (as ``index.csv``).
    """

    index: Path
    status: pd.DataFrame

    @property
    def n_ok(self) -> int:
        """Number of reports written."""
        return int((self.status["status"] == "ok").sum())


def _one(path: str, target: str, options: ReportOptions) -> dict[str, str]:
    """Build one report; never raises: returns status and detail."""
    try:
        build_one(path, target, options)
        return {"status": "ok", "detail": ""}
    except DataError as err:
        probs = getattr(err, "problems", None)
        if probs is not None and len(probs) and "message" in probs.columns:
            msgs = [
                (f"row {int(r.row)}, " if pd.notna(r.row) else "")
                + (f"column {r.column!r}: " if isinstance(r.column, str) and r.column else "")
                + str(r.message)
                for r in probs.itertuples(index=False)
                if getattr(r, "severity", "error") == "error"
            ]
        else:
            msgs = [ln.strip() for ln in str(err).splitlines()[1:] or str(err).splitlines()]
        more = f"; and {len(msgs) - 3} more" if len(msgs) > 3 else ""
        return {"status": "data error",
                "detail": f"{len(msgs)} problem(s): " + "; ".join(msgs[:3]) + more}
    except OutputError:  # disk full or read-only: every other report would fail too
        raise
    except Exception as err:  # one failed input must not stop the batch
        return {"status": "error", "detail": f"{type(err).__name__}: {err}"}


def build_reports(
    data: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    *,
    formats: Sequence[str] = ("html",),
    measures: Sequence[str] | None = None,
    timepoint: str | None = None,
    schedule: str = "nusinersen",
    doses: str | os.PathLike | pd.DataFrame | None = None,
    windows: str | os.PathLike | pd.DataFrame | Mapping | None = None,
    pseudonymize: bool = False,
    pseudonym_key: str | None = None,
    patient_figures: bool = True,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = False,
    read_options: Mapping[str, Any] | None = None,
    figure_formats: Sequence[str] = ("png",),
    dpi: int = 300,
    sem: Mapping[str, float] | None = None,
    references: Sequence[Any] | None = None,
) -> BatchResult:
    """One report per data file plus ``index.html`` and ``index.csv``.

    Parameters
    ----------
    data : path or sequence of paths
        Files and/or folders (a folder's data files are taken in name order).
    out : path, optional
        Batch folder; default ``reports/<folder name>`` for one folder, else
        ``reports/batch``. Each report goes to ``<out>/<file stem>/``. The batch
        is built in a temporary folder and renamed into place when complete.
    formats, measures, timepoint, schedule, doses, windows, pseudonymize, pseudonym_key, patient_figures, figure_formats, dpi, sem, references
        As :func:`sma_outcomes.build_report`, for every file. (Events belong
        to one data file, so ``events`` is an option of ``build_report`` only.)
    jobs : int, optional
        Reports built in parallel worker processes (default: all usable cores).
    force : bool
        Replace an existing batch folder (only one this tool wrote).
    progress : bool
        A tqdm progress bar over the files.
    read_options : dict, optional
        Reading options of :func:`sma_outcomes.read_scores` for every file
        (``sheet_name``, ``skiprows``, ``dayfirst``, ...).

    Returns
    -------
    BatchResult
        ``index`` (the path of ``index.html``) and ``status``: ``input, report,
        sha256, status, detail`` per file, status ``"ok"``, ``"data error"`` (a
        DataError) or ``"error"``.

    Examples
    --------
    >>> import pathlib, shutil, tempfile
    >>> from sma_outcomes.report import build_reports
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = shutil.copy("data/sample/case_series.csv", folder)
    >>> _ = (folder / "typo.csv").write_text("patient_id,visit,day,HFMSE\\nP1,Baseline,0,70\\n")
    >>> batch = build_reports(folder, folder / "reports", measures=["HFMSE"],
    ...                       patient_figures=False, jobs=1)
    >>> batch.status[["input", "status"]]
                 input      status
    0  case_series.csv          ok
    1         typo.csv  data error
    """

    options = ReportOptions(
        formats=tuple(formats) if not isinstance(formats, str) else formats,
        measures=measures, timepoint=timepoint, schedule=schedule, doses=doses,
        windows=windows, pseudonymize=pseudonymize, pseudonym_key=pseudonym_key,
        patient_figures=patient_figures, jobs=1, read=dict(read_options or {}),
        figure_formats=figure_formats, dpi=dpi, sem=sem, references=references)
    paths = expand_inputs(data)
    if out is None:
        single_dir = isinstance(data, (str, os.PathLike)) and Path(data).is_dir()
        out = Path("reports") / (Path(data).name if single_dir else "batch")
    target = Path(out)
    check_target(target, force=force)
    names = report_names(paths)
    jobs = int(jobs) if jobs else usable_cores()
    jobs = max(1, min(jobs, len(paths)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), unit="file", desc="reports", disable=None)
    results: list[dict[str, str]] = []
    with atomic_folder(target, force=force) as tmp:
        try:
            if jobs == 1:
                for p, n in zip(paths, names, strict=True):
                    results.append(_one(str(p), str(tmp / n), options))
                    if bar is not None:
                        bar.update()
            else:
                with ProcessPoolExecutor(max_workers=jobs) as pool:
                    futs = [pool.submit(_one, str(p), str(tmp / n), options)
                            for p, n in zip(paths, names, strict=True)]
                    for f in futs:
                        results.append(f.result())
                        if bar is not None:
                            bar.update()
        finally:
            if bar is not None:
                bar.close()
        main = options.main_file
        status = pd.DataFrame({
            "input": [p.name for p in paths],
            "report": [f"{n}/{main}" if r["status"] == "ok" else ""
                       for n, r in zip(names, results, strict=True)],
            "sha256": [sha256_file(p) for p in paths],
            "status": [r["status"] for r in results],
            "detail": [r["detail"] for r in results],
        })
        write_csv(status, tmp / "index.csv")
        entries = [{"name": r.input, "sha256": r.sha256, "status": r.status,
                    "href": r.report, "detail": r.detail}
                   for r in status.itertuples(index=False)]
        html = render_index(f"SMA outcomes reports: {target.name}", entries, generation_time())
        (tmp / "index.html").write_text(html, encoding="utf-8")
    return BatchResult(index=target / "index.html", status=status)
