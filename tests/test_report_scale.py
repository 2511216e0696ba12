"""Reports at registry scale: one figure at a time, bounded work, progress, file names."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.report import build_report
from sma_outcomes.report.patients import patient_jobs
from sma_outcomes.report.progress import Progress

from .conftest import SAMPLE


def _cohort(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = rng.integers(10, 50)
        for visit, day in (("Baseline", -5), ("Month 6", 185), ("Month 10", 308),
                           ("Month 14", 428)):
            rows.append((f"R{i:03d}", visit, day + int(rng.integers(-5, 5)), "HFMSE",
                         int(min(66, base + rng.integers(0, 4) * (day > 0)))))
    return pd.DataFrame(rows, columns=["patient_id", "visit", "day", "measure", "score"])


def test_figures_are_saved_and_released_one_at_a_time(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """At no time is more than one drawn matplotlib figure alive in the report."""
    import gc

    from matplotlib.figure import Figure

    alive: list[int] = []
    real_init = Figure.__init__

    def counting(self: Figure, *a: object, **kw: object) -> None:
        real_init(self, *a, **kw)
        gc.collect()
        alive.append(sum(isinstance(o, Figure) for o in gc.get_objects()))

    monkeypatch.setattr(Figure, "__init__", counting)
    data = _cohort(30)
    build_report(data, tmp_path / "r", patient_figures=False, jobs=1)
    assert alive and max(alive) <= 2  # the figure being drawn (+ one not yet collected)


def test_no_patient_figures_draws_a_bounded_number(tmp_path: Path) -> None:
    out = build_report(_cohort(40), tmp_path / "r", patient_figures=False).parent
    html = (out / "report.html").read_text(encoding="utf-8")
    assert len(list((out / "figures").glob("patients_*.png"))) == 1
    assert "The figure shows the first 12 of 40 patients" in html
    assert not (out / "figures" / "patients").exists()
    assert not list(out.rglob("*.svg"))


def test_long_tables_are_cut_in_the_documents_not_in_the_csv(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from sma_outcomes.report import content

    monkeypatch.setattr(content, "MAX_ROWS_SHOWN", 10)
    out = build_report(_cohort(15), tmp_path / "r", patient_figures=False,
                       formats=["html", "md"]).parent
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "The first 10 of 15 rows are shown; every row is in tables/patients_hfmse.csv." in html
    assert "R014" not in html.split("Scores by patient")[1].split("Summaries")[0]
    assert pd.read_csv(out / "tables" / "patients_hfmse.csv")["patient_id"].nunique() == 15


def test_patient_file_names_survive_hostile_ids(tmp_path: Path) -> None:
    data = _cohort(3)
    long_id = "X" * 300
    data["patient_id"] = data["patient_id"].replace(
        {"R000": long_id, "R001": "CON", "R002": "a/b\\c:d"})
    out = build_report(data, tmp_path / "r", jobs=1).parent
    names = sorted(p.name for p in (out / "figures" / "patients").iterdir())
    assert len(names) == 3 and all(len(n) <= 64 for n in names)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.png", n) for n in names)
    assert not any(n.split(".")[0].upper() == "CON" for n in names)


def test_default_jobs_never_start_workers_for_a_small_cohort() -> None:
    assert patient_jobs(80, None, cores=2) == 1
    assert patient_jobs(5, 8) == 5
    assert patient_jobs(20000, None, cores=2) == 2


def test_progress_plain_lines_without_control_characters(tmp_path: Path) -> None:
    err = io.StringIO()
    bar = Progress("cohort", stream=err, interval=0)
    bar.stage("reading")
    bar.patients(3)
    for _ in range(3):
        bar.advance()
    bar.close()
    text = err.getvalue()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)
    assert text.splitlines() == [
        "sma-outcomes: cohort: reading",
        "sma-outcomes: cohort: patient figures: 1 of 3 patients done",
        "sma-outcomes: cohort: patient figures: 2 of 3 patients done",
        "sma-outcomes: cohort: patient figures: 3 of 3 patients done"]
    quiet = io.StringIO()
    bar = Progress("cohort", stream=quiet, enabled=False)
    bar.stage("reading")
    bar.patients(2)
    bar.advance(2)
    bar.close()
    assert quiet.getvalue() == ""


def test_cli_progress_on_stderr_and_quiet(tmp_path: Path) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "sma_outcomes", "report", str(SAMPLE / "case_series.csv"),
           "--measures", "HFMSE", "--timepoint", "Month 18"]
    run = subprocess.run([*cmd, "--out", str(tmp_path / "a"), "--jobs", "1"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert "sma-outcomes: case_series: reading and checking the data" in lines
    assert "sma-outcomes: case_series: patient figures: 5 of 5 patients done" in lines
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", run.stderr)  # not a terminal
    run = subprocess.run([*cmd, "--out", str(tmp_path / "b"), "--quiet",
                          "--no-patient-figures"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == ""


def test_statistics_caveats_where_the_numbers_stand(tmp_path: Path) -> None:
    out = build_report(SAMPLE / "case_series.csv", tmp_path / "r", patient_figures=False,
                       timepoint="Month 18").parent
    html = (out / "report.html").read_text(encoding="utf-8")
    # a percent change from a baseline of 1 pin shows its baseline
    pat = pd.read_csv(out / "tables" / "patients_pp_nonpref.csv")
    small = pat[(pat["timepoint"] == "Month 18") & (pat["baseline"] <= 5)]
    assert len(small) and small["small_baseline"].all()
    b = small.iloc[0]
    assert f"+{int(round(b['pct_change']))}% from {int(b['baseline'])})" in html
    # model p-values from 5 patients carry the small-sample caveat, in the table and the note
    assert html.count("Small sample: with 5 patients the mixed-model p-values") >= 2
    assert "Small sample: with 5 patients the MMRM p-values" in html
    # the clinically meaningful threshold first, any improvement second
    resp = pd.read_csv(out / "tables" / "responders.csv")
    h = resp[resp["measure"] == "HFMSE"]["category"].tolist()
    assert h[:2] == ["improved", "any improvement"]
