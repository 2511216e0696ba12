"""Timing of the timeline stage on a large simulated item-level cohort.

Builds ``n_patients`` x 8 visits (baseline, loading, 6 pre-maintenance visits,
with a few days' drift and one duplicate visit in ten patients) x 36 measures
(HFMSE total, 33 HFMSE items, PP preferred / non-preferred), fixed seed, then

1. times ``change_from_baseline`` in one step (assign + change) against
   :func:`reference`, a minimal vectorised implementation of the same rules
   written here (planned nusinersen schedule, calendar months, default
   windows), checks that both give identical answers and prints the ratio
   (best of ``--repeat`` runs each; the target is at most 2x);
2. times ``assign_timepoints``, ``change_from_baseline`` on the timed table,
   ``dose_table`` and ``to_adam`` (in memory, and to .xpt);
3. with intercurrent events for 30% of the patients (switches, surgery,
   death), times ``change_from_baseline(events=...)``, ``apply_estimand`` and
   ``patient_flow``.

Usage: ``python benchmarks/bench_timeline.py [n_patients] [--repeat 3]``
(default 3,460 patients, i.e. about 1,000,000 rows).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sma_outcomes.exceptions import DataWarning
from sma_outcomes.stats.estimand import Estimand, apply_estimand
from sma_outcomes.stats.flow import patient_flow
from sma_outcomes.timeline import (
    assign_timepoints,
    change_from_baseline,
    default_windows,
    dose_table,
    to_adam,
)

MEASURES = ["HFMSE", *(f"HFMSE_{i:02d}" for i in range(1, 34)), "PP_PREF", "PP_NONPREF"]
VISIT_DAYS = [0, 50, 185, 307, 428, 550, 672, 793]
COMPARED = ("day", "doses_before", "phase", "timepoint", "analysed", "flag",
            "baseline", "change", "pct_change", "is_baseline")


def simulate(n_patients: int, seed: int = 20261124) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pid = np.repeat([f"P{i:05d}" for i in range(n_patients)], len(VISIT_DAYS))
    day = np.tile(VISIT_DAYS, n_patients) + rng.integers(-3, 4, size=pid.size)
    day[::8] = np.minimum(day[::8], 0)  # baselines on or before day 0
    visits = pd.DataFrame({"patient_id": pid, "visit": np.tile([f"V{i}" for i in range(8)], n_patients), "day": day.astype(float)})
    extra = visits.iloc[2 : n_patients * 8 : 80].assign(day=lambda d: d["day"] + 9, visit="V2b")
    visits = pd.concat([visits, extra], ignore_index=True)
    n = len(visits)
    out = visits.loc[visits.index.repeat(len(MEASURES))].reset_index(drop=True)
    out["measure"] = np.tile(MEASURES, n)
    out["score"] = rng.integers(0, 3, size=len(out)).astype(float)
    out.loc[rng.random(len(out)) < 0.01, "score"] = np.nan
    out["missing_code"] = np.where(out["score"].isna(), "NT", "")
    out["date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(out["day"], unit="D")
    return out


# ----------------------------------------------------------------------------- reference
def _first_per_group(order: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Positions (in ``order``) of the first row of each run of equal keys."""
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    if len(order) > 1:
        for k in keys:
            ks = k[order]
            new[1:] |= ks[1:] != ks[:-1]
    return new


