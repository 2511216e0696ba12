"""Statistics: summaries, paired tests, responders, mixed models, estimands, imputation.

- describe, paired, responders: baseline versus a timepoint;
- lmm, mmrm (one result model, :mod:`sma_outcomes.stats._result`): trajectories
  and change by timepoint;
- estimand, flow, mi: intercurrent events, patient flow, multiple imputation;
- reliable, natural_history, concordance, verdict: is this patient doing better
  than expected?

Every function returns a pandas DataFrame, or a result object whose tables are
DataFrames, with the same column names throughout: ``term, estimate, se, df, t,
p_value, ci_low, ci_high, n``.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY = {
    "summarize": "sma_outcomes.stats.describe",
    "paired_test": "sma_outcomes.stats.paired",
    "responders": "sma_outcomes.stats.responder_rates",
    "fit_lmm": "sma_outcomes.stats.lmm",
    "LMMResult": "sma_outcomes.stats.lmm",
    "fit_mmrm": "sma_outcomes.stats.mmrm",
    "MMRMResult": "sma_outcomes.stats.mmrm",
    "patient_verdicts": "sma_outcomes.stats.verdict",
    "concordance": "sma_outcomes.stats.agreement",
    "fit_mi": "sma_outcomes.stats.mi",
    "MIResult": "sma_outcomes.stats.mi",
    "tipping_point": "sma_outcomes.stats.mi",
    "compare_to_reference": "sma_outcomes.stats.natural_history",
    "expected_trajectory": "sma_outcomes.stats.natural_history",
    "summarize_comparison": "sma_outcomes.stats.natural_history",
    "get_reference": "sma_outcomes.stats.natural_history",
    "list_references": "sma_outcomes.stats.natural_history",
    "make_reference": "sma_outcomes.stats.natural_history",
    "piecewise_reference": "sma_outcomes.stats.natural_history",
    "reliable_change": "sma_outcomes.stats.reliable",
    "detectable_change": "sma_outcomes.stats.reliable",
    "Estimand": "sma_outcomes.stats.estimand",
    "apply_estimand": "sma_outcomes.stats.estimand",
    "ice_table": "sma_outcomes.stats.estimand",
    "patient_flow": "sma_outcomes.stats.flow",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
