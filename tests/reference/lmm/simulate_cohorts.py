"""Simulate the SMA-like cohorts used as lme4/lmerTest reference cases (fixed seeds).

Run from the repository root: ``python tests/reference/lmm/simulate_cohorts.py``;
then ``Rscript tests/reference/lmm/lmm_reference.R`` prints the reference
numbers into ``lmm_reference.json``. The data are artificial.

HFMSE-like trajectories: intercept mean 25 (SD 15), slope 0.2 points/month
(SD 0.1), residual SD 1.5, irregular visit months (nominal 0, 2, 6, 10, 14, 18,
24, 30 with +-3 weeks jitter and missed visits), SMA type 2 or 3 (type 3 starts
higher).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
NOMINAL = np.array([0.0, 2, 6, 10, 14, 18, 24, 30])


def simulate(
    seed: int,
    n: int = 80,
    slope_sd: float = 0.1,
    corr: float = -0.3,
    dropout: bool = False,
    clip: bool = True,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sma_type = rng.choice(["2", "3"], size=n, p=[0.6, 0.4])
    sd_int = 15.0
    cov = np.array([[sd_int**2, corr * sd_int * slope_sd], [corr * sd_int * slope_sd, slope_sd**2]])
    b = (
        rng.multivariate_normal([0.0, 0.0], cov, size=n)
        if slope_sd > 0
        else np.c_[rng.normal(0.0, sd_int, n), np.zeros(n)]
    )
    rows = []
    for i in range(n):
        n_vis = len(NOMINAL)
        if dropout:
            n_vis = int(rng.integers(2, len(NOMINAL) + 1))
        for j in range(n_vis):
            if j > 0 and rng.random() < 0.15:
                continue  # missed visit
            day = NOMINAL[j] * 30.4375 + (rng.normal(0, 10) if j > 0 else 0.0)
            day = round(max(day, 0.0))
            months = day / 30.4375
            mu = 25.0 + 12.0 * (sma_type[i] == "3") + b[i, 0] + (0.2 + b[i, 1]) * months
            score = round(mu + rng.normal(0, 1.5), 1)
            if clip:  # the scale's range (0-66) makes floor effects
                score = float(np.clip(score, 0, 66))
            rows.append(
                {
                    "patient_id": f"P{i + 1:03d}",
                    "day": float(day),
                    "months": months,
                    "score": score,
                    "sma_type": sma_type[i],
                }
            )
    out = pd.DataFrame(rows)
    # age at first dose (years), a numeric covariate, from its own stream
    age = np.random.default_rng(seed + 1000).uniform(2.0, 40.0, n).round(1)
    out["age"] = age[out["patient_id"].str[1:].astype(int) - 1]
    if dropout:
        # a few scores not done (NaN) to exercise the exclusion count
        idx = rng.choice(len(out), size=6, replace=False)
        out.loc[idx, "score"] = np.nan
    return out


def main() -> None:
    simulate(seed=20241).to_csv(HERE / "sma_cohort.csv", index=False)
    simulate(seed=20242, dropout=True).to_csv(HERE / "sma_dropout.csv", index=False)
    simulate(seed=20243, slope_sd=0.0, clip=False).to_csv(HERE / "sma_singular.csv", index=False)


if __name__ == "__main__":
    main()
