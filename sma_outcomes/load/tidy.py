"""Turn a raw frame into the validated tidy score table.

One row per patient x visit x measure (see :mod:`sma_outcomes.schema`). All
problems are collected in a :class:`~sma_outcomes.load.problems.Problems`
object; the caller raises them together or returns them as a table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import plain_number
from ..exceptions import OptionError
from ..registry import PURDUE_SINGLE_HAND, SCALES, measure_from_paramcd, suggest_code
from . import redcap, visits
from .cells import blank, cell_text, found_columns, plain, text_codes_full
from .checks import check_unnamed_columns, check_varying_columns, drop_id_only_rows, drop_ignored
from .columns import date_order, looks_like_measure, measure_code, near_role, normalise, role_of
from .items import item_totals
from .patients import check_ids, check_summary_rows, show
from .problems import Problems
from .source import RawTable
from .values import DATE_YEARS, STR, factorize, parse_dates, parse_numbers

#: ADaM derived variables that are recomputed by the timeline, not read back.
ADAM_DERIVED = ("param", "avisitn", "base", "chg", "pchg", "ablfl", "anl01fl")
PURDUE_AGGREGATIONS = {"single": 1.0, "mean3": 1.0, "sum3": 3.0}
_RIGHT = {"right", "r", "righthanded", "rechts", "droite", "derecha", "destra"}
_LEFT = {"left", "l", "lefthanded", "links", "gauche", "izquierda", "sinistra"}


def tidy_scores(
    raw: RawTable,
    problems: Problems,
    *,
    columns: dict[str, str] | None = None,
    ignore: list[str] | tuple[str, ...] | None = None,
    dayfirst: bool | None = None,
    purdue: str = "single",
) -> pd.DataFrame:
    """Validate a raw frame and return the tidy score table.

    Problems are appended to ``problems``; the returned table holds whatever
    could be read (the caller decides whether to raise). ``problems.notes`` gets
    ``columns`` (the source's header) and ``time`` (whether a date or study-day
    column was found).
    """
    if purdue not in PURDUE_AGGREGATIONS:
        raise OptionError(f"`purdue` must be one of {sorted(PURDUE_AGGREGATIONS)}, "
                          f"not {purdue!r}")
    columns = dict(columns or {})
    frame, rows = raw.frame, raw.rows
    problems.notes["columns"] = [str(c) for c in frame.columns]
    problems.notes["time"] = False
    frame = drop_ignored(frame, ignore, problems)
    if redcap.is_redcap(list(frame.columns)):
        frame, rows = redcap.prepare(frame, rows, problems, columns)
    frame, rows = _drop_empty(frame, rows)
    if frame.empty:
        problems.add("empty", "the file has a header but no data rows")
        return _empty_table()
    frame, rows, src_override = _visit_columns(frame, rows, columns, problems)
    frame = check_unnamed_columns(frame, rows, raw.decimal, problems)
    roles, measures, passthrough = _map_columns(frame, columns, problems)
    problems.notes["time"] = any(r in roles for r in ("date", "day", "ady"))
    if problems.has_errors:
        return _empty_table()
    long = "measure" in roles and "score" in roles
    if not long and not measures:
        found = found_columns(frame)
        problems.add(
            "columns",
            "no score columns found: expected either a measure column and a score column "
            "(long layout: 'measure' + 'score'/'value'/'result'/'AVAL') or one column per "
            f"measure (wide layout: 'HFMSE', 'RULM', 'PP_PREF', ...); found {found}"
            + _header_hint(frame, rows),
        )
        return _empty_table()
    if "patient_id" not in roles:
        found = found_columns(frame)
        problems.add(
            "columns",
            "no patient column: expected one named like 'patient_id', 'Patient ID', "
            f"'Patient', 'Subject' or 'USUBJID' (or pass columns={{...: 'patient_id'}}); found {found}"
            + _header_hint(frame, rows),
        )
        return _empty_table()

    if not long:
        frame, rows = drop_id_only_rows(frame, rows, roles["patient_id"], list(measures), problems)
        if frame.empty:
            problems.add("empty", "no row holds a score")
            return _empty_table()
    n = len(frame)
    pcol = str(roles["patient_id"])
    patient, pcode, blank_pc, puniq, raw_codes, raw_uniq, raw_to_text = text_codes_full(
        frame[roles["patient_id"]])
    check_ids(puniq, pcode, raw_uniq, raw_codes, raw_to_text, rows, pcol, problems)
    summary = check_summary_rows(puniq, pcode, rows, pcol, problems)
    if "visit" in roles:
        visit, vcode, _, vuniq, *_rest = text_codes_full(frame[roles["visit"]])
        # a row already said under the patient column is not said again
        check_summary_rows(vuniq, np.where(summary, -1, vcode), rows, str(roles["visit"]),
                           problems)
    else:
        vcode = np.zeros(n, dtype=np.intp)
        visit = pd.array([""], dtype=STR).take(vcode)
    date = _dates(frame, roles, "date", rows, dayfirst, problems)
    first_dose = _dates(frame, roles, "first_dose_date", rows, dayfirst, problems)
    day = _days(frame, roles, rows, raw.decimal, problems, date, first_dose)
    # roles the tidy table does not consume are patient-level columns: passed through
    passthrough = passthrough + [roles[r] for r in ("handedness", "dose", "drug") if r in roles]
    extra = {c: plain(frame[c].reset_index(drop=True)) for c in passthrough}
    if "first_dose_date" in roles:
        extra["first_dose_date"] = first_dose

    check_varying_columns(frame, passthrough, pcode, rows, raw.decimal, problems)
    if long:
        table, src_col, muniq = _from_long(frame, roles, rows, raw.decimal, problems,
                                           src_override)
        expand = None
    else:
        table, src_col, expand, muniq = _from_wide(frame, measures, raw.decimal)

    def take(values):
        if expand is None:
            return values
        if isinstance(values, pd.Series):
            return values.take(expand).reset_index(drop=True)
        return np.asarray(values)[expand]

    # one DataFrame built once from arrays (column-by-column assignment is slow)
    data = {
        S.PATIENT: take(patient), S.VISIT: take(visit), S.DATE: take(date), S.DAY: take(day),
        S.MEASURE: table[S.MEASURE], S.SCORE: table[S.SCORE],
        S.MISSING_CODE: table[S.MISSING_CODE],
        **{name: take(values) for name, values in extra.items()},
        "_pc": take(pcode), "_vc": take(vcode), "_mc": table["_mc"],
    }
    tidy = pd.DataFrame(data, copy=False)
    row_no = rows if expand is None else rows[expand]
    expand = np.arange(n) if expand is None else expand

    bad = table["bad"]
    if bad.any():
        problems.add_many(
            "number", row_no[bad], "", table["raw"][bad],
            [f"{v!r} is not a number nor a missing-score code (NT, UTA, CNT, NA, -, .)"
             for v in table["raw"][bad]],
        )
        _set_columns(problems, src_col[bad])
    _check_patients(tidy, row_no, problems, roles, blank_pc)
    tidy, muniq = _purdue_hands(tidy, roles, frame, expand, muniq)
    _check_ranges(tidy, row_no, src_col, problems, PURDUE_AGGREGATIONS[purdue], muniq)
    tidy, row_no, src_col, muniq = _item_totals(tidy, row_no, src_col, problems, muniq)
    if not any(p["rule"] == "date" and p["severity"] == "error" for p in problems.rows):
        # unreadable dates would make distinct assessments look like conflicts
        tidy, row_no = _duplicates(tidy, row_no, src_col, problems)
    helpers = ["_pc", "_vc", "_mc"]
    tidy = tidy[[*S.CORE_COLUMNS, *[c for c in tidy.columns
                                    if c not in S.CORE_COLUMNS and c not in helpers]]]
    tidy.attrs = {}
    return tidy.reset_index(drop=True)


# --------------------------------------------------------------------------- helpers
def _visit_columns(frame, rows, user, problems):
    """A wide-by-visit sheet ("HFMSE baseline", "HFMSE month 6") made long."""
    mapped = {normalise(k) for k in user}
    cols = [c for c in frame.columns if normalise(c) not in mapped]
    measures, times = visits.find(cols)
    if not measures:
        return frame, rows, None
    own_roles = {role_of(c) for c in frame.columns if normalise(c) not in mapped}
    own_roles |= {role_of(v) for v in user.values()}
    if "visit" in own_roles or "measure" in own_roles:
        return frame, rows, None  # a visit column exists: the columns are refused later
    for role in ("date", "day"):
        if role in own_roles and any(r == role for r, _ in times.values()):
            col = next(c for c in frame.columns if role_of(c) == role)
            problems.add("columns", f"column {col!r} gives one {role} per row but the scores "
                         f"are one column per visit and some visits have their own {role} "
                         "column; remove or rename one of them")
    for col in frame.columns:
        label = None if col in measures or col in times else visits.visit_of(col)
        if label is not None and role_of(col) is None and measure_code(col) is None:
            problems.add("column", f"column {col!r} is one visit's ({label}) but not a known "
                         "measure, so it is not analysed (kept as a column of the table); map "
                         f"it with columns={{{str(col)!r}: CODE}} if it is a score",
                         column=str(col), severity="warning")
    long, rows = visits.to_long(frame, rows, measures, times)
    return long, rows, long.pop("_src")


def _header_hint(frame: pd.DataFrame, rows: np.ndarray | None = None) -> str:
    """Where the header seems to be when the first line is not it (title rows above)."""
    if rows is not None:
        for i in range(min(20, len(frame))):
            cells = [str(v) for v in frame.iloc[i].tolist() if isinstance(v, str)]
            known = [c for c in cells if role_of(c) == "patient_id" or measure_code(c)]
            if known and len(cells) >= 2:
                skip = int(rows[i]) - 1
                return (f"; the header seems to be on row {skip + 1} ({', '.join(map(repr, cells[:4]))}"
                        f"{', ...' if len(cells) > 4 else ''}): pass skiprows={skip} (CLI: "
                        f"--skiprows {skip})")
    unnamed = sum(str(c).startswith("Unnamed:") for c in frame.columns)
    if unnamed >= max(1, frame.shape[1] // 2):
        return ("; the header does not seem to be on the first line: if there is a title "
                "row above it, pass skiprows=1 (CLI: --skiprows 1)")
    return ""


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.PATIENT: pd.Series(dtype=object),
            S.VISIT: pd.Series(dtype=object),
            S.DATE: pd.Series(dtype="datetime64[ns]"),
            S.DAY: pd.Series(dtype=float),
            S.MEASURE: pd.Series(dtype=object),
            S.SCORE: pd.Series(dtype=float),
            S.MISSING_CODE: pd.Series(dtype=object),
        }
    )


def _drop_empty(frame: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop all-empty rows and unnamed all-empty columns (spreadsheet leftovers)."""
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:") or not str(c).strip()]
    empty_cols = [c for c in unnamed if blank(frame[c]).all()]
    frame = frame.drop(columns=empty_cols)
    if frame.shape[1] == 0:
        return frame, rows[:0]
    # a row is empty when every cell is blank; check cheaply on the first column first
    candidates = np.flatnonzero(blank(frame.iloc[:, 0]).to_numpy())
    if len(candidates):
        sub = frame.iloc[candidates]
        all_blank = np.ones(len(sub), dtype=bool)
        for c in sub.columns:
            all_blank &= blank(sub[c]).to_numpy()
        drop = candidates[all_blank]
        if len(drop):
            keep = np.ones(len(frame), dtype=bool)
            keep[drop] = False
            frame = frame.iloc[keep].reset_index(drop=True)
            rows = rows[keep]
    return frame.reset_index(drop=True), rows


