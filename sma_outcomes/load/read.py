"""Read HFMSE, RULM and Purdue scores into the tidy score table.

:func:`read_scores` reads delimited text, Excel, Parquet, SAS, a SQL query or a
DataFrame, in long, wide or wide-by-visit layout, item-level or totals, REDCap
exports included, and refuses bad data with one :class:`~sma_outcomes.DataError`
that lists every problem with its file, row (as a spreadsheet shows it; the
header is row 1), column and value. :func:`check_scores` returns the same
problems as a table without raising.

:data:`READ_OPTIONS` names the reading options of a file, in one place, so that
callers (reports, the command line) pass them on without listing them again.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import DataError, DataWarning
from .columns import measure_code, role_of
from .excel import sheet_names
from .problems import PROBLEM_COLUMNS, Problems, describe, fail
from .source import RawTable, read_source
from .tidy import tidy_scores
from .values import parse_dates
from .visits import find, visit_label

Source = str | os.PathLike | pd.DataFrame

#: Reading options of a file, as :func:`read_scores`, :func:`check_scores` and
#: :func:`~sma_outcomes.read_doses` take them (``sql``/``con`` select a query instead).
READ_OPTIONS = ("sep", "encoding", "decimal", "sheet_name", "skiprows", "dayfirst", "columns",
                "ignore", "purdue")

__all__ = ["read_scores", "read_with_problems", "check_scores", "Source", "READ_OPTIONS"]


def _read(source: Source | None, opts: dict[str, Any]) -> tuple[pd.DataFrame, Problems]:
    try:
        raw = read_source(source, sep=opts["sep"], encoding=opts["encoding"],
                          sheet_name=opts["sheet_name"], skiprows=opts["skiprows"],
                          decimal=opts["decimal"], sql=opts["sql"], con=opts["con"])
    except DataError as err:
        # an empty first sheet: is another sheet the one with the scores?
        table = err.problems
        if (opts["sheet_name"] is None and table is not None and len(table)
                and table["rule"].iloc[0] == "empty" and " [" in str(table["file"].iloc[0])):
            sheets = sheet_names(Path(source), str(source))
            if len(sheets) > 1:
                _other_sheet(source, sheets, sheets[0], opts, "is empty")
        raise
    if raw.kind == "excel" and opts["sheet_name"] is None and len(raw.sheets) > 1:
        if not _has_scores(raw.frame, opts["columns"]):
            _other_sheet(source, raw.sheets, raw.sheet, opts, "holds no score columns")
        others = _score_sheets(source, raw, opts)
        if others:
            return _sheets_as_visits(source, [raw, *others], opts)
    problems = Problems(raw.name)
    tidy = tidy_scores(raw, problems, columns=opts["columns"], ignore=opts["ignore"],
                       dayfirst=opts["dayfirst"], purdue=opts["purdue"])
    return tidy, problems


def _score_sheets(source: Source, first: RawTable, opts: dict[str, Any]) -> list[RawTable]:
    """The workbook's other sheets that hold score columns."""
    out = []
    for name in first.sheets:
        if name == first.sheet:
            continue
        try:
            other = read_source(source, sheet_name=name, skiprows=opts["skiprows"],
                                decimal=opts["decimal"])
        except DataError:
            continue
        if _has_scores(other.frame, opts["columns"]):
            out.append(other)
    return out


def _sheets_as_visits(source: Source, raws: list[RawTable],
                      opts: dict[str, Any]) -> tuple[pd.DataFrame, Problems]:
    """Several sheets hold scores: one sheet per visit ("Baseline", "Month 6") is read as
    one visit each; any other workbook is refused (reading one sheet would drop the rest)."""
    labels = [visit_label(r.sheet or "") for r in raws]
    has_visit = any(role_of(c) == "visit" for r in raws for c in r.frame.columns)
    listed = ", ".join(repr(r.sheet) for r in raws)
    if has_visit or any(label is None for label in labels):
        raise fail(str(source), "sheet",
                   f"{len(raws)} sheets hold score columns ({listed}); reading only the first "
                   "would leave the others out: choose one with sheet_name=... (CLI: --sheet "
                   "NAME), or name the sheets by visit ('Baseline', 'Month 6', ...) to read "
                   "one visit per sheet")
    problems = Problems(str(source))
    tables = []
    for raw, label in zip(raws, labels, strict=True):
        raw.frame = raw.frame.assign(visit=label)
        part = Problems(raw.name)
        tables.append(tidy_scores(raw, part, columns=opts["columns"], ignore=opts["ignore"],
                                  dayfirst=opts["dayfirst"], purdue=opts["purdue"]))
        problems.rows.extend(part.rows)
        problems.notes["time"] = problems.notes.get("time", True) and part.notes.get("time")
        problems.notes.setdefault("columns", part.notes.get("columns", []))
    tidy = pd.concat([t for t in tables if len(t)] or tables[:1], ignore_index=True)
    return tidy, problems


