"""Match source column names (and long-layout measure names) to canonical roles.

Names are compared after *normalising*: lower case, with spaces, underscores and
punctuation removed, so "Patient ID", "patient_id" and "PATIENT-ID" are one name.

Examples
--------
>>> normalise(" Patient ID ")
'patientid'
>>> measure_code("HFMSE item 1"), measure_code("Purdue non-preferred hand"), measure_code("rulm_b")
('HFMSE_01', 'PP_NONPREF', 'RULM_B')
"""

from __future__ import annotations

import difflib
import re

from ..registry import SCALES

#: Column roles and the names that mean them (before normalising).
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient_id", "patient", "patient id", "patient number", "patient no", "subject",
        "subject id", "subjid", "usubjid", "participant", "participant id", "pid", "id",
        "record id", "record_id", "mrn", "patient code", "patient identifier",
        "subject number", "record number",
    ),
    "visit": ("visit", "visits", "visit name", "visit label", "avisit", "visit number",
              "redcap_event_name", "event name"),
    "date": (
        "date", "visit date", "visit_date", "assessment date", "exam date", "test date", "adt",
        "date of visit", "date of assessment", "evaluation date", "examination date",
    ),
    "day": ("day", "days", "study day", "study_day", "days since first dose", "dy"),
    "ady": ("ady",),
    "avalc": ("avalc",),
    "first_dose_date": (
        "first dose date", "first_dose_date", "first dose", "treatment start",
        "treatment start date", "trtsdt", "start of treatment", "date of first dose",
    ),
    "measure": ("measure", "test", "paramcd", "parameter", "scale", "outcome", "assessment",
                "test name", "measure name", "scale name", "outcome measure"),
    "score": ("score", "value", "result", "aval", "total score", "score value"),
    "handedness": ("handedness", "preferred hand", "dominant hand", "hand dominance"),
    "dose": ("dose", "dose mg", "dose_mg", "exdose"),
    "drug": ("drug", "treatment", "extrt", "medication"),
}

#: Extra names of measures (wide columns or long-layout measure values).
MEASURE_ALIASES: dict[str, tuple[str, ...]] = {
    "HFMSE": (
        "hfmse total", "hfmse score", "hfmse total score", "total hfmse", "hammersmith",
        "hammersmith functional motor scale expanded", "hfms expanded",
    ),
    "RULM": ("rulm total", "rulm score", "rulm total score", "total rulm",
             "revised upper limb module"),
    "RULM_A": ("rulm entry item a", "rulm entry item", "rulm entry", "rulm item a", "rulm a"),
    "PP_PREF": (
        "pp preferred", "pp preferred hand", "purdue preferred", "purdue preferred hand",
        "purdue pref", "pegboard preferred", "purdue pegboard preferred hand",
        "pp dominant", "pp dominant hand", "purdue dominant", "purdue dominant hand",
        "pegboard dominant", "pegboard dominant hand",
    ),
    "PP_NONPREF": (
        "pp non preferred", "pp nonpreferred", "pp non-preferred", "pp non-preferred hand",
        "purdue non preferred", "purdue nonpreferred", "purdue non-preferred hand",
        "purdue nonpref", "pegboard non-preferred", "purdue pegboard non-preferred hand",
        "pp non dominant", "pp nondominant hand", "purdue non dominant", "purdue non-dominant hand",
        "pegboard non-dominant", "pegboard non-dominant hand",
    ),
    "PP_RIGHT": ("pp right", "pp right hand", "purdue right", "purdue right hand",
                 "pegboard right", "pegboard right hand", "purdue pegboard right",
                 "purdue pegboard right hand"),
    "PP_LEFT": ("pp left", "pp left hand", "purdue left", "purdue left hand", "pegboard left",
                "pegboard left hand", "purdue pegboard left", "purdue pegboard left hand"),
    "PP_BOTH": ("pp both", "pp both hands", "purdue both", "purdue both hands",
                "pegboard both", "pegboard both hands"),
    "PP_ASSEMBLY": ("pp assembly", "purdue assembly", "purdue pegboard assembly"),
    "CHOP_INTEND": ("chop intend", "chop-intend total", "chop intend total",
                    "chop intend score"),
    "HINE2": ("hine-2", "hine 2", "hine ii", "hine section 2", "hine-2 score", "hine-2 total"),
    "SMWT": ("6mwt", "6 minute walk", "6-minute walk test", "six minute walk", "6mwd",
             "6mwt (m)", "6mwd (m)", "6 minute walk distance", "6mwt distance"),
    "MFM32": ("mfm-32", "mfm 32", "mfm32 total", "mfm-32 total"),
}

_PUNCT = re.compile(r"[\s_\W]+", re.UNICODE)
_HFMSE_ITEM = re.compile(r"^hfmse(?:item)?0*(\d+)$")
_RULM_ITEM = re.compile(r"^rulm(?:item)?([a-z])$")


def normalise(name: object) -> str:
    """Lower-case a name and drop spaces, underscores and punctuation."""
    return _PUNCT.sub("", str(name).strip().lower())


