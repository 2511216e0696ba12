"""Figures: per-patient and cohort trajectories, change, timelines, items.

Every function takes the tidy table (or a fitted result) first and keywords
after, and returns a :class:`matplotlib.figure.Figure` built without pyplot,
in the house style (:mod:`sma_outcomes.plot.style`), leaving the user's
rcParams untouched. Functions that draw a single axes also accept ``ax=``.

Examples
--------
>>> from sma_outcomes.plot import plot_patient, save_figure
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY = {
    "plot_patient": "sma_outcomes.plot.patient",
    "plot_patients": "sma_outcomes.plot.patient",
    "plot_cohort": "sma_outcomes.plot.cohort",
    "cohort_summary": "sma_outcomes.plot.cohort",
    "plot_waterfall": "sma_outcomes.plot.change",
    "plot_slope": "sma_outcomes.plot.change",
    "plot_timeline": "sma_outcomes.plot.timeline",
    "plot_item_heatmap": "sma_outcomes.plot.items",
    "plot_slope_change": "sma_outcomes.plot.verdict",
    "plot_flow": "sma_outcomes.plot.flow",
    "plot_mi": "sma_outcomes.plot.sensitivity",
    "plot_tipping_point": "sma_outcomes.plot.sensitivity",
    "save_figure": "sma_outcomes.plot.save",
    "save_patient_figures": "sma_outcomes.plot.batch",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
