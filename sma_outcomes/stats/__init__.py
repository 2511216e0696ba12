"""Statistics: summaries, paired tests, responder rates, LMM and MMRM.

Every function returns a pandas DataFrame, or a result object whose tables are
DataFrames, with the same column names throughout: ``term, estimate, se, df, t,
p_value, ci_low, ci_high, n``.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "summarize": "sma_outcomes.stats.describe",
    "paired_test": "sma_outcomes.stats.paired",
    "responders": "sma_outcomes.stats.responder_rates",
    "fit_lmm": "sma_outcomes.stats.lmm",
    "LMMResult": "sma_outcomes.stats.lmm",
    "fit_mmrm": "sma_outcomes.stats.mmrm",
    "MMRMResult": "sma_outcomes.stats.mmrm",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sma_outcomes.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