def reference(scores: pd.DataFrame) -> pd.DataFrame:
    """Minimal vectorised assign + change for the planned 12 mg nusinersen schedule.

    Rules (those of ``change_from_baseline`` with default arguments): day 0 is
    the first dose, the first-dose date is ``date - day``; loading doses on days
    0, 14, 28, 63, maintenance every 4 calendar months after dose 4 up to the
    patient's last assessment; an assessment on a dose day is before that dose;
    default windows moved per patient by (calendar - fixed-month day) of the
    anchor dose (target, hi) and of the dose before it (lo); one analysed row
    per patient x measure x timepoint (score first, closest, earlier, first);
    baseline = the last non-missing pre-treatment score on or before day 0.
    Assumes every row has a day and a date.
    """
    loading = np.array([0.0, 14.0, 28.0, 63.0])
    month = 30.4375
    out = scores.copy()
    pcode, puniq = pd.factorize(out["patient_id"])
    mcode = pd.factorize(out["measure"])[0]
    day = out["day"].to_numpy(float)
    n_pat = len(puniq)
    # first-dose date and last day per patient
    first_row = np.full(n_pat, len(out))
    np.minimum.at(first_row, pcode, np.arange(len(out)))
    origin = (out["date"].to_numpy("datetime64[D]") - day.astype("timedelta64[D]"))[first_row]
    last_day = np.full(n_pat, -np.inf)
    np.maximum.at(last_day, pcode, day)
    # maintenance days in calendar months after dose 4 (day clipped to the month's end)
    k_max = int(np.ceil((last_day.max() - 63.0) / 120.0)) + 2
    d4 = origin + np.timedelta64(63, "D")
    ym = d4.astype("datetime64[M]")
    dom = (d4 - ym.astype("datetime64[D]")).astype(int)
    k = np.arange(1, k_max + 1)
    tm = ym[:, None] + 4 * k[None, :]
    dim = ((tm + 1).astype("datetime64[D]") - tm.astype("datetime64[D]")).astype(int)
    maint = (tm.astype("datetime64[D]") + np.minimum(dom[:, None], dim - 1) - origin[:, None]).astype(float)
    maint[maint > last_day[:, None]] = np.inf  # not given
    fixed = np.floor(63.0 + 4 * k * month + 0.5)
    n_maint = np.isfinite(maint).sum(axis=1)
    # doses before each assessment
    nb = (loading[None, :] < day[:, None]).sum(axis=1) + (maint[pcode] < day[:, None]).sum(axis=1)
    phase = np.where(nb <= 0, "pre-treatment", np.where(nb < 4, "loading", "maintenance")).astype(object)
    # shift of anchor dose a (1-based): its calendar day - fixed day; past the last dose, the last
    shift_m = np.where(np.isfinite(maint), maint - fixed[None, :], 0.0)
    last_shift = np.where(n_maint > 0, shift_m[np.arange(n_pat), np.maximum(n_maint - 1, 0)], 0.0)
    max_shift = np.abs(shift_m[np.isfinite(maint)]).max(initial=0.0)
    windows = default_windows("nusinersen", until_day=float(day.max() + max_shift))

    def shift_of(a: int) -> np.ndarray:
        if a <= 4:
            return np.zeros(n_pat)
        j = a - 5
        if j >= k_max:
            return last_shift
        return np.where(j < n_maint, shift_m[:, j], last_shift)

    best = np.full(len(out), -1)
    best_dist = np.full(len(out), np.inf)
    for i, w in enumerate(windows.itertuples(index=False)):
        s_hi, s_lo = shift_of(int(w.anchor))[pcode], shift_of(int(w.anchor) - 1)[pcode]
        inside = (day >= w.lo + s_lo) & (day <= w.hi + s_hi)
        if w.hi <= 0:
            inside &= nb == 0
        dist = np.abs(day - (w.target + s_hi))
        better = inside & (dist < best_dist)
        best[better] = i
        best_dist[better] = dist[better]
    labels = list(windows["label"])[: best.max() + 1]
    # one analysed row per patient x measure x timepoint
    score = out["score"].to_numpy(float)
    missing = np.isnan(score)
    in_tp = np.flatnonzero(best >= 0)
    order = in_tp[np.lexsort((day[in_tp], best_dist[in_tp], missing[in_tp], best[in_tp],
                              mcode[in_tp], pcode[in_tp]))]
    first = _first_per_group(order, pcode, mcode, best)
    analysed = np.zeros(len(out), dtype=bool)
    analysed[order[first]] = True
    flag = np.full(len(out), "", dtype=object)
    flag[best < 0] = "unscheduled"
    chosen_day = day[order[first]][np.cumsum(first) - 1]
    dups = order[~first]
    flag[dups] = [f"duplicate in window ({labels[t]}); day {d:g} chosen"
                  for t, d in zip(best[dups], chosen_day[~first], strict=True)]
    code = out["missing_code"].to_numpy(object)
    miss = np.flatnonzero(analysed & missing)
    flag[miss] = [f"score missing ({c})" if c else "score missing" for c in code[miss]]
    # baseline: last non-missing pre-treatment score on or before day 0
    cand = np.flatnonzero(~missing & (day <= 0) & (nb == 0))
    order = cand[np.lexsort((~analysed[cand], -day[cand], mcode[cand], pcode[cand]))]
    first = _first_per_group(order, pcode, mcode)
    base_rows = order[first]
    is_base = np.zeros(len(out), dtype=bool)
    is_base[base_rows] = True
    n_mea = int(mcode.max()) + 1 if len(mcode) else 1
    base_by = np.full(n_pat * n_mea, np.nan)
    base_by[pcode[base_rows] * n_mea + mcode[base_rows]] = score[base_rows]
    base = base_by[pcode * n_mea + mcode]
    change = score - base
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base == 0, np.nan, 100.0 * change / base)
    for mask, text in ((np.isnan(base), "no baseline"), ((base == 0) & ~missing, "baseline is 0")):
        cur = flag[mask]
        flag[mask] = np.where(cur == "", text, cur + "; " + text)
    out["doses_before"] = pd.array(nb, dtype="Int64")
    out["phase"] = phase
    out["timepoint"] = pd.Categorical.from_codes(best, categories=labels, ordered=True)
    out["analysed"] = analysed
    out["flag"] = pd.Series(flag, index=out.index).astype(str)
    out["baseline"] = base
    out["change"] = change
    out["pct_change"] = pct
    out["is_baseline"] = is_base
    return out


