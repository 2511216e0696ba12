"""Helpers shared by the timeline modules (not public)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .. import schema as S

#: Patient-level column holding the first-dose date, when a loader keeps it.
FIRST_DOSE_DATE = "first_dose_date"


def first_dose_dates(scores: pd.DataFrame) -> pd.Series:
    """First-dose date per patient: a ``first_dose_date`` column, else ``date - day``.

    Returns a Series indexed by patient_id (NaT when unknown).
    """
    pids = pd.Index(pd.unique(scores[S.PATIENT]))
    out = pd.Series(pd.NaT, index=pids, dtype="datetime64[ns]")
    if FIRST_DOSE_DATE in scores.columns:
        fdd = pd.to_datetime(scores[FIRST_DOSE_DATE], errors="coerce")
        got = fdd.groupby(scores[S.PATIENT]).first()
        out = got.reindex(pids).astype("datetime64[ns]")
    if S.DATE in scores.columns and S.DAY in scores.columns:
        date = pd.to_datetime(scores[S.DATE], errors="coerce")
        day = pd.to_numeric(scores[S.DAY], errors="coerce")
        ok = date.notna() & day.notna()
        if ok.any():
            derived = (date[ok] - pd.to_timedelta(day[ok], unit="D")).dt.normalize()
            first = derived.groupby(scores.loc[ok, S.PATIENT]).first()
            out = out.fillna(first.reindex(pids).astype("datetime64[ns]"))
    return out


def per_row(by_patient: pd.Series, pid: pd.Series) -> pd.Series:
    """Spread a per-patient date Series onto rows (NaT where unknown)."""
    values = by_patient.astype("datetime64[ns]").reindex(pd.Index(pid.to_numpy())).to_numpy()
    return pd.Series(values, index=pid.index, dtype="datetime64[ns]")


def fmt_day(day: float) -> str:
    """Format a day for messages: 190 rather than 190.0."""
    if pd.isna(day):
        return "unknown"
    return str(int(day)) if float(day).is_integer() else f"{day:g}"


def append_flag(flag: pd.Series, mask: pd.Series | np.ndarray, text: str | pd.Series) -> pd.Series:
    """Append ``text`` to ``flag`` where ``mask``, joining with ``"; "``."""
    flag = flag.copy()
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return flag
    add = text[mask] if isinstance(text, pd.Series) else text
    cur = flag[mask]
    flag[mask] = np.where(cur == "", add, cur + "; " + add)
    return flag


def remove_flags(flag: pd.Series, prefixes: Iterable[str]) -> pd.Series:
    """Drop the ``"; "``-separated parts of each flag that start with any prefix."""
    prefixes = tuple(prefixes)

    def clean(s: str) -> str:
        if not s:
            return s
        return "; ".join(p for p in s.split("; ") if not p.startswith(prefixes))

    return flag.map(clean).astype(object)
