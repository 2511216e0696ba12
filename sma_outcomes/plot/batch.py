"""One trajectory figure per patient, in parallel worker processes.

Examples
--------
>>> from sma_outcomes.plot.batch import safe_filename
>>> safe_filename("<script>P1")
'_script_P1'
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from .._shared import require_columns
from ..exceptions import DataError
from ..schema import PATIENT
from . import _data as D
from .patient import plot_patient
from .save import FORMATS, save_figure

__all__ = ["save_patient_figures", "safe_filename"]

# worker state, set once per process by _init (so each task sends only an id)
_STATE: dict[str, Any] = {}


def safe_filename(patient_id: str) -> str:
    """A file name made from a patient id: letters, digits, ``.``, ``_``, ``-``.

    Examples
    --------
    >>> safe_filename("P 01/a")
    'P_01_a'
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(patient_id)).strip(".")
    return name or "patient"


def _file_names(pids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    used: set[str] = set()
    for pid in pids:
        name = safe_filename(pid)
        if name.lower() in used:
            # keep distinct ids distinct after sanitising (and on case-insensitive disks)
            name = f"{name}-{hashlib.sha1(str(pid).encode()).hexdigest()[:8]}"
        used.add(name.lower())
        names[pid] = name
    return names


def _usable_cpus() -> int:
    """Cores this process may run on (affinity-aware where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _init(groups: dict[str, pd.DataFrame], doses: pd.DataFrame | None, kwargs: dict) -> None:
    _STATE["groups"] = groups
    _STATE["doses"] = doses
    _STATE["kwargs"] = kwargs


def _chunk(tasks: list[tuple[str, str]], fmt: str, dpi: float) -> int:
    for pid, path in tasks:
        _one(pid, path, fmt, dpi)
    return len(tasks)


def _one(pid: str, path: str, fmt: str, dpi: float) -> str:

    doses = _STATE["doses"]
    pdoses = doses[doses[PATIENT] == pid] if doses is not None else None
    fig = plot_patient(
        _STATE["groups"][pid], patient_id=pid, doses=pdoses, schedule=None, **_STATE["kwargs"]
    )
    save_figure(fig, path, dpi=dpi, format=fmt)
    fig.clear()
    return path


def save_patient_figures(
    data: pd.DataFrame,
    outdir: str | os.PathLike,
    *,
    patient_ids: list[str] | None = None,
    jobs: int | None = None,
    progress: bool = False,
    fmt: str = "png",
    dpi: float | None = None,
    doses: pd.DataFrame | None = None,
    schedule: str | None = "nusinersen",
    **kwargs: Any,
) -> pd.DataFrame:
    """Draw and save :func:`plot_patient` for every patient, over all cores.

    Parameters
    ----------
    data : DataFrame
        Tidy score table.
    outdir : str or Path
        Folder for the files (created if needed); one file per patient named
        after the patient id (characters other than letters, digits, ``.``,
        ``_`` and ``-`` become ``_``, with a short hash when that makes two ids
        collide).
    patient_ids : list of str, optional
        Default: every patient, in natural order.
    jobs : int, optional
        Worker processes; default all cores this process may use. ``jobs=1``
        works in this process.
    progress : bool
        Show a tqdm progress bar.
    fmt : {"png", "svg", "pdf"}
        File format.
    dpi : float, optional
        Resolution of PNG output (default 300).
    doses, schedule
        As in :func:`plot_patient`; the dose table is derived once, here.
    **kwargs
        Passed on to :func:`plot_patient` (measures, time, threshold, ...).

    Returns
    -------
    DataFrame
        Columns patient_id and path, in patient order.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [-2.0, 60],
    ...     "measure": "HFMSE", "score": [20.0, 23]})
    >>> out = save_patient_figures(df, tempfile.mkdtemp(), jobs=1, schedule=None)
    >>> out["path"].str.endswith("P1.png").tolist()
    [True]
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"`fmt` must be one of {list(FORMATS)}, not {fmt!r}")
    require_columns(data, [PATIENT], func="save_patient_figures")
    table = data.assign(**{PATIENT: data[PATIENT].astype(str)})
    pids = [str(p) for p in patient_ids] if patient_ids is not None else D.patient_order(table[PATIENT])
    groups = {k: g for k, g in table.groupby(PATIENT, sort=False) if k in set(pids)}
    missing = [p for p in pids if p not in groups]
    if missing:

        raise DataError(f"no scores for patient(s) {', '.join(missing)}")
    dose_tab = D.resolve_doses(table, doses, schedule, kwargs.get("events"))
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    names = _file_names(pids)
    paths = {pid: str(outdir / f"{names[pid]}.{fmt}") for pid in pids}
    jobs = int(jobs) if jobs else _usable_cpus()
    jobs = max(1, min(jobs, len(pids)))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pids), unit="patient", desc="figures")
    try:
        if jobs == 1:
            _init(groups, dose_tab, kwargs)
            for pid in pids:
                _one(pid, paths[pid], fmt, dpi)
                if bar is not None:
                    bar.update()
        else:
            with ProcessPoolExecutor(
                max_workers=jobs, initializer=_init, initargs=(groups, dose_tab, kwargs)
            ) as pool:
                # small chunks: little inter-process traffic, yet balanced work
                size = max(1, min(8, len(pids) // (4 * jobs)))
                tasks = [(pid, paths[pid]) for pid in pids]
                futures = [
                    pool.submit(_chunk, tasks[i:i + size], fmt, dpi)
                    for i in range(0, len(tasks), size)
                ]
                for fut in as_completed(futures):
                    done = fut.result()
                    if bar is not None:
                        bar.update(done)
    finally:
        if bar is not None:
            bar.close()
        _STATE.clear()
    return pd.DataFrame({PATIENT: pids, "path": [paths[p] for p in pids]})