# ----------------------------------------------------------------------------- timing
def best_of(repeat: int, fn, *args, **kwargs):
    times, res = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            res = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times), res


def timed(label: str, fn, *args, **kwargs):
    t, res = best_of(1, fn, *args, **kwargs)
    print(f"{label:<38s} {t:8.3f} s")
    return res


def check_identical(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    for col in COMPARED:
        a, b = got[col], ref[col]
        if col == "timepoint":
            assert list(a.cat.categories) == list(b.cat.categories), "timepoint categories differ"
            a, b = a.cat.codes, b.cat.codes
        pd.testing.assert_series_equal(a, b, check_names=False, check_dtype=col != "phase")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_patients", nargs="?", type=int, default=3460)
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    args = parser.parse_args()
    scores = simulate(args.n_patients)
    print(f"{args.n_patients} patients, {len(scores):,} rows, {len(MEASURES)} measures")
    t_ref, ref = best_of(args.repeat, reference, scores)
    t_pkg, got = best_of(args.repeat, change_from_baseline, scores)
    check_identical(got, ref)
    print(f"{'reference (minimal vectorised)':<38s} {t_ref:8.3f} s")
    print(f"{'change_from_baseline (one step)':<38s} {t_pkg:8.3f} s")
    print(f"ratio change_from_baseline / reference: {t_pkg / t_ref:.2f}x (target <= 2x); "
          "answers identical")
    timed_table = timed("assign_timepoints", assign_timepoints, scores)
    changes = timed("change_from_baseline (timed table)", change_from_baseline, timed_table)
    timed("dose_table", dose_table, scores)
    timed("to_adam (in memory)", to_adam, changes)
    with tempfile.TemporaryDirectory() as tmp:
        timed("to_adam (.xpt)", to_adam, changes, Path(tmp) / "admotor.xpt")
    rng = np.random.default_rng(7)
    pids = scores["patient_id"].unique()
    who = rng.choice(pids, len(pids) * 3 // 10, replace=False)
    events = pd.DataFrame({"patient_id": who, "day": rng.integers(50, 700, len(who)).astype(float),
                           "event": rng.choice(["death", "scoliosis_surgery", "treatment_switch",
                                                "feeding_tube"], len(who))})
    events["detail"] = np.where(events["event"] == "treatment_switch", "risdiplam", "")
    with_events = timed("change_from_baseline (events=)", change_from_baseline, scores,
                        events=events)
    estimand = Estimand({"scoliosis_surgery": "hypothetical", "death": "composite"})
    timed("apply_estimand", apply_estimand, with_events, events, estimand)
    timed("patient_flow", patient_flow, with_events, events, cutoff=700)
    print(f"analysed rows: {int(changes['analysed'].sum()):,}; flags:")
    print(changes["flag"].str.split(";").str[0].str.replace(r"\(.*", "", regex=True).value_counts().to_string())


if __name__ == "__main__":
    main()
