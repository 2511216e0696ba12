"""Checks on a source's columns and rows before it is tidied.

Columns left out with ``ignore=``; columns with values under an empty header
(a written DataFrame index is left out, numbers are refused, text is kept with a
warning); rows holding only a patient cell (a note under the table) left out
with a warning; unrecognised numeric columns that change within a patient
reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cells import blank, cell_text, found_columns
from .columns import normalise
from .patients import show
from .problems import Problems
from .values import parse_numbers

__all__ = ["drop_ignored", "drop_id_only_rows", "check_unnamed_columns",
           "check_varying_columns"]


def drop_ignored(frame: pd.DataFrame, ignore, problems: Problems) -> pd.DataFrame:  # noqa: ANN001
    """Leave out the columns named in ``ignore`` (names compared as column names are)."""
    if ignore is None:
        return frame
    if isinstance(ignore, str):
        ignore = [ignore]
    wanted = {normalise(c): c for c in ignore}
    have = {normalise(c) for c in frame.columns}
    missing = [c for k, c in wanted.items() if k not in have]
    if missing:
        problems.add("columns", f"ignore= names {missing} but the file has no such column; "
                     f"found {found_columns(frame)}")
    return frame.drop(columns=[c for c in frame.columns if normalise(c) in wanted])


def drop_id_only_rows(frame, rows, pcol, score_cols, problems):
    """Rows whose only filled cell is the patient column (a note under the table, such as
    "Assessed by: Dr X", or a patient listed without any data) are not read, with a
    warning: they never become a patient."""
    empty = np.ones(len(frame), dtype=bool)
    for c in score_cols:
        empty &= blank(frame[c]).to_numpy()
    cand = np.flatnonzero(empty)
    if not len(cand):
        return frame, rows
    sub = frame.iloc[cand]
    only = ~blank(sub[pcol]).to_numpy()
    for c in sub.columns:
        if c != pcol:
            only &= blank(sub[c]).to_numpy()
    drop = cand[only]
    if not len(drop):
        return frame, rows
    for i in drop[:20]:
        problems.add("row", f"this row holds only {show(cell_text(frame[pcol].iloc[[i]]).iat[0])} in "
                     f"column {str(pcol)!r} and no visit, date or score; it is not read (a note "
                     "under the table, or a patient without data)", row=int(rows[i]),
                     column=str(pcol), value=frame[pcol].iloc[i], severity="warning")
    keep = np.ones(len(frame), dtype=bool)
    keep[drop] = False
    return frame.iloc[keep].reset_index(drop=True), rows[keep]


def check_unnamed_columns(frame, rows, decimal, problems) -> pd.DataFrame:
    """Columns with values under an empty header.

    A running row number (0, 1, 2, ... or 1, 2, 3, ...: a DataFrame index written by
    a script) is left out; numbers of unknown meaning are refused; text is kept
    with a warning.
    """
    drop = []
    for col in frame.columns:
        if not str(col).startswith("Unnamed:"):
            continue
        values = frame[col].reset_index(drop=True)
        num, _code, bad = parse_numbers(values, decimal, codes=False)
        filled = ~blank(values).to_numpy()
        position = f"column {int(str(col).split(':')[1]) + 1}" if str(col)[8:].strip().isdigit() \
            else repr(col)
        if filled.any() and not bad[filled].any():
            n = len(num)
            if filled.all() and (np.array_equal(num, np.arange(n)) or
                                 np.array_equal(num, np.arange(1, n + 1))):
                drop.append(col)  # a row number, not data
                continue
            at = int(np.flatnonzero(filled)[0])
            problems.add("columns", f"{position} holds numbers but has no header, so what they "
                         f"are is unknown; name the column (e.g. 'HFMSE'), or leave it out with "
                         f"ignore=[{str(col)!r}]", row=int(rows[at]), column=str(col),
                         value=values.iloc[at])
        elif filled.any():
            at = int(np.flatnonzero(filled)[0])
            problems.add("columns", f"{position} holds values but has no header; it is kept as "
                         f"{str(col)!r} (name it, or leave it out with ignore=[{str(col)!r}])",
                         row=int(rows[at]), column=str(col), value=values.iloc[at],
                         severity="warning")
    return frame.drop(columns=drop) if drop else frame


def check_varying_columns(frame, passthrough, pcode, rows, decimal, problems) -> None:
    """Report unrecognised numeric columns that vary within a patient."""
    n_pat = int(pcode.max()) + 1 if len(pcode) else 0
    for col in passthrough:
        if str(col).startswith("Unnamed:"):
            continue
        values = frame[col]
        if pd.api.types.is_bool_dtype(values.dtype):
            continue
        if pd.api.types.is_numeric_dtype(values.dtype):
            num = values.to_numpy(dtype=float, na_value=np.nan)
        elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            num, _code, bad = parse_numbers(values.reset_index(drop=True), decimal, codes=False)
            if bad.any() or np.isnan(num).all():
                continue
        else:
            continue
        lo = np.full(n_pat, np.inf)
        hi = np.full(n_pat, -np.inf)
        np.fmin.at(lo, pcode, num)
        np.fmax.at(hi, pcode, num)
        varies = hi > lo
        if varies.any():
            at = int(np.flatnonzero(varies[pcode] & (num != lo[pcode]))[0])
            problems.add(
                "column",
                f"column {col!r} holds numbers that change within a patient but is not a known "
                "measure, so it is not analysed (kept as a column of the table); if it is a "
                f"score, map it with columns={{{str(col)!r}: CODE}} (CLI: --columns "
                f"'{col}=CODE'); to leave it out, ignore=[{str(col)!r}]",
                row=int(rows[at]), column=str(col), value=num[at], severity="warning",
            )
