"""Timing of fit_lmm against lme4 on a large simulated cohort.

A random-slope REML fit, ``score ~ months + (1 + months | patient_id)``, on
20,000 patients x 8 visits (fixed seed). Prints our time and, when ``Rscript``
with lme4 is on the PATH, lme4's ``lmer`` time on the same data (timed inside R
with ``system.time``, data loading excluded) and the ratio.

Usage: ``python benchmarks/bench_lmm.py [--patients 20000] [--visits 8]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sma_outcomes.stats import fit_lmm

R_SCRIPT = r"""
suppressMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1], colClasses = c(patient_id = "character"))
fit <- NULL
tm <- system.time(fit <- lmer(score ~ months + (months | patient_id), data = d, REML = TRUE))
cat(sprintf("%.6f %.10f\n", tm[["elapsed"]], REMLcrit(fit)))
"""


def simulate(n_patients: int = 20_000, n_visits: int = 8, seed: int = 2024) -> pd.DataFrame:
    """HFMSE-like trajectories at irregular visit months."""
    rng = np.random.default_rng(seed)
    cov = np.array([[15.0**2, -0.3 * 15 * 0.1], [-0.3 * 15 * 0.1, 0.1**2]])
    b = rng.multivariate_normal([25.0, 0.2], cov, size=n_patients)
    nominal = np.array([0.0, 2, 6, 10, 14, 18, 24, 30, 36, 42, 48, 54])[:n_visits]
    months = nominal[None, :] + np.r_[0.0, np.ones(n_visits - 1)] * rng.normal(
        0, 0.3, (n_patients, n_visits)
    )
    months = np.maximum(months, 0.0)
    score = b[:, [0]] + b[:, [1]] * months + rng.normal(0, 1.5, months.shape)
    return pd.DataFrame(
        {
            "patient_id": np.repeat([f"P{i:05d}" for i in range(n_patients)], n_visits),
            "months": months.ravel(),
            "score": score.ravel(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=8)
    args = parser.parse_args()
    n_patients, n_visits = args.patients, args.visits
    data = simulate(n_patients, n_visits)
    print(f"random-slope REML fit, {n_patients} patients x {n_visits} visits ({len(data)} rows)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_lmm(data.iloc[:400])  # warm-up (imports)
        t0 = time.perf_counter()
        fit = fit_lmm(data)
        ours = time.perf_counter() - t0
    print(f"sma_outcomes.fit_lmm: {ours:.3f} s  (REML criterion {fit.reml_criterion:.6f})")
    if shutil.which("Rscript") is None:
        print("Rscript not found: lme4 not timed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        script = Path(tmp) / "bench.R"
        data.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv)], capture_output=True, text=True, check=False
        )
    if out.returncode != 0:
        print("lme4 run failed:", out.stderr.strip()[-500:])
        return
    r_time, r_crit = (float(v) for v in out.stdout.split()[-2:])
    print(f"lme4::lmer:           {r_time:.3f} s  (REML criterion {r_crit:.6f})")
    print(f"ratio ours / lme4:    {ours / r_time:.3f}")
    print(f"REML criterion ours - lme4: {fit.reml_criterion - r_crit:+.2e}")


if __name__ == "__main__":
    main()
