"""Parse cell values: missing-score codes, numbers (decimal comma) and dates.

Everything here works on the *unique* values of a column, then maps back, so
that a million-row file costs little more than its distinct values.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: The text dtype of the tidy table: pandas' "str", stored as Python strings (taking
#: from a few distinct values is twice as fast as with Arrow storage).
STR = pd.StringDtype("python", na_value=np.nan)

#: Codes for a score that was not obtained (compared case-insensitively, trimmed).
#: The code is kept in ``missing_code``; the score becomes NaN.
MISSING_CODES: dict[str, str] = {
    "": "",
    "na": "NA",
    "n/a": "N/A",
    "nan": "",
    "nt": "NT",
    "not tested": "NT",
    "not done": "ND",
    "nd": "ND",
    "uta": "UTA",
    "unable to assess": "UTA",
    "cnt": "CNT",
    "cannot test": "CNT",
    "-": "-",
    ".": ".",
}

_ISO = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})"
                  r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
_MONTHS = {m: i for i, names in enumerate((
    ("jan", "january", "janvier", "januar", "enero", "gennaio"),
    ("feb", "february", "fevrier", "février", "februar", "febrero", "febbraio"),
    ("mar", "march", "mars", "marz", "märz", "marzo"),
    ("apr", "april", "avril", "abril", "aprile"),
    ("may", "mai", "mayo", "maggio"),
    ("jun", "june", "juin", "juni", "junio", "giugno"),
    ("jul", "july", "juillet", "juli", "julio", "luglio"),
    ("aug", "august", "aout", "août", "agosto"),
    ("sep", "sept", "september", "septembre", "septiembre", "settembre"),
    ("oct", "october", "octobre", "oktober", "octubre", "ottobre"),
    ("nov", "november", "novembre", "noviembre"),
    ("dec", "december", "decembre", "décembre", "dezember", "diciembre", "dicembre"),
), start=1) for m in names}
# 04-Jan-2021, 4 January 2021, 04JAN2021 (SAS DATE9.), Jan 4, 2021
_D_MON_Y = re.compile(r"^(\d{1,2})[ ./-]?([^\W\d_]{3,9})\.?[ ./,-]*(\d{4})" + _TIME)
_MON_D_Y = re.compile(r"^([^\W\d_]{3,9})\.?[ ./-]*(\d{1,2})(?:st|nd|rd|th)?,?[ ./-]*(\d{4})"
                      + _TIME)
_COMPACT = re.compile(r"^((?:19|20)\d\d)(\d\d)(\d\d)$")
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")

#: Years of a plausible visit or dose date; a date outside is refused with its row.
DATE_YEARS = (1900, 2099)


def factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes (-1 for NaN) and distinct values; free for a categorical column.

    Examples
    --------
    >>> codes, uniques = factorize(pd.Series(["b", None, "b", "a"]))
    >>> codes.tolist(), list(uniques)
    ([0, -1, 0, 1], ['b', 'a'])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(values.cat.codes, dtype=np.intp), values.cat.categories
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Index(uniques)


def missing_code(text: str) -> str | None:
    """The canonical missing code of a cell's text, or None if it is not one.

    Examples
    --------
    >>> missing_code(" nt "), missing_code("12"), missing_code("")
    ('NT', None, '')
    """
    return MISSING_CODES.get(text.strip().lower())


def parse_numbers(
    values: pd.Series, decimal: str = ".", codes: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a column of scores.

    Parameters
    ----------
    values : pandas.Series
        Raw cells (numbers, strings or NaN).
    decimal : str
        Decimal separator used in text cells.
    codes : bool
        Whether to build the missing codes (None in their place when False).

    Returns
    -------
    number : ndarray of float
        Parsed value, NaN for missing codes and unreadable cells.
    code : pandas string array
        Missing code ("" when the cell is blank or a number).
    bad : ndarray of bool
        True where the cell is neither a number nor a missing code.

    Examples
    --------
    >>> n, c, b = parse_numbers(pd.Series(["12,5", "NT", "x", None]), decimal=",")
    >>> n.tolist(), c.tolist(), b.tolist()
    ([12.5, nan, nan, nan], ['', 'NT', '', ''], [False, False, True, False])
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        number = values.to_numpy(dtype=float, na_value=np.nan)
        code = (pd.array([""], dtype=STR).take(np.zeros(len(values), dtype=np.intp)) if codes
                else None)
        return number, code, np.zeros(len(values), dtype=bool)
    cell_codes, uniques = factorize(values)
    u_num = np.full(len(uniques) + 1, np.nan)
    u_code = np.full(len(uniques) + 1, "", dtype=object)
    u_bad = np.zeros(len(uniques) + 1, dtype=bool)
    for i, v in enumerate(uniques):
        if isinstance(v, (bool, np.bool_)):
            u_bad[i] = True
            continue
        if isinstance(v, (int, float, np.integer, np.floating)):
            u_num[i] = float(v)
            continue
        text = str(v).strip()
        mc = missing_code(text)
        if mc is not None:
            u_code[i] = mc
            continue
        t = text.replace("\u2212", "-")
        if decimal != ".":
            if "." in t and decimal == ",":
                # 1.234,5 is not accepted: thousands separators are ambiguous in scores
                u_bad[i] = True
                continue
            t = t.replace(decimal, ".")
        try:
            u_num[i] = float(t)
        except ValueError:
            u_bad[i] = True
    # the code -1 (a blank cell) takes the last entry, the one after the distinct values
    # text arrays are built by taking from the few distinct codes: no per-row validation
    code = pd.array(u_code, dtype=STR).take(cell_codes) if codes else None
    return u_num[cell_codes], code, u_bad[cell_codes]


def _components(text: str) -> tuple[str, int, int, int] | None:
    m = _ISO.match(text)
    if m:
        return ("iso", int(m.group(1)), int(m.group(3)), int(m.group(4)))
    m = _DMY.match(text)
    if m:
        return ("xy", int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _COMPACT.match(text)
    if m:
        return ("iso", int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _D_MON_Y.match(text)
    if m and m.group(2).lower() in _MONTHS:
        return ("iso", int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    m = _MON_D_Y.match(text)
    if m and m.group(1).lower() in _MONTHS:
        return ("iso", int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    return None


def parse_dates(
    values: pd.Series, dayfirst: bool | None = None
) -> tuple[pd.Series, np.ndarray, str | None, np.ndarray]:
    """Parse a date column without guessing.

    ISO dates (2020-03-04) and native spreadsheet dates are read as they are.
    Dates written dd/mm/yyyy or mm/dd/yyyy (with /, . or -) need ``dayfirst``
    unless the column itself settles it (a first number above 12 means day-first,
    a second number above 12 month-first); a column where every date reads both
    ways is refused rather than guessed.

    Dates are calendar dates: a time of day is dropped. A time-zone-aware
    datetime (or an ISO text with an offset, ``2021-03-04T23:30:00+01:00``) gives
    its *local* calendar date, the date written on the clinic's own calendar, not
    the date in UTC. Years outside :data:`DATE_YEARS` (1900-2099) are refused as
    implausible (3021 or 1650 are typing errors), which also keeps every date
    within what pandas can hold.

    Returns
    -------
    dates : Series of datetime64[ns]
        NaT for blanks, unreadable and implausible cells.
    bad : ndarray of bool
        Cells that are not a date, an impossible date (31/02/2020) or an
        implausible one.
    ambiguity : str or None
        Why the column could not be read without ``dayfirst`` (then every
        non-ISO date is NaT and marked bad), or None.
    implausible : ndarray of bool
        The bad cells that are real dates with an implausible year.

    Examples
    --------
    >>> d, bad, why, odd = parse_dates(pd.Series(["13/02/2020", "2020-03-01", "", "3021-01-02"]))
    >>> [str(x.date()) if x == x else None for x in d], bad.tolist(), why, odd.tolist()
    (['2020-02-13', '2020-03-01', None, None], [False, False, False, True], None, [False, False, False, True])
    >>> parse_dates(pd.Series(["03/02/2020"]))[2][:40]
    'every date could be day-first or month-f'
    """
    lo, hi = DATE_YEARS
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        col = values
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)  # wall-clock time where it was recorded
        years = col.dt.year.to_numpy(dtype=float, na_value=np.nan)
        odd = ~np.isnan(years) & ((years < lo) | (years > hi))
        col = col.where(~odd).dt.normalize()
        out = pd.Series(col.to_numpy(dtype="datetime64[ns]"), index=values.index)
        return out, odd, None, odd
    codes, uniques = factorize(values)
    parts: list[tuple[str, int, int, int] | None] = []
    u_bad = np.zeros(len(uniques) + 1, dtype=bool)
    u_odd = np.zeros(len(uniques) + 1, dtype=bool)
    for i, v in enumerate(uniques):
        if isinstance(v, np.datetime64):
            v = pd.Timestamp(v)
        if hasattr(v, "year") and not isinstance(v, str):
            if v is pd.NaT or pd.isna(v):
                parts.append(None)
                continue
            parts.append(("iso", int(v.year), int(v.month), int(v.day)))
            continue
        if isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)):
            compact = (_COMPACT.match(str(int(v))) if not isinstance(v, (bool, np.bool_))
                       and float(v).is_integer() and v == v else None)
            if compact:  # 20210104 (YYYYMMDD, as SAS and registries write it)
                parts.append(("iso", *(int(g) for g in compact.groups())))
                continue
            u_bad[i] = True  # a number is not a date (an Excel serial exported as text)
            parts.append(None)
            continue
        text = str(v).strip()
        if missing_code(text) is not None:
            parts.append(None)
            continue
        comp = _components(text)
        if comp is None:
            u_bad[i] = True
        parts.append(comp)
    xy = [p for p in parts if p is not None and p[0] == "xy"]
    ambiguity = None
    if xy and dayfirst is None:
        first_big = any(p[1] > 12 for p in xy)
        second_big = any(p[2] > 12 for p in xy)
        if first_big and not second_big:
            dayfirst = True
        elif second_big and not first_big:
            dayfirst = False
        elif first_big and second_big:
            ambiguity = (
                "dates are written both day-first and month-first in this column; "
                "correct them or pass dayfirst=True/False"
            )
        else:
            ambiguity = (
                "every date could be day-first or month-first (e.g. "
                f"{xy[0][1]:02d}/{xy[0][2]:02d}/{xy[0][3]}); pass dayfirst=True or "
                "dayfirst=False (CLI: --dayfirst / --monthfirst)"
            )
    year = np.full(len(uniques), -1)
    month = np.full(len(uniques), -1)
    day = np.full(len(uniques), -1)
    for i, p in enumerate(parts):
        if p is None:
            continue
        if p[0] == "iso":
            year[i], month[i], day[i] = p[1], p[2], p[3]
        elif ambiguity is None:
            d_, m_ = (p[1], p[2]) if dayfirst else (p[2], p[1])
            year[i], month[i], day[i] = p[3], m_, d_
        else:
            u_bad[i] = True
            continue
        if not lo <= year[i] <= hi:
            u_bad[i] = u_odd[i] = True
            year[i] = -1
    u_dates = np.full(len(uniques) + 1, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = year >= 0
    if ok.any():
        built = pd.to_datetime(
            pd.DataFrame({"year": year[ok], "month": month[ok], "day": day[ok]}), errors="coerce"
        )
        u_dates[np.flatnonzero(ok)] = built.to_numpy(dtype="datetime64[ns]")
        impossible = np.flatnonzero(ok)[built.isna().to_numpy()]
        u_bad[impossible] = True
    idx = np.where(codes < 0, len(uniques), codes)
    out = pd.Series(u_dates[idx], index=values.index)
    return out, u_bad[idx], ambiguity, u_odd[idx]
