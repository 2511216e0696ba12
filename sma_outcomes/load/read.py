"""Read HFMSE, RULM and Purdue scores into the tidy score table.

:func:`read_scores` reads delimited text, Excel, SAS transport or a DataFrame,
in long or wide layout, item-level or totals, and refuses bad data with one
:class:`~sma_outcomes.DataError` that lists every problem with its file, row (as
a spreadsheet shows it; the header is row 1), column and value.
:func:`check_scores` returns the same problems as a table without raising.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pandas as pd

from ..exceptions import DataError, DataWarning
from .problems import PROBLEM_COLUMNS, Problems, describe
from .source import read_source
from .tidy import tidy_scores

Source = str | os.PathLike | pd.DataFrame

__all__ = ["read_scores", "check_scores", "Source"]


def _read(source: Source, options: dict[str, Any]) -> tuple[pd.DataFrame, Problems]:
    reading = {k: options.pop(k) for k in ("sep", "encoding", "sheet_name", "skiprows", "decimal")
               if k in options}
    columns = options.pop("columns", None)
    dayfirst = options.pop("dayfirst", None)
    purdue = options.pop("purdue", "single")
    if options:
        raise TypeError(f"unexpected option(s): {', '.join(sorted(options))}; see "
                        "help(sma_outcomes.read_scores)")
    raw = read_source(source, **reading)
    problems = Problems(raw.name)
    tidy = tidy_scores(raw, problems, columns=columns, dayfirst=dayfirst, purdue=purdue)
    return tidy, problems


def read_scores(source: Source, **options: Any) -> pd.DataFrame:
    """Read motor-function scores into the tidy score table.

    Parameters
    ----------
    source : str, Path or DataFrame
        A delimited text file (.csv, .tsv, .txt; comma, tab or semicolon, sniffed),
        an Excel workbook (.xlsx), a SAS transport file (.xpt), or a DataFrame.
    **options
        sep : str
            Field separator (default: sniffed).
        encoding : str
            Text encoding (default UTF-8, with or without BOM; nothing else is tried).
        decimal : str
            Decimal separator (default ".", or "," detected in semicolon/tab files).
        sheet_name : str or int
            Excel sheet (default the first).
        skiprows : int
            Lines above the header to skip (a title row, for instance).
        dayfirst : bool
            Read dd/mm/yyyy (True) or mm/dd/yyyy (False). Needed when every date in a
            column reads both ways: the loader never guesses.
        columns : dict
            Map other column names to roles ("patient_id", "visit", "date", "day",
            "first_dose_date", "measure", "score", "handedness") or measure codes.
        purdue : {"single", "mean3", "sum3"}
            How Purdue values were aggregated: "sum3" allows 0..75 per hand.

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
        values, impossible or ambiguous dates, conflicting duplicates, item sums
        that disagree with totals, scores without a patient id, unknown measures,
        missing columns, missing sheets, empty, binary or undecodable files.

    Warns
    -----
    DataWarning
        Exact duplicate rows (collapsed) and incomplete item sets.

    Notes
    -----
    Reading never writes to the source, and the input DataFrame is not modified.
    Column names are matched ignoring case, spaces, underscores and punctuation,
    through the aliases in :mod:`sma_outcomes.load.columns`.

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
    tidy, problems = _read(source, dict(options))
    problems.raise_if_errors()
    for p in problems.table().itertuples(index=False):
        if p.severity == "warning":
            warnings.warn(f"{p.file}: {describe(p)}", DataWarning, stacklevel=2)
    return tidy


def check_scores(source: Source, **options: Any) -> pd.DataFrame:
    """List every problem in a source without raising.

    Takes the same options as :func:`read_scores`.

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
    """
    try:
        _tidy, problems = _read(source, dict(options))
    except DataError as err:
        if err.problems is not None:
            return err.problems
        return pd.DataFrame([{"severity": "error", "file": str(source), "row": None,
                              "column": None, "value": None, "rule": "file",
                              "message": str(err)}], columns=list(PROBLEM_COLUMNS))
    return problems.table()
