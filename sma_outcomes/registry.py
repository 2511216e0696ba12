"""Scale registry: the single source of truth for every measure.

Every range, unit, direction, item list and clinically meaningful threshold
used anywhere in sma_outcomes comes from here. Each :class:`Scale` carries
the primary citation of its facts and lists the facts that no retrieved
primary source confirmed (``unconfirmed``).

Measurement error (``sem``, ``mdc95``, ``sem_source``) is filled only where a
published *test-retest* study of the measure gives it. None is filled today:
the SEMs published for the HFMSE, RULM and 6MWT in SMA are distribution-based
(from the spread of scores and a reliability coefficient, e.g. Hara et al.,
Prog Rehabil Med 2025;10:20250001, doi:10.2490/prm.20250001), not test-retest
estimates, and no test-retest SEM of the Purdue Pegboard in SMA was found.
``sem_source`` says so per measure, and functions that need an SEM
(:func:`sma_outcomes.stats.reliable_change`) ask for ``sem=``.

Examples
--------
>>> from sma_outcomes.registry import get_scale
>>> hfmse = get_scale("HFMSE")
>>> hfmse.minimum, hfmse.maximum, hfmse.threshold
(0.0, 66.0, 3.0)
>>> get_scale("HFMSE_07").name
'HFMSE item 7: Rolls prone to supine over left'
>>> get_scale("RULM").axis_label()
'RULM total (points, 0–37)'
>>> hfmse.sem is None, hfmse.mdc95 is None
(True, True)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

from ._shared import plain_number
from .exceptions import MeasureError

__all__ = [
    "Scale",
    "SCALES",
    "get_scale",
    "is_known",
    "suggest_code",
    "items_of",
    "PURDUE_SINGLE_HAND",
    "PARAMCD",
    "measure_from_paramcd",
]


@dataclass(frozen=True)
class Scale:
    """Facts about one measure (a total, a subtest or an item).

    Attributes
    ----------
    code : str
        Canonical measure code used in the ``measure`` column.
    name : str
        Full name for labels.
    abbreviation : str
        Short name for table headers.
    unit : str
        ``"points"``, ``"pins"``, ``"pairs"``, ``"parts"``, ``"metres"`` or ``"percent"``.
    minimum, maximum : float
        Hard limits of a valid score (``maximum`` is ``inf`` when unbounded).
    integer : bool
        Whether valid scores are whole numbers.
    higher_is_better : bool
        Direction of the scale.
    threshold : float or None
        Clinically meaningful change (improvement) in the scale's unit, or None
        when no threshold is established (then analyses need one given).
    threshold_source : str
        Where the threshold comes from.
    items : tuple of str
        Item codes whose sum is this total (empty for items and totals without items).
    parent : str or None
        For an item, the total it belongs to.
    in_total : bool
        For an item, whether it counts in the parent's total (RULM entry item A does not).
    unconfirmed : tuple of str
        Facts no retrieved primary source confirmed.
    citation : str
        Primary reference for the scale's facts.
    family : str
        Group of related measures (``"HFMSE"``, ``"RULM"``, ``"PP"``, ...).
    sem : float or None
        Standard error of measurement in the scale's unit, from a published
        test-retest study (``sem_source``); None when no such study gives it.
    mdc95 : float or None
        Minimal detectable change at 95%: the value the test-retest study
        prints, else 1.96 * sqrt(2) * ``sem``; None without an SEM.
    sem_source : str
        Citation of the test-retest study, or why no SEM is registered.
    """

    code: str
    name: str
    abbreviation: str
    unit: str
    minimum: float
    maximum: float
    integer: bool
    higher_is_better: bool = True
    threshold: float | None = None
    threshold_source: str = ""
    items: tuple[str, ...] = ()
    parent: str | None = None
    in_total: bool = True
    unconfirmed: tuple[str, ...] = ()
    citation: str = ""
    family: str = field(default="")
    sem: float | None = None
    mdc95: float | None = None
    sem_source: str = ""

    def __post_init__(self) -> None:
        if self.sem is not None and self.mdc95 is None:
            object.__setattr__(self, "mdc95", 1.96 * math.sqrt(2.0) * float(self.sem))

    def axis_label(self, change: bool = False, percent: bool = False) -> str:
        """Axis label naming the measure, its unit and range.

        Parameters
        ----------
        change : bool
            Label a change from baseline instead of the score.
        percent : bool
            Label a percent change.

        Examples
        --------
        >>> get_scale("PP_PREF").axis_label(change=True)
        'Change in Purdue Pegboard, preferred hand (pins)'
        """
        if percent:
            return f"Change in {self.name} (% of baseline)"
        if change:
            return f"Change in {self.name} ({self.unit})"
        hi = "" if self.maximum == float("inf") else f"{plain_number(self.maximum)}"
        rng = f"{plain_number(self.minimum)}–{hi}" if hi else f"≥ {plain_number(self.minimum)}"
        return f"{self.name} ({self.unit}, {rng})"


_HFMSE_ITEMS = (
    "Plinth/chair sitting",
    "Long sitting",
    "One hand to head in sitting",
    "Two hands to head in sitting",
    "Supine to side-lying",
    "Rolls prone to supine over right",
    "Rolls prone to supine over left",
    "Rolls supine to prone over right",
    "Rolls supine to prone over left",
    "Sitting to lying",
    "Props on forearms",
    "Lifts head from prone",
    "Prop on extended arms",
    "Lying to sitting",
    "Four-point kneeling",
    "Crawling",
    "Lifts head from supine",
    "Supported standing",
    "Stand unsupported",
    "Stepping",
    "Right hip flexion in supine",
    "Left hip flexion in supine",
    "High kneeling to right half-kneel",
    "High kneeling to left half-kneel",
    "High kneeling to stand, leading with left leg",
    "High kneeling to stand, leading with right leg",
    "Stand to sit",
    "Squat",
    "Jump 12 inches forward",
    "Ascends stairs with rail",
    "Descends stairs with rail",
    "Ascends stairs without rail",
    "Descends stairs without rail",
)
_HFMSE_CITE = (
    "O'Hagen et al., Neuromuscul Disord 2007 (doi:10.1016/j.nmd.2007.05.009); "
    "HFMSE manual 2019 (iSMAC); item names from a secondary source (an electronic "
    "health-record data dictionary copying the HFMSE proforma)"
)
_RULM_CITE = (
    "Mazzone et al., Muscle Nerve 2017;55:869-874 (doi:10.1002/mus.25430)"
)
_PP_CITE = (
    "Lafayette Instrument Purdue Pegboard manual (model 32020A); board of two rows of "
    "25 holes"
)
_HARA = "Hara et al., Prog Rehabil Med 2025;10:20250001 (doi:10.2490/prm.20250001)"
_NO_RETEST = (
    "no test-retest SEM is registered: the SEM published for this measure in SMA ({value}; "
    f"{_HARA}) is distribution-based, not a test-retest estimate; pass sem= to use it or "
    "your own raters' test-retest SEM"
)
_NO_RETEST_PP = (
    "no test-retest SEM of the Purdue Pegboard in SMA was found; pass sem= (for example "
    "from your own raters' test-retest data)"
)

_RULM_ITEMS = {
    "B": "Bring hands from lap to table",
    "C": "Trace a path",
    "D": "Pick up tokens",
    "E": "Place a token into a cup",
    "F": "Reach to the side and touch a token",
    "G": "Push a light button",
    "H": "Tear paper",
    "I": "Open a zip-lock container",
    "J": "Raise a cup with 200 g to the mouth",
    "K": "Move a 200 g weight horizontally",
    "L": "Move a 500 g weight horizontally",
    "M": "Move a weight diagonally",
    "N": "Bring a 500 g weight from lap to table",
    "O": "Both arms above the head",
    "P": "Bring 500 g above shoulder height",
    "Q": "Bring 1 kg above shoulder height",
    "R": "Bring the hand above shoulder height",
    "S": "Bring 500 g above shoulder height (variant)",
    "T": "Bring 1 kg above shoulder height (variant)",
}

PURDUE_SINGLE_HAND = ("PP_PREF", "PP_NONPREF", "PP_RIGHT", "PP_LEFT")


def _build() -> dict[str, Scale]:
    s: dict[str, Scale] = {}
    hfmse_items = tuple(f"HFMSE_{i:02d}" for i in range(1, 34))
    s["HFMSE"] = Scale(
        code="HFMSE",
        name="HFMSE total",
        abbreviation="HFMSE",
        unit="points",
        minimum=0.0,
        maximum=66.0,
        integer=True,
        threshold=3.0,
        threshold_source=(
            "≥ 3-point increase, CHERISH secondary end point (Mercuri et al., NEJM 2018;"
            "378:625-635, doi:10.1056/NEJMoa1710504)"
        ),
        items=hfmse_items,
        citation=_HFMSE_CITE,
        family="HFMSE",
        sem_source=_NO_RETEST.format(value="4.71 points, 26 patients"),
    )
    for i, (code, label) in enumerate(zip(hfmse_items, _HFMSE_ITEMS, strict=True), start=1):
        s[code] = Scale(
            code=code,
            name=f"HFMSE item {i}: {label}",
            abbreviation=f"HFMSE {i}",
            unit="points",
            minimum=0.0,
            maximum=2.0,
            integer=True,
            parent="HFMSE",
            unconfirmed=("item range 0-2 is derived from 33 x 2 = 66", "item names"),
            citation=_HFMSE_CITE,
            family="HFMSE",
        )
    rulm_items = tuple(f"RULM_{k}" for k in _RULM_ITEMS)
    s["RULM"] = Scale(
        code="RULM",
        name="RULM total",
        abbreviation="RULM",
        unit="points",
        minimum=0.0,
        maximum=37.0,
        integer=True,
        threshold=2.0,
        threshold_source=(
            "≥ 2-point increase, the responder definition of real-world nusinersen cohorts "
            "(primary citation not confirmed)"
        ),
        items=rulm_items,
        unconfirmed=("primary source of the 2-point threshold",),
        citation=_RULM_CITE,
        family="RULM",
        sem_source=_NO_RETEST.format(value="3.25 points, 26 patients"),
    )
    s["RULM_A"] = Scale(
        code="RULM_A",
        name="RULM entry item A (Brooke-based)",
        abbreviation="RULM A",
        unit="points",
        minimum=0.0,
        maximum=6.0,
        integer=True,
        parent="RULM",
        in_total=False,
        unconfirmed=("entry item range 0-6",),
        citation=_RULM_CITE,
        family="RULM",
    )
    for k, label in _RULM_ITEMS.items():
        s[f"RULM_{k}"] = Scale(
            code=f"RULM_{k}",
            name=f"RULM item {k}: {label}",
            abbreviation=f"RULM {k}",
            unit="points",
            minimum=0.0,
            maximum=2.0,
            integer=True,
            parent="RULM",
            unconfirmed=(
                "18 items score 0-2 and one scores 0-1 (18 x 2 + 1 = 37); which item is "
                "0-1 is not confirmed, so every item is accepted as 0-2",
            ),
            citation=_RULM_CITE,
            family="RULM",
        )
    pins = dict(unit="pins", minimum=0.0, maximum=25.0, integer=False, citation=_PP_CITE, family="PP")
    no_mcid = "no clinically meaningful change is established for the Purdue Pegboard in SMA"
    for code, name in (
        ("PP_PREF", "Purdue Pegboard, preferred hand"),
        ("PP_NONPREF", "Purdue Pegboard, non-preferred hand"),
        ("PP_RIGHT", "Purdue Pegboard, right hand"),
        ("PP_LEFT", "Purdue Pegboard, left hand"),
    ):
        s[code] = Scale(
            code=code,
            name=name,
            abbreviation=code.replace("PP_", "PP ").replace("NONPREF", "non-pref").replace(
                "PREF", "pref"
            ),
            threshold_source=no_mcid,
            unconfirmed=("number of trials per value (record single, mean of 3 or sum of 3)",),
            sem_source=_NO_RETEST_PP,
            **pins,
        )
    s["PP_BOTH"] = Scale(
        code="PP_BOTH",
        name="Purdue Pegboard, both hands",
        abbreviation="PP both",
        unit="pairs",
        minimum=0.0,
        maximum=25.0,
        integer=False,
        threshold_source=no_mcid,
        citation=_PP_CITE,
        family="PP",
        sem_source=_NO_RETEST_PP,
    )
    s["PP_ASSEMBLY"] = Scale(
        code="PP_ASSEMBLY",
        name="Purdue Pegboard, assembly",
        abbreviation="PP assembly",
        unit="parts",
        minimum=0.0,
        maximum=100.0,
        integer=False,
        threshold_source=no_mcid,
        unconfirmed=(
            "counting each part placed (4 per assembly, so at most 25 x 4 = 100) is recalled, "
            "not confirmed",
        ),
        citation=_PP_CITE,
        family="PP",
        sem_source=_NO_RETEST_PP,
    )
    s["CHOP_INTEND"] = Scale(
        code="CHOP_INTEND",
        name="CHOP INTEND",
        abbreviation="CHOP INTEND",
        unit="points",
        minimum=0.0,
        maximum=64.0,
        integer=True,
        threshold=4.0,
        threshold_source=(
            "≥ 4-point increase, the responder definition of real-world nusinersen cohorts "
            "(primary citation not confirmed)"
        ),
        unconfirmed=("primary source of the 4-point threshold",),
        citation="CHOP INTEND manual of procedures; C-Path Rare Disease COA resource",
        family="CHOP_INTEND",
    )
    s["HINE2"] = Scale(
        code="HINE2",
        name="HINE-2 motor milestones",
        abbreviation="HINE-2",
        unit="points",
        minimum=0.0,
        maximum=26.0,
        integer=True,
        unconfirmed=("total 26 and per-item maxima",),
        citation="De Sanctis et al. 2016 (HINE-2 in SMA)",
        family="HINE2",
    )
    s["SMWT"] = Scale(
        code="SMWT",
        name="6-minute walk test",
        abbreviation="6MWT",
        unit="metres",
        minimum=0.0,
        maximum=float("inf"),
        integer=False,
        threshold=30.0,
        threshold_source=(
            "≥ 30 m change, the cut-off Mazzone et al. 2013 used for deterioration and "
            "real-world cohorts use for improvement"
        ),
        citation=(
            "Mazzone et al., Neuromuscul Disord 2013;23:624-628 (doi:10.1016/j.nmd.2013.06.001)"
        ),
        sem_source=_NO_RETEST.format(value="58.38 m, 26 patients"),
        family="SMWT",
    )
    s["MFM32"] = Scale(
        code="MFM32",
        name="MFM-32 total",
        abbreviation="MFM-32",
        unit="percent",
        minimum=0.0,
        maximum=100.0,
        integer=False,
        threshold=3.0,
        threshold_source=(
            "about 3 percentage points proposed as meaningful at patient level "
            "(https://pmc.ncbi.nlm.nih.gov/articles/PMC8802297)"
        ),
        citation="NINDS Common Data Elements: Motor Function Measure (MFM)",
        family="MFM32",
    )
    return s


#: Every known measure, by canonical code.
SCALES: dict[str, Scale] = _build()


def is_known(code: str) -> bool:
    """Whether ``code`` is a canonical measure code.

    Examples
    --------
    >>> is_known("HFMSE"), is_known("HFMS")
    (True, False)
    """
    return code in SCALES


def get_scale(code: str) -> Scale:
    """Return the :class:`Scale` for a canonical measure code.

    Raises
    ------
    MeasureError
        For an unknown code, suggesting the nearest known one (also a ``KeyError``).

    Examples
    --------
    >>> get_scale("RULM").maximum
    37.0
    """
    try:
        return SCALES[code]
    except KeyError:
        hint = suggest_code(code)
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise MeasureError(f"unknown measure code {code!r}{extra}") from None


def suggest_code(code: str) -> str | None:
    """Nearest known measure code to ``code`` (case-insensitive), or None.

    Examples
    --------
    >>> suggest_code("hfmes")
    'HFMSE'
    """
    up = str(code).upper().replace(" ", "_").replace("-", "_")
    if up in SCALES:
        return up
    hits = difflib.get_close_matches(up, list(SCALES), n=1, cutoff=0.6)
    return hits[0] if hits else None


def items_of(code: str, in_total_only: bool = True) -> tuple[str, ...]:
    """Item codes of a total, in order.

    Examples
    --------
    >>> len(items_of("HFMSE")), items_of("RULM")[:2]
    (33, ('RULM_B', 'RULM_C'))
    """
    scale = get_scale(code)
    if in_total_only:
        return scale.items
    extra = tuple(c for c, s in SCALES.items() if s.parent == code and c not in scale.items)
    return extra + scale.items


# ADaM parameter codes (PARAMCD: at most 8 characters, letters, digits and
# underscores, starting with a letter). Underscores are dropped; three codes are
# shortened to fit.
_SHORTENED = {"PP_NONPREF": "PPNPREF", "PP_ASSEMBLY": "PPASSEM", "CHOP_INTEND": "CHOPINTD"}

#: Measure code -> ADaM PARAMCD (<= 8 characters), for every measure of the registry.
PARAMCD: dict[str, str] = {
    code: _SHORTENED.get(code, code.replace("_", "")) for code in SCALES
}

_MEASURE_OF = {v: k for k, v in PARAMCD.items()}


def measure_from_paramcd(code: str) -> str:
    """Measure code of an ADaM PARAMCD (a measure code itself is accepted too).

    Parameters
    ----------
    code : str
        PARAMCD, any case, surrounding spaces ignored.

    Returns
    -------
    str
        The canonical measure code.

    Raises
    ------
    MeasureError
        For an unknown code (with the closest known code when there is one).

    Examples
    --------
    >>> measure_from_paramcd("chopintd"), measure_from_paramcd("HFMSE_01")
    ('CHOP_INTEND', 'HFMSE_01')
    """
    key = str(code).strip().upper()
    if key in _MEASURE_OF:
        return _MEASURE_OF[key]
    if key in PARAMCD:
        return key
    hint = suggest_code(key)
    extra = f"; did you mean {PARAMCD[hint]!r} ({hint})?" if hint else ""
    raise MeasureError(f"PARAMCD {code!r} is not a known parameter code{extra}")


# Plain names and axis labels for figures (read-only views of the scales above).

#: Length of a timed Purdue Pegboard trial in seconds: 30 s, assembly 60 s (Tiffin 1948).
_PP_SECONDS = {"PP_ASSEMBLY": 60}


def plain_name(code: str) -> str:
    """The measure's name for titles and axis labels, without the word "total".

    Unknown codes are returned as given.

    Examples
    --------
    >>> plain_name("HFMSE"), plain_name("PP_PREF")
    ('HFMSE', 'Purdue Pegboard, preferred hand')
    """
    scale = SCALES.get(code)
    if scale is None:
        return str(code)
    name = scale.name
    return name[: -len(" total")] if name.endswith(" total") else name


def unit_label(code: str) -> str:
    """The unit of a score as a reader needs it: timed Purdue trials name their duration.

    Examples
    --------
    >>> unit_label("HFMSE"), unit_label("PP_PREF"), unit_label("PP_ASSEMBLY")
    ('points', 'pins in 30 s', 'parts in 60 s')
    """
    scale = SCALES.get(code)
    if scale is None:
        return ""
    if scale.family == "PP":
        return f"{scale.unit} in {_PP_SECONDS.get(code, 30)} s"
    return scale.unit


def axis_label(code: str, *, change: bool = False, percent: bool = False) -> str:
    """Axis label naming the measure and its unit: "HFMSE (points)".

    Parameters
    ----------
    code : str
        Measure code; an unknown code is returned as given.
    change, percent : bool
        Label a change from baseline, or a percent change.

    Examples
    --------
    >>> axis_label("PP_PREF")
    'Purdue Pegboard, preferred hand (pins in 30 s)'
    >>> axis_label("HFMSE", change=True), axis_label("RULM", percent=True)
    ('Change in HFMSE (points)', 'Change in RULM (% of baseline)')
    """
    if code not in SCALES:
        return str(code)
    name = plain_name(code)
    if percent:
        return f"Change in {name} (% of baseline)"
    if change:
        return f"Change in {name} ({unit_label(code)})"
    return f"{name} ({unit_label(code)})"
