"""Timeline: dosing schedules, visit windows, baseline and change from baseline.

Turns recorded visits into treatment time ("before the 4th loading dose",
"Month 18, before the 4th maintenance dose") and derives change from
baseline the way CDISC ADaM does (admiral's ``derive_var_base``,
``derive_var_chg``, ``derive_var_pchg``).

- :func:`get_schedule`, :class:`Schedule`: built-in dosing schedules;
- :func:`dose_table`: planned or real doses, one row per patient x dose;
- :func:`assign_timepoints`: ``doses_before``, ``phase``, ``timepoint``, ``analysed``, ``flag``;
- :func:`change_from_baseline`: ``baseline``, ``change``, ``pct_change``, ``is_baseline``;
- :func:`default_windows`, :func:`make_windows`: nominal timepoints and windows;
- :func:`to_adam`: the changes table as a CDISC ADaM BDS dataset;
- :func:`event_table`: intercurrent events with codes and days (``events=`` of
  ``assign_timepoints`` and ``change_from_baseline`` adds ``drug``,
  ``events_before`` and ``after_<event>`` flags).

Examples
--------
>>> from sma_outcomes.timeline import get_schedule
>>> get_schedule("nusinersen").loading_days
(0.0, 14.0, 28.0, 63.0)
"""

from __future__ import annotations

from ._common import first_dose_dates
from .adam import to_adam
from .change import change_from_baseline
from .doses import dose_table
from .events import event_table
from .schedules import SCHEDULES, Schedule, get_schedule
from .timepoints import assign_timepoints
from .windows import default_windows, make_windows

__all__ = [
    "Schedule",
    "SCHEDULES",
    "get_schedule",
    "dose_table",
    "event_table",
    "first_dose_dates",
    "assign_timepoints",
    "change_from_baseline",
    "default_windows",
    "make_windows",
    "to_adam",
]
