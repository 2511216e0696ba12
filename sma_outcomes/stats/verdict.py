"""Per-patient verdict table: is this patient doing better than expected?

:func:`patient_verdicts` gathers, for one measure and one row per patient, the
evidence the other per-patient analyses give: the change of slope from before
to on treatment (where a model estimated it), whether the change at the
analysis timepoint is beyond measurement error, how it compares with untreated
patients of a natural-history reference, and whether a second scale agrees.
Each row ends with notes in plain words; :data:`VERDICT_NOTES` states what a
single patient's estimate can and cannot show, for reports to print once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import schema
from .._shared import (
    check_level,
    last_common_timepoint,
    pick_measure,
    plain_number,
    require_columns,
)
from ..exceptions import OptionError
from ..registry import get_scale
from ._input import analysed_rows
from .agreement import concordance
from .natural_history import Reference, compare_to_reference
from .reliable import SemSpec, reliable_change, resolve_sem

__all__ = ["patient_verdicts", "VERDICT_COLUMNS", "VERDICT_NOTES", "SLOPE_COLUMNS"]

#: Columns a per-patient slope table must have (as ``LMMResult.patient_coefficients()``).
SLOPE_COLUMNS: tuple[str, ...] = (
    "patient_id", "pre_slope", "slope_change", "on_slope", "slope_change_se",
)

#: Columns of the table returned by :func:`patient_verdicts`, in order.
VERDICT_COLUMNS: tuple[str, ...] = (
    "patient_id", "measure", "timepoint",
    "pre_slope", "on_slope", "slope_change", "slope_change_se", "slope_change_low",
    "slope_change_high", "slope_verdict",
    "change", "rci", "mdc", "sem_source", "reliable_change",
    "reference", "expected_change", "pi_low", "pi_high", "observed_minus_expected",
    "ome_low", "ome_high", "versus_expected",
    "concordance_measure", "concordance_change", "concordance",
    "notes",
)

#: What a single patient's estimate can and cannot show, in plain words.
VERDICT_NOTES: tuple[str, ...] = (
    "One patient's change mixes the effect of treatment, the natural course of the disease, "
    "measurement error and practice with the test; no single-patient number separates them "
    "completely.",
    "A reliable change is larger than the test's own noise between two assessments. It shows "
    "that the patient really changed, not why.",
    "Observed minus expected compares the patient with untreated patients of a published "
    "cohort, who may differ in age, function, care and era. A change inside the prediction "
    "interval is compatible with no benefit; it does not prove there was none.",
    "In a progressive disease, staying stable can be a benefit: 'no reliable change' is not "
    "'no effect'.",
    "A patient's slope before and on treatment, estimated by a mixed model, borrows strength "
    "from the other patients: with few visits it is pulled towards the cohort average, and "
    "its interval is conditional on the model being right.",
    "These are descriptions of one patient, not tests of the treatment: across many patients, "
    "some will fall outside any 95% interval by chance.",
)

_SLOPE_LABELS = ("better on treatment", "no clear difference", "worse on treatment")


def _slopes_table(slopes: pd.DataFrame, level: float) -> pd.DataFrame:
    if "slope_change_se" not in slopes.columns and "se_slope_change" in slopes.columns:
        slopes = slopes.rename(columns={"se_slope_change": "slope_change_se"})  # coef() naming
    require_columns(slopes, SLOPE_COLUMNS, func="patient_verdicts",
                    hint="the per-patient slopes table of LMMResult.patient_coefficients()")
    counts = [c for c in slopes.columns if str(c).startswith("n_")]
    t = slopes[list(SLOPE_COLUMNS) + counts].copy()
    if t["patient_id"].duplicated().any():
        raise OptionError("`slopes` must have one row per patient (one measure at a time)")
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    se = pd.to_numeric(t["slope_change_se"], errors="coerce")
    sc = pd.to_numeric(t["slope_change"], errors="coerce")
    t["slope_change_low"] = sc - z * se
    t["slope_change_high"] = sc + z * se
    return t.set_index("patient_id")


def _fmt(x: float, digits: int = 1) -> str:
    return plain_number(round(float(x), digits))


def _signed(x: float, digits: int = 1) -> str:
    """``+0.3``, ``-2``, ``0``: signed, at most ``digits`` decimals, no trailing zeros."""
    text = _fmt(x, digits)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def patient_verdicts(
    data: pd.DataFrame,
    measure: str | None = None,
    *,
    timepoint: str | None = None,
    sem: SemSpec = None,
    reference: Reference | str | Sequence[Reference | str] | None = None,
    slopes: pd.DataFrame | None = None,
    concordance_with: str | None = None,
    threshold: float | Mapping[str, float] | None = None,
    concordance_rule: str = "threshold",
    sma_type: int | str | None = None,
    level: float = 0.95,
    sd_scaling: str = "proportional",
) -> pd.DataFrame:
    """One row per patient: slope change, reliable change, natural history, concordance.

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``).
    measure : str, optional
        The measure judged; default the only measure of the data.
    timepoint : str, optional
        Analysis timepoint; default the last timepoint at which at least half
        of the patients have a change of ``measure``.
    sem : float or dict, optional
        Standard error of measurement, as in
        :func:`~sma_outcomes.stats.reliable_change`. Without it (and without a
        registry SEM from a test-retest study) the reliable-change columns stay
        empty and the notes say so.
    reference : Reference, str or sequence, optional
        Natural-history reference(s), as in
        :func:`~sma_outcomes.stats.compare_to_reference`. With several, the
        columns show the first and the notes add the others' verdicts.
    slopes : DataFrame, optional
        Per-patient slopes with columns :data:`SLOPE_COLUMNS` (``patient_id,
        pre_slope, slope_change, on_slope, slope_change_se``), as
        ``LMMResult.patient_coefficients()`` gives them for ``measure``.
        Columns whose names start with ``n_`` (e.g. ``n_pre``, numbers of
        assessments) are quoted in the notes.
    concordance_with : str, optional
        Second measure for the concordance column (e.g. ``"RULM"``); the
        classes follow the meaningful thresholds (``threshold``, else the
        registry).
    threshold : float or dict, optional
        Thresholds for the concordance classes.
    concordance_rule : {"threshold", "reliable"}
        How the concordance classes each change: by the meaningful threshold,
        or by the reliable change (beyond measurement error, with ``sem`` for
        both measures), as :func:`~sma_outcomes.stats.agreement.concordance`'s
        ``rule``. ``"reliable"`` serves scales without a registered threshold,
        such as the Purdue Pegboard.
    sma_type : int or str, optional
        SMA type of every patient, for a table without an ``sma_type`` column.
    level : float
        Level of every interval and of the reliable change.
    sd_scaling : {"proportional", "sqrt"}
        As in :func:`~sma_outcomes.stats.compare_to_reference`.

    Returns
    -------
    DataFrame
        One row per patient (those with an analysed row of ``measure``, and
        those in ``slopes``), columns :data:`VERDICT_COLUMNS`:

        - ``pre_slope``, ``on_slope``, ``slope_change``, ``slope_change_se``
          from ``slopes``; ``slope_change_low``/``_high``: slope_change +/- z
          x se (normal, conditional on the model); ``slope_verdict``:
          ``"better on treatment"`` when the interval lies wholly on the good
          side of 0 (direction of the scale), ``"worse on treatment"`` on the
          bad side, ``"no clear difference"``, ``""`` without slopes;
        - ``change`` at ``timepoint``; ``rci``, ``mdc``, ``sem_source``,
          ``reliable_change`` as in :func:`~sma_outcomes.stats.reliable_change`;
        - ``reference``, ``expected_change``, ``pi_low``, ``pi_high``,
          ``observed_minus_expected``, ``ome_low``, ``ome_high``,
          ``versus_expected`` as in
          :func:`~sma_outcomes.stats.compare_to_reference`;
        - ``concordance_measure``, ``concordance_change`` and ``concordance``
          (category of :func:`~sma_outcomes.stats.agreement.concordance`);
        - ``notes``: the patient's findings in plain words.

        Columns without input are NaN or ``""``. Read with
        :data:`VERDICT_NOTES`.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from sma_outcomes import load_example, assign_timepoints, change_from_baseline
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     changes = change_from_baseline(assign_timepoints(load_example("cohort")))
    >>> slopes = pd.DataFrame({"patient_id": ["C001", "C002"], "pre_slope": [-0.05, -0.04],
    ...     "slope_change": [0.30, 0.10], "on_slope": [0.25, 0.06],
    ...     "slope_change_se": [0.10, 0.08]})
    >>> v = patient_verdicts(changes, "HFMSE", timepoint="Month 14",
    ...                      sem={"HFMSE": (1.0, "example SEM")},
    ...                      reference="mercuri2016_hfmse", slopes=slopes,
    ...                      concordance_with="RULM")
    >>> v[["patient_id", "slope_verdict", "change", "reliable_change"]].head(2)
      patient_id        slope_verdict  change       reliable_change
    0       C001  better on treatment     3.0  reliable improvement
    1       C002  no clear difference     4.0  reliable improvement
    >>> v[["versus_expected", "concordance"]].head(2)
             versus_expected               concordance
    0  within expected range  one improved, one stable
    1  within expected range             both improved
    >>> print(v["notes"].iloc[0])  # doctest: +NORMALIZE_WHITESPACE
    Slope per model time unit: -0.05 before, 0.25 on treatment; change +0.3 (95% interval
    0.1 to 0.5), better on treatment. Change at Month 14: +3 points, beyond measurement
    error (MDC 2.8; SEM given: example SEM). Untreated patients (mercuri2016_hfmse) would
    change by -0.7 points (95% prediction interval -7.4 to 6); this patient is within that
    range. HFMSE and RULM: one improved, one stable.
    """
    level = check_level(level)
    measure = pick_measure(analysed_rows(data), measure, func="patient_verdicts")
    if timepoint is None:
        timepoint = last_common_timepoint(data, [measure])
    try:
        scale = get_scale(measure)
    except KeyError:
        scale = None
    higher = True if scale is None else scale.higher_is_better
    unit = "" if scale is None else scale.unit

    rows = analysed_rows(data)
    patients = list(pd.unique(rows.loc[(rows[schema.MEASURE] == measure).to_numpy(),
                                       schema.PATIENT].to_numpy(dtype=object)))
    slope_t = None
    if slopes is not None:
        slope_t = _slopes_table(slopes, level)
        patients += [p for p in slope_t.index if p not in set(patients)]
    out = pd.DataFrame({"patient_id": patients, "measure": measure, "timepoint": timepoint})
    out = out.reindex(columns=list(VERDICT_COLUMNS))
    out["measure"], out["timepoint"] = measure, timepoint
    for col in ("slope_verdict", "sem_source", "reliable_change", "reference",
                "versus_expected", "concordance_measure", "concordance"):
        out[col] = ""
    out = out.set_index("patient_id", drop=False)
    notes: dict[str, list[str]] = {p: [] for p in patients}

    # Slopes
    if slope_t is not None:
        counts = [c for c in slope_t.columns if str(c).startswith("n_")]
        for col in ("pre_slope", "on_slope", "slope_change", "slope_change_se",
                    "slope_change_low", "slope_change_high", *counts):
            out[col] = pd.to_numeric(slope_t[col], errors="coerce").reindex(out.index)
        pct = plain_number(round(level * 100, 1))
        num = {c: pd.to_numeric(slope_t[c], errors="coerce").to_numpy(dtype=float)
               for c in ("pre_slope", "on_slope", "slope_change", "slope_change_low",
                         "slope_change_high", *counts)}
        verdicts: dict[str, str] = {}
        for i, p in enumerate(slope_t.index):
            lo, hi = num["slope_change_low"][i], num["slope_change_high"][i]
            if not (math.isfinite(lo) and math.isfinite(hi)):
                notes[p].append("Slope change not estimable.")
                continue
            good_lo, good_hi = (lo, hi) if higher else (-hi, -lo)
            verdict = (_SLOPE_LABELS[0] if good_lo > 0 else
                       _SLOPE_LABELS[2] if good_hi < 0 else _SLOPE_LABELS[1])
            verdicts[p] = verdict
            based = ", ".join(f"{c} = {plain_number(num[c][i])}" for c in counts
                              if math.isfinite(num[c][i]))
            label = "Slope per model time unit" + (f" ({based})" if based else "")
            notes[p].append(
                f"{label}: {_fmt(num['pre_slope'][i], 2)} before, "
                f"{_fmt(num['on_slope'][i], 2)} on treatment; change "
                f"{_signed(float(num['slope_change'][i]), 2)} "
                f"({pct}% interval {_fmt(lo, 2)} to {_fmt(hi, 2)}), {verdict}.")
        out["slope_verdict"] = [verdicts.get(p, "") for p in out.index]

    # Reliable change
    rc = None
    try:
        resolve_sem(measure, sem, func="patient_verdicts")
    except OptionError:
        pass
    else:
        rc = reliable_change(data, sem, measures=measure, timepoint=timepoint, level=level)
        rc = rc.set_index("patient_id")
        for col in ("change", "rci", "mdc", "sem_source", "reliable_change"):
            out.loc[rc.index, col] = rc[col]
        for p, d, cls, mdc, src in zip(rc.index, rc["change"], rc["reliable_change"], rc["mdc"],
                                       rc["sem_source"], strict=True):
            beyond = {"reliable improvement": "beyond measurement error",
                      "reliable decline": "a decline beyond measurement error",
                      "no reliable change": "within measurement error"}[cls]
            notes[p].append(
                f"Change at {timepoint}: {_signed(float(d))}"
                f" {unit}, {beyond} (MDC {_fmt(mdc)}; SEM {src}).")

    # Change without reliable change
    if rc is None:
        at = rows.loc[((rows[schema.MEASURE] == measure)
                       & (rows[schema.TIMEPOINT].astype(str) == timepoint)).to_numpy()]
        ch = at.drop_duplicates(schema.PATIENT).set_index(schema.PATIENT)[schema.CHANGE]
        out.loc[ch.index.intersection(out.index), "change"] = ch
        for p, d in zip(out.index, pd.to_numeric(out["change"], errors="coerce"), strict=True):
            if math.isfinite(d):
                notes[p].append(f"Change at {timepoint}: {_signed(float(d))} {unit}; reliable "
                                f"change not assessed (no SEM for {measure}: pass sem=).")

    missing = out.index[pd.to_numeric(out["change"], errors="coerce").isna()]
    for p in missing:
        notes[p].append(f"No change from baseline of {measure} at {timepoint}.")

    # Natural history
    if reference is not None:
        cmp = compare_to_reference(data, reference, measures=measure, timepoint=timepoint,
                                   sma_type=sma_type, level=level, sd_scaling=sd_scaling)
        names = list(pd.unique(cmp["reference"].to_numpy(dtype=object)))
        if names:
            first = cmp.loc[cmp["reference"] == names[0]].set_index("patient_id")
            for col in ("reference", "expected_change", "pi_low", "pi_high",
                        "observed_minus_expected", "ome_low", "ome_high", "versus_expected"):
                out.loc[first.index, col] = first[col]
            pct = plain_number(round(level * 100, 1))
            for ref in names:
                sub = cmp.loc[cmp["reference"] == ref].set_index("patient_id")
                cols = ("expected_change", "note", "pi_low", "pi_high", "versus_expected")
                for p, *vals in zip(sub.index, *(sub[c] for c in cols), strict=True):
                    r = dict(zip(cols, vals, strict=True))
                    if not math.isfinite(r["expected_change"]):
                        notes[p].append(f"No expectation from {ref}: {r['note']}.")
                    elif ref == names[0]:
                        where = {"within expected range": "within that range",
                                 "better than expected": "better than that range",
                                 "worse than expected": "worse than that range"}
                        notes[p].append(
                            f"Untreated patients ({ref}) would change by "
                            f"{_fmt(r['expected_change'])} {unit} ({pct}% prediction interval "
                            f"{_fmt(r['pi_low'])} to {_fmt(r['pi_high'])}); this patient is "
                            f"{where[r['versus_expected']]}.")
                    else:
                        notes[p].append(f"Against {ref}: {r['versus_expected']}.")

    # Concordance
    if concordance_with is not None:
        c = concordance(data, (measure, concordance_with), timepoint=timepoint,
                        rule=concordance_rule, threshold=threshold, sem=sem, level=level)
        c = c.set_index("patient_id")
        out.loc[c.index, "concordance_measure"] = concordance_with
        out.loc[c.index, "concordance_change"] = c["second_change"]
        out.loc[c.index, "concordance"] = c["category"]
        for p, cat in zip(c.index, c["category"], strict=True):
            notes[p].append(f"{measure} and {concordance_with}: {cat}.")

    out["notes"] = [" ".join(notes[p]) for p in out.index]
    out = out.reset_index(drop=True)
    for col in ("pre_slope", "on_slope", "slope_change", "slope_change_se", "slope_change_low",
                "slope_change_high", "change", "rci", "mdc", "expected_change", "pi_low",
                "pi_high", "observed_minus_expected", "ome_low", "ome_high",
                "concordance_change"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["concordance_measure"] = np.where(out["concordance_measure"].isna(), "",
                                          out["concordance_measure"])
    return out[list(VERDICT_COLUMNS)]