def _has_scores(frame: pd.DataFrame, columns: Mapping[str, str] | None) -> bool:
    """Whether a header has score columns (wide, long, or one column per visit)."""
    names = [str(c) for c in frame.columns] + [str(v) for v in (columns or {}).values()]
    roles = {role_of(c) for c in names}
    if {"measure", "score"} <= roles:
        return True
    return any(measure_code(c) is not None for c in names) or bool(find(names)[0])


def _other_sheet(source: Source, sheets: list[str], first: str | None, opts: dict[str, Any],
                 why: str) -> None:
    """The first sheet holds no scores: name the sheet that does, and the option."""
    for i, name in enumerate(sheets):
        if name == first:
            continue
        try:
            other = read_source(source, sheet_name=name, skiprows=opts["skiprows"])
        except DataError:
            continue
        if _has_scores(other.frame, opts["columns"]):
            raise fail(str(source), "sheet",
                       f"the first sheet, {first!r}, {why}, but sheet "
                       f"{name!r} (number {i}, counting from 0) has scores: pass sheet_name={name!r} "
                       f"(CLI: --sheet \"{name}\"); the sheets are "
                       + ", ".join(f"{j} {s!r}" for j, s in enumerate(sheets)))


def _options(**kw: Any) -> dict[str, Any]:
    if kw["columns"] is not None and not isinstance(kw["columns"], Mapping):
        raise TypeError("columns= takes a dict {source name: role or measure code}, not "
                        f"{type(kw['columns']).__name__}")
    if kw["ignore"] is not None and not isinstance(kw["ignore"], (str, Sequence)):
        raise TypeError(f"ignore= takes a list of column names, not {type(kw['ignore']).__name__}")
    return kw