def _table(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, names in aliases.items():
        for name in (key, *names):
            out[normalise(name)] = key
    return out


_ROLES = _table(ROLE_ALIASES)
_SPELLED = {normalise(n): n for names in ROLE_ALIASES.values() for n in names if " " in n}
_MEASURES = _table({code: () for code in SCALES} | MEASURE_ALIASES)


def role_of(name: object) -> str | None:
    """Canonical role of a column name, or None.

    A note in parentheses is ignored ("Visit date (dd/mm/yyyy)").

    Examples
    --------
    >>> role_of("USUBJID"), role_of("Visit date (dd/mm/yyyy)"), role_of("comment")
    ('patient_id', 'date', None)
    """
    role = _ROLES.get(normalise(name))
    if role is None and "(" in str(name):
        role = _ROLES.get(normalise(_NOTE.sub(" ", str(name))))
    return role


_NOTE = re.compile(r"\([^()]*\)")


def date_order(name: object) -> bool | None:
    """``dayfirst`` stated by a date column's header: "Date (dd/mm/yyyy)" -> True.

    Examples
    --------
    >>> date_order("Visit date (DD.MM.YYYY)"), date_order("Date (mm/dd/yy)"), date_order("Date")
    (True, False, None)
    """
    text = str(name).lower()
    if re.search(r"\bdd[./-]mm[./-]yy", text):
        return True
    if re.search(r"\bmm[./-]dd[./-]yy", text):
        return False
    return None


_UNIT = re.compile(r"\(\s*(?:m|metres|meters|points?|pts|pins|pairs|parts|score|total|"
                   r"(?:max\.?\s*|0\s*-\s*|/\s*|of\s*)?\d+)\s*\)", re.I)
_AFFIX = ("totalscore", "total", "score", "sum")


def measure_code(name: object) -> str | None:
    """Canonical measure code for a column name or measure value, or None.

    Item columns are recognised with or without zero padding ("hfmse_1",
    "HFMSE_01", "HFMSE item 1"); an item number outside the scale gives None.
    Besides the aliases in :data:`MEASURE_ALIASES`, a measure name is recognised
    with "total", "score" or "sum" before or after it and with a unit in
    parentheses ("Total RULM", "HINE-2 score", "6MWT (m)", "HFMSE (0-66)").

    Examples
    --------
    >>> measure_code("Total RULM"), measure_code("HINE-2 score"), measure_code("6MWT (m)")
    ('RULM', 'HINE2', 'SMWT')
    """
    key = normalise(name)
    if key in _MEASURES:
        return _MEASURES[key]
    bare = normalise(_UNIT.sub(" ", str(name)))
    for affix in _AFFIX:
        if bare.startswith(affix) and len(bare) > len(affix):
            bare = bare[len(affix):]
            break
    for affix in _AFFIX:
        if bare.endswith(affix) and len(bare) > len(affix):
            bare = bare[: -len(affix)]
            break
    if bare != key and bare in _MEASURES:
        return _MEASURES[bare]
    if ":" in str(name):  # a field label: "HFMSE item 1: Plinth/chair sitting"
        return measure_code(str(name).split(":", 1)[0])
    m = _HFMSE_ITEM.match(key)
    if m:
        code = f"HFMSE_{int(m.group(1)):02d}"
        return code if code in SCALES else None
    m = _RULM_ITEM.match(key)
    if m:
        code = f"RULM_{m.group(1).upper()}"
        return code if code in SCALES else None
    return None


#: Roles whose misspelt column name is refused rather than passed through.
NEAR_MISS_ROLES = ("patient_id", "visit", "date", "day", "first_dose_date", "measure", "score")


def near_role(name: object) -> tuple[str, str] | None:
    """(role, the alias it nearly is) for a misspelt role column such as "vist date".

    Examples
    --------
    >>> near_role("vist date"), near_role("comment")
    (('date', 'visit date'), None)
    """
    key = normalise(name)
    if len(key) < 4 or key in _ROLES or key in _MEASURES:
        return None
    names = [k for k, r in _ROLES.items() if r in NEAR_MISS_ROLES and len(k) >= 4]
    hit = difflib.get_close_matches(key, names, n=1, cutoff=0.85)
    return (_ROLES[hit[0]], _SPELLED.get(hit[0], hit[0])) if hit else None


def looks_like_measure(name: object) -> bool:
    """Whether a name looks meant as a measure without being a known one.

    True for an HFMSE/RULM/Purdue prefix ("HFMSE_34", "RULM_Z") or a near miss of a
    measure name ("HFMES"); such columns are refused rather than passed through.

    Examples
    --------
    >>> looks_like_measure("HFMES"), looks_like_measure("site"), looks_like_measure("HFMSE")
    (True, False, False)
    """
    key = normalise(name)
    if measure_code(name) is not None or key in {"ppn", "pp"}:
        return False
    if re.match(r"^(hfmse|rulm|purdue|pp)(item)?\w*$", key):
        return True
    # a near miss of a measure name (a typo such as "HFMES") is not passed through
    return len(key) >= 4 and bool(difflib.get_close_matches(key, list(_MEASURES), n=1, cutoff=0.8))
