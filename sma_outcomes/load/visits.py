"""Wide-by-visit layout: one row per patient, one column per measure and visit.

Headers such as "HFMSE baseline", "HFMSE month 6", "RULM_M12", "Baseline HFMSE"
or "HFMSE 6m" name a measure and a visit. Such a sheet is read as if it had one
row per patient x visit: the visit label is made plain ("baseline", "BL" ->
"Baseline"; "month 6", "M6", "6m" -> "Month 6"; "week 2", "W2" -> "Week 2";
"visit 3", "V3" -> "Visit 3"; "day 28", "D28" -> "Day 28"; "year 1", "Y1" ->
"Year 1"), and per-visit date or study-day columns ("Date baseline", "M6 date",
"day_m6") give each visit its date or day. Patient-level columns (sex, SMA
type, first-dose date) apply to every visit of the row.

Examples
--------
>>> split_visit("HFMSE month 6"), split_visit("Baseline RULM"), split_visit("HFMSE_26")
(('HFMSE', 'Month 6'), ('RULM', 'Baseline'), None)
>>> split_visit("Date M12", kind="role")
('date', 'Month 12')
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .columns import measure_code, role_of

_WORDS = re.compile(r"[\s_\-:/|,.()\[\]]+")
_PATTERNS = [
    (re.compile(r"^(?:baseline|bl|screening|scr|pre|pretreatment)$"), lambda m: "Baseline"),
    (re.compile(r"^(?:month|months|mo|mth|m)\s*(\d+)$"), lambda m: f"Month {int(m.group(1))}"),
    (re.compile(r"^(\d+)\s*(?:m|mo|mos|mth|months?)$"), lambda m: f"Month {int(m.group(1))}"),
    (re.compile(r"^(?:week|weeks|wk|w)\s*(\d+)$"), lambda m: f"Week {int(m.group(1))}"),
    (re.compile(r"^(\d+)\s*(?:w|wk|wks|weeks?)$"), lambda m: f"Week {int(m.group(1))}"),
    (re.compile(r"^(?:visit|v)\s*(\d+)$"), lambda m: f"Visit {int(m.group(1))}"),
    (re.compile(r"^(?:day|d)\s*(\d+)$"), lambda m: f"Day {int(m.group(1))}"),
    (re.compile(r"^(?:year|yr|y)\s*(\d+)$"), lambda m: f"Year {int(m.group(1))}"),
    (re.compile(r"^(\d+)\s*(?:y|yr|years?)$"), lambda m: f"Year {int(m.group(1))}"),
    (re.compile(r"^(?:follow\s*up|followup|fu)\s*(\d*)$"),
     lambda m: f"Follow-up {m.group(1)}".strip()),
]
_TIME_ROLES = ("date", "day")


def visit_label(text: str) -> str | None:
    """A plain visit label for a header part, or None when it is not a visit."""
    key = " ".join(_WORDS.split(str(text).strip().lower())).strip()
    for pattern, label in _PATTERNS:
        m = pattern.match(key) or pattern.match(key.replace(" ", ""))
        if m:
            return label(m)
    return None


def split_visit(name: object, kind: str = "measure") -> tuple[str, str] | None:
    """(measure code, visit label) of a header naming both, or None.

    With ``kind="role"``: (``"date"`` or ``"day"``, visit label).
    """
    words = [w for w in _WORDS.split(str(name).strip()) if w]
    for k in range(1, len(words)):
        for a, b in ((words[:k], words[k:]), (words[k:], words[:k])):
            label = visit_label(" ".join(b))
            if label is None:
                continue
            what = " ".join(a)
            if kind == "measure":
                code = measure_code(what)
            else:
                code = role_of(what)
                code = code if code in _TIME_ROLES else None
            if code is not None:
                return code, label
    return None


def prefix_measure(name: object) -> tuple[str, str] | None:
    """(measure, rest) when a header starts with a measure total's name and goes on
    with words (not an item number): "HFMSE Jan 2021" -> ("HFMSE", "Jan 2021")."""
    words = [w for w in _WORDS.split(str(name).strip()) if w]
    for k in range(len(words) - 1, 0, -1):
        code = measure_code(" ".join(words[:k]))
        rest = " ".join(words[k:])
        if code is not None and "_" not in code and re.search(r"[a-zA-Z]", rest) \
                and not re.match(r"(?i)^(item|it|i)\s*\w{1,2}$", rest):
            return code, rest
    return None


def find(columns: list[str]) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """Measure-visit columns and date/day-visit columns of a header."""
    measures, times = {}, {}
    for c in columns:
        if measure_code(c) is not None or role_of(c) is not None:
            continue
        hit = split_visit(c)
        if hit is not None:
            measures[c] = hit
            continue
        hit = split_visit(c, kind="role")
        if hit is not None:
            times[c] = hit
    return measures, times


def visit_of(name: object) -> str | None:
    """The visit a header names with something else ("Grip baseline" -> "Baseline").

    Examples
    --------
    >>> visit_of("Grip strength month 6"), visit_of("Grip strength")
    ('Month 6', None)
    """
    words = [w for w in _WORDS.split(str(name).strip()) if w]
    for k in range(1, len(words)):
        for part in (words[k:], words[:k]):
            label = visit_label(" ".join(part))
            if label is not None:
                return label
    return None


def to_long(frame: pd.DataFrame, rows: np.ndarray, measures: dict[str, tuple[str, str]],
            times: dict[str, tuple[str, str]]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per patient x visit x measure, with the source column in ``_src``."""
    keep = [c for c in frame.columns if c not in measures and c not in times]
    n = len(frame)
    cols = list(measures)
    k = len(cols)
    # row-major: every measure-visit cell of row 1, then row 2, ...
    expand = np.repeat(np.arange(n), k)
    pick = np.tile(np.arange(k), n)
    out = {c: frame[c].to_numpy(dtype=object)[expand] for c in keep}
    visit_of = np.array([measures[c][1] for c in cols], dtype=object)
    out["visit"] = visit_of[pick]
    out["measure"] = np.array([measures[c][0] for c in cols], dtype=object)[pick]
    out["score"] = np.column_stack([frame[c].to_numpy(dtype=object) for c in cols]).ravel() \
        if k else np.array([], dtype=object)
    for role in _TIME_ROLES:
        per_visit = {label: c for c, (r, label) in times.items() if r == role}
        if not per_visit:
            continue
        values = np.full(n * k, None, dtype=object)
        for label, c in per_visit.items():
            at = visit_of[pick] == label
            values[at] = frame[c].to_numpy(dtype=object)[expand[at]]
        out[role] = values
    out["_src"] = np.array(cols, dtype=object)[pick]
    return pd.DataFrame(out), rows[expand]
