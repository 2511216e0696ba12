"""Report sections built from tables: data summary, per-patient scores, summaries.

Examples
--------
>>> import pandas as pd
>>> ch = pd.DataFrame({"patient_id": ["P1", "P1"], "measure": "HFMSE",
...                    "timepoint": pd.Categorical(["Baseline", "Month 18"],
...                                                ["Baseline", "Month 18"], ordered=True),
...                    "day": [0.0, 550.0], "score": [20.0, 25.0], "change": [0.0, 5.0],
...                    "pct_change": [0.0, 25.0], "is_baseline": [True, False],
...                    "analysed": True, "flag": ""})
>>> patient_wide(ch, "HFMSE").iloc[0].tolist()
['P1', '20', '25 (+5, +25%)']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import natural_key, plain_number, signed
from ..registry import SCALES, get_scale
from .content import Section, slug

__all__ = ["data_summary", "patient_long", "patient_wide", "add_patient_tables",
           "add_summaries", "small_baseline_limit"]


def small_baseline_limit(measure: str) -> float:
    """Largest baseline whose percent change is flagged: 5 units or a tenth of the range.

    A change of one or two pins from a baseline of 1 pin is +100% or +200%:
    true, but no sign of a large effect. Percent changes from a baseline at or
    below this limit are shown with their baseline ("+500% from 1").

    Examples
    --------
    >>> small_baseline_limit("PP_PREF"), small_baseline_limit("HFMSE")
    (5.0, 6.6)
    """
    sc = get_scale(measure)
    span = (sc.maximum - sc.minimum) if sc.maximum is not None and sc.minimum is not None else 0
    return float(max(5.0, round(0.1 * span, 1)))


def data_summary(
    scores: pd.DataFrame, changes: pd.DataFrame, measures: list[str]
) -> pd.DataFrame:
    """Key facts of the data as a two-column table (item, value).

    Examples
    --------
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv")
    >>> data_summary(prep.scores, prep.changes, prep.measures).iloc[0].tolist()
    ['patients', '5']
    """
    visits = scores[[c for c in (S.PATIENT, S.VISIT, S.DATE, S.DAY) if c in scores.columns]]
    tps = changes[S.TIMEPOINT].dropna()
    used = list(changes[S.TIMEPOINT].cat.categories) if len(tps) else []
    rows = [
        ("patients", scores[S.PATIENT].nunique()),
        ("assessments (patient x visit)", len(visits.drop_duplicates())),
        ("score rows (patient x visit x measure)", len(scores)),
        ("measures in the data", _measure_list(scores[S.MEASURE].astype(str).unique())),
        ("measures analysed", ", ".join(measures)),
        ("missing scores", int(scores[S.SCORE].isna().sum())),
        ("timepoints", ", ".join(str(t) for t in used)),
        ("unscheduled assessments (in no window)",
         int((changes[S.TIMEPOINT].isna() & changes[S.MEASURE].isin(measures)).sum())),
    ]
    if S.DAY in scores.columns and scores[S.DAY].notna().any():
        rows.append(("study days", f"{plain_number(scores[S.DAY].min())} to {plain_number(scores[S.DAY].max())}"))
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": str})


def _measure_list(codes: object) -> str:
    """Measure codes with items folded: ``'HFMSE, HFMSE items (33)'``."""

    codes = [str(c) for c in codes]  # type: ignore[attr-defined]
    totals = sorted(c for c in codes if c not in SCALES or SCALES[c].parent is None
                    or not SCALES[c].in_total)
    items: dict[str, int] = {}
    for c in codes:
        if c in SCALES and SCALES[c].parent and SCALES[c].in_total:
            items[SCALES[c].parent] = items.get(SCALES[c].parent, 0) + 1
    return ", ".join(totals + [f"{p} items ({n})" for p, n in sorted(items.items())])


def missing_codes(scores: pd.DataFrame) -> pd.DataFrame:
    """Counts of missing scores by measure and the source's missing code.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"measure": ["HFMSE", "HFMSE"], "score": [None, 3.0],
    ...                   "missing_code": ["NT", ""]})
    >>> missing_codes(s).values.tolist()
    [['HFMSE', 'NT', 1]]
    """
    miss = scores[scores[S.SCORE].isna()]
    if not len(miss):
        return pd.DataFrame(columns=["measure", "missing_code", "n"])
    code = miss[S.MISSING_CODE].fillna("").astype(str).replace("", "(blank)")
    out = (
        pd.DataFrame({"measure": miss[S.MEASURE].astype(str), "missing_code": code})
        .value_counts()
        .rename("n")
        .reset_index()
        .sort_values(["measure", "missing_code"], kind="stable")
        .reset_index(drop=True)
    )
    return out


def patient_long(changes: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One row per patient x timepoint (analysed rows) of one measure.

    Examples
    --------
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> row = patient_long(prep.changes, "HFMSE").iloc[5]
    >>> row["patient_id"], row["timepoint"], float(row["change"])
    ('GK01', 'Month 18', 8.0)
    """
    d = changes[(changes[S.MEASURE] == measure) & changes[S.TIMEPOINT].notna()]
    if S.ANALYSED in d.columns:
        d = d[d[S.ANALYSED].astype(bool)]
    cols = [S.PATIENT, S.TIMEPOINT, S.VISIT, S.DAY, S.SCORE, S.MISSING_CODE, S.BASELINE,
            S.CHANGE, S.PCT_CHANGE, S.FLAG]
    d = d[[c for c in cols if c in d.columns]].copy()
    d[S.TIMEPOINT] = d[S.TIMEPOINT].astype(str)
    order = pd.Categorical(
        changes.loc[d.index, S.TIMEPOINT], categories=changes[S.TIMEPOINT].cat.categories
    ).codes
    d = d.assign(_o=order).sort_values([S.PATIENT, "_o"], kind="stable").drop(columns="_o")
    return d.reset_index(drop=True)


