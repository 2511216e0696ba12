"""The text of cells: blanks, identifiers and labels, each distinct value looked at once.

Examples
--------
>>> import pandas as pd
>>> cell_text(pd.Series([" P1 ", 2.0, None])).tolist()
['P1', '2', '']
>>> blank(pd.Series(["", " ", "x", None])).tolist()
[True, True, False, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .values import STR, factorize

__all__ = ["found_columns", "all_text", "blank", "plain", "cell_text", "text_codes",
           "text_codes_full"]


def found_columns(frame: pd.DataFrame, most: int = 12) -> str:
    names = [repr(str(c)) for c in frame.columns]
    more = f", ... ({len(names)} columns)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def all_text(uniques: pd.Index) -> bool:
    """Whether distinct values are all strings (an object column may hold numbers)."""
    return isinstance(uniques.dtype, pd.StringDtype) or (
        uniques.dtype == object and uniques.inferred_type == "string")


def _arrow_text(uniques: pd.Index) -> bool:
    return isinstance(uniques.dtype, pd.StringDtype) and uniques.dtype.storage == "pyarrow"


def _stripped(uniques: pd.Index) -> list[str]:
    """Distinct texts trimmed, one by one (Arrow-backed strings are trimmed by Arrow)."""
    if _arrow_text(uniques):
        return uniques.str.strip().tolist()
    return [u.strip() for u in uniques.to_numpy(dtype=object)]


def blank(col: pd.Series) -> pd.Series:
    """Empty or whitespace-only cells (each distinct value looked at once)."""
    if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
            or isinstance(col.dtype, pd.CategoricalDtype)):
        return col.isna()
    codes, uniques = factorize(col)
    if _arrow_text(uniques):
        blank_u = [not u for u in _stripped(uniques)]
    elif all_text(uniques):  # str.isspace is str.strip's test, without building the text
        blank_u = [not u or u.isspace() for u in uniques.to_numpy(dtype=object)]
    else:
        blank_u = [pd.isna(u) or not str(u).strip() for u in uniques]
    # the code -1 (NaN) takes the last entry
    return pd.Series(np.array([*blank_u, True], dtype=bool)[codes], index=col.index)


def plain(col: pd.Series) -> pd.Series:
    """A pass-through column as the source had it (categoricals read for speed undone)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.astype(col.cat.categories.dtype)
    return col


def cell_text(col: pd.Series) -> pd.Series:
    """Identifier/label text: trimmed, whole-number floats without '.0', blanks as ''."""
    return pd.Series(text_codes(col)[0], dtype=STR)


def text_codes(col: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray, int]:
    """:func:`_text` as a string array, integer codes of the distinct cleaned texts, and
    the code of the empty text."""
    return text_codes_full(col)[:3]


def text_codes_full(col: pd.Series):  # noqa: ANN202 - a tuple of seven
    """:func:`_text_codes` plus the distinct cleaned texts, each row's code of its raw
    cell (-1 blank), the distinct raw cells and the cleaned code of each raw cell."""
    codes, uniques = factorize(col)
    if all_text(uniques):
        clean = _stripped(uniques)
    else:
        clean = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
                 for v in uniques]
    # distinct raw values may clean to the same text (" P1" and "P1"): recode
    text_codes, text_uniques = pd.factorize(np.array([*clean, ""], dtype=object))
    idx = text_codes[codes]  # the code -1 (a blank cell) takes the last entry, ""
    # taking from the distinct texts avoids validating a million strings one by one
    texts = pd.array(np.asarray(text_uniques, dtype=object), dtype=STR)
    blank = int(np.flatnonzero(np.asarray(text_uniques) == "")[0])
    return (texts.take(idx), idx, blank, np.asarray(text_uniques, dtype=object), codes,
            uniques, text_codes[: len(uniques)])
