"""REDCap exports (raw and labels) mapped to the loader's columns.

REDCap writes one row per record x event (x repeating-instrument instance).
The mapping, for both the raw export (field names, coded values) and the
labels export (field labels, value labels):

======================================  =============================================
REDCap column                           read as
======================================  =============================================
``record_id`` / "Record ID"             ``patient_id`` (so is the project's first
                                        field under another name, ``study_id``)
``redcap_event_name`` / "Event Name"    ``visit``: ``month_6_arm_1`` -> "Month 6",
                                        "Month 6 (Arm 1: Treated)" -> "Month 6"
``redcap_repeat_instrument`` /          the repeating form; with
"Repeat Instrument"                     ``redcap_repeat_instance`` / "Repeat Instance"
                                        instance N > 1 of an event gets " #N"
                                        ("Baseline #2"; "<form> N" without events)
``<form>_complete`` / "Complete?"       not read as data; a form marked Incomplete
                                        (0) whose scores are filled gives a warning
checkbox ``field___code`` /             left out (choices of a checkbox field are
"Label (choice=...)"                    not scores)
``redcap_data_access_group``            kept as ``site`` when no site column exists
other ``redcap_*``, ``*_timestamp``     left out
======================================  =============================================

Rows of a record that hold no score (the record's own non-repeating row, an
event whose motor forms were not filled) are not assessments and are dropped;
their other values (sex, SMA type, first-dose date, ...) fill the blanks of the
same record's other rows.

Examples
--------
>>> event_label("month_6_arm_1"), event_label("Baseline (Arm 1: Nusinersen)")
('Month 6', 'Baseline')
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .columns import measure_code, normalise, role_of
from .problems import Problems

_EVENT = {"redcapeventname", "eventname"}
_INSTRUMENT = {"redcaprepeatinstrument", "repeatinstrument"}
_INSTANCE = {"redcaprepeatinstance", "repeatinstance"}
_DAG = {"redcapdataaccessgroup", "dataaccessgroup"}
_MARKERS = _EVENT | _INSTRUMENT | _INSTANCE | _DAG | {"redcapsurveyidentifier"}
_CHECKBOX = re.compile(r"^\w+___\w+$")
_CHOICE = re.compile(r"\(choice=.*\)\s*$")
_COMPLETE_RAW = re.compile(r"^\w+_complete$")
_INCOMPLETE = {"0", "0.0", "incomplete"}


def is_redcap(columns: list[str]) -> bool:
    """Whether a header is a REDCap export's."""
    keys = [normalise(c) for c in columns]
    if any(k in _MARKERS for k in keys):
        return True
    first = keys[0] if keys else ""
    return first == "recordid" and any(_COMPLETE_RAW.match(str(c)) or
                                        str(c).strip() == "Complete?" for c in columns)


def event_label(value: object) -> str:
    """A REDCap event as a visit label."""
    text = str(value).strip()
    if not text or text.lower() == "nan":
        return ""
    text = re.sub(r"\s*\(arm\s*\d+.*\)\s*$", "", text, flags=re.I)
    text = re.sub(r"_arm_\d+[a-z]?$", "", text, flags=re.I)
    if "_" in text and " " not in text:
        text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def _blank(col: pd.Series) -> np.ndarray:
    as_text = col.astype("string").str.strip()
    return (col.isna() | (as_text == "")).to_numpy(dtype=bool, na_value=True)


