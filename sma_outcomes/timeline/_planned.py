"""Planned doses of many patients at once (shared by doses and events)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema as S
from .schedules import Schedule

__all__ = ["planned_doses"]


def planned_doses(
    sched: Schedule, pids: list[str] | np.ndarray, origins: np.ndarray, until: np.ndarray
) -> pd.DataFrame:
    """Planned doses of many patients: ``patient_id, date, day`` (see :meth:`Schedule.dose_days`).

    ``origins`` are the first-dose dates (NaT when unknown) and ``until`` the
    last day to cover (NaN: loading doses only), one per patient.
    """
    pids = np.asarray(pids, dtype=object)
    origins = np.asarray(origins, dtype="datetime64[ns]")
    until = np.asarray(until, dtype=float)
    n = len(pids)
    load = np.asarray(sched.loading_days, dtype=float)
    who = [np.repeat(np.arange(n), len(load))]
    days = [np.tile(load, n)]
    seq = [np.tile(np.arange(len(load)), n)]
    if sched.has_maintenance and n:
        # an upper bound on the number of maintenance doses up to `until` (months >= 28 days)
        step = 28.0 * float(sched.maintenance_months)  # type: ignore[arg-type]
        span = np.where(np.isnan(until), -1.0, until - load[-1])
        n_k = np.where(span >= 0, np.floor(np.maximum(span, 0) / step) + 2, 0).astype(np.int64)
        rep = np.repeat(np.arange(n), n_k)
        if rep.size:
            first = np.cumsum(n_k) - n_k
            k = np.arange(rep.size) - np.repeat(first, n_k) + 1
            d = sched.maintenance_days(k, origins[rep])
            ok = d <= until[rep]
            # stop at the first dose after `until`, as Schedule.dose_days does
            late = np.cumsum(~ok)
            starts = first[n_k > 0]
            late -= np.repeat(late[starts] - (~ok)[starts], n_k[n_k > 0])
            keep = late == 0
            who.append(rep[keep])
            days.append(d[keep])
            seq.append(len(load) + k[keep])
    who_a, day_a, seq_a = np.concatenate(who), np.concatenate(days), np.concatenate(seq)
    order = np.lexsort((seq_a, who_a))
    who_a, day_a = who_a[order], day_a[order]
    date = pd.Series(origins[who_a], dtype="datetime64[ns]") + pd.to_timedelta(day_a, unit="D")
    return pd.DataFrame({S.PATIENT: pids[who_a], S.DATE: date.to_numpy("datetime64[ns]"),
                         S.DAY: day_a})
