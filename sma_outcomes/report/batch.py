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
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["build_reports", "expand_inputs", "report_names", "usable_cores", "DATA_SUFFIXES"]

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
    >>> [p.name for p in expand_inputs("data/sample")]
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


def _one(path: str, target: str, kwargs: dict[str, Any]) -> dict[str, str]:
    """Build one report; never raises: returns status and detail."""
    from ..exceptions import DataError
    from .build import _build_one

    try:
        _build_one(path, target, **kwargs)
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
    except Exception as err:  # one failed input must not stop the batch
        return {"status": "error", "detail": f"{type(err).__name__}: {err}"}


def build_reports(
    data: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = False,
    formats: Sequence[str] = ("html",),
    **options: Any,
) -> pd.DataFrame:
    """One report per data file plus ``index.html`` and ``index.csv``.

    Parameters
    ----------
    data : path or sequence of paths
        Files and/or folders (a folder's data files are taken in name order).
    out : path, optional
        Batch folder; default ``reports/<folder name>`` for one folder, else
        ``reports/batch``. Each report goes to ``<out>/<file stem>/``. The batch
        is built in a temporary folder and renamed into place when complete.
    jobs : int, optional
        Reports built in parallel worker processes (default: all usable cores).
    force : bool
        Replace an existing batch folder.
    progress : bool
        A tqdm progress bar over the files.
    formats, **options
        As :func:`sma_outcomes.build_report`.

    Returns
    -------
    DataFrame
        ``input, report, sha256, status, detail`` per file, status ``"ok"``,
        ``"data error"`` (a DataError) or ``"error"``; ``.attrs["index"]`` is
        the path of ``index.html``.

    Examples
    --------
    >>> from sma_outcomes.report import build_reports
    >>> status = build_reports(["a.csv", "b.csv"], "reports/clinic")  # doctest: +SKIP
    >>> status["status"].tolist()  # doctest: +SKIP
    ['ok', 'data error']
    """
    from .build import _check_formats
    from .provenance import generation_time
    from .render import render_index
    from .safety import atomic_folder, check_target, sha256_file, write_csv

    paths = expand_inputs(data)
    formats = _check_formats(formats)
    if out is None:
        single_dir = isinstance(data, (str, os.PathLike)) and Path(data).is_dir()
        out = Path("reports") / (Path(data).name if single_dir else "batch")
    target = Path(out)
    check_target(target, force=force)
    names = report_names(paths)
    jobs = int(jobs) if jobs else usable_cores()
    jobs = max(1, min(jobs, len(paths)))
    kwargs = {"formats": formats, "force": False, "progress": False, "title": None,
              "jobs": 1, **_single_options(options)}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), unit="file", desc="reports", disable=None)
    results: list[dict[str, str]] = []
    with atomic_folder(target, force=force) as tmp:
        try:
            if jobs == 1:
                for p, n in zip(paths, names, strict=True):
                    results.append(_one(str(p), str(tmp / n), kwargs))
                    if bar is not None:
                        bar.update()
            else:
                with ProcessPoolExecutor(max_workers=jobs) as pool:
                    futs = [pool.submit(_one, str(p), str(tmp / n), kwargs)
                            for p, n in zip(paths, names, strict=True)]
                    for f in futs:
                        results.append(f.result())
                        if bar is not None:
                            bar.update()
        finally:
            if bar is not None:
                bar.close()
        main = "report.html" if "html" in formats else f"report.{formats[0]}"
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
    status.attrs["index"] = str(target / "index.html")
    return status


def _single_options(options: dict[str, Any]) -> dict[str, Any]:
    """Split build_report keywords into _build_one's named options and read_options."""
    named = ("measures", "timepoint", "schedule", "doses", "windows", "pseudonymize",
             "pseudonym_key", "patient_figures")
    defaults = {"measures": None, "timepoint": None, "schedule": "nusinersen", "doses": None,
                "windows": None, "pseudonymize": False, "pseudonym_key": None,
                "patient_figures": True}
    out = {k: options.get(k, defaults[k]) for k in named}
    out["read_options"] = {k: v for k, v in options.items() if k not in named}
    return out
