"""Select the rows of a changes table that the summary statistics use.

The descriptive and paired statistics all read the table returned by
``change_from_baseline``: one row per patient x visit x measure, with
``timepoint``, ``analysed``, ``baseline``, ``change`` ... This module checks the
columns a function needs (naming what is missing and what was found), keeps
the analysed rows and picks measures and a timepoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .. import schema
from .._shared import measures_in, require_columns
from ..exceptions import OptionError

__all__ = [
    "analysed_rows",
    "check_timepoint",
    "check_unique",
    "changes_at",
    "positive_number",
    "shared_visits",
]


def analysed_rows(data: pd.DataFrame) -> pd.DataFrame:
    """Rows with ``analysed == True`` when that column exists, else all rows.

    Examples
    --------
    >>> d = pd.DataFrame({"analysed": [True, False]})
    >>> len(analysed_rows(d))
    1
    """
    if schema.ANALYSED in data.columns:
        keep = data[schema.ANALYSED].fillna(False).astype(bool).to_numpy()
        return data.loc[keep]
    return data


def check_timepoint(data: pd.DataFrame, timepoint: str) -> None:
    """Raise ``ValueError`` unless ``timepoint`` occurs in the ``timepoint`` column.

    Examples
    --------
    >>> check_timepoint(pd.DataFrame({"timepoint": ["Baseline", "Month 6"]}), "Month 6")
    """
    col = data[schema.TIMEPOINT]
    values = list(pd.unique(col.dropna().astype(str)))
    if isinstance(col.dtype, pd.CategoricalDtype) and timepoint in set(col.cat.categories):
        return
    if timepoint not in values:
        raise OptionError(
            f"`timepoint` {timepoint!r} not found among the analysed rows; "
            f"available timepoints: {values}"
        )


def check_unique(data: pd.DataFrame, keys: Sequence[str], *, func: str) -> None:
    """Raise ``ValueError`` when ``keys`` do not identify the rows uniquely.

    Examples
    --------
    >>> check_unique(pd.DataFrame({"a": [1, 2]}), ["a"], func="f")
    """
    dup = data.duplicated(list(keys), keep=False)
    if dup.any():
        first = data.loc[dup, list(keys)].drop_duplicates().head(5)
        rows = "; ".join(
            ", ".join(f"{k}={v}" for k, v in zip(keys, r, strict=True))
            for r in first.itertuples(index=False)
        )
        raise ValueError(
            f"{func}() needs one analysed row per {' x '.join(keys)}, but {int(dup.sum())} "
            f"rows share keys (e.g. {rows}); mark one row per timepoint with the 'analysed' "
            "column (assign_timepoints does this)"
        )


def changes_at(
    changes: pd.DataFrame,
    timepoint: str,
    measures: str | Sequence[str] | None,
    *,
    func: str,
) -> dict[str, pd.DataFrame]:
    """Analysed rows at ``timepoint`` with a change from baseline, per measure.

    Rows without a change (no baseline, or the score not done) are left out, so
    each frame holds the patients with both baseline and ``timepoint``.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["a", "a"], "measure": ["HFMSE"] * 2,
    ...                   "timepoint": ["Baseline", "Month 6"], "change": [0.0, 2.0]})
    >>> changes_at(d, "Month 6", None, func="f")["HFMSE"]["change"].tolist()
    [2.0]
    """
    keys = [schema.PATIENT, schema.MEASURE, schema.TIMEPOINT]
    require_columns(changes, [*keys, schema.CHANGE], func=func)
    rows = analysed_rows(changes)
    check_timepoint(rows, timepoint)
    names = measures_in(rows, measures)
    at = rows.loc[(rows[schema.TIMEPOINT].astype(str) == timepoint).to_numpy()]
    at = at.loc[at[schema.CHANGE].notna().to_numpy()]
    check_unique(at, keys, func=func)
    return {m: at.loc[(at[schema.MEASURE] == m).to_numpy()] for m in names}


def shared_visits(data: pd.DataFrame, group: str, visit: str, *, head: int) -> tuple[int, str]:
    """Rows that share a patient and visit: how many, and the first ``head`` pairs.

    The pairs read ``"<patient> at <visit>; ..."``; ``(0, "")`` when every
    patient has at most one row per visit.

    Examples
    --------
    >>> shared_visits(pd.DataFrame({"id": list("aab"), "v": [1, 1, 1]}), "id", "v", head=5)
    (2, 'a at 1')
    """
    dup = data.duplicated([group, visit], keep=False)
    if not dup.any():
        return 0, ""
    bad = data.loc[dup, [group, visit]].drop_duplicates().head(head)
    return int(dup.sum()), "; ".join(f"{a} at {b}" for a, b in bad.itertuples(index=False))


def positive_number(value: object, option: str, measure: str, *, what: str = "") -> float:
    """``value`` as a finite positive float, or ``OptionError`` naming ``option`` and ``measure``.

    ``what`` (e.g. ``" (the size of a meaningful change)"``) follows "positive
    number" in the message.

    Examples
    --------
    >>> positive_number("2.5", "sem", "HFMSE")
    2.5
    >>> positive_number(-1, "sem", "HFMSE")
    Traceback (most recent call last):
    ...
    sma_outcomes.exceptions.OptionError: `sem` for 'HFMSE' must be a positive number, not -1.0
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionError(f"`{option}` for {measure!r} must be a number, not {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise OptionError(f"`{option}` for {measure!r} must be a positive number{what}, not {number}")
    return number
