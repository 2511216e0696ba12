"""Data ready for a report: read, checked, on the treatment timeline, pseudonymised if asked.

Examples
--------
>>> from sma_outcomes.report.prepare import prepare
>>> prep = prepare("data/sample/case_series.csv")
>>> prep.measures, prep.timepoint
(['HFMSE', 'PP_PREF', 'PP_NONPREF'], 'Month 18')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema as S
from .._shared import measures_in
from ..exceptions import DataError
from ..load import read_doses, read_events, read_with_problems
from ..registry import SCALES
from ..stats.estimand import Estimand
from ..stats.flow import cutoff_days
from ..timeline import (
    change_from_baseline,
    default_windows,
    dose_table,
    event_table,
    get_schedule,
)
from ..timeline.windows import make_windows
from .inference import captured
from .safety import pseudonym_map, pseudonymize_table

__all__ = ["prepare", "Prepared", "default_timepoint"]

PathLike = str | os.PathLike

#: Reading options of the score file that also apply to the events file.
_EVENT_READING = ("encoding", "sep", "decimal", "dayfirst")


@dataclass
class Prepared:
    """Data ready for the report: scores and changes (pseudonymised if asked) and facts.

    Examples
    --------
    >>> prep = prepare("data/sample/case_series.csv")
    >>> prep.measures, prep.timepoint
    (['HFMSE', 'PP_PREF', 'PP_NONPREF'], 'Month 18')
    """

    scores: pd.DataFrame
    changes: pd.DataFrame
    doses: pd.DataFrame | None
    measures: list[str]
    timepoint: str
    timepoint_reason: str
    schedule: Any
    windows: pd.DataFrame | None
    problems: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    events: pd.DataFrame | None = None
    estimand: Estimand | None = None
    cutoff: Any = None
    sem: Mapping[str, float] | None = None
    references: Sequence[Any] | None = None


def _read_windows(windows: Any, read_options: Mapping[str, Any]) -> Any:
    if windows is None or isinstance(windows, (pd.DataFrame, Mapping)):
        return windows
    path = Path(windows)
    if not path.is_file():
        raise FileNotFoundError(f"windows file not found: {windows}")
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path)
    return pd.read_csv(path, sep=None, engine="python")


def default_timepoint(changes: pd.DataFrame, measures: Sequence[str]) -> tuple[str, str]:
    """The last timepoint at which at least half of the patients with a baseline have a change.

    Returns the label and the reason in words.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.Categorical(["Baseline", "Month 6", "Baseline", "Month 6", "Month 10"],
    ...                     ["Baseline", "Month 6", "Month 10"], ordered=True)
    >>> ch = pd.DataFrame({"patient_id": ["a", "a", "b", "b", "b"], "measure": "HFMSE",
    ...                    "timepoint": tp, "change": [0.0, 1, 0, 2, 3],
    ...                    "is_baseline": [True, False, True, False, False]})
    >>> default_timepoint(ch, ["HFMSE"])[0]
    'Month 10'
    """
    d = changes[changes[S.MEASURE].isin(measures) & changes[S.CHANGE].notna()
                & changes[S.TIMEPOINT].notna()]
    if S.ANALYSED in d.columns:
        d = d[d[S.ANALYSED].astype(bool)]
    base = d[d[S.IS_BASELINE].astype(bool)] if S.IS_BASELINE in d.columns else d.iloc[:0]
    post = d[~d.index.isin(base.index)]
    n_base = base[S.PATIENT].nunique()
    counts = post.groupby(S.TIMEPOINT, observed=True)[S.PATIENT].nunique()
    cats = [str(c) for c in changes[S.TIMEPOINT].cat.categories]
    ok = [str(t) for t, n in counts.items() if n > 0 and 2 * n >= n_base]
    if ok:
        last = max(ok, key=cats.index)
        return last, (f"the last timepoint at which at least half of the {n_base} patients "
                      "with a baseline have a score")
    if len(counts[counts > 0]):
        last = max((str(t) for t, n in counts.items() if n > 0), key=cats.index)
        return last, "the last timepoint with any post-baseline score"

    raise DataError("no post-baseline score falls in any visit window, so nothing can be "
                    "compared with baseline (check the dosing schedule and the windows)")


def _default_measures(scores: pd.DataFrame) -> list[str]:
    present = set(scores.loc[scores[S.SCORE].notna(), S.MEASURE].astype(str))
    return [c for c in SCALES if c in present and (SCALES[c].parent is None
                                                   or not SCALES[c].in_total)]


def prepare(
    data: PathLike | pd.DataFrame,
    *,
    measures: Sequence[str] | None = None,
    timepoint: str | None = None,
    schedule: str = "nusinersen",
    doses: PathLike | pd.DataFrame | None = None,
    windows: PathLike | pd.DataFrame | Mapping | None = None,
    pseudonymize: bool = False,
    pseudonym_key: str | None = None,
    read_options: Mapping[str, Any] | None = None,
    events: PathLike | pd.DataFrame | None = None,
    estimand: Estimand | None = None,
    cutoff: Any = None,
    sem: Mapping[str, float] | None = None,
    references: Sequence[Any] | None = None,
) -> Prepared:
    """Read, check, place on the treatment timeline and derive change; pseudonymise last.

    ``events`` (read by :func:`~sma_outcomes.load.read_events`, with ``cutoff``)
    place intercurrent events on the timeline; a date ``cutoff`` is kept as
    each patient's days since the first dose (so it survives pseudonymisation);
    ``estimand`` (default
    :class:`~sma_outcomes.stats.estimand.Estimand` ``()`` when events are
    given), ``sem`` and ``references`` are kept for the analysis sections.

    Raises
    ------
    DataError
        The data (or the dose table) have errors; ``.problems`` lists them.
    ValueError
        An unknown measure, timepoint or schedule (the message lists the valid ones).

    Examples
    --------
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> prep.timepoint, prep.changes["patient_id"].nunique()
    ('Month 18', 5)
    """

    opts = dict(read_options or {})
    sched = get_schedule(schedule)
    # one pass over the source: the tidy table and its warnings (errors raise DataError)
    (scores, problems), msgs = captured(read_with_problems, data, opts)
    dose_frame = None
    if doses is not None:
        dose_frame, more = captured(read_doses, doses, **{k: v for k, v in opts.items()
                                                          if k != "purdue"})
        msgs += more
    event_frame = None
    if events is not None:
        event_frame, more = captured(read_events, events, cutoff=cutoff,
                                     **{k: v for k, v in opts.items() if k in _EVENT_READING})
        msgs += more
        _check_event_patients(event_frame, scores, events)
    win = _read_windows(windows, opts)
    changes, more = captured(change_from_baseline, scores, schedule=sched, doses=dose_frame,
                             windows=win, events=event_frame)
    msgs += more
    if measures:
        measures = measures_in(scores, [str(m) for m in measures])
    else:
        measures = _default_measures(scores)
    if not measures:
        raise DataError("the data have no scores to analyse")
    cats = [str(c) for c in changes[S.TIMEPOINT].cat.categories]
    if timepoint is None:
        timepoint, reason = default_timepoint(changes, measures)
    elif timepoint not in cats:
        raise ValueError(f"timepoint {timepoint!r} is not one of the data's timepoints: "
                         f"{', '.join(cats)}")
    else:
        reason = "chosen by the user"
    if cutoff is not None and not isinstance(cutoff, (int, float)):
        # a date (or a mapping) becomes days since each patient's first dose now,
        # while the dates are still there (pseudonymised tables have none)
        cutoff = cutoff_days(cutoff, changes).to_dict()
    tab, more = captured(dose_table, scores, sched, dose_frame, events=event_frame)
    msgs += [m for m in more if m not in msgs]
    if win is not None:
        windows_used = make_windows(win)
    else:  # the default windows reached by the data (the timepoint categories)
        last = float(pd.to_numeric(changes[S.DAY], errors="coerce").max())
        windows_used = default_windows(sched, until_day=last if last == last else 0.0)
        windows_used = windows_used[windows_used["label"].isin(cats)].reset_index(drop=True)
    if pseudonymize:
        if event_frame is not None:  # days from the dates first: pseudonymised tables have none
            event_frame = event_table(event_frame, scores)
        mapping = pseudonym_map(scores[S.PATIENT], pseudonym_key)
        scores = pseudonymize_table(scores, mapping)
        changes = pseudonymize_table(changes, mapping)
        tab = pseudonymize_table(tab, mapping)
        if event_frame is not None:
            event_frame = pseudonymize_table(event_frame, mapping)
        if isinstance(cutoff, dict):
            cutoff = {mapping[p]: day for p, day in cutoff.items()}
        problems = problems.copy()
        for col in ("value", "message"):
            if col in problems.columns:
                problems[col] = [_replace_ids(str(v), mapping) if isinstance(v, str) else v
                                 for v in problems[col]]
        msgs = [_replace_ids(m, mapping) for m in msgs]
    if event_frame is not None and estimand is None:
        estimand = Estimand()
    return Prepared(scores, changes, tab, list(measures), timepoint, reason, sched,
                    windows_used, problems, msgs, events=event_frame, estimand=estimand,
                    cutoff=cutoff, sem=dict(sem) if sem else None,
                    references=None if references is None else list(references))


def _check_event_patients(events: pd.DataFrame, scores: pd.DataFrame, source: Any) -> None:
    """Refuse events of patients the score data do not have (most likely a mistyped id)."""
    known = set(scores[S.PATIENT].astype(str))
    unknown = sorted(set(events[S.PATIENT].astype(str)) - known)
    if unknown:
        name = "events" if isinstance(source, pd.DataFrame) else Path(source).name
        raise DataError(f"{name}, column 'patient_id': event(s) of patient(s) not in the score "
                        f"data: {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}"
                        " (check the patient ids)")


def _replace_ids(text: str, mapping: Mapping[str, str]) -> str:
    import re

    for pid in sorted(mapping, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", mapping[pid], text)
    return text