def _map_columns(
    frame: pd.DataFrame, user: dict[str, str], problems: Problems
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Assign each column a role, a measure code, or pass it through."""
    user_norm = {normalise(k): v for k, v in user.items()}
    missing_user = [k for k in user if normalise(k) not in {normalise(c) for c in frame.columns}]
    if missing_user:
        problems.add(
            "columns",
            f"columns= names {missing_user} but the file has no such column; found "
            + ", ".join(repr(c) for c in frame.columns),
        )
    is_adam = any(normalise(c) == "paramcd" for c in frame.columns)
    roles: dict[str, str] = {}
    measures: dict[str, str] = {}
    passthrough: list[str] = []
    seen: dict[str, list[str]] = {}
    for col in frame.columns:
        key = normalise(col)
        target = user_norm.get(key)
        if is_adam and key in ADAM_DERIVED and target is None:
            continue
        role = None
        code = None
        if target is not None:
            code = target if target in SCALES else measure_code(target)
            role = None if code else (role_of(target) or target)
        else:
            role = role_of(col)
            if role is None:
                code = measure_code(col)
        if role is not None:
            seen.setdefault(role, []).append(str(col))
            roles.setdefault(role, col)
        elif code is not None:
            seen.setdefault(code, []).append(str(col))
            measures.setdefault(col, code)
        elif looks_like_measure(col) or visits.prefix_measure(col):
            prefix = visits.prefix_measure(col)
            if prefix is not None:
                code_, rest = prefix
                hint = (f"; it starts with the measure {code_} followed by {rest!r}: if such "
                        f"columns hold one visit each, name them like '{code_} baseline', "
                        f"'{code_} month 6' (read as one column per visit) with no visit "
                        "column; otherwise map it with columns={...}, or leave it out with "
                        "ignore=[...]")
            else:
                near = suggest_code(col)
                hint = (f"; did you mean {near!r}?" if near else "") + (
                    " (pass columns={...} to map it, or rename it)")
            problems.add(
                "measure",
                f"column {col!r} looks like a score column but is not a known measure" + hint,
                column=str(col), value=col,
            )
        else:
            passthrough.append(col)
    for col in passthrough:
        near = near_role(col)
        if near is not None and near[0] not in roles and normalise(col) not in user_norm:
            problems.add(
                "columns",
                f"column {col!r} looks like a misspelt {near[1]!r} (the {near[0]} column); "
                f"rename it, or map it with columns={{{str(col)!r}: {near[0]!r}}} (CLI: "
                f"--columns '{col}={near[0]}')",
                column=str(col), value=col,
            )
    for what, cols in seen.items():
        if len(cols) > 1:
            problems.add(
                "columns",
                f"{len(cols)} columns mean {what!r}: {', '.join(repr(c) for c in cols)}; "
                "rename one or say which to use with columns={...}",
            )
    return roles, measures, passthrough


def _dates(frame, roles, role, rows, dayfirst, problems) -> pd.Series:
    if role not in roles:
        return pd.Series(pd.NaT, index=range(len(frame)), dtype="datetime64[ns]")
    col = roles[role]
    if dayfirst is None:
        dayfirst = date_order(col)  # "Visit date (dd/mm/yyyy)" says how dates are written
    dates, bad, ambiguity, odd = parse_dates(frame[col].reset_index(drop=True), dayfirst)
    if ambiguity:
        problems.add("date", ambiguity, column=str(col), row=int(rows[np.argmax(bad)]) if bad.any()
                     else None, value=frame[col].iloc[int(np.argmax(bad))] if bad.any() else None)
        return dates
    if bad.any():
        vals = frame[col].to_numpy()[bad]
        lo, hi = DATE_YEARS
        problems.add_many("date", rows[bad], str(col), [_date_text(v) for v in vals],
                          [f"{_shown_date(v)} is outside the plausible range of dates "
                           f"({lo}-{hi}); correct the year" if o else
                           f"{_shown_date(v)} is not a valid date" + _date_hint(v)
                           for v, o in zip(vals, odd[bad], strict=True)])
    return dates


def _date_hint(value: object) -> str:
    try:
        number = float(str(value).strip())
    except ValueError:
        number = None
    if number is not None and 1 <= number <= 73050:
        return ("; it looks like an Excel date serial number: format the column as dates in "
                "Excel before exporting, or write dates as YYYY-MM-DD")
    return " (use YYYY-MM-DD, or dd/mm/yyyy with dayfirst=True)"


def _shown_date(value: object) -> str:
    return show(value) if isinstance(value, str) else _date_text(value)


def _date_text(value: object) -> str:
    """A date cell as written (native dates as YYYY-MM-DD)."""
    if isinstance(value, np.datetime64):
        return str(value)[:10]
    if hasattr(value, "year") and hasattr(value, "month") and not isinstance(value, str):
        try:
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        except (TypeError, ValueError):
            pass
    return str(value)


def _days(frame, roles, rows, decimal, problems, dates, first_dose) -> pd.Series:
    day = np.full(len(frame), np.nan)
    for role in ("day", "ady"):
        if role in roles:
            col = roles[role]
            num, _code, bad = parse_numbers(frame[col].reset_index(drop=True), decimal,
                                            codes=False)
            inf = np.isinf(num)
            if bad.any() or inf.any():
                vals = frame[col].to_numpy()[bad | inf]
                problems.add_many("day", rows[bad | inf], str(col), vals,
                                  [f"{v!r} is not a study day number" for v in vals])
                num[inf] = np.nan
            if role == "ady":  # CDISC has no day 0: ADY 1 is the first-dose day
                num = np.where(num > 0, num - 1, num)
            day = num
    if "date" not in roles or "first_dose_date" not in roles:
        return pd.Series(day, dtype=float)
    known = dates.notna().to_numpy() & first_dose.notna().to_numpy()
    if known.any():
        delta = (dates.to_numpy() - first_dose.to_numpy()) / np.timedelta64(1, "D")
        day = np.where(known, delta, day)
    return pd.Series(day, dtype=float)


def _from_long(frame, roles, rows, decimal, problems, src_override=None):
    mcol, scol = roles["measure"], roles["score"]
    values = frame[mcol].reset_index(drop=True)
    codes, uniques = factorize(values)
    mapped = []
    for u in uniques:
        code = _paramcd(u) or measure_code(u)
        mapped.append(code)
    unknown = [i for i, c in enumerate(mapped) if c is None]
    for i in unknown:
        at = np.flatnonzero(codes == i)
        hint = suggest_code(uniques[i])
        problems.add_many(
            "measure", rows[at], str(mcol), [uniques[i]] * len(at),
            [f"unknown measure {uniques[i]!r}" + (f"; did you mean {hint!r}?" if hint else
             "; known codes include HFMSE, RULM, RULM_A, PP_PREF, PP_NONPREF, PP_BOTH")] * len(at),
        )
    blank = codes < 0
    if blank.any():
        problems.add_many("measure", rows[blank], str(mcol), [""] * int(blank.sum()),
                          ["a score with no measure name"] * int(blank.sum()))
    lookup = np.array([c or "" for c in mapped] + [""], dtype=object)
    canon_codes, muniq = pd.factorize(lookup)
    mcode = canon_codes[codes]  # the code -1 (a blank cell) takes the last entry, ""
    measure = pd.array(np.asarray(muniq, dtype=object), dtype=STR).take(mcode)
    raw_scores = frame[scol].reset_index(drop=True)
    num, code, bad = parse_numbers(raw_scores, decimal)
    # the cells as written are needed only for messages
    raw = raw_scores.to_numpy() if bad.any() else None
    if "avalc" in roles:  # ADaM: the missing-score code travels in AVALC
        avalc = cell_text(frame[roles["avalc"]]).to_numpy(dtype=object)
        use = np.isnan(num) & ~bad & np.asarray(code == "") & (avalc != "")
        code = np.where(use, avalc, np.asarray(code, dtype=object))
    if bad.any():  # only for messages: a table with bad cells is never returned by read_scores
        code = np.where(bad, raw.astype(str), np.asarray(code, dtype=object))
    table = {S.MEASURE: measure, S.SCORE: num, S.MISSING_CODE: code, "bad": bad, "_mc": mcode,
             "raw": raw}
    if src_override is not None:
        src = pd.Categorical(np.asarray(src_override, dtype=object).astype(str))
    else:
        src = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), [str(scol)])
    return table, src, list(muniq)


def _paramcd(value: object) -> str | None:
    try:
        return measure_from_paramcd(str(value).strip())
    except (KeyError, ValueError):
        return None


def _from_wide(frame, measures, decimal):
    parts = []
    cols = list(measures)
    n = len(frame)
    for col in cols:
        num, code, bad = parse_numbers(frame[col].reset_index(drop=True), decimal)
        parts.append((num, code, bad, frame[col].to_numpy()))
    k = len(cols)
    # row-major order: all measures of row 1, then row 2, ... (source reading order)
    expand = np.repeat(np.arange(n), k)
    pick = np.tile(np.arange(k), n)
    num = np.column_stack([p[0] for p in parts]).ravel()
    code = np.column_stack([np.asarray(p[1], dtype=object) for p in parts]).ravel()
    bad = np.column_stack([p[2] for p in parts]).ravel()
    raw = np.column_stack([p[3] for p in parts]).ravel() if bad.any() else None
    if raw is not None:  # only for messages, as in _from_long
        code = np.where(bad, raw.astype(str), np.asarray(code, dtype=object))
    canon = [measures[c] for c in cols]
    canon_codes, muniq = pd.factorize(np.array(canon, dtype=object))
    table = {
        S.MEASURE: pd.array(np.asarray(muniq, dtype=object), dtype=STR).take(
            canon_codes[pick]),
        S.SCORE: num, S.MISSING_CODE: code, "bad": bad, "raw": raw,
        "_mc": canon_codes[pick],
    }
    src = pd.Categorical.from_codes(pick, [str(c) for c in cols])
    return table, src, expand, list(muniq)


def _set_columns(problems: Problems, columns: np.ndarray) -> None:
    """Fill the column of the most recent problems (added without one)."""
    for p, col in zip(problems.rows[-len(columns):], columns, strict=True):
        p["column"] = str(col)


def _check_patients(tidy, row_no, problems, roles, blank_pc) -> None:
    no_id = np.flatnonzero(tidy["_pc"].to_numpy() == blank_pc)
    if not len(no_id):
        return
    sub = tidy.iloc[no_id]
    has_data = sub[S.SCORE].notna().to_numpy() | (sub[S.MISSING_CODE] != "").to_numpy()
    bad = np.zeros(len(tidy), dtype=bool)
    bad[no_id[has_data]] = True
    if bad.any():
        first_rows = np.unique(row_no[bad])
        for r in first_rows:
            problems.add("patient", "a score with no patient id", row=int(r),
                         column=str(roles["patient_id"]), value="")


def _purdue_hands(tidy, roles, frame, expand, muniq):
    """Right/left Purdue scores become preferred/non-preferred where handedness is known."""
    if "handedness" not in roles or not {"PP_RIGHT", "PP_LEFT"} & set(muniq):
        return tidy, muniq
    is_hand = tidy[S.MEASURE].isin(("PP_RIGHT", "PP_LEFT")).to_numpy()
    hand = cell_text(frame[roles["handedness"]]).map(normalise).to_numpy()[expand]
    right = np.isin(hand, list(_RIGHT))
    left = np.isin(hand, list(_LEFT))
    m = tidy[S.MEASURE].to_numpy().copy()
    m[is_hand & right & (m == "PP_RIGHT")] = "PP_PREF"
    m[is_hand & right & (m == "PP_LEFT")] = "PP_NONPREF"
    m[is_hand & left & (m == "PP_LEFT")] = "PP_PREF"
    m[is_hand & left & (m == "PP_RIGHT")] = "PP_NONPREF"
    tidy = tidy.copy()
    tidy[S.MEASURE] = m
    codes, uniques = pd.factorize(m)
    tidy["_mc"] = codes
    return tidy, list(uniques)


def _check_ranges(tidy, row_no, src_col, problems, purdue_factor, muniq) -> None:
    score = tidy[S.SCORE].to_numpy(dtype=float)
    codes, uniques = tidy["_mc"].to_numpy(), muniq
    lo = np.array([SCALES[u].minimum if u in SCALES else -np.inf for u in uniques])
    hi = np.array([SCALES[u].maximum if u in SCALES else np.inf for u in uniques])
    integer = np.array([SCALES[u].integer if u in SCALES else False for u in uniques])
    factor = np.array([purdue_factor if u.startswith("PP_") else 1.0 for u in uniques])
    hi = hi * factor
    lo_r, hi_r, int_r = lo[codes], hi[codes], integer[codes]
    with np.errstate(invalid="ignore"):
        inf = np.isinf(score)
        below = score < lo_r
        above = (score > hi_r) & ~inf
        # finite scores that are not whole numbers on an integer scale (NaN != its rounding)
        rounded = np.round(score)
        odd = np.flatnonzero(int_r & (score != rounded))
        odd = odd[~np.isnan(score[odd])]
    far = np.abs(score[odd] - rounded[odd]) > 1e-9
    frac = np.zeros(len(score), dtype=bool)
    frac[odd[far]] = True
    # floating-point noise on an integer scale (11.9999999999 from a spreadsheet) is rounded
    noise = odd[~far]
    if len(noise):
        fixed = score.copy()
        fixed[noise] = rounded[noise]
        tidy[S.SCORE] = fixed
    measure = None  # each row's measure, for messages only
    for mask, rule, text in (
        (inf, "range", lambda m, v: f"{v} is not a finite number"),
        (below, "range", lambda m, v: f"{plain_number(v)} is below the {m} minimum of "
                                      f"{plain_number(lo[pd.Index(uniques).get_loc(m)])}"),
        (above, "range", lambda m, v: f"{plain_number(v)} is above the {m} maximum of "
                                      f"{plain_number(hi[pd.Index(uniques).get_loc(m)])}"
                                      + (" (pass purdue='sum3' if values are sums of three "
                                         "trials)" if m.startswith("PP_") else "")),
        (frac, "integer", lambda m, v: f"{plain_number(v)} is not a whole number; {m} scores are "
                                       "integers"),
    ):
        if mask.any():
            idx = np.flatnonzero(mask)
            if measure is None:
                measure = tidy[S.MEASURE].to_numpy()
            problems.add_many(rule, row_no[idx], "", score[idx],
                              [text(measure[i], score[i]) for i in idx])
            _set_columns(problems, src_col[idx])
    # out-of-range values are kept in the table for check_scores; read_scores raises


def _item_totals(tidy, row_no, src_col, problems, muniq):
    """Compute HFMSE and RULM totals from complete item sets; check recorded totals."""

    if not any(SCALES[m].parent for m in muniq if m in SCALES):
        return tidy, row_no, src_col, muniq
    tidy, row_no, src_col = item_totals(tidy, row_no, src_col, problems)
    codes, uniques = pd.factorize(tidy[S.MEASURE].to_numpy())
    tidy["_mc"] = codes
    return tidy, row_no, src_col, list(uniques)


def _codes(values: np.ndarray, constant: bool) -> np.ndarray:
    if constant:
        return np.zeros(len(values), dtype=np.int64)
    return pd.factorize(values, use_na_sentinel=False)[0]


def _candidates(codes: list[np.ndarray], n: int) -> np.ndarray:
    """Rows whose coarse key (patient x measure x visit) occurs more than once.

    Only those rows can be duplicates on the full key; a bincount over the coarse
    key finds them far faster than hashing every row (when the key range is small).
    """
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    if float(np.prod([float(x) for x in sizes])) > 5e7:
        return np.arange(n)
    combined = codes[0].astype(np.int64)  # a copy, combined in place
    for c, size in zip(codes[1:], sizes[1:], strict=True):
        combined *= size
        combined += c
    counts = np.bincount(combined)
    if not len(counts) or counts.max() < 2:
        return np.arange(0)
    return np.flatnonzero(counts[combined] > 1)


def _duplicates(tidy, row_no, src_col, problems):
    """Collapse exact duplicates (with a warning); report conflicting ones."""
    coarse = [tidy["_pc"].to_numpy(), tidy["_mc"].to_numpy(), tidy["_vc"].to_numpy()]
    cand = _candidates(coarse, len(tidy))
    if not len(cand):
        return tidy, row_no
    sub_tidy = tidy.iloc[cand]
    parts = [
        *(c[cand] for c in coarse),
        _codes(sub_tidy[S.DATE].to_numpy().view("int64"), sub_tidy[S.DATE].isna().all()),
        _codes(sub_tidy[S.DAY].to_numpy(), sub_tidy[S.DAY].isna().all()),
    ]
    key_frame = pd.DataFrame({f"k{i}": p for i, p in enumerate(parts)})
    sizes = [int(p.max()) + 1 if len(p) else 1 for p in parts]
    if float(np.prod([float(x) for x in sizes])) < 2.0**62:  # one int64 key: fast hashing
        combined = np.zeros(len(cand), dtype=np.int64)
        for p, size in zip(parts, sizes, strict=True):
            combined = combined * size + p
        dup_sub = pd.Series(combined).duplicated(keep=False).to_numpy()
    else:
        dup_sub = key_frame.duplicated(keep=False).to_numpy()
    dup = np.zeros(len(tidy), dtype=bool)
    dup[cand[dup_sub]] = True
    key_frame.index = cand
    if not dup.any():
        return tidy, row_no
    idx = np.flatnonzero(dup)
    sub = key_frame.loc[idx]
    group = sub.groupby(list(sub.columns), sort=False).ngroup().to_numpy()
    drop = []
    for g in np.unique(group):
        members = idx[group == g]
        scores = tidy[S.SCORE].to_numpy()[members]
        codes = tidy[S.MISSING_CODE].to_numpy()[members]
        first = members[0]
        same = all(
            (np.isnan(s) and np.isnan(scores[0]) and c == codes[0]) or s == scores[0]
            for s, c in zip(scores, codes, strict=True)
        )
        what = (f"patient {tidy[S.PATIENT].iat[first]!r}, {tidy[S.MEASURE].iat[first]}, "
                f"visit {tidy[S.VISIT].iat[first]!r}")
        if same:
            for m in members[1:]:
                problems.add("duplicate", f"row {row_no[m]} repeats row {row_no[first]} ({what}); "
                             "the repeat is ignored", row=int(row_no[m]), column=str(src_col[m]),
                             value=scores[0], severity="warning")
                drop.append(m)
        else:
            shown = ", ".join(f"{plain_number(s) if not np.isnan(s) else c or 'blank'} (row {row_no[m]})"
                              for s, c, m in zip(scores, codes, members, strict=True))
            for m in members:
                problems.add("conflict", f"conflicting scores for {what} on the same date/day: "
                             f"{shown}", row=int(row_no[m]), column=str(src_col[m]),
                             value=tidy[S.SCORE].iat[m])
    if drop:
        keep = np.ones(len(tidy), dtype=bool)
        keep[drop] = False
        tidy = tidy.iloc[keep]
        row_no = row_no[keep]
    return tidy, row_no

__all__ = ["tidy_scores", "PURDUE_AGGREGATIONS", "PURDUE_SINGLE_HAND"]
