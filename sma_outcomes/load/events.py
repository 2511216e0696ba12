"""Read a per-patient log of intercurrent events (surgery, ventilation, switches, death).

The event vocabulary (:data:`EVENT_TYPES`) follows the intercurrent events of
ICH E9(R1) as they occur in SMA cohorts. Each event is one row: a patient, a
date and/or a study day (days from the first disease-modifying dose), the
event type and an optional detail (for a treatment switch, an add-on or a
regimen change: the new drug or regimen).

Examples
--------
>>> import pandas as pd
>>> from sma_outcomes.load import read_events
>>> ev = read_events(pd.DataFrame({"Patient": ["P1", "P1"], "Day": [200, 420],
...                                "Event": ["Scoliosis surgery", "switch"],
...                                "Detail": ["", "Evrysdi"]}))
>>> ev[["patient_id", "day", "detail", "drug", "event"]]
  patient_id    day   detail       drug              event
0         P1  200.0                       scoliosis_surgery
1         P1  420.0  Evrysdi  risdiplam   treatment_switch
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .cells import cell_text
from .checks import drop_ignored
from .columns import normalise, role_of
from .problems import Problems
from .source import read_source
from .values import parse_dates, parse_numbers

__all__ = ["read_events", "EVENT_TYPES", "EVENT_COLUMNS", "DRUGS", "event_code", "drug_code"]

#: Columns of :func:`read_events`, in order.
EVENT_COLUMNS = ("patient_id", "date", "day", "event", "detail", "drug")

#: Event codes -> accepted spellings (compared without case, spaces or punctuation).
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "scoliosis_surgery": ("scoliosis surgery", "scoliosis", "spine surgery", "spinal surgery",
                          "scoliosis operation", "growing rods", "magec rods", "vertebral surgery"),
    "spinal_fusion": ("spinal fusion", "fusion", "posterior spinal fusion", "psf",
                      "spondylodesis"),
    "ventilation_start": ("ventilation start", "ventilation", "start of ventilation",
                          "niv", "niv start", "non invasive ventilation", "bipap",
                          "mechanical ventilation", "invasive ventilation", "tracheostomy",
                          "ventilated", "ventilator"),
    "feeding_tube": ("feeding tube", "gastrostomy", "peg", "g tube", "gtube", "ng tube",
                     "nasogastric tube", "tube feeding", "enteral feeding"),
    "treatment_switch": ("treatment switch", "switch", "switched", "drug switch",
                         "switch of treatment", "change of treatment", "treatment change"),
    "add_on": ("add on", "addon", "add on treatment", "added treatment", "combination",
               "combination therapy", "second treatment"),
    "regimen_change": ("regimen change", "dose change", "change of regimen", "high dose",
                       "higher dose", "dose escalation", "new regimen"),
    "discontinuation": ("discontinuation", "discontinued", "treatment stop", "stopped",
                        "stopped treatment", "stop", "treatment discontinuation",
                        "withdrawal", "treatment withdrawn"),
    "loss_of_ambulation": ("loss of ambulation", "lost ambulation", "ambulation lost",
                           "loa", "non ambulant", "became non ambulant", "wheelchair"),
    "death": ("death", "died", "deceased", "dead"),
    "other": ("other",),
}

#: Events whose detail names a drug or regimen (checked against :data:`DRUGS`).
DRUG_EVENTS = ("treatment_switch", "add_on", "regimen_change")

#: Disease-modifying treatments and regimens: code (a schedule name of
#: :func:`sma_outcomes.timeline.get_schedule`) -> accepted spellings.
DRUGS: dict[str, tuple[str, ...]] = {
    "nusinersen": ("nusinersen", "spinraza", "nusinersen 12 mg", "nusinersen 12mg",
                   "nusinersen_12mg"),
    "nusinersen_high_dose": ("nusinersen high dose", "nusinersen hd", "high dose nusinersen",
                             "high dose", "nusinersen 50 28", "nusinersen 50/28 mg",
                             "nusinersen 50 mg 28 mg", "hd"),
    "risdiplam": ("risdiplam", "evrysdi"),
    "onasemnogene_abeparvovec": ("onasemnogene abeparvovec", "onasemnogene", "zolgensma",
                                 "itvisma", "ona", "oav101", "gene therapy"),
}

#: Column roles of an event file -> accepted header names.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "event": ("event", "event type", "intercurrent event", "ice", "type of event",
              "event category", "event_type"),
    "detail": ("detail", "details", "event detail", "description", "new drug", "new treatment",
               "specify", "comment", "comments", "note", "notes"),
    "birth_date": ("birth date", "date of birth", "dob", "birthdate", "birth_date"),
    "age_at_first_dose": ("age at first dose", "age_at_first_dose", "age at treatment start",
                          "age at start"),
}


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, names in table.items():
        for name in (code, *names):
            out[normalise(name)] = code
    return out


_EVENTS = _lookup(EVENT_TYPES)
_DRUGS = _lookup(DRUGS)
_ROLES = _lookup(_ROLE_NAMES)


def event_code(name: object) -> str | None:
    """Event code of a spelling, or None.

    Examples
    --------
    >>> event_code("Spinal Fusion"), event_code("NIV start"), event_code("holiday")
    ('spinal_fusion', 'ventilation_start', None)
    """
    return _EVENTS.get(normalise(name))


def drug_code(name: object) -> str | None:
    """Treatment code (a schedule name) of a spelling, or None.

    Examples
    --------
    >>> drug_code("Evrysdi"), drug_code("Zolgensma"), drug_code("aspirin")
    ('risdiplam', 'onasemnogene_abeparvovec', None)
    """
    return _DRUGS.get(normalise(name))


def _role(name: object, user: dict[str, str]) -> str | None:
    key = normalise(name)
    if key in user:
        return _ROLES.get(normalise(user[key]), user[key])
    if key in _ROLES:
        return _ROLES[key]
    role = role_of(name)
    if role == "drug":
        return "detail"
    return role if role in ("patient_id", "date", "day", "first_dose_date") else None


def _cutoff(cutoff: object) -> tuple[pd.Timestamp | None, float | None]:
    """A cut-off date, or a cut-off study day (a number)."""
    if cutoff is None:
        return None, None
    if isinstance(cutoff, (int, float, np.integer, np.floating)) and not isinstance(cutoff, bool):
        return None, float(cutoff)
    try:
        return pd.Timestamp(cutoff).normalize(), None
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"cutoff= takes a date ('2024-06-30') or a study day (a number), not {cutoff!r}"
        ) from err


def read_events(
    source: str | os.PathLike | pd.DataFrame | None = None,
    *,
    cutoff: str | pd.Timestamp | float | None = None,
    birth_dates: Mapping[str, object] | pd.Series | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    dayfirst: bool | None = None,
    columns: Mapping[str, str] | None = None,
    ignore: Sequence[str] | None = None,
    sql: str | None = None,
    con: Any = None,
) -> pd.DataFrame:
    """Read intercurrent events, with the loader's conventions and errors.

    Parameters
    ----------
    source : path or DataFrame
        One row per event: a patient column, a date and/or study-day column
        (days from the first disease-modifying dose), an event column and
        optionally a detail column (``detail``, ``new drug``, ``drug``,
        ``comment``, ...). A ``birth date`` column, or an ``age at first dose``
        column (years) with study days, allows the before-birth check.
    cutoff : date or number, optional
        The data cut-off: a date, or a study day when the file has only days.
        An event after it is an error.
    birth_dates : mapping or Series, optional
        Patient -> birth date, when the event file does not hold them.
    sep, encoding, decimal, sheet_name, skiprows, dayfirst, columns, ignore, sql, con
        As in :func:`sma_outcomes.read_scores`. ``columns`` maps a header to a
        role: ``{"What happened": "event"}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id`` (str), ``date`` (datetime64, NaT if not
        given), ``day`` (float, NaN if not given), ``event`` (a code of
        :data:`EVENT_TYPES`), ``detail`` (str as written, "" if none) and
        ``drug`` (for a treatment switch, add-on or regimen change: the new
        treatment as a schedule name, e.g. ``"risdiplam"``; else ""), sorted by
        patient and time.

    Raises
    ------
    DataError
        Every problem, with file, spreadsheet row, column and value: a missing
        patient, time or event column; an unknown event type (the message
        lists the vocabulary); a switch, add-on or regimen change to an
        unknown drug (a switch without a drug); an unreadable date or day; an
        event before birth or after the cut-off.

    Notes
    -----
    Event types, with some accepted spellings (case, spaces and punctuation
    are ignored): ``scoliosis_surgery`` (scoliosis, spine surgery),
    ``spinal_fusion`` (fusion, PSF), ``ventilation_start`` (ventilation, NIV,
    BiPAP, tracheostomy), ``feeding_tube`` (gastrostomy, PEG, NG tube),
    ``treatment_switch`` (switch), ``add_on`` (add-on, combination),
    ``regimen_change`` (high dose, dose change), ``discontinuation`` (stopped,
    withdrawal), ``loss_of_ambulation`` (LOA, non-ambulant), ``death`` (died)
    and ``other``. Drugs: ``nusinersen`` (Spinraza), ``nusinersen_high_dose``
    (high dose, 50/28 mg), ``risdiplam`` (Evrysdi), ``onasemnogene_abeparvovec``
    (Zolgensma, Itvisma). A regimen change without a detail is accepted.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes import DataError
    >>> bad = pd.DataFrame({"id": ["P1", "P2"], "day": [900, 30],
    ...                     "event": ["death", "switch"], "new drug": ["", "aspirin"]})
    >>> try:
    ...     read_events(bad, cutoff=720)
    ... except DataError as err:
    ...     for line in str(err).splitlines():
    ...         print(line.split("; known drugs")[0])
    <DataFrame>: 2 problems in the data:
      row 2, column 'day': an event after the data cut-off (day 720)
      row 3, column 'new drug': a treatment switch to the unknown drug 'aspirin'
    """
    raw = read_source(source, sep=sep, encoding=encoding, sheet_name=sheet_name,
                      skiprows=skiprows, decimal=decimal, sql=sql, con=con)
    problems = Problems(raw.name)
    frame = drop_ignored(raw.frame, ignore, problems)
    rows = raw.rows
    user = {normalise(k): v for k, v in (columns or {}).items()}
    roles: dict[str, object] = {}
    for col in frame.columns:
        role = _role(col, user)
        if role is not None and role not in roles:
            roles[role] = col
    found = ", ".join(repr(c) for c in frame.columns)
    if "patient_id" not in roles:
        problems.add("columns", f"no patient column (e.g. 'patient_id', 'Patient'); found {found}")
    if "date" not in roles and "day" not in roles:
        problems.add("columns", f"no date or study-day column for the events; found {found}")
    if "event" not in roles:
        problems.add("columns", f"no event column (e.g. 'event', 'event type'); found {found}")
    problems.raise_if_errors()
    if frame.empty:
        problems.add("empty", "the event table has no data rows")
        problems.raise_if_errors()
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame({"patient_id": cell_text(frame[roles["patient_id"]]).to_numpy(object)})

    def dates_of(role: str) -> np.ndarray:
        col = str(roles[role])
        dates, bad, why, odd = parse_dates(frame[roles[role]], dayfirst)
        if why:
            problems.add(role, why, column=col)
        elif bad.any():
            vals = frame[roles[role]].to_numpy()[bad]
            problems.add_many(role, rows[bad], col, vals,
                              [f"{v!r} is outside the plausible range of dates (1900-2099)"
                               if o else f"{v!r} is not a valid date"
                               for v, o in zip(vals, odd[bad], strict=True)])
        return dates.to_numpy("datetime64[ns]")

    def numbers_of(role: str, label: str) -> np.ndarray:
        num, code, bad = parse_numbers(frame[roles[role]], raw.decimal)
        bad |= ~np.isfinite(num) & (code == "") & frame[roles[role]].notna().to_numpy()
        if bad.any():
            vals = frame[roles[role]].to_numpy()[bad]
            problems.add_many(role, rows[bad], str(roles[role]), vals,
                              [f"{v!r} is not a valid {label}" for v in vals])
        return num.astype(float)

    nat = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    out["date"] = dates_of("date") if "date" in roles else nat
    out["day"] = numbers_of("day", "study day") if "day" in roles else np.nan
    text = cell_text(frame[roles["event"]]).to_numpy(object)
    codes = np.array([event_code(t) or "" for t in text], dtype=object)
    bad = codes == ""
    known = ", ".join(EVENT_TYPES)
    for r, v in zip(rows[bad], text[bad], strict=True):
        what = "an event with no type" if v == "" else f"{v!r} is not a known event type"
        problems.add("event", f"{what}; use one of: {known} (or 'other' with a detail)",
                     row=int(r), column=str(roles["event"]), value=v)
    out["event"] = codes
    detail = (cell_text(frame[roles["detail"]]).to_numpy(object) if "detail" in roles
              else np.full(len(frame), "", dtype=object))
    out["detail"] = detail
    drug = np.array([drug_code(d) or "" for d in detail], dtype=object)
    needs = np.isin(codes, DRUG_EVENTS)
    unknown = needs & (drug == "") & ((detail != "") | (codes != "regimen_change"))
    drugs = ", ".join(f"{k} ({', '.join(v[1:3])})" for k, v in DRUGS.items())
    col = str(roles.get("detail", roles["event"]))
    for r, e, d in zip(rows[unknown], codes[unknown], detail[unknown], strict=True):
        what = (f"a {e.replace('_', ' ')} to the unknown drug {d!r}" if d
                else f"a {e.replace('_', ' ')} without the new drug (give it in a detail column)")
        problems.add("drug", f"{what}; known drugs: {drugs}", row=int(r), column=col, value=d)
    out["drug"] = np.where(needs, drug, "")

    no_id = (out["patient_id"] == "").to_numpy()
    for r in rows[no_id]:
        problems.add("patient", "an event with no patient id", row=int(r),
                     column=str(roles["patient_id"]), value="")
    no_time = np.isnat(out["date"].to_numpy()) & np.isnan(out["day"].to_numpy(float))
    for role in ("date", "day"):  # unreadable cells are reported already
        if role in roles:
            no_time &= cell_text(frame[roles[role]]).to_numpy(object) == ""
    for r in rows[no_time & ~no_id]:
        problems.add("event", "an event with neither a date nor a study day", row=int(r),
                     column=str(roles.get("date", roles.get("day"))), value="")

    # before birth
    date = out["date"].to_numpy("datetime64[ns]")
    day = out["day"].to_numpy(float)
    birth = nat.copy()
    if "birth_date" in roles:
        birth = dates_of("birth_date")
    if birth_dates is not None:
        given = pd.Series(birth_dates)
        mapped = pd.to_datetime(given, errors="coerce").reindex(out["patient_id"]).to_numpy(
            "datetime64[ns]")
        birth = np.where(np.isnat(birth), mapped, birth)
    with np.errstate(invalid="ignore"):
        before = ~np.isnat(birth) & ~np.isnat(date) & (date < birth)
        if "age_at_first_dose" in roles:
            age = numbers_of("age_at_first_dose", "age in years")
            before |= np.isnat(date) & (day < -age * 365.25)
    col = str(roles.get("date", roles.get("day")))
    shown = np.where(np.isnat(date), [f"{d:g}" for d in day],
                     date.astype("datetime64[D]").astype(str)).astype(object)
    for r, v in zip(rows[before], shown[before], strict=True):
        problems.add("event", "an event before the patient's birth", row=int(r), column=col,
                     value=v)

    # after the cut-off
    cut_date, cut_day = _cutoff(cutoff)
    late = np.zeros(len(out), dtype=bool)
    if cut_date is not None:
        late = ~np.isnat(date) & (date > cut_date.to_datetime64())
        what = f"after the data cut-off {cut_date.date()}"
    elif cut_day is not None:
        with np.errstate(invalid="ignore"):
            late = day > cut_day
        what = f"after the data cut-off (day {cut_day:g})"
    if late.any():
        for r, v in zip(rows[late], shown[late], strict=True):
            problems.add("cutoff", f"an event {what}", row=int(r), column=col, value=v)
    problems.raise_if_errors()
    out = out.sort_values(["patient_id", "date", "day"], kind="stable").reset_index(drop=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    return out[list(EVENT_COLUMNS)]
