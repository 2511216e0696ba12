"""Imputation strategies after an intercurrent event (Carpenter, Roger & Kenward 2013).

Each patient has a first affected visit ``t`` (``d`` when none) and a strategy.
From the patient's own-arm means ``own`` and the means the patient would have
in the reference arm ``ref`` (same covariates, arm set to the reference), the
mean vector of the imputation distribution is:

- ``MAR``: ``own`` at every visit;
- ``JR`` (jump to reference): ``own`` before ``t``, ``ref`` from ``t`` on;
- ``CR`` (copy reference): ``ref`` at every visit, before the event too;
- ``CIR`` (copy increments in reference): ``own`` before ``t``, then
  ``own[t-1] + ref[j] - ref[t-1]``; ``ref`` when the first visit is affected;
- ``LMCF`` (last mean carried forward): ``own`` before ``t``, then ``own[t-1]``.

The covariance is the one shared by all arms, as rbmi's default ``same_cov``.

Examples
--------
>>> import numpy as np
>>> own = np.array([[1.0, 2.0, 3.0]]); ref = np.array([[0.0, 0.5, 1.0]])
>>> strategy_means(own, ref, np.array([1]), np.array(["CIR"])).tolist()
[[1.0, 1.5, 2.0]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..._shared import natural_key
from ...exceptions import DataError, OptionError
from .data import MIData

#: Strategy codes and their plain names.
STRATEGIES: dict[str, str] = {
    "MAR": "missing at random",
    "JR": "jump to reference",
    "CR": "copy reference",
    "CIR": "copy increments in reference",
    "LMCF": "last mean carried forward",
}

_ALIASES = {"JTR": "JR", "J2R": "JR", "CIREF": "CIR"}


def strategy_code(name: object) -> str:
    """Canonical strategy code (case-insensitive; ``J2R`` and ``JTR`` mean ``JR``).

    Examples
    --------
    >>> strategy_code("j2r"), strategy_code("MAR")
    ('JR', 'MAR')
    """
    key = str(name).strip().upper()
    key = _ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise OptionError(
            f"unknown strategy {name!r}; use one of {list(STRATEGIES)} "
            "(MAR, jump to reference, copy reference, copy increments in reference, "
            "last mean carried forward)"
        )
    return key


def strategy_means(own: np.ndarray, ref: np.ndarray, first: np.ndarray,
                   strategy: np.ndarray) -> np.ndarray:
    """Mean vectors (n, d) of the imputation distribution per patient.

    Parameters
    ----------
    own, ref : ndarray (n, d)
        Means in the patient's own arm and in the reference arm.
    first : ndarray (n,) of int
        Index of the first affected visit (``d``: no event).
    strategy : ndarray (n,) of str
        Strategy codes.

    Examples
    --------
    >>> own = np.array([[1.0, 2.0, 3.0]] * 4); ref = np.zeros((4, 3))
    >>> strategy_means(own, ref, np.array([1, 1, 1, 3]),
    ...                np.array(["JR", "CR", "LMCF", "JR"])).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]
    """
    n, d = own.shape
    j = np.arange(d)[None, :]
    after = j >= first[:, None]
    mu = own.copy()
    for code in np.unique(strategy):
        sel = (strategy == code) & (first < d)
        if not sel.any() or code == "MAR":
            continue
        a = after[sel]
        if code == "JR":
            mu[sel] = np.where(a, ref[sel], own[sel])
        elif code == "CR":
            mu[sel] = ref[sel]
        elif code in ("CIR", "LMCF"):
            t = first[sel]
            if code == "LMCF" and (t == 0).any():
                raise DataError(
                    "LMCF (last mean carried forward) needs a visit before the event: "
                    f"{int((t == 0).sum())} patient(s) have their event at the first visit"
                )
            last = np.maximum(t - 1, 0)
            rows = np.arange(len(t))
            own_last = own[sel][rows, last][:, None]
            if code == "CIR":
                ref_last = ref[sel][rows, last][:, None]
                new = np.where(a, own_last + ref[sel] - ref_last, own[sel])
                new[t == 0] = ref[sel][t == 0]
            else:
                new = np.where(a, own_last, own[sel])
            mu[sel] = new
    return mu


def patient_strategies(
    md: MIData,
    ice: pd.DataFrame | None,
    strategies: str | Mapping[str, str] | None,
    references: Mapping[object, object] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """First affected visit, strategy and reference arm of every patient.

    ``ice`` has the group and visit columns (the first affected visit) and
    ``strategy``; ``strategies`` is one code for every event, or a mapping from
    the values of the ``strategy`` (or ``event``) column to codes.

    Returns ``first`` (n,), ``strategy`` (n,), ``ref_code`` (n,) and notes.

    Examples
    --------
    >>> d = pd.DataFrame({"id": ["a", "a", "b", "b"], "v": [1, 2] * 2,
    ...                   "trt": ["T", "T", "C", "C"], "y": [1.0, None, 2.0, 3.0]})
    >>> from sma_outcomes.stats.mi.data import prepare_data
    >>> md = prepare_data(d, y="y", visit="v", group="id", arm="trt", columns=[])
    >>> ice = pd.DataFrame({"id": ["a"], "v": [2], "strategy": ["JR"]})
    >>> first, strat, ref, _ = patient_strategies(md, ice, None, {"T": "C"})
    >>> first.tolist(), strat.tolist(), ref.tolist()
    ([1, 2], ['JR', 'MAR'], [0, 0])
    """
    n, d = md.n, md.d
    first = np.full(n, d, dtype=np.int64)
    strategy = np.array(["MAR"] * n, dtype=object)
    notes: list[str] = []
    if ice is not None:
        if not isinstance(ice, pd.DataFrame):
            raise TypeError(f"`ice` must be a DataFrame, got {type(ice).__name__}")
        need = [md.group, md.visit]
        missing = [c for c in need if c not in ice.columns]
        if missing:
            raise DataError(
                f"`ice` needs the columns {need} and 'strategy' (one row per patient: the "
                f"first visit affected by the event); it lacks {missing}"
            )
        if ice[md.group].duplicated().any():
            dups = ice.loc[ice[md.group].duplicated(), md.group].head(5).tolist()
            raise DataError(f"`ice` must have one row per patient; repeated: {dups}")
        if isinstance(strategies, str):
            codes = pd.Series([strategy_code(strategies)] * len(ice), index=ice.index)
        else:
            col = "strategy" if "strategy" in ice.columns else (
                "event" if "event" in ice.columns and strategies is not None else None)
            if col is None:
                raise DataError(
                    "`ice` needs a 'strategy' column, or pass `strategies=` (one code for "
                    "every event, or a mapping from the 'event' column to codes)"
                )
            raw = ice[col]
            if strategies is not None:
                unknown = sorted({str(v) for v in raw if v not in strategies})
                if unknown:
                    raise DataError(f"`strategies` has no entry for {unknown} of ice[{col!r}]")
                raw = raw.map(strategies)
            codes = raw.map(strategy_code)
        pos = {k: i for i, k in enumerate(md.ids)}
        vpos = {v: j for j, v in enumerate(md.visits)}
        vstr = {str(v): j for j, v in enumerate(md.visits)}
        bad_p = [p for p in ice[md.group] if p not in pos]
        if bad_p:
            raise DataError(f"`ice` names patient(s) not in the data: {bad_p[:10]}")
        for p, v, c in zip(ice[md.group], ice[md.visit], codes, strict=True):
            j = vpos.get(v, vstr.get(str(v)))
            if j is None:
                raise DataError(
                    f"`ice`: visit {v!r} of patient {p!r} is not a visit of the data "
                    f"({md.visits})"
                )
            first[pos[p]] = j
            strategy[pos[p]] = c
    ref_code = md.arm_code.copy()
    non_mar = (strategy != "MAR") & (first < d)
    needs_ref = np.isin(strategy, ["JR", "CR", "CIR"]) & non_mar
    if references is not None:
        if md.arm is None:
            raise OptionError("`references` maps arms to reference arms; pass `arm=` too")
        arms = list(md.arms or [])
        lookup = {str(a): a for a in arms}
        for a, r in references.items():
            if str(a) not in lookup or str(r) not in lookup:
                raise DataError(
                    f"`references`: {a!r} -> {r!r} names an arm not in the data ({arms})"
                )
        mapping = {arms.index(lookup[str(a)]): arms.index(lookup[str(r)])
                   for a, r in references.items()}
        ref_code = np.array([mapping.get(int(c), int(c)) for c in md.arm_code], dtype=np.int64)
        own_ref = [str(a) for i, a in enumerate(arms) if mapping.get(i, i) == i]
        if own_ref:
            notes.append(
                f"{', '.join(own_ref)}: its own reference arm (JR, CR and CIR impute its "
                "patients as MAR)"
            )
    elif needs_ref.any():
        if md.arm is None:
            raise OptionError(
                "the strategies JR, CR and CIR need a reference arm, and there is no `arm`: "
                "in a single-arm cohort use MAR, LMCF or a delta adjustment (`delta=`)"
            )
        raise OptionError(
            "the strategies JR, CR and CIR need `references=`, a mapping from each arm to "
            f"its reference arm, e.g. {{'{md.arms[-1]}': '{md.arms[0]}'}}"
        )
    if non_mar.any():
        counts = pd.Series(strategy[non_mar]).value_counts()
        parts = [f"{STRATEGIES[k]} ({k}) for {v} patient(s)"
                 for k, v in sorted(counts.items(), key=lambda kv: natural_key(kv[0]))]
        notes.append("after an intercurrent event: " + "; ".join(parts))
    return first, strategy, ref_code, notes
