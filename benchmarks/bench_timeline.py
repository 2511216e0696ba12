"""Timing of the timeline stage on a large simulated item-level cohort.

Builds ``n_patients`` x 8 visits (baseline, loading, 6 pre-maintenance visits,
with a few days' drift and one duplicate visit in ten patients) x 36 measures
(HFMSE total, 33 HFMSE items, PP preferred / non-preferred), fixed seed, then
times ``assign_timepoints``, ``change_from_baseline`` (on the timed table),
``dose_table`` and ``to_adam`` (in memory, and to .xpt).

Usage: ``python benchmarks/bench_timeline.py [n_patients]`` (default 2,000,
i.e. about 580,000 rows).
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sma_outcomes.exceptions import DataWarning
from sma_outcomes.timeline import assign_timepoints, change_from_baseline, dose_table, to_adam

MEASURES = ["HFMSE", *(f"HFMSE_{i:02d}" for i in range(1, 34)), "PP_PREF", "PP_NONPREF"]
VISIT_DAYS = [0, 50, 185, 307, 428, 550, 672, 793]


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


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = fn(*args, **kwargs)
    print(f"{label:<34s} {time.perf_counter() - t0:8.3f} s")
    return res


def main() -> None:
    n_patients = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    scores = simulate(n_patients)
    print(f"{n_patients} patients, {len(scores):,} rows, {len(MEASURES)} measures")
    timed_table = timed("assign_timepoints", assign_timepoints, scores)
    changes = timed("change_from_baseline (timed table)", change_from_baseline, timed_table)
    timed("change_from_baseline (one step)", change_from_baseline, scores)
    timed("dose_table", dose_table, scores)
    timed("to_adam (in memory)", to_adam, changes)
    with tempfile.TemporaryDirectory() as tmp:
        timed("to_adam (.xpt)", to_adam, changes, Path(tmp) / "admotor.xpt")
    print(f"analysed rows: {int(changes['analysed'].sum()):,}; flags:")
    print(changes["flag"].str.split(";").str[0].str.replace(r"\(.*", "", regex=True).value_counts().to_string())


if __name__ == "__main__":
    main()