def read_scores(
    source: Source | None = None,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    dayfirst: bool | None = None,
    columns: Mapping[str, str] | None = None,
    ignore: Sequence[str] | None = None,
    purdue: str = "single",
    sql: str | None = None,
    con: Any = None,
) -> pd.DataFrame:
    """Read motor-function scores into the tidy score table.

    Parameters
    ----------
    source : str, Path or DataFrame
        A delimited text file (.csv, .tsv, .txt; comma, tab, semicolon or pipe,
        sniffed), an Excel workbook (.xlsx, .xlsm), a Parquet file, a SAS file
        (.xpt, .sas7bdat), a SQLite or DuckDB database file (with ``sql``), or a
        DataFrame. The format is recognised from the file's content.
    sep : str, optional
        Field separator (default: sniffed).
    encoding : str, optional
        Text encoding. Default: UTF-8 (with or without byte-order mark); UTF-16 and
        UTF-32 files with a byte-order mark (Excel's "Unicode Text") are recognised.
        A given encoding is used as given, before any check for binary content.
    decimal : str, optional
        Decimal separator (default ".", or "," detected in semicolon/tab files).
    sheet_name : str or int, optional
        Excel sheet: a name, matched ignoring case, or a number counted **from 0**
        (0 is the first sheet, as in pandas). Default: the first sheet; when it holds
        no scores and another sheet does, the error names that sheet. When several
        sheets hold scores and are named by visit ("Baseline", "Month 6"), each is
        read as that visit; other workbooks with several score sheets are refused
        rather than read in part.
    skiprows : int, optional
        Lines (sheet rows) above the header to skip (a title row, for instance).
    dayfirst : bool, optional
        Read dd/mm/yyyy (True) or mm/dd/yyyy (False). Needed when every date in a
        column reads both ways: the loader never guesses.
    columns : dict, optional
        Map other column names to roles ("patient_id", "visit", "date", "day",
        "first_dose_date", "measure", "score", "handedness") or measure codes.
    ignore : list of str, optional
        Columns to leave out, as if the file did not have them.
    purdue : {"single", "mean3", "sum3"}
        How Purdue values were aggregated: "sum3" allows 0..75 per hand.
    sql : str, optional
        A query whose result holds the scores, run on ``con`` or on the database
        file given as ``source`` (SQLite, or DuckDB with the duckdb package).
    con : connection, optional
        A DB-API 2.0 connection (``sqlite3``, DuckDB, psycopg, ...) or a SQLAlchemy
        engine/connection, with ``sql``.

    Returns
    -------
    pandas.DataFrame
        One row per patient x visit x measure: ``patient_id, visit, date, day,
        measure, score, missing_code`` and every other source column passed through
        (patient-level columns such as sma_type, sex, handedness, site).
        ``day`` is days since ``first_dose_date`` when the source gives one, else
        the recorded study day (ADaM ``ADY`` is converted: ADY 1 is day 0).
        Scores recorded as not done (blank, NA, N/A, NT, not tested, UTA, CNT, -, .)
        are NaN with the code in ``missing_code``. Totals are computed from complete
        item sets (no proration; an incomplete set gives NaN with code INCOMPLETE).

    Raises
    ------
    DataError
        Listing every problem: out-of-range or non-integer scores, non-numeric
        values, impossible, ambiguous or implausible dates (years outside
        1900-2099), conflicting duplicates, item sums that disagree with totals,
        scores without a patient id, patient ids that differ only by case, spaces
        or invisible characters, summary rows (Mean, Total, SD, ...), unknown or
        misspelt measure and role columns, missing columns, missing sheets, formula
        cells without saved values, empty, binary, encrypted or undecodable files.

    Warns
    -----
    DataWarning
        Exact duplicate rows (collapsed), incomplete item sets, unrecognised numeric
        columns that change within a patient, REDCap forms marked Incomplete.

    Notes
    -----
    Reading never writes to the source, and the input DataFrame is not modified.
    Column names are matched ignoring case, spaces, underscores and punctuation,
    through the aliases in :mod:`sma_outcomes.load.columns`. Dates are calendar
    dates: a time of day is dropped, and a time-zone-aware datetime gives its
    local calendar date (the date where it was recorded, not in UTC). Layouts:
    long, wide, one column per measure and visit (:mod:`sma_outcomes.load.visits`)
    and REDCap exports (:mod:`sma_outcomes.load.redcap`).

    Examples
    --------
    >>> from sma_outcomes import read_scores
    >>> scores = read_scores("data/sample/case_series.csv")
    >>> scores[["patient_id", "visit", "day", "measure", "score"]].head(3)
      patient_id     visit  day     measure  score
    0       GK01  Baseline  0.0       HFMSE   15.0
    1       GK01  Baseline  0.0     PP_PREF    4.0
    2       GK01  Baseline  0.0  PP_NONPREF    1.0
    """
    opts = _options(sep=sep, encoding=encoding, decimal=decimal, sheet_name=sheet_name,
                    skiprows=skiprows, dayfirst=dayfirst, columns=columns, ignore=ignore,
                    purdue=purdue, sql=sql, con=con)
    return _read_checked(source, opts, stacklevel=3)[0]


