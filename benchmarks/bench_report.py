"""Benchmark: the report against its unavoidable work, and at registry scale.

1. **Ratio** (``--patients N``, default 80): the unavoidable work of a report,
   timed piece by piece in this process,

   - reading and checking the file once (``read_with_problems``: the tidy
     table and its problem table, as the report reads it),
   - the timeline (``change_from_baseline``),
   - the LMM and MMRM fits of every measure, as the report fits them,
   - drawing the same number of figures with bare matplotlib (a ``Figure``
     with one axes and one line per patient, saved as PNG at the same pixel
     size as each figure the report wrote),

   against ``build_report`` on the same file (per-patient figures included,
   one process, ``jobs=1``, and again with the default ``jobs``). The report
   must take at most 2x. Both wall and CPU time are printed (CPU including
   finished child processes): on a shared machine the wall-time ratio moves
   with the load of the moment, the CPU ratio does not.
2. **Scale** (``--scale 2000 20000``): ``sma-outcomes report FILE
   --no-patient-figures --quiet`` in a child process per size: wall and CPU time, peak
   resident memory of the child (``os.wait4``), size of ``report.html``.
   Targets on 2 cores: 2,000 patients within 30 s and 1 GB with an HTML under
   10 MB; 20,000 within 3 minutes and 4 GB.

The cohorts are synthetic (:func:`make_cohort`): HFMSE, RULM and the Purdue
Pegboard for both hands at the nusinersen visits, with missed visits and drop-out.

Usage::

    python benchmarks/bench_report.py                    # ratio on 80 patients
    python benchmarks/bench_report.py --patients 300 --scale 2000 20000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

#: Visits (label, target day) of the synthetic cohorts.
VISITS = (("Baseline", -10), ("Loading", 45), ("Month 6", 185), ("Month 10", 308),
          ("Month 14", 428), ("Month 18", 550), ("Month 22", 673), ("Month 26", 794))
#: Measure, maximum, mean at baseline, gain per year.
MEASURES = (("HFMSE", 66, 25.0, 1.5), ("RULM", 37, 20.0, 0.8), ("PP_PREF", 25, 7.0, 0.9),
            ("PP_NONPREF", 25, 5.0, 0.7))


def make_cohort(n: int, seed: int = 0) -> pd.DataFrame:
    """A long score table for ``n`` synthetic patients (ids C00001...)."""
    rng = np.random.default_rng(seed)
    width = max(4, len(str(n)))
    pids = np.array([f"C{i:0{width}d}" for i in range(1, n + 1)])
    last = rng.integers(3, len(VISITS) + 1, size=n)  # drop-out after a visit
    frames = []
    base = {m: np.clip(rng.normal(mu, mu / 3, n), 0, top) for m, top, mu, _ in MEASURES}
    slope = {m: rng.normal(g, abs(g), n) for m, _, _, g in MEASURES}
    for k, (label, day) in enumerate(VISITS):
        keep = (last > k) & ((k == 0) | (rng.random(n) > 0.08))
        days = day + rng.integers(-9, 10, size=n)
        for m, top, _, _ in MEASURES:
            score = base[m] + slope[m] * max(day, 0) / 365 + rng.normal(0, 1.2, n)
            frames.append(pd.DataFrame({
                "patient_id": pids[keep], "visit": label, "day": days[keep], "measure": m,
                "score": np.clip(np.round(score[keep]), 0, top).astype(int)}))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["patient_id", "day", "measure"], kind="stable").reset_index(drop=True)


def _cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Clock:
    """Wall and CPU seconds per named piece of work."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, key: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu()
        yield
        self.wall[key] = time.perf_counter() - wall
        self.cpu[key] = _cpu() - cpu


