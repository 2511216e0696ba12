"""sma_outcomes: motor-function outcomes of patients with SMA on treatment.

The data flow, stage by stage (each name is importable from ``sma_outcomes``):

- load: :func:`read_scores`, :func:`check_scores` -> the tidy score table;
  :func:`read_doses`, :func:`read_events`
- timeline: :func:`assign_timepoints`, :func:`change_from_baseline`, :func:`dose_table`,
  :func:`to_adam`
- stats: :func:`summarize`, :func:`paired_test`, :func:`responders`, :func:`fit_lmm`,
  :func:`fit_mmrm`; :func:`apply_estimand`, :func:`patient_flow`, :func:`fit_mi`;
  :func:`reliable_change`, :func:`compare_to_reference`, :func:`patient_verdicts`
- plot: :func:`plot_patient`, :func:`plot_patients`, :func:`plot_cohort`, ...
- report: :func:`build_report`, :func:`build_reports`

Heavy libraries are imported only when a name is first used, so that the
command line starts quickly.

Examples
--------
>>> import sma_outcomes
>>> sma_outcomes.__version__
'0.1.0'
"""

from __future__ import annotations

from ._lazy import lazy_exports
from ._version import __version__
from .exceptions import (
    ColumnError,
    ConvergenceWarning,
    DataError,
    DataWarning,
    MeasureError,
    ModelWarning,
    OptionError,
    SingularFitWarning,
)

# public name -> module that defines it (imported lazily, PEP 562)
_LAZY: dict[str, str] = {
    # load
    "read_scores": "sma_outcomes.load",
    "check_scores": "sma_outcomes.load",
    "read_doses": "sma_outcomes.load",
    "read_events": "sma_outcomes.load",
    "load_example": "sma_outcomes.load",
    # registry
    "get_scale": "sma_outcomes.registry",
    "SCALES": "sma_outcomes.registry",
    "PARAMCD": "sma_outcomes.registry",
    # timeline
    "Schedule": "sma_outcomes.timeline",
    "get_schedule": "sma_outcomes.timeline",
    "assign_timepoints": "sma_outcomes.timeline",
    "change_from_baseline": "sma_outcomes.timeline",
    "dose_table": "sma_outcomes.timeline",
    "default_windows": "sma_outcomes.timeline",
    "to_adam": "sma_outcomes.timeline",
    # stats
    "summarize": "sma_outcomes.stats",
    "paired_test": "sma_outcomes.stats",
    "responders": "sma_outcomes.stats",
    "fit_lmm": "sma_outcomes.stats",
    "fit_mmrm": "sma_outcomes.stats",
    "LMMResult": "sma_outcomes.stats",
    "MMRMResult": "sma_outcomes.stats",
    "patient_verdicts": "sma_outcomes.stats",
    "concordance": "sma_outcomes.stats",
    "fit_mi": "sma_outcomes.stats",
    "MIResult": "sma_outcomes.stats",
    "tipping_point": "sma_outcomes.stats",
    "compare_to_reference": "sma_outcomes.stats",
    "expected_trajectory": "sma_outcomes.stats",
    "summarize_comparison": "sma_outcomes.stats",
    "reliable_change": "sma_outcomes.stats",
    "detectable_change": "sma_outcomes.stats",
    "Estimand": "sma_outcomes.stats",
    "apply_estimand": "sma_outcomes.stats",
    "ice_table": "sma_outcomes.stats",
    "patient_flow": "sma_outcomes.stats",
    # plot
    "plot_patient": "sma_outcomes.plot",
    "plot_patients": "sma_outcomes.plot",
    "plot_cohort": "sma_outcomes.plot",
    "plot_waterfall": "sma_outcomes.plot",
    "plot_slope": "sma_outcomes.plot",
    "plot_timeline": "sma_outcomes.plot",
    "plot_item_heatmap": "sma_outcomes.plot",
    "plot_slope_change": "sma_outcomes.plot",
    "plot_flow": "sma_outcomes.plot",
    "plot_mi": "sma_outcomes.plot",
    "plot_tipping_point": "sma_outcomes.plot",
    "save_figure": "sma_outcomes.plot",
    # report
    "build_report": "sma_outcomes.report",
    "build_reports": "sma_outcomes.report",
    "reproduce_case_series": "sma_outcomes.report",
}

__all__ = [
    "__version__",
    "DataError",
    "ColumnError",
    "MeasureError",
    "OptionError",
    "DataWarning",
    "ModelWarning",
    "ConvergenceWarning",
    "SingularFitWarning",
    *_LAZY,
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
