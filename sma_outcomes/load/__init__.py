"""Load: everything from a file to the validated tidy score table.

Modules, in the order a file passes through them: ``source`` (bytes -> raw
frame), ``columns`` (header -> roles and measure codes), ``values`` (numbers,
dates, codes), ``items`` (item sets -> totals), ``tidy`` (raw frame -> tidy
table), ``problems`` (every problem, with file, row, column and value), and
``read`` (:func:`read_scores`, :func:`check_scores`, :data:`READ_OPTIONS`).
``excel`` reads workbooks cell by cell, ``database`` SQL queries, ``redcap`` and
``visits`` map REDCap exports and one-column-per-visit sheets, ``patients``
checks ids and summary rows. ``doses`` reads dose records and ``examples`` the
bundled sample data.

Examples
--------
>>> from sma_outcomes.load import read_scores
>>> read_scores("data/sample/case_series.csv")["patient_id"].nunique()
5
"""

from __future__ import annotations

from .doses import read_doses
from .events import read_events
from .examples import example_path, load_example
from .read import READ_OPTIONS, Source, check_scores, read_scores, read_with_problems

__all__ = ["read_scores", "read_with_problems", "check_scores", "read_doses", "read_events", "load_example", "example_path", "Source",
           "READ_OPTIONS"]
