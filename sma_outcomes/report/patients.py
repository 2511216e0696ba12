"""One figure file per patient (``figures/patients/<name>.png``), one at a time.

Each figure is drawn, saved in the formats asked for and released before the
next, so memory is bounded by one figure whatever the number of patients.
File names come from :func:`~sma_outcomes.report.safety.patient_file_names`
(portable, unique, at most 60 characters). Worker processes are used only
where they pay (:func:`patient_jobs`).

Examples
--------
>>> patient_jobs(80, None, cores=2), patient_jobs(5000, None, cores=2)
(1, 2)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema as S
from .._shared import natural_key
from ..plot import plot_patient, save_figure
from .safety import patient_file_names

__all__ = ["write_patient_figures", "patient_jobs", "PARALLEL_FROM"]

#: With ``jobs`` left to the default, worker processes are started only from this
#: many patients on (below it, starting them costs more than it saves), and then
#: one per :data:`PER_WORKER` patients, at most one per usable core.
PARALLEL_FROM = 300
PER_WORKER = 150

# worker state, set once per process (each task then sends only patient ids)
_STATE: dict[str, Any] = {}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def patient_jobs(n_patients: int, jobs: int | None, cores: int | None = None) -> int:
    """Worker processes for ``n_patients`` figures (1: draw in this process).

    ``jobs`` given: that many, at most one per patient. Default: 1 below
    :data:`PARALLEL_FROM` patients, else one per :data:`PER_WORKER` patients up
    to the usable cores, so the default is never slower than ``jobs=1``.

    Examples
    --------
    >>> patient_jobs(10, 4), patient_jobs(1000, None, cores=8)
    (4, 6)
    """
    if jobs:
        return max(1, min(int(jobs), n_patients))
    cores = cores or _cores()
    if n_patients < PARALLEL_FROM or cores < 2:
        return 1
    return max(1, min(cores, n_patients // PER_WORKER))


def _init(groups: dict[str, pd.DataFrame], doses: dict[str, pd.DataFrame], kw: dict) -> None:
    _STATE.update(groups=groups, doses=doses, kw=kw)


def _draw(tasks: Sequence[tuple[str, str]]) -> int:
    kw = _STATE["kw"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pid, stem in tasks:
            fig = plot_patient(_STATE["groups"][pid], patient_id=pid,
                               doses=_STATE["doses"].get(pid), schedule=None,
                               measures=kw["measures"])
            for fmt in kw["formats"]:
                save_figure(fig, f"{stem}.{fmt}", dpi=kw["dpi"])
            del fig
    return len(tasks)


def write_patient_figures(
    changes: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    measures: Sequence[str],
    doses: pd.DataFrame | None = None,
    formats: Sequence[str] = ("png",),
    dpi: float = 300,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Draw and save :func:`~sma_outcomes.plot.plot_patient` for every patient.

    Parameters
    ----------
    changes : DataFrame
        The report's change table (all patients).
    folder : path
        Where the files go (created).
    measures : sequence of str
        Panels of each figure.
    doses : DataFrame, optional
        The dose table (``patient_id``, ``day``, ...), as the report derived it.
    formats : sequence of {"png", "svg", "pdf"}
        File formats; nothing else is rendered.
    dpi : float
        PNG resolution.
    jobs : int, optional
        Worker processes (default: :func:`patient_jobs`).
    progress : callable, optional
        Called with the number of patients finished since the last call.

    Returns
    -------
    DataFrame
        ``patient_id, file`` (file stem relative to ``folder``), in patient order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sma_outcomes.report.prepare import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> files = write_patient_figures(prep.changes, out, measures=["HFMSE"], dpi=40, jobs=1)
    >>> files["file"].tolist()[:2], sorted(p.name for p in out.iterdir())[:2]
    (['GK01', 'GK02'], ['GK01.png', 'GK02.png'])
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = changes.assign(**{S.PATIENT: changes[S.PATIENT].astype(str)})
    groups = {str(k): g for k, g in table.groupby(S.PATIENT, sort=False, observed=True)}
    pids = sorted(groups, key=natural_key)
    names = patient_file_names(pids)
    per_dose: dict[str, pd.DataFrame] = {}
    if doses is not None and len(doses):
        d = doses.assign(**{S.PATIENT: doses[S.PATIENT].astype(str)})
        per_dose = {str(k): g for k, g in d.groupby(S.PATIENT, sort=False, observed=True)}
    kw = {"measures": list(measures), "formats": tuple(dict.fromkeys(formats)), "dpi": dpi}
    tasks = [(pid, str(folder / names[pid])) for pid in pids]
    n_jobs = patient_jobs(len(pids), jobs)
    if n_jobs == 1:
        _init(groups, per_dose, kw)
        try:
            for task in tasks:
                _draw([task])
                if progress is not None:
                    progress(1)
        finally:
            _STATE.clear()
    else:
        size = max(1, min(16, len(tasks) // (8 * n_jobs)))
        with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init,
                                 initargs=(groups, per_dose, kw)) as pool:
            futures = [pool.submit(_draw, tasks[i:i + size])
                       for i in range(0, len(tasks), size)]
            for fut in as_completed(futures):
                done = fut.result()
                if progress is not None:
                    progress(done)
    return pd.DataFrame({S.PATIENT: pids, "file": [names[p] for p in pids]})
