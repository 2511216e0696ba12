"""The tidy score table: column names and dtypes shared by every stage.

One row per patient x visit x measure. Loaders produce it, the timeline adds
treatment time and change from baseline, statistics, plots and reports read it.

Examples
--------
>>> from sma_outcomes import schema
>>> schema.CORE_COLUMNS
('patient_id', 'visit', 'date', 'day', 'measure', 'score', 'missing_code')
"""

from __future__ import annotations

PATIENT = "patient_id"
VISIT = "visit"
DATE = "date"
DAY = "day"
MEASURE = "measure"
SCORE = "score"
MISSING_CODE = "missing_code"

#: Columns every tidy score table has, in this order.
CORE_COLUMNS: tuple[str, ...] = (PATIENT, VISIT, DATE, DAY, MEASURE, SCORE, MISSING_CODE)

# Added by the timeline stage.
DOSES_BEFORE = "doses_before"
PHASE = "phase"
TIMEPOINT = "timepoint"
ANALYSED = "analysed"
FLAG = "flag"
BASELINE = "baseline"
CHANGE = "change"
PCT_CHANGE = "pct_change"
IS_BASELINE = "is_baseline"

#: Column names of every statistics table that reports an estimate.
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "estimate",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "p_value",
)

#: Days in a month and a year used to derive ``months`` and ``years`` from ``day``.
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25

#: Phases assigned by the timeline, in order.
PHASES: tuple[str, ...] = ("pre-treatment", "loading", "maintenance")
