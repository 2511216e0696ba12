"""Helpers shared by the timeline modules (not public)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .. import schema as S

#: Patient-level column holding the first-dose date, when a loader keeps it.
FIRST_DOSE_DATE = "first_dose_date"


def codes_of(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and distinct values of ``column.astype(str)``, in order of appearance.

    Factorizes first and converts only the distinct values to text, so that a
    million-row column is not converted row by row.
    """
    codes, uniq = pd.factorize(column, use_na_sentinel=False)
    text = pd.Index(uniq).astype(str)
    if text.has_duplicates:  # e.g. 1 and "1"
        merged, text = pd.factorize(text, use_na_sentinel=False)
        codes = merged[codes]
        text = pd.Index(text)
    return np.asarray(codes, dtype=np.int64), np.asarray(text, dtype=object)


def first_dose_dates(
    scores: pd.DataFrame, factorized: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.Series:
    """First-dose date per patient: a ``first_dose_date`` column, else ``date - day``.

    Returns a Series indexed by patient_id (NaT when unknown). ``factorized``
    is :func:`codes_of` of the patient column when the caller has it.
    """
    codes, pids = factorized if factorized is not None else codes_of(scores[S.PATIENT])
    idx = pd.Index(pids)
    out = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")

    def first_per_patient(values: pd.Series) -> np.ndarray:
        got = pd.Series(values.to_numpy("datetime64[ns]")).groupby(codes).first()
        return got.reindex(range(len(pids))).to_numpy("datetime64[ns]")

    if FIRST_DOSE_DATE in scores.columns:
        out[:] = first_per_patient(pd.to_datetime(scores[FIRST_DOSE_DATE], errors="coerce"))
    if S.DATE in scores.columns and S.DAY in scores.columns:
        date = pd.to_datetime(scores[S.DATE], errors="coerce")
        day = pd.to_numeric(scores[S.DAY], errors="coerce")
        ok = (date.notna() & day.notna()).to_numpy()
        if ok.any():
            derived = (date - pd.to_timedelta(day.where(ok, 0.0), unit="D")).dt.normalize()
            derived = derived.where(ok)
            out = out.fillna(pd.Series(first_per_patient(derived), index=idx))
    return out


def per_row(
    by_patient: pd.Series, pid: pd.Series, factorized: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.Series:
    """Spread a per-patient date Series onto rows (NaT where unknown).

    ``factorized`` is ``pandas.factorize(pid)`` when the caller has it.
    """
    codes, uniq = factorized if factorized is not None else codes_of(pid)
    values = by_patient.astype("datetime64[ns]").reindex(pd.Index(uniq)).to_numpy()
    return pd.Series(values[codes], index=pid.index, dtype="datetime64[ns]")


def fmt_day(day: float) -> str:
    """Format a day for messages: 190 rather than 190.0."""
    if pd.isna(day):
        return "unknown"
    return str(int(day)) if float(day).is_integer() else f"{day:g}"


def append_flag(
    flag: pd.Series | np.ndarray, mask: pd.Series | np.ndarray, text: str | pd.Series | np.ndarray
) -> pd.Series | np.ndarray:
    """Append ``text`` to ``flag`` where ``mask``, joining with ``"; "`` (a new object)."""
    flag = flag.copy()
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return flag
    add = np.asarray(text, dtype=object)[mask] if not isinstance(text, str) else text
    cur = np.asarray(flag[mask], dtype=object)
    flag[mask] = np.where(cur == "", add, cur + "; " + add)
    return flag


def remove_flags(flag: pd.Series, prefixes: Iterable[str]) -> pd.Series:
    """Drop the ``"; "``-separated parts of each flag that start with any prefix."""
    prefixes = tuple(prefixes)

    def clean(s: str) -> str:
        if not s:
            return s
        return "; ".join(p for p in s.split("; ") if not p.startswith(prefixes))

    codes, uniq = pd.factorize(flag.to_numpy(object))  # few distinct flags: clean each once
    cleaned = np.array([clean(u) for u in uniq] + [""], dtype=object)
    return pd.Series(cleaned[codes], index=flag.index, dtype=object)
