"""Estimands (ICH E9(R1)): a strategy for each intercurrent event, declared once.

An :class:`Estimand` maps each event type (the codes of
:data:`sma_outcomes.load.events.EVENT_TYPES`) to a strategy:

- ``treatment_policy``: the values after the event are used as observed;
- ``hypothetical``: the values after the event are set aside; an analysis
  model (MMRM, multiple imputation) treats them as missing, i.e. estimates
  what would have happened without the event;
- ``while_on_treatment``: only data up to the event count; later values are
  set aside (the variable is the response while on treatment);
- ``composite``: the event is part of the outcome: assessments after it, and
  the timepoints the patient no longer reaches, get a fixed value (by default
  the worst possible change, e.g. for death) so that a rank-based analysis
  ranks them worst.

:func:`apply_estimand` returns the analysis table, where nothing is deleted:
values set aside stay, flagged, next to ``analysis_change`` (the value the
analysis uses), plus the ``strategy`` column; and a table describing the
estimand for reports.

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.stats.estimand import Estimand, apply_estimand
>>> changes = pd.DataFrame({"patient_id": "P1", "measure": "HFMSE",
...                         "timepoint": ["Baseline", "Month 6", "Month 10"],
...                         "day": [0.0, 185, 307], "score": [20.0, 18, 23],
...                         "baseline": 20.0, "change": [0.0, -2, 3]})
>>> events = pd.DataFrame({"patient_id": ["P1"], "day": [200.0],
...                        "event": ["scoliosis surgery"]})
>>> res = apply_estimand(changes, events, Estimand({"scoliosis_surgery": "hypothetical"}))
>>> res.data[["timepoint", "change", "strategy", "set_aside", "analysis_change"]]
  timepoint  change      strategy  set_aside  analysis_change
0  Baseline     0.0          none      False              0.0
1   Month 6    -2.0          none      False             -2.0
2  Month 10     3.0  hypothetical       True              NaN
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import require_columns
from ..exceptions import OptionError
from ..load.events import EVENT_TYPES, event_code
from ..registry import get_scale
from ..timeline import event_table
from ..timeline.events import AFTER_PREFIX, EVENTS_BEFORE, annotate

__all__ = ["Estimand", "EstimandResult", "apply_estimand", "estimand_table", "ice_table",
           "STRATEGIES", "ESTIMAND_COLUMNS"]

#: Strategies, from the least to the most restrictive (a row after several events
#: follows the most restrictive one).
STRATEGIES: tuple[str, ...] = ("treatment_policy", "hypothetical", "while_on_treatment",
                               "composite")
_RANK = {s: i for i, s in enumerate(STRATEGIES)}

#: Columns of the table returned by :func:`estimand_table`.
ESTIMAND_COLUMNS = ("attribute", "event", "strategy", "n_patients", "n_values", "description")

_DESCRIBE = {
    "treatment_policy": "values after the event used as observed",
    "hypothetical": "values after the event set aside (treated as missing by the model)",
    "while_on_treatment": "only values up to the event used",
    "composite": "the event is part of the outcome: later values and unreached "
                 "timepoints get the composite value",
}


def _strategy(value: object, what: str) -> str:
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in STRATEGIES:
        raise OptionError(f"{what}: the strategy must be one of {list(STRATEGIES)}, not {value!r}")
    return key


@dataclass(frozen=True)
class Estimand:
    """An estimand: the strategy for each intercurrent event, and what is estimated.

    Parameters
    ----------
    strategies : dict
        Event type (a code of :data:`~sma_outcomes.load.events.EVENT_TYPES`
        or a spelling :func:`~sma_outcomes.load.read_events` accepts) ->
        strategy (``"treatment_policy"``, ``"hypothetical"``,
        ``"while_on_treatment"`` or ``"composite"``; spaces and hyphens are
        accepted).
    default : str
        Strategy of the event types not listed (default ``"treatment_policy"``).
    population : str
        The population, in words.
    variable : str, optional
        The variable, in words (default: change from baseline in the measures
        of the data).
    summary : str
        The population-level summary measure, in words.
    composite_value : float or "worst"
        The change given to values under the composite strategy: ``"worst"``
        is the worst possible change for the measure (the scale's floor, or
        its ceiling when lower is better, minus the baseline); a number is
        used as it is.

    Examples
    --------
    >>> e = Estimand({"death": "composite", "Scoliosis surgery": "hypothetical"})
    >>> e.strategy_of("scoliosis_surgery"), e.strategy_of("feeding_tube")
    ('hypothetical', 'treatment_policy')
    """

    strategies: Mapping[str, str] = field(default_factory=dict)
    default: str = "treatment_policy"
    population: str = "all treated patients with a baseline assessment"
    variable: str | None = None
    summary: str = "mean change from baseline at each timepoint"
    composite_value: float | str = "worst"

    def __post_init__(self) -> None:
        clean: dict[str, str] = {}
        for event, strategy in dict(self.strategies).items():
            code = event if event in EVENT_TYPES else event_code(event)
            if code is None:
                raise OptionError(f"Estimand: {event!r} is not an event type; use one of "
                                  f"{list(EVENT_TYPES)}")
            clean[code] = _strategy(strategy, f"Estimand, event {event!r}")
        object.__setattr__(self, "strategies", clean)
        object.__setattr__(self, "default", _strategy(self.default, "Estimand default"))
        if not (self.composite_value == "worst" or isinstance(self.composite_value, (int, float))):
            raise OptionError(f"Estimand: composite_value must be 'worst' or a number, not "
                              f"{self.composite_value!r}")

    def strategy_of(self, event: str) -> str:
        """The strategy of an event type."""
        return self.strategies.get(event, self.default)


class EstimandResult(NamedTuple):
    """What :func:`apply_estimand` returns: ``data, table = apply_estimand(...)``."""

    #: The analysis table (see :func:`apply_estimand`).
    data: pd.DataFrame
    #: The estimand described (see :func:`estimand_table`).
    table: pd.DataFrame


def _worst(measure: str, baseline: float) -> float:
    try:
        scale = get_scale(measure)
    except (KeyError, ValueError):
        return float("nan")
    end = scale.minimum if scale.higher_is_better else scale.maximum
    return float(end) - baseline if end is not None and np.isfinite(end) else float("nan")


def apply_estimand(
    data: pd.DataFrame,
    events: pd.DataFrame | str | os.PathLike[str],
    estimand: Estimand,
) -> EstimandResult:
    """The analysis table under an estimand, and the estimand described.

    Parameters
    ----------
    data : pandas.DataFrame
        The changes table of :func:`~sma_outcomes.timeline.change_from_baseline`
        (``patient_id``, ``measure``, ``day``, ``change``; ``timepoint``,
        ``analysed`` and ``baseline`` are used when present).
    events : DataFrame or path
        Intercurrent events, as read by :func:`~sma_outcomes.load.read_events`.
    estimand : Estimand
        The strategy of each event type.

    Returns
    -------
    EstimandResult
        ``data``: every row of ``data`` (nothing deleted), plus, for the
        composite strategy, one added row per patient x measure x timepoint
        after the event that the patient has no analysed row for (``added``
        True, ``score`` and ``change`` NaN). An added row carries the
        patient's own value of every patient-level column (a column constant
        within each patient of ``data``, such as ``sma_type``, ``sex``,
        ``site`` or ``age_at_first_dose``), so that models with those
        covariates or arms keep it; its ``visit`` is the timepoint label,
        ``is_baseline`` False, ``analysed`` True, ``day`` the timepoint's
        day (see Notes), and ``events_before`` and the ``after_<event>``
        flags are computed for that day. The other per-assessment columns
        (``date``, ``missing_code``, ``doses_before``, ``phase``, ``drug``,
        ``flag``, ``pct_change``) stay missing. Columns added:

        - ``strategy``: ``"none"`` (no event before the row), or the strategy
          of the events before it (the most restrictive one, in the order of
          :data:`STRATEGIES`);
        - ``intercurrent_event``: the event that set ``strategy`` ("" if
          none; the earliest one when several have that strategy);
        - ``set_aside`` (bool): the value is not used (hypothetical, while on
          treatment);
        - ``analysis_change``: the change the analysis uses (NaN where set
          aside; the composite value under the composite strategy);
        - ``added`` (bool): a row added for the composite strategy.

        ``table``: see :func:`estimand_table`.

    Notes
    -----
    An event counts as before a row when its day is earlier than the row's
    day (an assessment on the event day is taken as done before it). For an
    added composite row, the timepoint's day is the median day of the
    analysed rows at that timepoint. Rows without a day get ``"none"``.

    Examples
    --------
    HFMSE in the bundled cohort, surgery hypothetical, death composite:

    >>> import warnings
    >>> from sma_outcomes.load import example_path, load_example, read_events
    >>> from sma_outcomes.timeline import change_from_baseline
    >>> events = read_events(example_path("cohort").with_name("events.csv"))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     changes = change_from_baseline(load_example("cohort"))
    >>> hfmse = changes[changes["measure"] == "HFMSE"]
    >>> est = Estimand({"scoliosis_surgery": "hypothetical", "spinal_fusion": "hypothetical",
    ...                 "death": "composite"})
    >>> data, table = apply_estimand(hfmse, events, est)
    >>> table.loc[table["event"].isin(["scoliosis_surgery", "death"]),
    ...           ["event", "strategy", "n_patients", "n_values"]]
                    event      strategy  n_patients  n_values
    2   scoliosis_surgery  hypothetical           3        14
    11              death     composite           4        14
    >>> int(data["set_aside"].sum()), int(data["added"].sum())
    (19, 14)
    """
    require_columns(data, [S.PATIENT, S.MEASURE, S.DAY, S.CHANGE], func="apply_estimand",
                    hint="apply_estimand takes the changes table from change_from_baseline()")
    if not isinstance(estimand, Estimand):
        raise OptionError(f"apply_estimand(): `estimand` must be an Estimand(...), not "
                          f"{type(estimand).__name__}")
    ev = event_table(events, data)
    out = data.copy()
    out["added"] = False
    out = pd.concat([out, _composite_rows(out, ev, estimand)], ignore_index=True)
    out["added"] = out["added"].astype(bool)
    day = pd.to_numeric(out[S.DAY], errors="coerce").to_numpy(float)
    pcode, puniq = pd.factorize(out[S.PATIENT].astype(str).to_numpy(object))
    ev_p = pd.Index(puniq).get_indexer(ev[S.PATIENT].to_numpy(object))
    rank = np.full(len(out), -1)
    which = np.full(len(out), "", dtype=object)
    since = np.full(len(out), np.inf)  # day of the event that set the strategy
    for event in EVENT_TYPES:  # per type, its first occurrence per patient
        sel = (ev["event"].to_numpy(object) == event) & (ev_p >= 0)
        if not sel.any():
            continue
        first = np.full(len(puniq), np.inf)
        np.minimum.at(first, ev_p[sel], ev[S.DAY].to_numpy(float)[sel])
        at = first[pcode]
        r = _RANK[estimand.strategy_of(event)]
        with np.errstate(invalid="ignore"):
            hit = (day > at) & ((rank < r) | ((rank == r) & (at < since)))
        rank[hit] = r
        which[hit] = event
        since[hit] = at[hit]
    strategy = np.where(rank >= 0, np.array(STRATEGIES, dtype=object)[np.maximum(rank, 0)], "none")
    set_aside = np.isin(strategy, ("hypothetical", "while_on_treatment"))
    change = pd.to_numeric(out[S.CHANGE], errors="coerce").to_numpy(float)
    value = np.where(set_aside, np.nan, change)
    comp = strategy == "composite"
    if comp.any():
        value[comp] = _composite_values(out.loc[comp], estimand)
    out["strategy"] = strategy
    out["intercurrent_event"] = which
    out["set_aside"] = set_aside
    out["analysis_change"] = value
    return EstimandResult(out, estimand_table(out, ev, estimand))


def _composite_values(rows: pd.DataFrame, estimand: Estimand) -> np.ndarray:
    if estimand.composite_value != "worst":
        return np.full(len(rows), float(estimand.composite_value))
    base = (pd.to_numeric(rows[S.BASELINE], errors="coerce").to_numpy(float)
            if S.BASELINE in rows.columns else np.full(len(rows), np.nan))
    measure = rows[S.MEASURE].astype(str).to_numpy(object)
    floor = {m: _worst(m, 0.0) for m in pd.unique(measure)}  # the worst end of each scale
    return np.array([floor[m] for m in measure], dtype=float) - base


def _composite_rows(data: pd.DataFrame, ev: pd.DataFrame, estimand: Estimand) -> pd.DataFrame:
    """Rows for timepoints after a composite event that a patient has no analysed row for."""
    comp = ev[[estimand.strategy_of(e) == "composite" for e in ev["event"]]]
    if comp.empty or S.TIMEPOINT not in data.columns:
        return data.iloc[:0]
    analysed = (data[S.ANALYSED].fillna(False).astype(bool) if S.ANALYSED in data.columns
                else pd.Series(True, index=data.index))
    rows = data[analysed & data[S.TIMEPOINT].notna()]
    tp_day = rows.groupby(rows[S.TIMEPOINT].astype(str), sort=False)[S.DAY].median()
    first = comp.groupby(S.PATIENT)[S.DAY].min()
    keep = [c for c in (S.PATIENT, S.MEASURE, S.BASELINE) if c in data.columns]
    per = data.loc[data[S.PATIENT].astype(str).isin(first.index), keep]
    if S.BASELINE in per.columns:
        per = per[per[S.BASELINE].notna()]
    per = per.drop_duplicates([S.PATIENT, S.MEASURE]).assign(
        **{S.PATIENT: lambda d: d[S.PATIENT].astype(str)})
    grid = per.merge(pd.DataFrame({S.TIMEPOINT: tp_day.index.astype(str),
                                   S.DAY: tp_day.to_numpy(float)}), how="cross")
    grid = grid[grid[S.DAY].to_numpy(float) > first.reindex(grid[S.PATIENT]).to_numpy(float)]
    have = rows[[S.PATIENT, S.MEASURE, S.TIMEPOINT]].astype(str).drop_duplicates()
    have["_have"] = True
    grid = grid.astype({S.MEASURE: str}).merge(have, how="left",
                                                on=[S.PATIENT, S.MEASURE, S.TIMEPOINT])
    new = grid[grid["_have"].isna()].drop(columns="_have")
    if new.empty:
        return data.iloc[:0]
    add = new.reset_index(drop=True)
    if isinstance(data[S.TIMEPOINT].dtype, pd.CategoricalDtype):
        add[S.TIMEPOINT] = pd.Categorical(add[S.TIMEPOINT], dtype=data[S.TIMEPOINT].dtype)
    add[S.SCORE] = np.nan
    add[S.CHANGE] = np.nan
    if S.ANALYSED in data.columns:
        add[S.ANALYSED] = True
    if S.VISIT in data.columns:
        add[S.VISIT] = add[S.TIMEPOINT].astype(str).to_numpy(object)
    if S.IS_BASELINE in data.columns:
        add[S.IS_BASELINE] = False
    _carry_patient_columns(add, data)
    _annotate_events(add, data, ev)
    add["added"] = True
    return add


#: Columns that describe one assessment, never carried onto added rows (the
#: timeline's per-assessment columns; ``after_*`` and ``events_before`` are
#: recomputed, see :func:`_annotate_events`).
_ROW_LEVEL = frozenset({S.VISIT, S.DATE, S.DAY, S.MEASURE, S.SCORE, S.MISSING_CODE, S.TIMEPOINT,
                        S.ANALYSED, S.BASELINE, S.CHANGE, S.IS_BASELINE, S.DOSES_BEFORE,
                        "pct_change", "phase", "drug", "flag", "added", EVENTS_BEFORE})


def _carry_patient_columns(add: pd.DataFrame, data: pd.DataFrame) -> None:
    """Copy onto ``add`` every column constant within each patient of ``data``.

    A column counts as patient-level when no patient has two different values
    in it (missing counting as a value), e.g. ``sma_type``, ``sex``, ``site``,
    ``age_at_first_dose``.
    """
    cols = [c for c in data.columns
            if c not in _ROW_LEVEL and c != S.PATIENT and c not in add.columns
            and not str(c).startswith(AFTER_PREFIX)]
    if not cols or add.empty:
        return
    pid = data[S.PATIENT].astype(str)
    const = data[cols].groupby(pid.to_numpy(object), sort=False).nunique(dropna=False).le(1).all()
    cols = [c for c in cols if bool(const[c])]
    if not cols:
        return
    first = data[cols].groupby(pid.to_numpy(object), sort=False).first()  # NaN only if all NaN
    idx = first.index.get_indexer(add[S.PATIENT].astype(str).to_numpy(object))
    for c in cols:
        add[c] = first[c].iloc[idx].to_numpy()
        if isinstance(data[c].dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(data[c]) \
                or pd.api.types.is_integer_dtype(data[c]):
            try:
                add[c] = add[c].astype(data[c].dtype)
            except (TypeError, ValueError):
                pass


def _annotate_events(add: pd.DataFrame, data: pd.DataFrame, ev: pd.DataFrame) -> None:
    """``events_before`` and the ``after_<event>`` flags of ``data``, computed for ``add``."""
    want = [c for c in data.columns if c == EVENTS_BEFORE or str(c).startswith(AFTER_PREFIX)]
    if not want or add.empty:
        return
    tmp = pd.DataFrame(index=add.index)
    pcode, puniq = pd.factorize(add[S.PATIENT].astype(str).to_numpy(object))
    annotate(tmp, add[S.DAY].to_numpy(float), pcode, ev, np.asarray(puniq, dtype=object))
    for c in want:
        if c in tmp.columns:
            add[c] = tmp[c].to_numpy()
        elif str(c).startswith(AFTER_PREFIX):
            add[c] = False  # no event of that type for these patients


def estimand_table(data: pd.DataFrame, events: pd.DataFrame, estimand: Estimand) -> pd.DataFrame:
    """The estimand as a table: population, variable, strategy per event, summary measure.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis table of :func:`apply_estimand` (``strategy``,
        ``intercurrent_event``).
    events : pandas.DataFrame
        The events (codes and days, as from
        :func:`~sma_outcomes.timeline.event_table`).
    estimand : Estimand

    Returns
    -------
    pandas.DataFrame
        Columns ``attribute`` (``"population"``, ``"variable"``,
        ``"intercurrent event"`` (one row per event type in the events or in
        the estimand), ``"summary measure"``), ``event`` (the event code, ""
        on other rows), ``strategy``, ``n_patients`` (population: patients
        with a baseline; event rows: patients of the population with that
        event), ``n_values`` (event rows: values whose strategy that event
        set) and ``description``.
    """
    pid = data[S.PATIENT].astype(str)
    if S.BASELINE in data.columns:
        pid = pid[data[S.BASELINE].notna()]
    pop = set(pd.unique(pid))  # distinct values first: no Python loop over rows
    measures = [str(m) for m in pd.unique(data[S.MEASURE].dropna())]
    variable = estimand.variable or f"change from baseline in {', '.join(measures)}"
    rows = [("population", "", "", len(pop), np.nan, estimand.population),
            ("variable", "", "", np.nan, np.nan, variable)]
    present = [e for e in EVENT_TYPES if e in set(events["event"]) or e in estimand.strategies]
    for e in present:
        who = set(events.loc[events["event"] == e, S.PATIENT].astype(str)) & pop
        n_val = (int((data["intercurrent_event"] == e).sum())
                 if "intercurrent_event" in data.columns else 0)
        s = estimand.strategy_of(e)
        rows.append(("intercurrent event", e, s, len(who), n_val, _DESCRIBE[s]))
    rows.append(("summary measure", "", "", np.nan, np.nan, estimand.summary))
    out = pd.DataFrame(rows, columns=list(ESTIMAND_COLUMNS))
    out["n_patients"] = out["n_patients"].astype("Int64")
    out["n_values"] = out["n_values"].astype("Int64")
    return out


def ice_table(data: pd.DataFrame, measure: str | None = None) -> pd.DataFrame:
    """The first timepoint whose value was set aside, per patient: rbmi's ``data_ice``.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis table of :func:`apply_estimand` (with ``timepoint``).
    measure : str, optional
        Keep one measure (``fit_mi`` works on one).

    Returns
    -------
    pandas.DataFrame
        One row per patient x measure with a value set aside (hypothetical or
        while on treatment): ``patient_id, measure, timepoint`` (the first
        analysed timepoint set aside), ``strategy`` and ``event``, in the
        shape ``fit_mi(ice=...)`` takes; map our strategies to imputation
        strategies with its ``strategies=``, e.g. ``{"hypothetical": "MAR",
        "while_on_treatment": "LMCF"}``, and analyse ``y="analysis_change"``.

    Examples
    --------
    >>> import pandas as pd
    >>> changes = pd.DataFrame({"patient_id": "P1", "measure": "HFMSE",
    ...                         "timepoint": ["Baseline", "Month 6", "Month 10"],
    ...                         "day": [0.0, 185, 307], "change": [0.0, -2, 3]})
    >>> events = pd.DataFrame({"patient_id": ["P1"], "day": [100.0], "event": ["spinal fusion"]})
    >>> data, _ = apply_estimand(changes, events, Estimand({"spinal_fusion": "hypothetical"}))
    >>> ice_table(data)
      patient_id measure timepoint      strategy          event
    0         P1   HFMSE   Month 6  hypothetical  spinal_fusion
    """
    require_columns(data, [S.PATIENT, S.MEASURE, S.TIMEPOINT, "strategy", "set_aside",
                           "intercurrent_event"], func="ice_table",
                    hint="ice_table takes the data of apply_estimand()")
    rows = data[data["set_aside"].astype(bool) & data[S.TIMEPOINT].notna()]
    if S.ANALYSED in rows.columns:
        rows = rows[rows[S.ANALYSED].fillna(False).astype(bool)]
    if measure is not None:
        rows = rows[rows[S.MEASURE].astype(str) == measure]
    tp = rows[S.TIMEPOINT]
    order = (tp.cat.codes.to_numpy() if isinstance(tp.dtype, pd.CategoricalDtype)
             else pd.to_numeric(rows[S.DAY], errors="coerce").to_numpy(float))
    rows = rows.assign(_o=order).sort_values([S.PATIENT, S.MEASURE, "_o"], kind="stable")
    first = rows.drop_duplicates([S.PATIENT, S.MEASURE])
    out = pd.DataFrame({S.PATIENT: first[S.PATIENT].to_numpy(),
                        S.MEASURE: first[S.MEASURE].to_numpy(),
                        S.TIMEPOINT: first[S.TIMEPOINT].to_numpy(),
                        "strategy": first["strategy"].to_numpy(),
                        "event": first["intercurrent_event"].to_numpy()})
    if isinstance(tp.dtype, pd.CategoricalDtype):
        out[S.TIMEPOINT] = pd.Categorical(out[S.TIMEPOINT], dtype=tp.dtype)
    return out
