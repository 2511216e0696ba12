"""Cross-scale concordance: do two scales tell the same story for a patient?

Where two measures are both assessed (HFMSE and RULM, or HFMSE and a Purdue
Pegboard hand), :func:`concordance` classes each patient's change on each
measure as improved, stable or declined, and names the pair's category at
each timepoint: both improved, both stable, both declined, one changed while
the other was stable, or opposite directions. Coratti et al. report the same
grouping for 12-month HFMSE and RULM changes in untreated SMA types 2 and 3
(stable within +/-2 points, improved > +2, declined < -2; Muscle Nerve 2021,
"Different trajectories in upper limb and gross motor function in spinal
muscular atrophy", PMC9291175).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import schema
from .._shared import check_choice, check_level, measures_in, plain_number
from ..exceptions import MeasureError, OptionError
from ..registry import get_scale
from ._input import analysed_rows
from .reliable import RELIABLE_CLASSES, SemSpec, change_rows, reliable_change

__all__ = ["concordance", "CONCORDANCE_COLUMNS", "CONCORDANCE_CATEGORIES"]

#: Columns of the table returned by :func:`concordance`, in order.
CONCORDANCE_COLUMNS: tuple[str, ...] = (
    "patient_id", "timepoint", "first_measure", "first_change", "first_class",
    "second_measure", "second_change", "second_class", "category", "agreement", "rule",
    "definition",
)

#: Categories of a pair of classes, and their agreement.
CONCORDANCE_CATEGORIES: dict[str, str] = {
    "both improved": "concordant",
    "both stable": "concordant",
    "both declined": "concordant",
    "one improved, one stable": "discordant",
    "one declined, one stable": "discordant",
    "opposite directions": "opposite",
}

_FROM_RELIABLE = {RELIABLE_CLASSES[0]: "improved", RELIABLE_CLASSES[1]: "stable",
                  RELIABLE_CLASSES[2]: "declined"}


def _pair(a: str, b: str) -> str:
    if a == b:
        return f"both {a}"
    if "stable" in (a, b):
        other = a if b == "stable" else b
        return f"one {other}, one stable"
    return "opposite directions"


def _default_measures(data: pd.DataFrame) -> list[str]:
    present = measures_in(analysed_rows(data))
    if "HFMSE" in present and "RULM" in present:
        return ["HFMSE", "RULM"]
    raise MeasureError("concordance() compares two measures and the data do not have both "
                       f"HFMSE and RULM; pass measures=, e.g. ('HFMSE', 'PP_PREF'), from "
                       f"{present}")


def _by_threshold(rows: pd.DataFrame, measure: str, threshold) -> tuple[np.ndarray, str]:
    given = threshold.get(measure) if isinstance(threshold, Mapping) else threshold
    try:
        scale = get_scale(measure)
    except KeyError:
        scale = None
    higher = True if scale is None else scale.higher_is_better
    if given is None:
        if scale is None or scale.threshold is None:
            raise OptionError(f"concordance(): no clinically meaningful threshold is registered "
                              f"for {measure!r}; pass threshold={{{measure!r}: <points>}} or use "
                              "rule='reliable' with sem=")
        given = scale.threshold
    thr = float(given)
    if not thr > 0:
        raise OptionError(f"threshold for {measure!r} must be positive, not {given!r}")
    d = rows[schema.CHANGE].to_numpy(dtype=float)
    good = d if higher else -d
    tol = 1e-9 * max(1.0, thr)
    cls = np.where(good >= thr - tol, "improved",
                   np.where(good <= -thr + tol, "declined", "stable"))
    sign = "" if higher else "-"
    t = plain_number(thr)
    return cls, f"{measure}: improved if {sign}change >= {t}, declined if {sign}change <= -{t}"


def concordance(
    data: pd.DataFrame,
    measures: Sequence[str] | None = None,
    *,
    rule: str = "threshold",
    threshold: float | Mapping[str, float] | None = None,
    sem: SemSpec = None,
    timepoint: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per-patient concordance of the changes on two measures at each timepoint.

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``).
    measures : pair of str, optional
        The two measures; default ``("HFMSE", "RULM")`` when both are present.
    rule : {"threshold", "reliable"}
        How each change is classed:

        - ``"threshold"``: improved when the change reaches the clinically
          meaningful threshold in the good direction of the scale (change >=
          threshold, as :func:`~sma_outcomes.stats.responders`), declined when
          it reaches it in the bad direction, stable otherwise. Thresholds come
          from ``threshold`` or the registry (HFMSE 3, RULM 2). Coratti et al.
          class > +2 as improved on both scales; with integer scores that is
          ``threshold=3``.
        - ``"reliable"``: the class of :func:`~sma_outcomes.stats.reliable_change`
          (beyond measurement error), which needs ``sem``.
    threshold : float or dict, optional
        For ``rule="threshold"``: one threshold for both measures or one per measure.
    sem : float or dict, optional
        For ``rule="reliable"``: as in :func:`~sma_outcomes.stats.reliable_change`.
    timepoint : str or sequence of str, optional
        Timepoints; default every timepoint after baseline.
    level : float
        For ``rule="reliable"``: confidence level of the reliable change.

    Returns
    -------
    DataFrame
        One row per patient x timepoint at which both measures have a change,
        columns :data:`CONCORDANCE_COLUMNS`: ``first_measure``,
        ``first_change``, ``first_class`` (``"improved"``, ``"stable"``,
        ``"declined"``) and the same for ``second_``; ``category`` (a key of
        :data:`CONCORDANCE_CATEGORIES`); ``agreement`` (``"concordant"``: same
        class; ``"discordant"``: one changed, the other stable;
        ``"opposite"``); ``rule`` and ``definition`` (the rule in words).

    Examples
    --------
    >>> import warnings
    >>> from sma_outcomes import load_example, assign_timepoints, change_from_baseline
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     changes = change_from_baseline(assign_timepoints(load_example("cohort")))
    >>> c = concordance(changes, timepoint="Month 14")
    >>> c[["patient_id", "first_class", "second_change", "second_class", "category"]].head(3)
      patient_id first_class  second_change second_class                  category
    0       C001    improved           -1.0       stable  one improved, one stable
    1       C002    improved            2.0     improved             both improved
    2       C003      stable            1.0       stable               both stable
    >>> c["agreement"].value_counts().to_dict()
    {'concordant': 43, 'discordant': 25, 'opposite': 4}
    """
    check_choice("rule", rule, ("threshold", "reliable"))
    level = check_level(level)
    pair = _default_measures(data) if measures is None else list(measures)
    if isinstance(measures, str) or len(pair) != 2 or pair[0] == pair[1]:
        raise OptionError(f"`measures` takes two different measure codes, not {measures!r}")
    rows = change_rows(data, pair, timepoint, func="concordance")
    classed = {}
    definitions = []
    if rule == "reliable":
        rc = reliable_change(data, sem, measures=pair, timepoint=timepoint, level=level)
        for m in pair:
            sub = rc.loc[rc["measure"] == m]
            classed[m] = pd.DataFrame({
                schema.PATIENT: sub["patient_id"].to_numpy(),
                schema.TIMEPOINT: sub["timepoint"].to_numpy(),
                "change": sub["change"].to_numpy(dtype=float),
                "class": sub["reliable_change"].map(_FROM_RELIABLE).to_numpy(),
            })
            if len(sub):
                definitions.append(f"{m}: |RCI| > {sub['z'].iloc[0]:.2f} with SEM "
                                   f"{plain_number(round(float(sub['sem'].iloc[0]), 3))} "
                                   f"({sub['sem_source'].iloc[0]})")
    else:
        for m in pair:
            sub = rows.loc[(rows[schema.MEASURE] == m).to_numpy()]
            cls, text = _by_threshold(sub, m, threshold)
            classed[m] = pd.DataFrame({
                schema.PATIENT: sub[schema.PATIENT].to_numpy(),
                schema.TIMEPOINT: sub[schema.TIMEPOINT].astype(str).to_numpy(),
                "change": sub[schema.CHANGE].to_numpy(dtype=float),
                "class": cls,
            })
            definitions.append(text)
    a, b = pair
    both = classed[a].merge(classed[b], on=[schema.PATIENT, schema.TIMEPOINT],
                            suffixes=("_1", "_2"))
    category = [_pair(x, y) for x, y in zip(both["class_1"], both["class_2"], strict=True)]
    out = pd.DataFrame({
        "patient_id": both[schema.PATIENT].to_numpy(),
        "timepoint": both[schema.TIMEPOINT].to_numpy(),
        "first_measure": a,
        "first_change": both["change_1"].to_numpy(dtype=float),
        "first_class": both["class_1"].to_numpy(),
        "second_measure": b,
        "second_change": both["change_2"].to_numpy(dtype=float),
        "second_class": both["class_2"].to_numpy(),
        "category": category,
        "agreement": [CONCORDANCE_CATEGORIES[c] for c in category],
        "rule": rule,
        "definition": "; ".join(definitions),
    }, columns=list(CONCORDANCE_COLUMNS))
    return out
