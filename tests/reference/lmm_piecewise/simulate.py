"""Simulate the interrupted-time-series cohorts of the piecewise LMM references (fixed seeds).

Run from the repository root: ``python tests/reference/lmm_piecewise/simulate.py``,
then ``Rscript tests/reference/lmm_piecewise/piecewise_reference.R``. The data
are artificial.

HFMSE-like: time in months since the first dose (negative before it); 0 to 3
assessments before the first dose (at about -18, -12 and -6 months; patients
with none are kept), one at the first dose and on-treatment visits at 2, 6,
10, 14, 18 and 24 months (+-3 weeks jitter, some missed). Untreated decline
about 0.04 points/month (half a point a year), slope change +0.15 at the first
dose. ``sma_pre.csv``: random intercept (SD 12), pre-slope (SD 0.05) and slope
change (SD 0.08), correlated. ``sma_pre_singular.csv``: no between-patient
variation in the slopes (the fits are singular). Columns ``patient_id, months,
score, sma_type, n_pre``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PRE = np.array([-18.0, -12.0, -6.0])
ON = np.array([0.0, 2, 6, 10, 14, 18, 24])


def simulate(seed: int, n: int, sds: tuple[float, float, float], resid: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    corr = np.array([[1.0, -0.3, 0.2], [-0.3, 1.0, -0.4], [0.2, -0.4, 1.0]])
    sd = np.asarray(sds)
    b = rng.multivariate_normal(np.zeros(3), corr * np.outer(sd, sd), size=n)
    rows = []
    for i in range(n):
        n_pre = int(rng.choice([0, 1, 2, 3], p=[0.2, 0.3, 0.3, 0.2]))
        times = np.r_[PRE[3 - n_pre :], ON]
        times = times + np.where(times != 0, rng.normal(0, 0.7, len(times)), 0.0)
        keep = (times <= 0) | (rng.random(len(times)) > 0.1)
        times = np.round(times[keep], 3)
        sma_type = "3" if rng.random() < 0.4 else "2"
        mu = 25.0 + (10.0 if sma_type == "3" else 0.0) + b[i, 0]
        slope_pre = -0.04 + b[i, 1]
        change = 0.15 + b[i, 2]
        y = mu + slope_pre * times + change * np.maximum(times, 0.0)
        y = y + rng.normal(0.0, resid, len(times))
        for t, v in zip(times, y, strict=True):
            rows.append(
                {"patient_id": f"S{i + 1:03d}", "months": t, "score": round(float(v), 4),
                 "sma_type": sma_type, "n_pre": int((times < 0).sum())}
            )
    return pd.DataFrame(rows)


def cohort_hfmse() -> pd.DataFrame:
    """HFMSE of the bundled sample cohort (data/sample/cohort.csv), months = day / 30.4375."""
    cohort = pd.read_csv(HERE.parents[2] / "data" / "sample" / "cohort.csv",
                         dtype={"patient_id": str, "score": str})
    h = cohort[cohort["measure"] == "HFMSE"].assign(
        score=lambda d: pd.to_numeric(d["score"], errors="coerce"))
    h = h.dropna(subset=["score"])
    return pd.DataFrame({"patient_id": h["patient_id"], "months": h["day"] / 30.4375,
                         "score": h["score"].astype(float)})


if __name__ == "__main__":
    simulate(14, 60, (12.0, 0.05, 0.08), 1.5).to_csv(HERE / "sma_pre.csv", index=False)
    simulate(15, 40, (12.0, 0.0, 0.0), 1.5).to_csv(HERE / "sma_pre_singular.csv", index=False)
    cohort_hfmse().to_csv(HERE / "cohort_hfmse.csv", index=False)
