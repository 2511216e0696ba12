"""Benchmark: unstructured MMRM, 6 post-baseline visits, 2,000 patients.

Times :func:`sma_outcomes.stats.mmrm.fit_mmrm` (REML, unstructured covariance,
Satterthwaite df and LS means) on a seeded simulation with monotone dropout, and,
when ``Rscript`` is on the PATH, ``nlme::gls`` with ``corSymm + varIdent`` (REML)
on the same data, printed side by side with the ratio. Run from the repository
root: ``python benchmarks/bench_mmrm.py [--patients 2000] [--repeat 3] [--r-repeat 1]``
(gls takes about 1.5 minutes per fit here, so R is timed once by default).
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

from sma_outcomes.stats.mmrm import fit_mmrm

VISITS = ["Month 6", "Month 10", "Month 14", "Month 18", "Month 22", "Month 26"]

R_CODE = r"""
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$timepoint <- factor(d$timepoint, levels = unique(d$timepoint[order(d$vnum)]))
d$arm <- factor(d$arm)
reps <- as.integer(args[2])
times <- numeric(reps)
for (i in seq_len(reps)) {
  times[i] <- system.time(
    fit <- gls(change ~ timepoint * arm + baseline, data = d, method = "REML",
               correlation = corSymm(form = ~ vnum | patient_id),
               weights = varIdent(form = ~ 1 | timepoint),
               control = glsControl(natural = FALSE))
  )[["elapsed"]]
}
cat(sprintf("%.6f\n", min(times)))
cat(sprintf("%.8f\n", -2 * as.numeric(logLik(fit))))
"""


def simulate(n_patients: int = 2000, seed: int = 2026) -> pd.DataFrame:
    """Seeded long data: arm, baseline, 6 visits, AR-like covariance, monotone dropout."""
    rng = np.random.default_rng(seed)
    k = len(VISITS)
    sd = np.linspace(3.0, 6.0, k)
    lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    cov = np.outer(sd, sd) * (0.7**lag + 0.1 * (lag > 0))
    arm = rng.choice(["Placebo", "Active"], n_patients)
    base = rng.integers(10, 55, n_patients).astype(float)
    eff = np.arange(1, k + 1) * 0.5
    mu = eff[None, :] + (arm == "Active")[:, None] * eff[None, :] - 0.05 * (base[:, None] - 30)
    y = mu + rng.multivariate_normal(np.zeros(k), cov, n_patients)
    last = np.where(rng.random(n_patients) < 0.3, rng.integers(1, k, n_patients), k)
    keep = np.arange(k)[None, :] < last[:, None]
    pid = np.repeat([f"P{i:05d}" for i in range(n_patients)], k)
    d = pd.DataFrame(
        {
            "patient_id": pid,
            "timepoint": np.tile(VISITS, n_patients),
            "vnum": np.tile(np.arange(1, k + 1), n_patients),
            "arm": np.repeat(arm, k),
            "baseline": np.repeat(base, k),
            "change": np.where(keep, y, np.nan).ravel(),
        }
    )
    return d.loc[d["change"].notna()].reset_index(drop=True)


def time_ours(d: pd.DataFrame, repeat: int) -> tuple[float, float]:
    data = d.assign(timepoint=pd.Categorical(d["timepoint"], categories=VISITS, ordered=True))
    best = np.inf
    fit = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_mmrm(data, arm="arm", covariates=("baseline",))
            _ = fit.lsmeans
        best = min(best, time.perf_counter() - t0)
    return best, fit.m2ll


def time_r(d: pd.DataFrame, repeat: int) -> tuple[float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        script = Path(tmp) / "bench.R"
        d.to_csv(csv, index=False)
        script.write_text(R_CODE)
        out = subprocess.run(
            ["Rscript", str(script), str(csv), str(repeat)],
            capture_output=True, text=True, check=True,
        ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3, help="fits timed for ours (best of)")
    ap.add_argument("--r-repeat", type=int, default=1, help="fits timed for gls (best of)")
    args = ap.parse_args()
    d = simulate(args.patients)
    print(f"data: {d['patient_id'].nunique()} patients, {len(d)} observations, "
          f"{len(VISITS)} visits (unstructured: 21 covariance parameters)")
    ours, m2ll = time_ours(d, args.repeat)
    print(f"sma_outcomes fit_mmrm (REML, Satterthwaite df, LS means): {ours:8.3f} s   "
          f"-2 REML {m2ll:.6f}")
    r = time_r(d, args.r_repeat)
    if r is None:
        print("Rscript not found: nlme::gls not timed")
        return
    print(f"nlme::gls corSymm + varIdent (REML)                      : {r[0]:8.3f} s   "
          f"-2 REML {r[1]:.6f}")
    print(f"ratio ours / gls: {ours / r[0]:.3f}  (target <= 0.5)")


if __name__ == "__main__":
    main()
