"""What a report is made of: sections holding text, tables and figures.

The analysis code fills a :class:`Report`; :mod:`sma_outcomes.report.render`
turns the same object into HTML, Markdown and PDF, and writes its tables as
CSV and its figures as PNG (SVG or PDF when asked).

Examples
--------
>>> import pandas as pd
>>> r = Report(title="Demo")
>>> s = r.section("Data")
>>> s.text("Five patients.")
>>> t = s.table("counts", pd.DataFrame({"n": [5]}), title="Counts")
>>> [item.kind for item in r.sections[0].items]
['text', 'table']
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Report", "Section", "Text", "Table", "Figure", "format_cell", "slug",
           "table_cells", "shown_rows_note", "MAX_ROWS_SHOWN"]


def slug(text: str) -> str:
    """A file- and anchor-safe name.

    Examples
    --------
    >>> slug("PP_PREF: Month 18 / change")
    'pp_pref-month-18-change'
    """
    s = re.sub(r"[^a-z0-9_]+", "-", str(text).lower()).strip("-")
    return s or "item"


@dataclass
class Text:
    """A paragraph (``style``: ``"p"``, ``"note"`` for a plain-language note, ``"warn"``).

    Examples
    --------
    >>> Text("Five patients.", "note").style
    'note'
    """

    body: str
    style: str = "p"
    kind: str = "text"


@dataclass
class Table:
    """A table shown in the report and written as ``tables/<name>.csv``.

    ``frame`` is written to CSV as it is (numbers stay numbers); ``display``,
    when given, is what the HTML/Markdown show (e.g. a wide, formatted view).

    Examples
    --------
    >>> import pandas as pd
    >>> Table("n", pd.DataFrame({"n": [5]})).shown().shape
    (1, 1)
    """

    name: str
    frame: pd.DataFrame
    title: str = ""
    caption: str = ""
    display: pd.DataFrame | None = None
    digits: dict[str, int] = field(default_factory=dict)
    csv: bool = True
    kind: str = "table"

    def shown(self) -> pd.DataFrame:
        """The table as displayed."""
        return self.frame if self.display is None else self.display


@dataclass
class Figure:
    """A figure written as ``figures/<name>.png`` (and ``.svg`` when asked); the PNG is embedded.

    With a figure writer attached to the report (:attr:`Report.sink`) the
    matplotlib figure is saved and released the moment it is added, so a
    report holds at most one drawn figure at a time.

    Examples
    --------
    >>> Figure("cohort", None, title="Cohort").kind
    'figure'
    """

    name: str
    figure: Any  # matplotlib Figure until saved, then None
    title: str = ""
    caption: str = ""
    png: bytes = b""
    files: tuple[str, ...] = ()
    kind: str = "figure"


@dataclass
class Section:
    """A titled part of the report.

    Examples
    --------
    >>> Section("Data summary").anchor
    'data-summary'
    """

    title: str
    items: list = field(default_factory=list)
    level: int = 2
    sink: Any = field(default=None, repr=False, compare=False)

    @property
    def anchor(self) -> str:
        """HTML id of the section."""
        return slug(self.title)

    def text(self, body: str, style: str = "p") -> None:
        """Add a paragraph."""
        self.items.append(Text(body, style))

    def note(self, body: str) -> None:
        """Add a plain-language note."""
        self.items.append(Text(body, "note"))

    def table(self, name: str, frame: pd.DataFrame, **kw: Any) -> Table:
        """Add a table."""
        t = Table(name, frame, **kw)
        self.items.append(t)
        return t

    def figure(self, name: str, figure: Any, **kw: Any) -> Figure:
        """Add a figure (saved and released at once when the section has a sink)."""
        f = Figure(name, figure, **kw)
        self.items.append(f)
        if self.sink is not None:
            self.sink(f)
        return f


@dataclass
class Report:
    """The whole report: title, sections, and provenance facts.

    Examples
    --------
    >>> r = Report("Demo")
    >>> r.section("Data").note("All patients improved.")
    >>> len(r.tables()), len(r.figures())
    (0, 0)
    """

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    generated: str = ""
    sink: Any = field(default=None, repr=False, compare=False)

    def section(self, title: str, level: int = 2) -> Section:
        """Append and return a new section."""
        s = Section(title, level=level, sink=self.sink)
        self.sections.append(s)
        return s

    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [i for s in self.sections for i in s.items if isinstance(i, Table)]

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [i for s in self.sections for i in s.items if isinstance(i, Figure)]


_P_COLUMNS = {"p_value", "min_p", "p"}


def format_cell(value: object, column: str = "", digits: int | None = None) -> str:
    """Text of one table cell: integers without decimals, p-values to 4 decimals.

    Examples
    --------
    >>> format_cell(3.0), format_cell(2.3456), format_cell(0.00001, "p_value")
    ('3', '2.35', '<0.0001')
    >>> format_cell(float("nan")), format_cell(0.0625, "min_p")
    ('', '0.0625')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if column in _P_COLUMNS:
            return "<0.0001" if v < 0.0001 else f"{v:.4f}"
        if digits is not None:
            return f"{v:.{digits}f}"
        if v == round(v) and abs(v) < 1e15:
            return f"{int(round(v))}"
        return f"{v:.2f}" if abs(v) >= 0.01 else f"{v:.3g}"
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


#: Most rows a document (HTML, Markdown, PDF) shows of a table that has a CSV file;
#: the CSV holds every row. Keeps a registry's report readable and bounded in size.
MAX_ROWS_SHOWN = 500


def shown_rows_note(table: Table) -> str:
    """The note under a table cut to :data:`MAX_ROWS_SHOWN` rows ("" when it is whole).

    Examples
    --------
    >>> import pandas as pd
    >>> shown_rows_note(Table("t", pd.DataFrame({"n": range(501)})))
    'The first 500 of 501 rows are shown; every row is in tables/t.csv.'
    """
    n = len(table.shown())
    if not table.csv or n <= MAX_ROWS_SHOWN:
        return ""
    return (f"The first {MAX_ROWS_SHOWN} of {n} rows are shown; every row is in "
            f"tables/{table.name}.csv.")


def table_cells(table: Table) -> dict:
    """Header and formatted cells of a table as the documents show it (at most
    :data:`MAX_ROWS_SHOWN` rows of a table that has a CSV file).

    Examples
    --------
    >>> import pandas as pd
    >>> table_cells(Table("t", pd.DataFrame({"n": [5.0]})))["rows"]
    [[{'text': '5', 'num': True}]]
    """
    frame = table.shown()
    if table.csv and len(frame) > MAX_ROWS_SHOWN:
        frame = frame.iloc[:MAX_ROWS_SHOWN]
    header = [str(c) for c in frame.columns]
    rows = []
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    for rec in frame.itertuples(index=False, name=None):
        rows.append(
            [
                {"text": format_cell(v, str(c), table.digits.get(str(c))), "num": isnum}
                for v, c, isnum in zip(rec, frame.columns, numeric, strict=True)
            ]
        )
    return {"header": header, "rows": rows}
