"""Timing of fit_mi (conditional mean imputation, jackknife) on a simulated trial.

400 patients x 6 visits (fixed seed), two arms, a baseline covariate, about a
quarter of the patients dropping out (monotone) with jump to reference from the
first missing visit; imputation model ``baseline*visit + arm*visit``
(unstructured covariance over 6 visits: 21 parameters, 24 coefficients),
ANCOVA per visit. Conditional mean imputation needs n + 1 = 401 REML fits of
the imputation model, so the obvious lower bound is 401 times one fit. Printed:
fit_mi's time, one cold fit of the imputation model (``fit_mmrm`` with the same
formula, and the lean REML fit fit_mi uses), one warm-started refit (what each
jackknife sample costs) and the ratios.

BLAS threads: the likelihood multiplies tall, thin matrices (observations x
coefficients); on a machine whose cores are busy, OpenBLAS's threads make those
products up to 100 times slower, so the benchmark runs single-threaded
(``OPENBLAS_NUM_THREADS=1`` unless set; ``--threads`` to change).

Usage: ``python benchmarks/bench_mi.py [--patients 400] [--visits 6] [--repeat 1]``
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # before numpy is imported
    for _i, _a in enumerate(sys.argv):
        if _a == "--threads" and _i + 1 < len(sys.argv):
            os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[_i + 1]
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sma_outcomes.stats import fit_mi, fit_mmrm  # noqa: E402
from sma_outcomes.stats.mi.model import fit_reml  # noqa: E402  (the lean fit inside fit_mi)


def simulate(n_patients: int = 400, n_visits: int = 6, seed: int = 2026) -> tuple[pd.DataFrame,
                                                                                  pd.DataFrame]:
    """Long table and the intercurrent events (first missing visit, JR)."""
    rng = np.random.default_rng(seed)
    visits = [f"Month {6 * (j + 1)}" for j in range(n_visits)]
    arm = np.where(np.arange(n_patients) % 2 == 0, "placebo", "drug")
    base = rng.normal(30.0, 8.0, n_patients)
    t = np.arange(1, n_visits + 1)
    rho = 0.7 ** np.abs(np.subtract.outer(t, t))
    sd = np.linspace(3.0, 5.0, n_visits)
    L = np.linalg.cholesky(rho * np.outer(sd, sd))
    mean = -0.05 * (base[:, None] - 30.0) + np.where(arm == "drug", 0.6, 0.1)[:, None] * t
    y = mean + rng.standard_normal((n_patients, n_visits)) @ L.T
    drop = np.full(n_patients, n_visits)
    leavers = rng.random(n_patients) < 0.25
    drop[leavers] = rng.integers(1, n_visits, leavers.sum())
    y[np.arange(n_visits)[None, :] >= drop[:, None]] = np.nan
    ids = np.array([f"P{i:04d}" for i in range(n_patients)])
    data = pd.DataFrame({
        "patient_id": np.repeat(ids, n_visits),
        "timepoint": pd.Categorical(np.tile(visits, n_patients), visits, ordered=True),
        "arm": np.repeat(arm, n_visits),
        "baseline": np.repeat(base, n_visits),
        "change": y.reshape(-1),
    })
    ice = pd.DataFrame({"patient_id": ids[leavers],
                        "timepoint": [visits[j] for j in drop[leavers]], "strategy": "JR"})
    return data, ice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--visits", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None,
                        help="OpenBLAS threads (default 1; set before numpy loads)")
    args = parser.parse_args()
    data, ice = simulate(args.patients, args.visits)
    kw = dict(arm="arm", ice=ice, references={"drug": "placebo"},
              formula="baseline*timepoint + arm*timepoint")
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        fit = fit_mi(data, **kw)
        times.append(time.perf_counter() - t0)
    t_mi = min(times)

    des, md, mask = fit.design, fit.md, fit.fit_mask
    t0 = time.perf_counter()
    full = fit_reml(md.Y, des.X_own, mask)
    t_cold = time.perf_counter() - t0
    reps = 20
    t0 = time.perf_counter()
    for i in range(reps):
        fit_reml(md.Y, des.X_own, mask, rows=np.delete(np.arange(md.n), i), start=full)
    t_warm = (time.perf_counter() - t0) / reps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        fit_mmrm(data, formula="change ~ baseline*timepoint + arm*timepoint", arm="arm",
                 fallback=False)
        t_mmrm = time.perf_counter() - t0
    n_fits = md.n + 1
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"fit_mi(method='condmean') on {md.n} patients x {md.d} visits "
          f"({fit.n_imputed} values imputed, {n_fits} REML fits): {t_mi:.2f} s")
    print(f"  one fit_mmrm (same model, Satterthwaite df): {t_mmrm:.3f} s "
          f"-> {n_fits} fits would take {n_fits * t_mmrm:.1f} s "
          f"(fit_mi: {t_mi / (n_fits * t_mmrm):.2f} x that)")
    print(f"  one cold REML fit of the imputation model: {t_cold:.3f} s "
          f"-> {n_fits} fits: {n_fits * t_cold:.1f} s (fit_mi: {t_mi / (n_fits * t_cold):.2f} x)")
    print(f"  one warm-started jackknife refit: {t_warm * 1e3:.1f} ms "
          f"-> {n_fits} refits: {n_fits * t_warm:.2f} s "
          f"(fit_mi: {t_mi / (n_fits * t_warm):.2f} x)")
    print(f"  difference at {fit.visits[-1]}: "
          + fit.differences.iloc[-1][["estimate", "se"]].round(4).to_string().replace("\n", ", "))


if __name__ == "__main__":
    main()
