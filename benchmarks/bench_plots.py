"""Benchmark: per-patient figures vs a bare matplotlib plot of the same lines.

For each of N synthetic patients (HFMSE, Purdue preferred and non-preferred
hand at six visits, nusinersen doses) this script times

1. ``plot_patient`` + ``save_figure`` (one PNG per patient),
2. a bare matplotlib figure with the same axes and lines, saved at the same
   PIXEL size and format (same inches, same dpi; the script checks the pixel
   sizes of the files and stops if they differ),
3. ``save_patient_figures`` over all cores.

The two are timed interleaved, patient by patient, so that load from other
processes hits both alike, and the ratio ours / bare is printed (target: at
most 2x, issue 12).

Usage::

    python benchmarks/bench_plots.py --patients 100 [--dpi 300] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sma_outcomes.plot import plot_patient, save_figure, save_patient_figures

VISITS = (("Baseline", -7), ("Loading", 45), ("Month 6", 183), ("Month 10", 305),
          ("Month 14", 427), ("Month 18", 549))
MEASURES = (("HFMSE", 25.0, 1.0), ("PP_PREF", 6.0, 0.9), ("PP_NONPREF", 4.0, 0.7))
DOSE_DAYS = (0, 14, 28, 63, 183, 305, 427, 549)


def make_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic score and dose tables for ``n`` patients."""
    rng = np.random.default_rng(seed)
    rows, doses = [], []
    for p in range(n):
        pid = f"P{p + 1:04d}"
        shift = rng.integers(-6, 7, len(VISITS))
        for m, base, step in MEASURES:
            b = base + rng.normal(0, 4 if m == "HFMSE" else 1.5)
            for k, (visit, day) in enumerate(VISITS):
                s = float(np.clip(np.round(b + step * k + rng.normal(0, 1)), 0, 25 if m != "HFMSE" else 66))
                code = ""
                if rng.random() < 0.05:
                    s, code = float("nan"), "NT"
                rows.append((pid, visit, float(day + shift[k]), m, s, code, "2"))
        for i, d in enumerate(DOSE_DAYS):
            doses.append((pid, float(d), i + 1, "loading" if i < 4 else "maintenance"))
    data = pd.DataFrame(rows, columns=["patient_id", "visit", "day", "measure", "score",
                                       "missing_code", "sma_type"])
    dose = pd.DataFrame(doses, columns=["patient_id", "day", "dose_number", "phase"])
    return data, dose


def bare(data: pd.DataFrame, pid: str, size: tuple[float, float], path: Path,
         dpi: float = 300) -> None:
    """The same lines, plainly: one axes per measure, one line each."""
    fig = Figure(figsize=size)
    rows = data[data["patient_id"] == pid]
    axes = fig.subplots(len(MEASURES), 1, sharex=True)
    for ax, (m, _, _) in zip(axes, MEASURES, strict=True):
        r = rows[rows["measure"] == m].sort_values("day")
        ax.plot(r["day"] / 30.4375, r["score"], marker="o")
        ax.set_ylabel(m)
    fig.savefig(path, dpi=dpi)


def _pixels(path: Path) -> tuple[int, int] | None:
    """Pixel size of a PNG (None for other formats)."""
    if path.suffix != ".png":
        return None
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--fmt", default="png")
    ap.add_argument("--dpi", type=float, default=300.0)
    ap.add_argument("--skip-batch", action="store_true", help="time only the serial comparison")
    args = ap.parse_args()
    data, doses = make_data(args.patients)
    pids = sorted(data["patient_id"].unique())
    groups = dict(tuple(data.groupby("patient_id")))
    dose_groups = dict(tuple(doses.groupby("patient_id")))
    wall = {"ours": 0.0, "bare": 0.0}
    cpu = {"ours": 0.0, "bare": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        size = None
        # interleaved, patient by patient, so that load from other processes hits both alike
        for pid in pids:
            w0, c0 = time.perf_counter(), time.process_time()
            fig = plot_patient(groups[pid], patient_id=pid, doses=dose_groups[pid])
            save_figure(fig, out / f"{pid}.{args.fmt}", dpi=args.dpi)
            wall["ours"] += time.perf_counter() - w0
            cpu["ours"] += time.process_time() - c0
            size = tuple(fig.get_size_inches())
            fig.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            bare(groups[pid], pid, size, out / f"bare_{pid}.{args.fmt}", args.dpi)
            wall["bare"] += time.perf_counter() - w0
            cpu["bare"] += time.process_time() - c0
        pixels = _pixels(out / f"{pids[-1]}.{args.fmt}"), _pixels(out / f"bare_{pids[-1]}.{args.fmt}")
        if args.fmt == "png" and pixels[0] != pixels[1]:
            raise SystemExit(f"not compared at equal pixel size: {pixels[0]} vs {pixels[1]}")
        jobs = args.jobs or os.cpu_count() or 1
        if args.skip_batch:
            jobs = 0
        if jobs:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            save_patient_figures(data, out / "batch", doses=doses, jobs=jobs, fmt=args.fmt,
                                 dpi=args.dpi)
            t_batch = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_batch = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    n = len(pids)
    px = (f" = {pixels[0][0]} x {pixels[0][1]} px (bare: {pixels[1][0]} x {pixels[1][1]} px)"
          if pixels[0] else " (same size and dpi for both)")
    print(f"patients: {n}, format: {args.fmt}, figure {size[0]:.2f} x {size[1]:.2f} in at "
          f"{args.dpi:g} dpi{px}")
    for key, label in (("ours", "plot_patient + save_figure"), ("bare", "bare matplotlib")):
        print(f"{label:27s}: wall {wall[key]:8.2f} s ({1000 * wall[key] / n:6.1f} ms/patient), "
              f"CPU {cpu[key]:8.2f} s ({1000 * cpu[key] / n:6.1f} ms/patient)")
    print(f"{'ratio':27s}: wall {wall['ours'] / wall['bare']:5.2f} x, "
          f"CPU {cpu['ours'] / cpu['bare']:5.2f} x  (target <= 2)")
    if not jobs:
        return
    print(f"save_patient_figures, {jobs} jobs: {t_batch:8.2f} s wall, {cpu_batch:8.2f} s CPU in "
          f"workers ({wall['ours'] / t_batch:.2f} x the speed of the serial loop; the speed-up "
          "needs idle cores)")


if __name__ == "__main__":
    main()
