"""Collect data problems and turn them into a table or one DataError.

Every check appends problems here instead of raising at the first one, so a
user sees all that is wrong with a file at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import DataError

PROBLEM_COLUMNS = ("severity", "file", "row", "column", "value", "rule", "message")

#: How many problems a DataError message lists before "... and N more".
MAX_LISTED = 25


@dataclass
class Problems:
    """Accumulates problems found in one source."""

    file: str
    rows: list[dict] = field(default_factory=list)
    #: Facts found while reading (``columns``: the header; ``time``: a date or day column).
    notes: dict = field(default_factory=dict)

    def add(
        self,
        rule: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        severity: str = "error",
    ) -> None:
        """Record one problem."""
        self.rows.append(
            {
                "severity": severity,
                "file": self.file,
                "row": row,
                "column": column,
                "value": _show(value),
                "rule": rule,
                "message": message,
            }
        )

    def add_many(
        self,
        rule: str,
        rows: Iterable[int],
        column: str,
        values: Iterable[object],
        messages: Iterable[str],
        severity: str = "error",
    ) -> None:
        """Record one problem per (row, value, message)."""
        for r, v, m in zip(rows, values, messages, strict=True):
            self.add(rule, m, row=int(r), column=column, value=v, severity=severity)

    @property
    def has_errors(self) -> bool:
        return any(p["severity"] == "error" for p in self.rows)

    def table(self) -> pd.DataFrame:
        """All problems as a DataFrame sorted by row (file-level problems first)."""
        df = pd.DataFrame(self.rows, columns=list(PROBLEM_COLUMNS))
        if df.empty:
            return df.astype({"row": "Int64"})
        df["row"] = df["row"].astype("Int64")
        order = np.lexsort((df.index.to_numpy(), df["row"].fillna(-1).to_numpy()))
        return df.iloc[order].reset_index(drop=True)

    def raise_if_errors(self) -> None:
        """Raise one DataError listing every error (the table is on ``.problems``)."""
        if not self.has_errors:
            return
        table = self.table()
        errors = table[table["severity"] == "error"]
        lines = [describe(p) for p in errors.itertuples(index=False)]
        head = f"{self.file}: {len(lines)} problem{'s' if len(lines) != 1 else ''} in the data"
        if len(lines) > MAX_LISTED:
            lines = lines[:MAX_LISTED] + [
                f"... and {len(errors) - MAX_LISTED} more (see the .problems table of this "
                "error, or run `sma-outcomes validate` / check_scores())"
            ]
        raise DataError(head + ":\n  " + "\n  ".join(lines), problems=table)


def describe(p) -> str:  # noqa: ANN001 - a namedtuple row of the problem table
    """One line naming file, row, column and value."""
    where = []
    if p.row is not None and not pd.isna(p.row):
        where.append(f"row {int(p.row)}")
    if p.column:
        where.append(f"column {p.column!r}")
    prefix = ", ".join(where)
    return f"{prefix}: {p.message}" if prefix else p.message


def _show(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    text = str(value)
    if any(not ch.isprintable() or ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad" for ch in text):
        text = ascii_escapes(text)
    return text if len(text) <= 60 else text[:57] + "..."


def ascii_escapes(text: str) -> str:
    """Invisible and non-printing characters written as escapes (``\\u200b``).

    Examples
    --------
    >>> print(ascii_escapes("P1\u200b"))
    P1\u200b
    """
    out = []
    for ch in text:
        if not ch.isprintable() or ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def fail(file: str, rule: str, message: str, column: str | None = None, row: int | None = None,
         value: object = None) -> DataError:
    """A DataError for a single structural problem (file cannot be read at all)."""
    probs = Problems(file)
    probs.add(rule, message, row=row, column=column, value=value)
    table = probs.table()
    return DataError(f"{file}: {describe(next(table.itertuples(index=False)))}", problems=table)