def _column(d: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as floats (NaN where missing or absent)."""
    if name not in d.columns:
        return np.full(len(d), np.nan)
    return pd.to_numeric(d[name], errors="coerce").to_numpy(float)


def _texts_of(values: np.ndarray, text: Any) -> list[str]:
    """``text(v)`` for each value, computed once per distinct value."""
    uniq, inverse = np.unique(values, return_inverse=True)
    table = [text(float(v)) if v == v else "" for v in uniq]  # NaN cells are not used
    return [table[i] for i in inverse.ravel().tolist()]


def _cell_texts(d: pd.DataFrame, limit: float) -> list[str]:
    """Cell text ``score (change, percent change[ from baseline])`` of each row of ``d``.

    The numbers are formatted once per distinct value (a registry has a few
    dozen distinct scores and changes, not one per row).

    Examples
    --------
    >>> d = pd.DataFrame({"score": [20.0, 25.0, None], "change": [0.0, 5.0, None],
    ...                   "pct_change": [0.0, 25.0, None], "baseline": 20.0,
    ...                   "is_baseline": [True, False, False], "missing_code": [None, None, "NT"]})
    >>> _cell_texts(d, 6.6)
    ['20', '25 (+5, +25%)', 'missing (NT)']
    """
    score, change = _column(d, S.SCORE), _column(d, S.CHANGE)
    pct, base = _column(d, S.PCT_CHANGE), _column(d, S.BASELINE)
    is_base = (np.array([bool(v) for v in d[S.IS_BASELINE].tolist()], dtype=bool)
               if S.IS_BASELINE in d.columns else np.zeros(len(d), bool))
    score_t = _texts_of(score, plain_number)
    change_t = _texts_of(change, lambda c: signed(c, digits=0 if c == round(c) else 1))
    pct_t = _texts_of(pct, lambda v: signed(v, "%"))
    base_t = _texts_of(base, plain_number)
    has_score, has_change = ~np.isnan(score), ~is_base & ~np.isnan(change)
    has_pct, small = ~np.isnan(pct), ~np.isnan(base) & (base <= limit)
    codes = (d[S.MISSING_CODE].tolist() if S.MISSING_CODE in d.columns
             else [""] * len(d))
    out: list[str] = []
    for i in range(len(d)):
        if not has_score[i]:
            code = codes[i]
            out.append(f"missing ({code})" if code else "missing")
        elif not has_change[i]:
            out.append(score_t[i])
        elif not has_pct[i]:
            out.append(f"{score_t[i]} ({change_t[i]})")
        elif small[i]:
            out.append(f"{score_t[i]} ({change_t[i]}, {pct_t[i]} from {base_t[i]})")
        else:
            out.append(f"{score_t[i]} ({change_t[i]}, {pct_t[i]})")
    return out


def patient_wide(changes: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Patients x timepoints, each cell ``score (change, percent change)``.

    Examples
    --------
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> patient_wide(prep.changes, "HFMSE").loc[0, "Month 18"]
    '23 (+8, +53%)'
    """
    d = changes[(changes[S.MEASURE] == measure) & changes[S.TIMEPOINT].notna()]
    if S.ANALYSED in d.columns:
        d = d[d[S.ANALYSED].astype(bool)]
    tps = [t for t in changes[S.TIMEPOINT].cat.categories if (d[S.TIMEPOINT] == t).any()]
    pids = sorted(d[S.PATIENT].astype(str).unique(), key=natural_key)
    limit = small_baseline_limit(measure)
    texts = _cell_texts(d, limit)
    keys = zip(d[S.PATIENT].astype(str).tolist(), d[S.TIMEPOINT].astype(str).tolist(),
               strict=True)
    cell: dict[tuple[str, str], str] = dict(zip(keys, texts, strict=True))
    rows = [[pid, *[cell.get((pid, t), "") for t in tps]] for pid in pids]
    return pd.DataFrame(rows, columns=["patient", *tps])


def add_patient_tables(sec: Section, changes: pd.DataFrame, measures: list[str]) -> None:
    """One table per measure: each patient's scores by timepoint with change.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Scores")
    >>> add_patient_tables(sec, prep.changes, ["HFMSE"])
    >>> sec.items[1].name
    'patients_hfmse'
    """
    sec.note(
        "Each cell gives the score at the timepoint, then in brackets the change from "
        "baseline and the percent change (rounded half up to a whole percent). "
        "Only the assessment chosen for each timepoint is shown; the CSV files list them "
        "with study day, flag and full precision."
    )
    for m in measures:
        sc = get_scale(m)
        limit = small_baseline_limit(m)
        long = patient_long(changes, m)
        if S.BASELINE in long.columns:
            long["small_baseline"] = long[S.BASELINE] <= limit
        sec.table(
            f"patients_{slug(m)}",
            long,
            display=patient_wide(changes, m),
            title=f"{sc.name} ({m}), {sc.unit}, range {plain_number(sc.minimum)} to {plain_number(sc.maximum)}.",
            caption=f"A percent change from a small baseline (at most {plain_number(limit)} "
            f"{sc.unit}) is followed by that baseline, e.g. \"+200% from 1\": a few "
            "units more are a large percentage of a small number (column small_baseline "
            "in the CSV).",
        )


def add_summaries(sec: Section, summary: pd.DataFrame, measures: list[str]) -> None:
    """Per-measure table of score and change by timepoint.

    Examples
    --------
    >>> from sma_outcomes.stats import summarize
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.report.build import prepare
    >>> prep = prepare("data/sample/case_series.csv", measures=["HFMSE"])
    >>> sec = Section("Summaries")
    >>> add_summaries(sec, summarize(prep.changes), ["HFMSE"])
    >>> sec.items[0].display["mean change"].round(2).tolist()[-1]
    6.4
    """
    for m in measures:
        s = summary[summary["measure"] == m]
        if not len(s):
            continue
        score = s[s["variable"] == "score"].set_index("timepoint")
        change = s[s["variable"] == "change"].set_index("timepoint")
        rows = []
        for tp in score.index:
            a = score.loc[tp]
            b = change.loc[tp] if tp in change.index else None
            rows.append({
                "timepoint": str(tp),
                "n": int(a["n"]),
                "mean score": a["mean"],
                "SD": a["sd"],
                "mean change": None if b is None else b["mean"],
                "95% CI of change": "" if b is None or pd.isna(b["ci_low"])
                else f"{b['ci_low']:.2f} to {b['ci_high']:.2f}",
                "median change": None if b is None else b["median"],
                "Q1 to Q3": "" if b is None else f"{plain_number(b['q1'])} to {plain_number(b['q3'])}",
                "min to max": "" if b is None else f"{plain_number(b['min'])} to {plain_number(b['max'])}",
            })
        disp = pd.DataFrame(rows)
        sec.table(
            f"summary_{slug(m)}",
            s.assign(timepoint=s["timepoint"].astype(str)).reset_index(drop=True),
            display=disp,
            title=f"{get_scale(m).name} ({m}) by timepoint.",
            digits={"mean score": 2, "SD": 2, "mean change": 2},
        )
