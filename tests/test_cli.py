"""The ``sma-outcomes`` command line: help, version, validate, report, reproduce, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes import __version__
from sma_outcomes.cli import main

from .conftest import SAMPLE

BAD = "patient_id,visit,day,HFMSE\nP1,Baseline,0,20\nP1,Month 6,180,99\n"


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def bad_file(tmp_path: Path) -> Path:
    p = tmp_path / "bad.csv"
    p.write_text(BAD)
    return p


# ------------------------------------------------------------------ help, version
def test_version(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"sma-outcomes {__version__}"


@pytest.mark.parametrize("argv, example", [
    ((), "sma-outcomes reproduce case-series"),
    (("validate",), "sma-outcomes validate data/sample/case_series.csv"),
    (("report",), "sma-outcomes report data/sample/case_series.csv"),
    (("reproduce",), "sma-outcomes reproduce case-series --out reports/case-series"),
])
def test_every_help_shows_an_example(capsys: pytest.CaptureFixture, argv: tuple,
                                     example: str) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert "examples:" in out and example in out
    assert "exit codes" in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys)
    assert code == 2 and "examples:" in out


def test_help_does_not_import_heavy_libraries() -> None:
    code = ("import sys\nfrom sma_outcomes.cli import main\n"
            "for argv in (['--help'], ['report', '--help'], ['reproduce', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'jinja2') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_usage_error_is_one_line_plus_hint(capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(capsys, "report", "x.csv", "--jobs", "many")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("sma-outcomes report: error: argument --jobs")
    assert lines[1] == "hint: run 'sma-outcomes report --help'"


def test_python_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "sma_outcomes", "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"sma-outcomes {__version__}"


# ------------------------------------------------------------------ validate
def test_validate_clean(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "validate", str(SAMPLE / "case_series.csv"))
    assert code == 0
    assert "OK: 90 scores from 5 patients, 30 assessments" in out


def test_validate_bad_data_table(capsys: pytest.CaptureFixture, bad_file: Path) -> None:
    code, out, _ = run(capsys, "validate", str(bad_file))
    assert code == 1
    header, rule, row = out.splitlines()[:3]
    assert header.split() == ["severity", "row", "column", "value", "message"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.split()[:3] == ["error", "3", "HFMSE"] and row.split()[3] in ("99", "99.0")
    assert "99 is above the HFMSE maximum of 66" in row
    assert "1 error(s), 0 warning(s): the data were not read." in out


def test_validate_missing_file(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.csv"))
    assert code == 2
    assert err.splitlines() == [f"sma-outcomes: error: file not found: {tmp_path / 'nope.csv'}",
                                "hint: check the path (relative to the current folder)"]


def test_validate_reading_options(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "validate", str(SAMPLE / "clinic_export.xlsx"), "--skiprows", "1",
                       "--dayfirst")
    assert code == 0 and "OK:" in out and "HFMSE items (33)" in out


# ------------------------------------------------------------------ report
def test_report_writes_and_refuses_to_overwrite(capsys: pytest.CaptureFixture,
                                                tmp_path: Path) -> None:
    out = tmp_path / "cs"
    argv = ("report", str(SAMPLE / "case_series.csv"), "--out", str(out), "--measures", "HFMSE",
            "--timepoint", "Month 18", "--no-patient-figures", "--format", "html,md")
    code, stdout, _ = run(capsys, *argv)
    assert code == 0 and f"report written: {out / 'report.html'}" in stdout
    assert (out / "report.md").exists() and not (out / "report.pdf").exists()
    opts = pd.read_csv(out / "tables" / "provenance_options.csv").set_index("option")["value"]
    assert opts["measures"] == "HFMSE" and opts["timepoint"] == "Month 18"
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.splitlines() == [f"sma-outcomes: error: {out} already exists",
                                "hint: add --force to replace it, or choose another --out"]
    code, _, _ = run(capsys, *argv, "--force")
    assert code == 0
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out", str(tmp_path),
                       "--force")
    assert code == 2 and "is not a report folder made by sma-outcomes" in err
    assert err.splitlines()[1] == "hint: choose another --out"


def test_report_bad_data_exit_1(capsys: pytest.CaptureFixture, bad_file: Path,
                                tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", str(bad_file), "--out", str(tmp_path / "r"),
                         "--quiet")
    assert code == 1
    assert "99 is above the HFMSE maximum of 66" in out
    assert err.startswith(f"sma-outcomes: data error: {bad_file}")
    assert "1 error(s): no report written." in err
    assert not (tmp_path / "r").exists()


def test_report_missing_file_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, _, err = run(capsys, "report", str(tmp_path / "nope.csv"))
    assert code == 2
    assert err.startswith("sma-outcomes: error: file not found:") and "hint:" in err


@pytest.mark.parametrize("option, message", [
    (("--measures", "RULM"), "`measures`: 'RULM' not in the data"),
    (("--timepoint", "Month 99"), "timepoint 'Month 99' is not one of"),
    (("--schedule", "aspirin"), "aspirin"),
    (("--format", "docx"), "formats must be among ['html', 'md', 'pdf'], not 'docx'"),
    (("--sem", "HFMSE=x"), "must be a positive number (MEASURE=VALUE"),
])
def test_report_bad_option_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path,
                                  option: tuple, message: str) -> None:
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out",
                       str(tmp_path / "r"), "--quiet", *option)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and message in lines[0]
    assert lines[1] == "hint: run 'sma-outcomes report --help'"
    assert not (tmp_path / "r").exists()


def test_report_batch_exit_code(capsys: pytest.CaptureFixture, bad_file: Path,
                                tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes((SAMPLE / "case_series.csv").read_bytes())
    code, out, _ = run(capsys, "report", str(good), str(bad_file), "--out", str(tmp_path / "b"),
                       "--measures", "HFMSE", "--no-patient-figures")
    assert code == 1
    assert "good.csv: ok" in out and "bad.csv: data error: 1 problem(s): row 3" in out
    assert "1 of 2 report(s) written" in out
    assert (tmp_path / "b" / "good" / "report.html").exists()
    assert (tmp_path / "b" / "index.html").exists()


def test_report_dose_file_as_schedule(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    doses = tmp_path / "doses.csv"
    rows = ["patient_id,day"] + [f"GK0{i},{d}" for i in range(1, 6)
                                 for d in (0, 14, 28, 63, 185, 307, 428, 550)]
    doses.write_text("\n".join(rows) + "\n")
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out",
                       str(tmp_path / "r"), "--schedule", str(doses), "--measures", "HFMSE",
                       "--no-patient-figures")
    assert code == 0, err
    inputs = pd.read_csv(tmp_path / "r" / "tables" / "provenance_inputs.csv")
    assert inputs["role"].tolist() == ["scores", "doses"]
    assert inputs.loc[1, "file"] == "doses.csv"
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out",
                       str(tmp_path / "r2"), "--schedule", str(tmp_path / "none.csv"))
    assert code == 2 and "dose file not found" in err
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out",
                       str(tmp_path / "r3"), "--schedule", "nusinersen_us", "--doses", str(doses),
                       "--measures", "HFMSE", "--no-patient-figures")
    assert code == 0, err
    opts = pd.read_csv(tmp_path / "r3" / "tables" / "provenance_options.csv").set_index("option")
    assert opts.loc["schedule", "value"] == "nusinersen_us"
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--schedule",
                       str(doses), "--doses", str(doses))
    assert code == 2 and "given twice" in err


# ------------------------------------------------------------------ reproduce
def test_reproduce_case_series(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    out = tmp_path / "case-series"
    code, stdout, _ = run(capsys, "reproduce", "case-series", "--out", str(out))
    assert code == 0 and f"case-series report written: {out / 'report.html'}" in stdout
    ranges = pd.read_csv(out / "tables" / "ranges.csv")
    assert ranges["matches"].all()
    code, _, err = run(capsys, "reproduce", "case-series", "--out", str(out))
    assert code == 2 and "--force" in err
    code, _, err = run(capsys, "reproduce", "other")
    assert code == 2 and "invalid choice: 'other'" in err


def test_report_without_follow_up_is_a_data_problem(capsys: pytest.CaptureFixture,
                                                    tmp_path: Path) -> None:
    only_baseline = tmp_path / "baseline.csv"
    only_baseline.write_text("patient_id,visit,day,HFMSE\nP1,Baseline,0,20\nP2,Baseline,-3,31\n")
    code, _, err = run(capsys, "report", str(only_baseline), "--out", str(tmp_path / "r"),
                       "--quiet")
    assert code == 1
    assert err.splitlines()[0] == ("sma-outcomes: data error: no post-baseline score falls in "
                                   "any visit window, so nothing can be compared with baseline "
                                   "(check the dosing schedule and the windows)")
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ output folders
def test_report_refuses_current_folder_and_home(capsys: pytest.CaptureFixture, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "home" / "work"
    work.mkdir(parents=True)
    (work / "patients.csv").write_bytes((SAMPLE / "case_series.csv").read_bytes())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(work)
    for out in (".", "..", str(tmp_path / "home")):
        code, _, err = run(capsys, "report", "patients.csv", "--out", out, "--force",
                           "--measures", "HFMSE", "--no-patient-figures")
        assert code == 2 and "cannot be a report folder" in err, err
        assert err.splitlines()[1] == "hint: choose another --out"
    assert [p.name for p in work.iterdir()] == ["patients.csv"]


@pytest.mark.parametrize("errno_, cause", [(28, "disk full"), (30, "read-only"),
                                           (13, "permission denied"), (36, "too long")])
def test_report_output_failure_exit_3(capsys: pytest.CaptureFixture, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, errno_: int,
                                      cause: str) -> None:
    import os

    from sma_outcomes.report import render

    def failing(*args: object, **kw: object) -> None:
        raise OSError(errno_, os.strerror(errno_), str(tmp_path / "r" / "x.csv"))

    monkeypatch.setattr(render, "write_csv", failing)
    code, out, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out",
                         str(tmp_path / "r"), "--measures", "HFMSE", "--no-patient-figures",
                         "--quiet")
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"sma-outcomes: error: cannot write {tmp_path / 'r' / 'x.csv'}: ")
    assert cause in lines[0] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no partial output folder


def test_report_into_unwritable_folder_exit_3(capsys: pytest.CaptureFixture,
                                              tmp_path: Path) -> None:
    import os

    parent = Path("/sys") if os.geteuid() == 0 else tmp_path / "ro"
    if parent != Path("/sys"):
        parent.mkdir()
        parent.chmod(0o555)
    code, _, err = run(capsys, "report", str(SAMPLE / "case_series.csv"), "--out",
                       str(parent / "report"), "--measures", "HFMSE", "--no-patient-figures",
                       "--quiet")
    assert code == 3 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"sma-outcomes: error: cannot write {parent / 'report'}: ")


# ------------------------------------------------------------------ reading options
def test_every_reading_option_is_on_the_command_line() -> None:
    from sma_outcomes.cli import build_parser, reading_kwargs
    from sma_outcomes.load.read import READ_OPTIONS

    args = build_parser().parse_args([
        "validate", "f.csv", "--sheet", "Scores", "--skiprows", "1", "--dayfirst",
        "--encoding", "utf-16", "--sep", "\\t", "--decimal", ",", "--purdue", "SUM3",
        "--columns", "Kind=patient_id", "Grob=HFMSE", "--ignore", "Notes", "Comment",
        "--sql", "SELECT 1"])
    kw = reading_kwargs(args)
    assert set(kw) == set(READ_OPTIONS) | {"sql"}
    assert kw["columns"] == {"Kind": "patient_id", "Grob": "HFMSE"}
    assert kw["ignore"] == ["Notes", "Comment"] and kw["sep"] == "\t" and kw["purdue"] == "sum3"


def test_columns_option_needs_old_equals_new(capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(capsys, "validate", "f.csv", "--columns", "Kind")
    assert code == 2 and "expected OLD=NEW" in err


def test_timepoint_and_measures_in_any_capitalisation() -> None:
    from sma_outcomes.cli import _measures, build_parser

    args = build_parser().parse_args(["report", "x.csv", "--timepoint", "MONTH 18",
                                      "--measures", "hfmse,pp_pref", "Rulm"])
    assert args.timepoint == "Month 18"
    assert _measures(args.measures) == ["HFMSE", "PP_PREF", "RULM"]


def test_validate_maps_and_ignores_columns(capsys: pytest.CaptureFixture,
                                           tmp_path: Path) -> None:
    p = tmp_path / "k.csv"
    p.write_text("Kind,Tag,Grob,Notiz\nK1,0,12,x\nK1,180,14,y\n")
    code, out, _ = run(capsys, "validate", str(p), "--columns", "Kind=patient_id", "Tag=day",
                       "Grob=HFMSE", "--ignore", "Notiz")
    assert code == 0 and "OK: 2 scores from 1 patients" in out


def test_validate_sheet_in_any_case_and_sql(capsys: pytest.CaptureFixture,
                                            tmp_path: Path) -> None:
    from tests.files import make

    book = make.workbook(tmp_path / "b.xlsx", title="HFMSE data",
                         before=[("Notes", pd.DataFrame({"Notes": ["x"]}))])
    code, out, _ = run(capsys, "validate", str(book))
    assert code == 1 and '--sheet "HFMSE data"' in out
    code, out, _ = run(capsys, "validate", str(book), "--sheet", "hfmse DATA")
    assert code == 0 and "OK: 12 scores from 3 patients" in out
    db = make.sqlite_db(tmp_path / "r.sqlite")
    code, out, _ = run(capsys, "validate", str(db), "--sql", "SELECT * FROM motor_scores")
    assert code == 0 and "OK: 12 scores" in out


def test_validate_is_not_ok_without_a_visit_date(capsys: pytest.CaptureFixture,
                                                 tmp_path: Path) -> None:
    typo = tmp_path / "typo.csv"
    typo.write_text("patient,visit,vist date,HFMSE\nP1,BL,2021-01-04,20\nP1,M6,2021-07-05,22\n")
    code, out, _ = run(capsys, "validate", str(typo))
    assert code == 1 and "'vist date' looks like a misspelt 'visit date'" in out
    none = tmp_path / "none.csv"
    none.write_text("patient,visit,HFMSE\nP1,BL,20\nP1,M6,22\n")
    code, out, _ = run(capsys, "validate", str(none))
    assert code == 1 and "no visit date or study-day column" in out
    assert "found 'patient', 'visit', 'HFMSE'" in out and "OK" not in out


def test_validate_unicode_text(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    from tests.files import make

    path = make.unicode_text(tmp_path / "u.txt")
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and "OK: 12 scores" in out


def test_report_events_file_missing_or_with_a_batch_exit_2(capsys: pytest.CaptureFixture,
                                                           tmp_path: Path) -> None:
    code, _, err = run(capsys, "report", str(SAMPLE / "cohort.csv"), "--out",
                       str(tmp_path / "r"), "--quiet", "--events", str(tmp_path / "no.csv"))
    assert code == 2 and "events file not found" in err
    code, _, err = run(capsys, "report", str(SAMPLE / "cohort.csv"), str(SAMPLE / "case_series.csv"),
                       "--out", str(tmp_path / "r"), "--quiet", "--events",
                       str(SAMPLE / "events.csv"))
    assert code == 2 and "--events and --cutoff describe one data file" in err
    assert not (tmp_path / "r").exists()


def test_reproduce_with_sem_classifies_each_child(capsys: pytest.CaptureFixture,
                                                 tmp_path: Path) -> None:
    code, out, _ = run(capsys, "reproduce", "case-series", "--out", str(tmp_path / "cs"),
                       "--sem", "HFMSE=1.5", "--reference", "none")
    assert code == 0
    html = (tmp_path / "cs" / "report.html").read_text(encoding="utf-8")
    assert "Is each patient doing better than expected?" in html
    assert "4 of 5 patients improved reliably" in html
    code, _, err = run(capsys, "reproduce", "case-series", "--out", str(tmp_path / "x"),
                       "--sem", "HFMSE=0")
    assert code == 2 and "positive number" in err