def prepare(frame: pd.DataFrame, rows: np.ndarray, problems: Problems,
            user: dict[str, str]) -> tuple[pd.DataFrame, np.ndarray]:
    """A REDCap export as the loader's raw frame (see the module's table)."""
    cols = list(frame.columns)
    keys = {c: normalise(c) for c in cols}
    user_keys = {normalise(k): v for k, v in user.items()}

    def is_score(c: str) -> bool:
        return measure_code(user_keys.get(keys[c], c)) is not None

    event = next((c for c in cols if keys[c] in _EVENT), None)
    instrument = next((c for c in cols if keys[c] in _INSTRUMENT), None)
    instance = next((c for c in cols if keys[c] in _INSTANCE), None)
    dag = next((c for c in cols if keys[c] in _DAG), None)
    complete: dict[str, list[str]] = {}
    pending: list[str] = []
    drop: list[str] = []
    for c in cols:
        name = str(c).strip()
        if _COMPLETE_RAW.match(name) or re.match(r"^Complete\?(\.\d+)?$", name):
            form = (name[: -len("_complete")] if _COMPLETE_RAW.match(name)
                    else f"form {len(complete) + 1}")
            complete[c] = [*pending, form]  # the form's fields, then its name
            pending = []
            drop.append(c)
        elif _CHECKBOX.match(name) or _CHOICE.search(name):
            drop.append(c)
        elif keys[c].startswith("redcap") and c not in (event, instrument, instance, dag):
            drop.append(c)
        elif name.endswith("_timestamp"):
            drop.append(c)
        elif is_score(c):
            pending.append(c)
    scores = [c for c in cols if c not in drop and is_score(c)]
    out = frame.copy()
    for c in out.columns:  # categoricals (read so for speed) become plain values here
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Series(out[c].to_numpy(dtype=object), index=out.index).infer_objects()
    record = next((c for c in cols if keys[c] in ("recordid", "studyid")), cols[0])
    # incomplete forms whose scores are filled: flagged, read as entered
    for c, members in complete.items():
        form, fields = members[-1], members[:-1]
        if not fields:
            continue
        status = out[c].astype("string").str.strip().str.lower()
        filled = ~np.logical_and.reduce([_blank(out[f]) for f in fields])
        flagged = status.isin(list(_INCOMPLETE)).to_numpy(dtype=bool, na_value=False) & filled
        for r in rows[flagged]:
            problems.add("redcap", f"REDCap form {form!r} is marked Incomplete in this record; "
                         "its scores are read as entered (check them, or mark the form "
                         "Complete)", row=int(r), column=re.sub(r"\.\d+$", "", str(c)),
                         value="Incomplete", severity="warning")
    # the record's own values fill the blanks of its other rows
    keep_cols = [c for c in cols if c not in drop and c not in scores
                 and c not in (event, instrument, instance, record)]
    if instrument is not None or event is not None:
        rec = out[record].astype("string").str.strip()
        for c in keep_cols:
            blank = _blank(out[c])
            if blank.any() and not blank.all():
                vals = out[c].where(~blank)
                filled = vals.groupby(rec.to_numpy(), dropna=False).transform("first")
                col = vals.where(~blank, filled)
                if pd.api.types.is_float_dtype(col.dtype) and col.notna().all() and \
                        (col == col.round()).all():
                    col = col.astype("int64")  # whole numbers blank only on other rows
                out[c] = col
    # visit labels from event and instance
    if event is not None or instance is not None:
        label = (out[event].map(event_label) if event is not None
                 else pd.Series("", index=out.index))
        if instance is not None:
            inst = out[instance].map(lambda v: "" if pd.isna(v) or str(v).strip() == ""
                                     else str(v).strip().removesuffix(".0"))
            form = (out[instrument].map(lambda v: event_label(v) if pd.notna(v) else "")
                    if instrument is not None else pd.Series("", index=out.index))
            # the first instance of an event is the event itself: "Baseline", "Baseline #2"
            with_event = (label != "") & (inst != "") & (inst != "1")
            label = label.where(~with_event, label + " #" + inst)
            alone = (label == "") & (inst != "")
            label = label.where(~alone, (form + " " + inst).str.strip())
        has_visit = any(keys[c] in ("visit", "visitname", "visitlabel", "avisit") for c in cols)
        if not has_visit:
            out["visit"] = label.to_numpy()
            if event is not None:
                drop.append(event)
        elif event is not None:
            out[event] = label.to_numpy()
    drop += [c for c in (instrument, instance) if c is not None]
    if dag is not None:
        if any(keys[c] == "site" for c in cols):
            drop.append(dag)
        else:
            out = out.rename(columns={dag: "site"})
    # rows without any score are not assessments
    if scores:
        empty = np.logical_and.reduce([_blank(out[c]) for c in scores])
        out = out.loc[~empty]
        rows = rows[~empty]
    out = out.drop(columns=[c for c in dict.fromkeys(drop) if c in out.columns])
    if not any(role_of(user.get(c, c)) == "patient_id" for c in out.columns) and \
            record in out.columns and "record_id" not in out.columns:
        out = out.rename(columns={record: "record_id"})  # the project's first field: the record
    return out.reset_index(drop=True), rows
