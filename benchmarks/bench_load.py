"""Benchmark: read and validate a 1,000,000-row long CSV vs bare pandas.read_csv.

Target (issues 2 and 11): ``read_scores`` takes no more than 2x ``pandas.read_csv``
of the same file. Run from the repository root::

    python benchmarks/bench_load.py [--rows 1000000] [--repeat 3] [--no-pyarrow]

With pyarrow installed, pandas 3 reads text columns as Arrow strings without making a
Python string per cell, which makes bare ``pandas.read_csv`` about twice as fast. The
loader cannot take that path whole: it needs each text column's distinct values and
codes (a categorical read, or factorizing the Arrow strings, which costs the same) and
returns Python-backed strings. ``--no-pyarrow`` measures both as without pyarrow
(pyarrow is an optional dependency of sma_outcomes, for Parquet). The ``reading`` row
is the part of ``read_scores`` spent reading the file into its raw table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

if "--no-pyarrow" in sys.argv:  # before pandas is imported: as if pyarrow were absent
    sys.modules["pyarrow"] = None  # type: ignore[assignment]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sma_outcomes import read_scores  # noqa: E402
from sma_outcomes.load.source import read_source  # noqa: E402

MEASURES = ("HFMSE", "RULM", "PP_PREF", "PP_NONPREF")
MAXIMA = (66, 37, 25, 25)


def make_file(path: Path, rows: int, seed: int = 1) -> None:
    """A long CSV of ``rows`` scores: patients x visits x 4 measures, some NT codes."""
    rng = np.random.default_rng(seed)
    per_patient = 8 * len(MEASURES)
    n_pat = rows // per_patient + 1
    pid = np.repeat([f"P{i:06d}" for i in range(n_pat)], per_patient)[:rows]
    visit_no = np.tile(np.repeat(np.arange(8), len(MEASURES)), n_pat)[:rows]
    measure = np.tile(np.array(MEASURES), n_pat * 8)[:rows]
    maxima = np.tile(np.array(MAXIMA), n_pat * 8)[:rows]
    score = np.minimum(rng.integers(0, 40, rows), maxima).astype(object)
    score[rng.random(rows) < 0.01] = "NT"
    day = visit_no * 120 + rng.integers(-10, 11, rows) * (visit_no > 0)
    frame = pd.DataFrame({
        "patient_id": pid,
        "visit": np.array([f"V{v}" for v in range(8)])[visit_no],
        "day": day,
        "measure": measure,
        "score": score,
        "sma_type": np.where(np.arange(rows) % 3 == 0, 3, 2),
    })
    frame.to_csv(path, index=False)


def best_of(fn, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU time (seconds) over ``repeat`` runs.

    CPU time of this process is reported too because it is steadier than wall time
    on a shared machine; both are single-threaded here.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pyarrow", action="store_true",
                        help="measure as if pyarrow were not installed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scores.csv"
        make_file(path, args.rows)
        size = path.stat().st_size / 1e6
        t_pandas = best_of(lambda: pd.read_csv(path), args.repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ours = best_of(lambda: read_scores(path), args.repeat)
            t_read = best_of(lambda: read_source(path), args.repeat)
            n = len(read_scores(path))
    arrow = "pyarrow" in sys.modules and sys.modules["pyarrow"] is not None
    print(f"file: {args.rows:,} rows, {size:.1f} MB; read_scores returned {n:,} rows; "
          f"pandas {pd.__version__}, pyarrow {'used' if arrow else 'not used'}")
    print(f"{'':16}{'wall s':>9}{'CPU s':>9}")
    print(f"{'pandas.read_csv':16}{t_pandas[0]:9.3f}{t_pandas[1]:9.3f}")
    print(f"{'read_scores':16}{t_ours[0]:9.3f}{t_ours[1]:9.3f}   (read + validate + tidy)")
    print(f"{'  reading':16}{t_read[0]:9.3f}{t_read[1]:9.3f}   (of which: the file into a raw "
          "table)")
    print(f"{'ratio':16}{t_ours[0] / t_pandas[0]:9.2f}{t_ours[1] / t_pandas[1]:9.2f}   "
          "(target <= 2.00)")


if __name__ == "__main__":
    main()