def _unavoidable(path: Path, report: Path) -> tuple[_Clock, int]:
    """Wall and CPU seconds of the work any report of this file has to do, and
    the number of figures."""
    from matplotlib.figure import Figure
    from PIL import Image

    from sma_outcomes import change_from_baseline, fit_lmm, fit_mmrm
    from sma_outcomes.load import read_with_problems

    clock = _Clock()
    with clock("read"):
        scores, _ = read_with_problems(path)
    with clock("timeline"):
        changes = change_from_baseline(scores, schedule="nusinersen")
    measures = [m for m, *_ in MEASURES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with clock("lmm"):
            for m in measures:
                d = changes[(changes["measure"] == m) & changes["score"].notna()]
                fit_lmm(d, m, random="slope")
        with clock("mmrm"):
            for m in measures:
                d = changes[(changes["measure"] == m) & changes["change"].notna()
                            & ~changes["is_baseline"].astype(bool) & changes["timepoint"].notna()]
                n_pat = d["patient_id"].nunique()
                n_vis = d["timepoint"].astype(str).nunique()
                code = "us" if n_vis * (n_vis + 1) // 2 < n_pat else "cs"
                fit_mmrm(d, m, covariance=code)
    pngs = sorted(report.rglob("*.png"))
    sizes = []
    for p in pngs:
        with Image.open(p) as im:
            sizes.append(im.size)
    groups = [g for _, g in changes.groupby("patient_id", sort=False)]
    rng = np.random.default_rng(1)
    with clock("figures"), tempfile.TemporaryDirectory() as tmp:
        for i, (w, h) in enumerate(sizes):
            fig = Figure(figsize=(w / 300, h / 300), dpi=300)
            ax = fig.add_subplot()
            lines = groups if w * h > 1.5e6 else groups[:1]  # cohort-sized or one patient
            for g in lines[:200]:
                ax.plot(g["day"].to_numpy() / 30.4, g["score"].to_numpy() + rng.normal(0, .1))
            ax.set_xlabel("Months since first dose")
            ax.set_ylabel("Score (points)")
            fig.savefig(Path(tmp) / f"{i}.png", dpi=300)
    return clock, len(sizes)


def ratio(n: int, folder: Path) -> None:
    """Print the report's time against its unavoidable work, as wall and as CPU time.

    On a shared machine the wall-time ratio moves with the load of the moment
    (the report and its unavoidable work run one after the other); the CPU
    ratio (children included) does not.
    """
    from sma_outcomes.report import build_report

    path = folder / f"cohort_{n}.csv"
    make_cohort(n).to_csv(path, index=False)
    runs = _Clock()
    for jobs in (1, None):
        with runs(str(jobs)):
            build_report(path, folder / f"report_{n}_{jobs}", jobs=jobs, patient_figures=True)
    base, n_figures = _unavoidable(path, folder / f"report_{n}_1")
    wall, cpu = sum(base.wall.values()), sum(base.cpu.values())
    print(f"{n} patients, {n_figures} figures (incl. one per patient); wall s, CPU s")
    for k in ("read", "timeline", "lmm", "mmrm", "figures"):
        print(f"  unavoidable {k:9s} {base.wall[k]:7.2f} {base.cpu[k]:7.2f}")
    print(f"  unavoidable total     {wall:7.2f} {cpu:7.2f}")
    for jobs, name in (("1", "--jobs 1    "), ("None", "default jobs")):
        w, c = runs.wall[jobs], runs.cpu[jobs]
        print(f"  report, {name}  {w:7.2f} {c:7.2f}   ratio {w / wall:.2f}x wall, "
              f"{c / cpu:.2f}x CPU" + (" (target <= 2x)" if jobs == "1" else ""))


def scale(n: int, folder: Path) -> None:
    """Print wall time, peak memory and HTML size of a report without patient figures."""
    path = folder / f"cohort_{n}.csv"
    make_cohort(n).to_csv(path, index=False)
    out = folder / f"scale_{n}"
    cmd = [sys.executable, "-m", "sma_outcomes", "report", str(path), "--out", str(out),
           "--no-patient-figures", "--quiet"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        print(f"{n} patients: exit {proc.returncode}\n{err}")
        return
    html = (out / "report.html").stat().st_size
    print(f"{n} patients, --no-patient-figures: wall {wall:6.1f} s, CPU "
          f"{usage.ru_utime + usage.ru_stime:6.1f} s, peak memory {usage.ru_maxrss / 1024:6.0f} "
          f"MB, report.html {html / 1e6:5.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=80,
                        help="cohort size of the ratio run (0: skip it)")
    parser.add_argument("--scale", type=int, nargs="*", default=[],
                        help="cohort sizes of the scale runs, e.g. 2000 20000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.patients:
            ratio(args.patients, Path(tmp))
        for n in args.scale:
            scale(n, Path(tmp))


if __name__ == "__main__":
    main()
