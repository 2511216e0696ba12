"""Natural-history comparison: is a treated patient doing better than untreated patients?

A *reference* gives the expected change of untreated patients per year of age,
with its between-patient spread and its uncertainty, by measure, SMA type and
age band (:class:`Reference`). One table covers both forms of the issue: a
table of expected annual change by age band, and a piecewise-linear age model
(the slope of each segment is the rate in its age band;
:func:`piecewise_reference` builds one from knots).

- :func:`compare_to_reference`: for each patient x measure x timepoint, the
  change expected over the patient's own age interval, observed minus
  expected, and a prediction interval for an untreated patient that includes
  the reference's between-patient SD.
- :func:`summarize_comparison`: the cohort mean of observed minus expected,
  carrying the uncertainty of the reference mean.
- :func:`expected_trajectory`: the expected change from a starting age, for
  drawing a reference curve.

Published references ship as data (``sma_outcomes/reference_data/
natural_history.csv``) with their citation and only the numbers the paper
prints (:func:`list_references`, :func:`get_reference`); anything else is a
user-supplied curve (:func:`make_reference`). ``reference_data/README.md``
explains how to add one. Pass several references to see how much the answer
depends on the choice (a sensitivity analysis): every output has a
``reference`` column.

Age
---
The age interval of a change runs from the patient's age at the baseline
assessment (the row with ``is_baseline == True`` for that patient and measure)
to the age at the assessment. The age at an assessment, in years, is taken
from the first of:

1. an ``age`` or ``age_years`` column (age at that assessment);
2. ``age_at_first_dose`` (years) + ``day`` / 365.25;
3. a ``date_of_birth`` (or ``birth_date``, ``dob``) column and ``date``:
   (date - date of birth) in days / 365.25.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd
from scipy import stats

from .. import schema
from .._shared import check_choice, check_level, plain_number, require_columns
from ..exceptions import ColumnError, OptionError
from ..registry import get_scale
from ._input import analysed_rows
from .reliable import change_rows

__all__ = [
    "Reference",
    "RATE_COLUMNS",
    "COMPARISON_COLUMNS",
    "SUMMARY_COLUMNS",
    "TRAJECTORY_COLUMNS",
    "list_references",
    "get_reference",
    "make_reference",
    "piecewise_reference",
    "ages_at_visits",
    "compare_to_reference",
    "summarize_comparison",
    "expected_trajectory",
]

#: Columns of a reference's ``rates`` table.
RATE_COLUMNS: tuple[str, ...] = (
    "measure", "sma_type", "age_min", "age_max", "mean", "sd", "n", "se",
)

#: Columns of the table returned by :func:`compare_to_reference`, in order.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "patient_id", "measure", "timepoint", "reference", "sma_type", "age_baseline",
    "age_visit", "years", "change", "expected_change", "expected_se", "between_sd",
    "pi_low", "pi_high", "observed_minus_expected", "ome_low", "ome_high", "df", "level",
    "versus_expected", "higher_is_better", "note",
)

#: Columns of the table returned by :func:`summarize_comparison`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "reference", "measure", "timepoint", "n", "mean_change", "mean_expected", "estimate",
    "se", "se_reference", "df", "ci_low", "ci_high", "level", "n_better", "n_within",
    "n_worse", "n_not_compared", "citation", "note",
)

#: Columns of the table returned by :func:`expected_trajectory`, in order.
TRAJECTORY_COLUMNS: tuple[str, ...] = (
    "reference", "measure", "sma_type", "age", "years", "expected_change", "expected_se",
    "between_sd", "df", "ci_low", "ci_high", "pi_low", "pi_high", "level",
)

_DATA_FILE = "natural_history.csv"
_AGE_COLUMNS = ("age", "age_years")
_DOB_COLUMNS = ("date_of_birth", "birth_date", "dob")
_SCALINGS = ("proportional", "sqrt")


@dataclass(frozen=True, eq=False)
class Reference:
    """Expected annual change of untreated patients, by measure, SMA type and age band.

    Attributes
    ----------
    name : str
        Short name, reported in the ``reference`` column of every result.
    rates : DataFrame
        One row per measure x SMA-type group x age band, columns
        :data:`RATE_COLUMNS`:

        - ``measure``: measure code;
        - ``sma_type``: the SMA types the row describes, separated by ``;``
          (``"2;3"`` for a pooled cohort); empty for any type;
        - ``age_min``, ``age_max``: the age band in years, [age_min, age_max);
          NaN for no bound (the source prints none);
        - ``mean``: expected change per year of age in the band (scale units);
        - ``sd``: between-patient SD of the change over one year;
        - ``n``: patients behind the row (NaN when unknown);
        - ``se``: standard error of ``mean``; NaN to use sd / sqrt(n).
    citation : str
        The source, or ``"user-supplied"``.
    published : bool
        True for a reference that ships with the package (numbers as printed).
    note : str
        Population and what the source prints.
    """

    name: str
    rates: pd.DataFrame
    citation: str = ""
    published: bool = False
    note: str = field(default="")

    def __repr__(self) -> str:
        kind = "published" if self.published else "user-supplied"
        measures = ", ".join(dict.fromkeys(self.rates["measure"].astype(str)))
        return f"Reference({self.name!r}, {kind}, measures: {measures}, {len(self.rates)} rows)"


def _data_path():
    return resources.files("sma_outcomes") / "reference_data" / _DATA_FILE


def _read_published() -> pd.DataFrame:
    with resources.as_file(_data_path()) as path:
        table = pd.read_csv(path, dtype={"sma_type": str}, keep_default_na=True)
    table["sma_type"] = table["sma_type"].fillna("")
    per_year = 12.0 / table["interval_months"].astype(float)
    table["mean"] = table["mean"] * per_year
    table["sd"] = table["sd"] * per_year
    table["se"] = table["se"] * per_year
    return table


def list_references() -> pd.DataFrame:
    """The published natural-history references shipped with the package.

    Returns
    -------
    DataFrame
        One row per reference x measure x group: ``reference``, ``measure``,
        ``sma_type``, ``age_min``, ``age_max``, ``mean`` and ``sd`` (per
        year), ``n``, ``population``, ``printed`` (what the source prints,
        word for word in numbers) and ``citation``.

    Examples
    --------
    >>> list_references()[["reference", "measure", "sma_type", "mean", "sd", "n"]]
               reference measure sma_type  mean     sd    n
    0  mercuri2016_hfmse   HFMSE      2;3 -0.56   2.72  268
    1      pera2019_rulm    RULM      2;3 -0.41   2.93  114
    2   mazzone2013_6mwt    SMWT        3 -1.46  50.10   38
    """
    t = _read_published()
    return t[["reference", "measure", "sma_type", "age_min", "age_max", "mean", "sd", "n",
              "population", "printed", "citation"]].reset_index(drop=True)


def get_reference(name: str) -> Reference:
    """A published reference by name (see :func:`list_references`).

    Examples
    --------
    >>> ref = get_reference("mercuri2016_hfmse")
    >>> ref
    Reference('mercuri2016_hfmse', published, measures: HFMSE, 1 rows)
    >>> ref.citation[:40]
    'Mercuri E, Finkel R, Montes J, et al. Pa'
    """
    table = _read_published()
    rows = table.loc[table["reference"] == name]
    if not len(rows):
        raise OptionError(f"unknown reference {name!r}; the package ships "
                          f"{sorted(set(table['reference']))}; build your own with "
                          "make_reference()")
    citation = "; ".join(dict.fromkeys(rows["citation"]))
    note = "; ".join(dict.fromkeys(rows["population"].astype(str) + ". Printed: "
                                   + rows["printed"].astype(str)))
    return Reference(name=name, rates=_check_rates(rows, name), citation=citation,
                     published=True, note=note)


def _check_rates(table: pd.DataFrame, name: str) -> pd.DataFrame:
    require_columns(table, ("measure", "mean", "sd"), func="make_reference")
    t = pd.DataFrame({"measure": table["measure"].astype(str).to_numpy()})
    t["sma_type"] = (table["sma_type"].fillna("").astype(str).to_numpy()
                     if "sma_type" in table.columns else "")
    for col in ("age_min", "age_max", "mean", "sd", "n", "se"):
        t[col] = (pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
                  if col in table.columns else np.nan)
    bad = ~np.isfinite(t["mean"]) | ~np.isfinite(t["sd"]) | (t["sd"] < 0)
    if bad.any():
        raise OptionError(f"reference {name!r}: every row needs a finite `mean` and a "
                          f"non-negative `sd` (rows {list(np.flatnonzero(bad))})")
    lo = t["age_min"].fillna(-np.inf)
    hi = t["age_max"].fillna(np.inf)
    if (lo >= hi).any():
        raise OptionError(f"reference {name!r}: age_min must be below age_max")
    for (_m, _ty), g in t.assign(lo=lo, hi=hi).groupby(["measure", "sma_type"]):
        g = g.sort_values("lo")
        if (g["lo"].to_numpy()[1:] < g["hi"].to_numpy()[:-1]).any():
            raise OptionError(f"reference {name!r}: age bands of {_m} (type {_ty or 'any'}) "
                              "overlap")
    return t


def make_reference(
    table: pd.DataFrame,
    *,
    name: str,
    citation: str = "user-supplied",
    note: str = "",
) -> Reference:
    """A user-supplied reference from a table of expected annual change.

    Parameters
    ----------
    table : DataFrame
        Columns ``measure``, ``mean`` (expected change per year) and ``sd``
        (between-patient SD of one year's change) are required; ``sma_type``,
        ``age_min``, ``age_max``, ``n`` and ``se`` are optional (see
        :class:`Reference`). Without ``n`` or ``se`` the reference mean is
        treated as known exactly, and intervals use the normal distribution.
    name : str
        Name shown in the results.
    citation : str
        Where the numbers come from.
    note : str
        Anything a reader should know (population, how the numbers were read).

    Examples
    --------
    >>> import pandas as pd
    >>> ref = make_reference(pd.DataFrame({
    ...     "measure": "HFMSE", "sma_type": "2", "age_min": [2.0, 5.0],
    ...     "age_max": [5.0, 13.0], "mean": [0.5, -1.0], "sd": [2.0, 2.5],
    ...     "n": [40, 60]}), name="my clinic")
    >>> ref
    Reference('my clinic', user-supplied, measures: HFMSE, 2 rows)
    """
    return Reference(name=str(name), rates=_check_rates(table, str(name)),
                     citation=citation, published=False, note=note)


def piecewise_reference(
    knots: Sequence[float],
    slopes: Sequence[float],
    slope_sd: Sequence[float],
    *,
    measure: str,
    name: str,
    sma_type: str | int = "",
    slope_se: Sequence[float] | None = None,
    n: float | None = None,
    citation: str = "user-supplied",
    note: str = "",
) -> Reference:
    """A reference from a piecewise-linear age model: a slope per segment between knots.

    Parameters
    ----------
    knots : sequence of float
        Ages (years) bounding the segments, increasing: k + 1 knots for k slopes.
    slopes : sequence of float
        Mean change per year on each segment.
    slope_sd : sequence of float
        Between-patient SD of the slope on each segment (random-slope SD).
    measure, name : str
        Measure code and reference name.
    sma_type : str or int
        SMA type(s), ``;``-separated; empty for any.
    slope_se : sequence of float, optional
        Standard error of each mean slope (the model's uncertainty).
    n : float, optional
        Patients in the model, for t-based intervals (df = n - 1).

    Examples
    --------
    >>> ref = piecewise_reference([2, 6, 20], [0.8, -0.6], [1.0, 1.2],
    ...                           slope_se=[0.2, 0.1], measure="HFMSE", sma_type=3,
    ...                           name="example model")
    >>> ref.rates[["age_min", "age_max", "mean", "sd", "se"]]
       age_min  age_max  mean   sd   se
    0      2.0      6.0   0.8  1.0  0.2
    1      6.0     20.0  -0.6  1.2  0.1
    """
    k = np.asarray(knots, dtype=float)
    if len(k) != len(slopes) + 1 or len(slopes) != len(slope_sd) or np.any(np.diff(k) <= 0):
        raise OptionError("piecewise_reference() needs increasing `knots` and one slope and "
                          "one slope_sd per segment (len(knots) == len(slopes) + 1)")
    se = [math.nan] * len(slopes) if slope_se is None else list(slope_se)
    table = pd.DataFrame({"measure": measure, "sma_type": str(sma_type), "age_min": k[:-1],
                          "age_max": k[1:], "mean": list(slopes), "sd": list(slope_sd),
                          "n": math.nan if n is None else float(n), "se": se})
    return make_reference(table, name=name, citation=citation, note=note)


def ages_at_visits(data: pd.DataFrame, *, func: str = "compare_to_reference") -> np.ndarray:
    """Age in years at each row, by the rules in the module docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> ages_at_visits(pd.DataFrame({"age_at_first_dose": [7.6], "day": [365.25]}))
    array([8.6])
    """
    for col in _AGE_COLUMNS:
        if col in data.columns:
            return pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
    if "age_at_first_dose" in data.columns and schema.DAY in data.columns:
        age0 = pd.to_numeric(data["age_at_first_dose"], errors="coerce").to_numpy(dtype=float)
        day = pd.to_numeric(data[schema.DAY], errors="coerce").to_numpy(dtype=float)
        return age0 + day / schema.DAYS_PER_YEAR
    for col in _DOB_COLUMNS:
        if col in data.columns and schema.DATE in data.columns:
            dob = pd.to_datetime(data[col], errors="coerce")
            when = pd.to_datetime(data[schema.DATE], errors="coerce")
            return ((when - dob).dt.days / schema.DAYS_PER_YEAR).to_numpy(dtype=float)
    raise ColumnError(
        f"{func}() needs the patients' ages: an 'age' or 'age_years' column (years at each "
        "assessment), or 'age_at_first_dose' with 'day', or 'date_of_birth' with 'date'; "
        f"the table has {', '.join(map(repr, map(str, data.columns)))}")


def _as_references(reference) -> list[Reference]:
    refs = reference if isinstance(reference, (list, tuple)) else [reference]
    out = []
    for r in refs:
        out.append(get_reference(r) if isinstance(r, str) else r)
        if not isinstance(out[-1], Reference):
            raise OptionError("`reference` takes a Reference, a published reference name or a "
                              f"list of them, not {type(r).__name__}")
    if not out:
        raise OptionError("`reference` is empty: give at least one reference")
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        raise OptionError(f"reference names must differ, got {names}")
    return out


def _types(value) -> set[str]:
    text = "" if value is None or (np.ndim(value) == 0 and pd.isna(value)) else value
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    return {t.strip() for t in str(text).split(";") if t.strip()}


def _bands(rows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """The age bands of ``rows`` as arrays: (age_min, age_max, mean, sd, n, se); no bound is +-inf."""
    return (rows["age_min"].fillna(-np.inf).to_numpy(dtype=float),
            rows["age_max"].fillna(np.inf).to_numpy(dtype=float),
            rows["mean"].to_numpy(dtype=float), rows["sd"].to_numpy(dtype=float),
            rows["n"].to_numpy(dtype=float), rows["se"].to_numpy(dtype=float))


def _expected(rows: pd.DataFrame, a0: float, a1: float, scaling: str):
    """Expected change over ages [a0, a1]: (mean, se of mean, between-patient SD, df, note)."""
    return _expected_bands(_bands(rows), a0, a1, scaling)


def _expected_bands(bands: tuple[np.ndarray, ...], a0: float, a1: float, scaling: str):
    """:func:`_expected` on the arrays of :func:`_bands` (computed once per reference group)."""
    if not (math.isfinite(a0) and math.isfinite(a1)):
        return math.nan, math.nan, math.nan, math.nan, "age at baseline or at the visit unknown"
    lo, hi, mean_all, sd_all, n_all, se_all = bands
    start, end = min(a0, a1), max(a0, a1)
    overlap = np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0.0, None)
    length = end - start
    if length <= 0:
        return 0.0, 0.0, 0.0, math.inf, ""
    if overlap.sum() < length - 1e-9:
        span = f"{plain_number(round(start, 1))}-{plain_number(round(end, 1))} years"
        cover = ", ".join(f"{plain_number(a)}-{plain_number(b)}" for a, b in zip(lo, hi,
                                                                                  strict=True))
        return (math.nan, math.nan, math.nan, math.nan,
                f"ages {span} are not all covered by the reference's age bands ({cover})")
    sign = 1.0 if a1 >= a0 else -1.0  # a visit before baseline: the change runs backwards
    used = overlap > 0
    f = overlap[used]
    mean, sd, n, se = mean_all[used], sd_all[used], n_all[used], se_all[used]
    se = np.where(np.isfinite(se), se, sd / np.sqrt(np.where(n > 0, n, np.nan)))
    se = np.where(np.isfinite(se), se, 0.0)
    expected = sign * float(np.sum(mean * f))
    expected_se = float(np.sqrt(np.sum((se * f) ** 2)))
    between = float(np.sum(sd * f)) if scaling == "proportional" else float(
        np.sqrt(np.sum(sd**2 * f)))
    df = float(np.min(n) - 1.0) if np.all(np.isfinite(n)) and np.all(n > 1) else math.inf
    return expected, expected_se, between, df, ""


@functools.lru_cache(maxsize=1024)
def _quantile(level: float, df: float) -> float:
    p = 1.0 - (1.0 - level) / 2.0
    return float(stats.norm.ppf(p)) if not math.isfinite(df) else float(stats.t.ppf(p, df))


def compare_to_reference(
    data: pd.DataFrame,
    reference: Reference | str | Sequence[Reference | str],
    *,
    measures: str | Sequence[str] | None = None,
    timepoint: str | Sequence[str] | None = None,
    sma_type: int | str | None = None,
    level: float = 0.95,
    sd_scaling: str = "proportional",
) -> pd.DataFrame:
    """Observed change of each patient against the change expected without treatment.

    For each analysed patient x measure x timepoint after baseline with a
    change, and each reference that describes the measure and the patient's
    SMA type:

    - ``expected_change`` = sum over the reference's age bands of (mean
      change per year) x (years of the patient's age interval in the band);
    - ``expected_se``: standard error of that expectation, from the SE of each
      band's mean (sd / sqrt(n) when the reference gives no SE; 0 without n);
    - ``between_sd``: the between-patient SD of the change over the interval,
      sum of sd x years in each band (``sd_scaling="proportional"``: patients
      differ in their rate of change) or sqrt(sum of sd^2 x years)
      (``"sqrt"``: yearly changes independent);
    - the prediction interval of an untreated patient's change,
      ``expected_change`` +/- q x sqrt(between_sd^2 + expected_se^2), with q
      the t quantile on the smallest n - 1 of the bands used (the normal
      quantile when n is not given); for a one-year interval in one band this
      is the textbook mean +/- t sd sqrt(1 + 1/n);
    - ``observed_minus_expected`` with the interval of the same half-width.

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``), with ``patient_id``,
        ``measure``, ``timepoint``, ``change``, ``is_baseline`` (to date the
        baseline), an SMA type and ages (see the module docstring).
    reference : Reference, str or sequence of them
        One or several references (a published name, see
        :func:`list_references`, or a :class:`Reference`). Several give one
        row per reference: a sensitivity analysis.
    measures : str or sequence of str, optional
        Measures to compare; default the measures that some reference describes.
    timepoint : str or sequence of str, optional
        Timepoints to compare; default every timepoint after baseline.
    sma_type : int or str, optional
        SMA type of every patient, when the table has no ``sma_type`` column
        (the column wins when both exist).
    level : float
        Level of the prediction intervals.
    sd_scaling : {"proportional", "sqrt"}
        How the reference's one-year SD grows with the interval (see above).

    Returns
    -------
    DataFrame
        One row per patient x measure x timepoint x reference, columns
        :data:`COMPARISON_COLUMNS`: the identifiers, ``sma_type``,
        ``age_baseline``, ``age_visit``, ``years`` (the interval), ``change``,
        ``expected_change``, ``expected_se``, ``between_sd``, ``pi_low`` and
        ``pi_high`` (untreated patient's change), ``observed_minus_expected``
        with ``ome_low`` and ``ome_high``, ``df`` (inf: normal), ``level``,
        ``versus_expected`` (``"better than expected"`` when the change lies
        beyond the prediction interval in the good direction of the scale,
        ``"worse than expected"`` beyond it in the bad direction, ``"within
        expected range"``, or ``""`` when no expectation), ``higher_is_better``
        and ``note`` (why a row has no expectation, or caveats).

    Notes
    -----
    The SD of a published 12-month change includes the measurement error of
    two assessments; scaled proportionally to intervals shorter than a year,
    it understates that error, so short intervals give intervals that are too
    narrow (use ``"sqrt"`` or compare at yearly timepoints). Natural-history
    cohorts differ from a clinic's patients in age, function and care; a
    single reference answers "compared with these untreated patients", not
    "compared with this patient untreated".

    Examples
    --------
    >>> from sma_outcomes import load_example, assign_timepoints, change_from_baseline
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     changes = change_from_baseline(assign_timepoints(load_example("cohort")))
    >>> cmp = compare_to_reference(changes, "mercuri2016_hfmse", timepoint="Month 14")
    >>> cmp[["patient_id", "years", "change", "expected_change", "pi_low", "pi_high"]].head(3).round(2)
      patient_id  years  change  expected_change  pi_low  pi_high
    0       C001   1.26     3.0            -0.70   -7.45     6.04
    1       C002   1.25     4.0            -0.70   -7.40     6.00
    2       C003   1.28     1.0            -0.72   -7.58     6.14
    >>> cmp["versus_expected"].value_counts().to_dict()
    {'within expected range': 63, 'better than expected': 6, '': 3}
    """
    level = check_level(level)
    check_choice("sd_scaling", sd_scaling, _SCALINGS)
    refs = _as_references(reference)
    covered = list(dict.fromkeys(m for r in refs for m in r.rates["measure"]))
    present = [str(m) for m in pd.unique(analysed_rows(data)[schema.MEASURE].astype(str)
                                         .to_numpy(dtype=object))]
    if measures is None:
        chosen = [m for m in present if m in covered]
        if not chosen:
            raise OptionError(f"the references describe {covered}, none of which is in the data "
                              f"(the data have {present})")
        measures = chosen
    wanted = [measures] if isinstance(measures, str) else list(measures)
    if not set(wanted) & set(covered):
        raise OptionError(f"`measures` {wanted}: no reference describes them; the references "
                          f"describe {covered}")
    rows = change_rows(data, measures, timepoint, func="compare_to_reference")
    require_columns(data, [schema.IS_BASELINE], func="compare_to_reference",
                    hint="it dates the baseline; change_from_baseline() adds it")
    ages_all = ages_at_visits(data)
    base = data.loc[data[schema.IS_BASELINE].fillna(False).astype(bool).to_numpy()]
    base_age = pd.Series(ages_all[data[schema.IS_BASELINE].fillna(False).astype(bool)
                                  .to_numpy()],
                         index=pd.MultiIndex.from_arrays([base[schema.PATIENT].to_numpy(),
                                                          base[schema.MEASURE].astype(str)
                                                          .to_numpy()]))
    base_age = base_age[~base_age.index.duplicated()]
    visit_age = pd.Series(ages_all, index=data.index).loc[rows.index].to_numpy(dtype=float)
    if "sma_type" in rows.columns:
        types = rows["sma_type"].to_numpy(dtype=object)
    elif sma_type is not None:
        types = np.full(len(rows), sma_type, dtype=object)
    else:
        raise ColumnError("compare_to_reference() needs each patient's SMA type: an 'sma_type' "
                          "column, or sma_type= for every patient")
    keys = list(zip(rows[schema.PATIENT].to_numpy(), rows[schema.MEASURE].astype(str).to_numpy(),
                    strict=True))
    age0 = base_age.reindex(pd.MultiIndex.from_tuples(keys)).to_numpy(dtype=float) if len(
        keys) else np.zeros(0)
    changes = rows[schema.CHANGE].to_numpy(dtype=float)
    timepoints = rows[schema.TIMEPOINT].astype(str).to_numpy()
    out = []
    for ref in refs:
        by_measure: dict[str, pd.DataFrame] = {}
        matched: dict[tuple[str, frozenset[str]], tuple[pd.DataFrame, tuple, bool]] = {}
        for i, (pid, m) in enumerate(keys):
            if m not in by_measure:
                by_measure[m] = ref.rates.loc[ref.rates["measure"] == m]
            rates = by_measure[m]
            if not len(rates):
                continue
            scale = _scale(m)
            higher = True if scale is None else scale.higher_is_better
            ptype = _types(types[i])
            key = (m, frozenset(ptype))
            if key not in matched:
                match = rates.loc[[(not _types(t)) or bool(ptype & _types(t))
                                   for t in rates["sma_type"]]]
                matched[key] = (match, _bands(match),
                               bool(match[["age_min", "age_max"]].isna().all(axis=None)))
            match, bands, no_ages = matched[key]
            note = ""
            if not ptype:
                exp = (math.nan,) * 4 + ("SMA type unknown",)
            elif not len(match):
                groups = sorted({t for t in rates["sma_type"]})
                exp = (math.nan,) * 4 + (f"the reference describes SMA type(s) {groups}, not "
                                         f"type {'/'.join(sorted(ptype))}",)
            else:
                exp = _expected_bands(bands, age0[i], visit_age[i], sd_scaling)
                if no_ages:
                    note = "the reference prints no age range: applied at every age"
            expected, e_se, between, df, why = exp
            change = float(changes[i])
            hw = _quantile(level, df) * math.sqrt(between**2 + e_se**2) if math.isfinite(
                expected) else math.nan
            ome = change - expected
            verdict = ""
            if math.isfinite(expected):
                good = ome if higher else -ome
                verdict = ("better than expected" if good > hw + 1e-12 else
                           "worse than expected" if good < -hw - 1e-12 else
                           "within expected range")
            out.append({
                "patient_id": pid, "measure": m,
                "timepoint": timepoints[i], "reference": ref.name,
                "sma_type": "/".join(sorted(ptype)), "age_baseline": age0[i],
                "age_visit": visit_age[i], "years": visit_age[i] - age0[i], "change": change,
                "expected_change": expected, "expected_se": e_se, "between_sd": between,
                "pi_low": expected - hw, "pi_high": expected + hw,
                "observed_minus_expected": ome, "ome_low": ome - hw, "ome_high": ome + hw,
                "df": df, "level": level, "versus_expected": verdict,
                "higher_is_better": higher, "note": "; ".join(x for x in (why, note) if x),
            })
    return pd.DataFrame(out, columns=list(COMPARISON_COLUMNS))


def _scale(measure: str):
    try:
        return get_scale(measure)
    except KeyError:
        return None


def summarize_comparison(
    comparison: pd.DataFrame,
    *,
    level: float | None = None,
    references: Sequence[Reference | str] | None = None,
) -> pd.DataFrame:
    """Cohort mean of observed minus expected, with the reference's uncertainty carried.

    For each reference x measure x timepoint, over the k patients with an
    expectation:

    - ``estimate`` = mean of ``observed_minus_expected``;
    - ``se`` = sqrt(s^2 / k + se_reference^2), with s the SD of observed
      minus expected across patients and ``se_reference`` the mean of
      ``expected_se``: the error of the reference mean is shared by every
      patient, so it does not shrink with k (exact for a one-band reference,
      an upper bound when patients span several bands);
    - ``df`` by Welch-Satterthwaite from k - 1 and the reference's df; the
      interval is estimate +/- t(df) x se.

    Parameters
    ----------
    comparison : DataFrame
        The result of :func:`compare_to_reference`.
    level : float, optional
        Confidence level; default the level of ``comparison``.
    references : sequence of Reference or str, optional
        The user-supplied references used, to report their citations
        (published ones are found by name).

    Returns
    -------
    DataFrame
        One row per reference x measure x timepoint, columns
        :data:`SUMMARY_COLUMNS`: ``n`` (patients compared), ``mean_change``,
        ``mean_expected``, ``estimate``, ``se``, ``se_reference``, ``df``,
        ``ci_low``, ``ci_high``, ``level``, ``n_better``, ``n_within``,
        ``n_worse`` (patients per ``versus_expected``), ``n_not_compared``,
        ``citation`` and ``note``. Rows for several references side by side
        are the sensitivity analysis; their ``note`` gives the range of the
        estimate across the references.

    Examples
    --------
    >>> import pandas as pd
    >>> cmp = pd.DataFrame({"reference": "r", "measure": "HFMSE", "timepoint": "Month 12",
    ...     "change": [2.0, 4.0], "expected_change": [-0.5, -0.5],
    ...     "observed_minus_expected": [2.5, 4.5], "expected_se": [0.2, 0.2],
    ...     "df": [99.0, 99.0], "level": 0.95,
    ...     "versus_expected": ["within expected range", "better than expected"]})
    >>> s = summarize_comparison(cmp)
    >>> s[["n", "estimate", "se", "df", "ci_low", "ci_high"]].round(3)
       n  estimate    se     df  ci_low  ci_high
    0  2       3.5  1.02  1.082  -7.362   14.362
    """
    require_columns(comparison, ("reference", "measure", "timepoint", "change",
                                 "expected_change", "observed_minus_expected", "expected_se",
                                 "df", "versus_expected"), func="summarize_comparison")
    if level is None:
        level = float(comparison["level"].iloc[0]) if "level" in comparison.columns and len(
            comparison) else 0.95
    level = check_level(level)
    cites = {}
    for r in references or ():
        ref = get_reference(r) if isinstance(r, str) else r
        cites[ref.name] = ref.citation
    published = set(_read_published()["reference"])
    for name in set(comparison["reference"]) - set(cites):
        if name in published:
            cites[name] = get_reference(name).citation
    out = []
    for (ref, m, tp), g in comparison.groupby(["reference", "measure", "timepoint"], sort=False):
        ok = g.loc[np.isfinite(g["expected_change"].to_numpy(dtype=float))]
        k = len(ok)
        ome = ok["observed_minus_expected"].to_numpy(dtype=float)
        se_ref = float(ok["expected_se"].mean()) if k else math.nan
        df_ref = float(ok["df"].min()) if k else math.nan
        note = ""
        if k >= 2:
            v = float(np.var(ome, ddof=1)) / k
            se = math.sqrt(v + se_ref**2)
            denom = v**2 / (k - 1) + (se_ref**4 / df_ref if math.isfinite(df_ref)
                                      and df_ref > 0 else 0.0)
            df = se**4 / denom if denom > 0 else math.inf
            q = _quantile(level, df)
            lo, hi = ome.mean() - q * se, ome.mean() + q * se
        else:
            se = df = lo = hi = math.nan
            note = "fewer than 2 patients compared: no cohort interval"
        counts = g["versus_expected"].value_counts()
        out.append({
            "reference": ref, "measure": m, "timepoint": tp, "n": k,
            "mean_change": float(ok["change"].mean()) if k else math.nan,
            "mean_expected": float(ok["expected_change"].mean()) if k else math.nan,
            "estimate": float(ome.mean()) if k else math.nan, "se": se,
            "se_reference": se_ref, "df": df, "ci_low": lo, "ci_high": hi, "level": level,
            "n_better": int(counts.get("better than expected", 0)),
            "n_within": int(counts.get("within expected range", 0)),
            "n_worse": int(counts.get("worse than expected", 0)),
            "n_not_compared": len(g) - k, "citation": cites.get(ref, ""), "note": note,
        })
    table = pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
    for (_m, _tp), g in table.groupby(["measure", "timepoint"], sort=False):
        est = g["estimate"].dropna()
        if len(est) > 1:
            spread = (f"sensitivity: across {len(est)} references the estimate ranges from "
                      f"{est.min():.2f} to {est.max():.2f}")
            table.loc[g.index, "note"] = [f"{n}; {spread}" if n else spread for n in g["note"]]
    return table


def expected_trajectory(
    reference: Reference | str | Sequence[Reference | str],
    *,
    measure: str,
    age_start: float,
    age_end: float,
    sma_type: int | str | None = None,
    step: float = 0.5,
    level: float = 0.95,
    sd_scaling: str = "proportional",
) -> pd.DataFrame:
    """Expected change of untreated patients from ``age_start``, age by age.

    Parameters
    ----------
    reference : Reference, str or sequence of them
        As in :func:`compare_to_reference`.
    measure : str
        Measure code.
    age_start, age_end : float
        First and last age (years); the change is counted from ``age_start``.
    sma_type : int or str, optional
        SMA type to read from the reference (needed when it has type-specific rows).
    step : float
        Age step in years.
    level : float
        Level of the intervals.
    sd_scaling : {"proportional", "sqrt"}
        As in :func:`compare_to_reference`.

    Returns
    -------
    DataFrame
        One row per reference x age, columns :data:`TRAJECTORY_COLUMNS`:
        ``expected_change`` from ``age_start``, ``expected_se``,
        ``between_sd``, ``df``, ``ci_low``/``ci_high`` (the mean trajectory)
        and ``pi_low``/``pi_high`` (an untreated patient). NaN where the
        reference does not cover the ages.

    Examples
    --------
    >>> t = expected_trajectory("mercuri2016_hfmse", measure="HFMSE", sma_type=2,
    ...                         age_start=5, age_end=7, step=1)
    >>> t[["age", "expected_change", "between_sd", "pi_low", "pi_high"]].round(2)
       age  expected_change  between_sd  pi_low  pi_high
    0  5.0             0.00        0.00    0.00     0.00
    1  6.0            -0.56        2.72   -5.93     4.81
    2  7.0            -1.12        5.44  -11.85     9.61
    """
    level = check_level(level)
    check_choice("sd_scaling", sd_scaling, _SCALINGS)
    if not (step > 0 and age_end >= age_start):
        raise OptionError("expected_trajectory() needs age_end >= age_start and step > 0")
    ages = np.arange(age_start, age_end + step / 2.0, step)
    ptype = _types(sma_type)
    out = []
    for ref in _as_references(reference):
        rates = ref.rates.loc[ref.rates["measure"] == measure]
        if not len(rates):
            raise OptionError(f"reference {ref.name!r} has no rows for {measure!r}")
        match = rates.loc[[(not _types(t)) or (not ptype) or bool(ptype & _types(t))
                           for t in rates["sma_type"]]]
        if len(match.groupby("sma_type")) > 1:
            raise OptionError(f"reference {ref.name!r} has rows for several SMA types; pass "
                              "sma_type=")
        for a in ages:
            e, se, sd, df, _why = _expected(match, float(age_start), float(a), sd_scaling)
            q = _quantile(level, df) if math.isfinite(e) else math.nan
            out.append({
                "reference": ref.name, "measure": measure,
                "sma_type": "/".join(sorted(ptype)), "age": float(a),
                "years": float(a - age_start), "expected_change": e, "expected_se": se,
                "between_sd": sd, "df": df, "ci_low": e - q * se, "ci_high": e + q * se,
                "pi_low": e - q * math.sqrt(sd**2 + se**2),
                "pi_high": e + q * math.sqrt(sd**2 + se**2), "level": level,
            })
    return pd.DataFrame(out, columns=list(TRAJECTORY_COLUMNS))