def read_with_problems(
    source: Source | None, read_options: Mapping[str, Any] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read once and return the tidy table together with its problem table.

    For callers that show the warnings as a table (reports) without parsing the
    source a second time through :func:`check_scores`.

    Parameters
    ----------
    source : str, Path or DataFrame
        As :func:`read_scores`.
    read_options : dict, optional
        Keyword options of :func:`read_scores` (``sep``, ``sheet_name``, ...).

    Returns
    -------
    (DataFrame, DataFrame)
        The tidy score table, and the problems as :func:`check_scores` lists
        them (warnings only: errors raise).

    Raises
    ------
    DataError
        When the source has errors, as :func:`read_scores`.

    Warns
    -----
    DataWarning
        Each warning of the problem table, as :func:`read_scores`.

    Examples
    --------
    >>> scores, problems = read_with_problems("data/sample/case_series.csv")
    >>> scores["patient_id"].nunique(), len(problems)
    (5, 0)
    """
    given = dict(read_options or {})
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"read_with_problems() got unknown reading option(s) {unknown}; "
                        f"the options are {sorted(_DEFAULTS)}")
    return _read_checked(source, _options(**{**_DEFAULTS, **given}), stacklevel=3)


def _read_checked(source: Source | None, opts: dict[str, Any], *,
                  stacklevel: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read, raise on errors, warn each warning; the tidy table and the problem table."""
    tidy, problems = _read(source, opts)
    problems.raise_if_errors()
    table = problems.table()
    for p in table.itertuples(index=False):
        if p.severity == "warning":
            warnings.warn(f"{p.file}: {describe(p)}", DataWarning, stacklevel=stacklevel)
    return tidy, table


def check_scores(
    source: Source | None = None,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    dayfirst: bool | None = None,
    columns: Mapping[str, str] | None = None,
    ignore: Sequence[str] | None = None,
    purdue: str = "single",
    sql: str | None = None,
    con: Any = None,
    require_time: bool = False,
) -> pd.DataFrame:
    """List every problem in a source without raising.

    Takes the same options as :func:`read_scores`, and:

    Parameters
    ----------
    require_time : bool
        Also report, as an error, a source without a visit date or study-day
        column, which the timeline and reports need to place visits in time.
        The message names the missing column and the columns found, and points
        at a column that holds dates under another name. A source where no
        patient has two assessments at different times is reported too.
        ``sma-outcomes validate`` sets it.

    Returns
    -------
    pandas.DataFrame
        One row per problem with columns ``severity`` ("error" or "warning"),
        ``file``, ``row`` (as a spreadsheet shows it; the header is row 1; empty for
        problems of the whole file), ``column``, ``value``, ``rule`` and ``message``.
        Empty when the data are clean.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes import check_scores
    >>> bad = pd.DataFrame({"patient_id": ["P1", "P2"], "HFMSE": [20, 70]})
    >>> check_scores(bad)[["row", "column", "value", "rule"]]
       row column value   rule
    0    3  HFMSE    70  range
    >>> check_scores(bad.assign(HFMSE=20), require_time=True)["message"].str[:45].tolist()
    ['no visit date or study-day column: the analys']
    """
    opts = _options(sep=sep, encoding=encoding, decimal=decimal, sheet_name=sheet_name,
                    skiprows=skiprows, dayfirst=dayfirst, columns=columns, ignore=ignore,
                    purdue=purdue, sql=sql, con=con)
    try:
        tidy, problems = _read(source, opts)
    except DataError as err:
        if err.problems is not None:
            return err.problems
        name = ("<SQL query>" if source is None else "<DataFrame>"
                if isinstance(source, pd.DataFrame) else str(source))
        return pd.DataFrame([{"severity": "error", "file": name, "row": None,
                              "column": None, "value": None, "rule": "file",
                              "message": str(err)}], columns=list(PROBLEM_COLUMNS))
    if require_time and not problems.has_errors:
        if not problems.notes.get("time"):
            _no_time(source, tidy, problems, opts)
        else:
            _follow_up(tidy, problems)
    return problems.table()


def _no_time(source: Source | None, tidy: pd.DataFrame, problems: Problems,
             opts: dict[str, Any]) -> None:
    found = problems.notes.get("columns", [])
    hint = ""
    for col in tidy.columns[7:]:
        values = tidy[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype) or \
                pd.api.types.is_datetime64_any_dtype(values.dtype):
            sample = values.dropna().drop_duplicates().head(50).reset_index(drop=True)
            if len(sample) and not parse_dates(sample, opts["dayfirst"] or True)[1].any():
                hint = (f"; column {col!r} holds dates: map it with columns={{{col!r}: 'date'}} "
                        f"(CLI: --columns '{col}=date')")
                break
    problems.add(
        "columns",
        "no visit date or study-day column: the analysis needs one to place visits in time "
        "(expected a column named like 'date', 'visit date', 'assessment date', 'day', "
        "'study day' or 'ADY'); found " + ", ".join(repr(c) for c in found) + hint,
    )


def _follow_up(tidy: pd.DataFrame, problems: Problems) -> None:
    """The analysis compares assessments over time: some patient needs two."""
    if tidy.empty:
        return
    if tidy["score"].isna().all():
        problems.add("follow_up", "no score has a value (every score is blank or a missing-score "
                     "code): there is nothing to analyse")
        return
    tidy = tidy.loc[tidy["score"].notna().to_numpy()]
    times = pd.DataFrame({"p": tidy["patient_id"], "d": tidy["date"], "y": tidy["day"]}).dropna(
        how="all", subset=["d", "y"]).drop_duplicates()
    if not len(times) or times["p"].duplicated().any():
        return
    problems.add(
        "follow_up",
        f"no patient has two assessments at different dates or study days "
        f"({tidy['patient_id'].nunique()} patient(s), one assessment each): the analysis "
        "compares each patient's scores over time",
    )


#: Defaults of :func:`read_scores`' keyword options (for :func:`read_with_problems`).
_DEFAULTS: dict[str, Any] = {
    name: par.default for name, par in inspect.signature(read_scores).parameters.items()
    if par.kind is inspect.Parameter.KEYWORD_ONLY
}
