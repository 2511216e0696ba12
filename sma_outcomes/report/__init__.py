"""Reports: one self-contained HTML page (plus CSV, PNG, Markdown, PDF) per data file.

- :func:`build_report`: analyse a score file and write its report folder;
- :func:`build_reports`: several files or a folder, one report each plus an index;
- :func:`reproduce_case_series`: the Gu & Kong 2021 case-series analysis.

Examples
--------
>>> from sma_outcomes.report import build_report
>>> callable(build_report)
True
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY = {
    "build_report": "sma_outcomes.report.build",
    "build_reports": "sma_outcomes.report.batch",
    "reproduce_case_series": "sma_outcomes.report.reproduce",
    "ReportExistsError": "sma_outcomes.report.safety",
    "UnsafeTargetError": "sma_outcomes.report.safety",
    "OutputError": "sma_outcomes.report.safety",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
