"""build_report: content, CSV values, escaping, determinism, atomic writes, pseudonyms."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes import DataError, OptionError
from sma_outcomes.report import ReportExistsError, build_report, build_reports

from .conftest import SAMPLE

SCRIPT_ID = "<script>alert(1)</script>"
FORMULA_ID = "=HYPERLINK(\"http://example.com\")"


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The case series with two hostile patient ids."""
    d = pd.read_csv(SAMPLE / "case_series.csv")
    d["patient_id"] = d["patient_id"].replace({"GK01": SCRIPT_ID, "GK03": FORMULA_ID})
    path = tmp_path_factory.mktemp("data") / "hostile.csv"
    d.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def two_runs(data_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("reports")
    kw = dict(formats=["html", "md", "pdf"], timepoint="Month 18", patient_figures=True,
              figure_formats=["svg"])
    a = build_report(data_file, root / "a", **kw)
    b = build_report(data_file, root / "b", **kw)
    return a.parent, b.parent


def test_layout(two_runs: tuple[Path, Path]) -> None:
    a, _ = two_runs
    assert {p.name for p in a.iterdir()} == {"report.html", "report.md", "report.pdf",
                                             "tables", "figures", ".sma-outcomes-manifest.json"}
    tables = {p.name for p in (a / "tables").iterdir()}
    assert {"data_summary.csv", "patients_hfmse.csv", "summary_hfmse.csv", "paired_tests.csv",
            "responders.csv", "lmm_hfmse_fixed.csv", "mmrm_hfmse_lsmeans.csv",
            "provenance_inputs.csv", "provenance_software.csv"} <= tables
    figs = {p.name for p in (a / "figures").iterdir()}
    assert {"cohort_hfmse.png", "cohort_hfmse.svg", "slope_pp_pref.svg",
            "waterfall_pp_nonpref.png", "patients_01.png"} <= figs
    assert len(list((a / "figures" / "patients").glob("*.png"))) == 5
    assert len(list((a / "figures" / "patients").glob("*.svg"))) == 5
    assert (a / "report.pdf").read_bytes()[:5] == b"%PDF-"
    # no temporary folder left beside the report
    assert [p.name for p in a.parent.iterdir() if p.name.startswith(".")] == []


def test_tables_hold_the_numbers(two_runs: tuple[Path, Path]) -> None:
    a, _ = two_runs
    pat = pd.read_csv(a / "tables" / "patients_hfmse.csv", keep_default_na=False,
                      na_values=[""])
    m18 = pat[pat["timepoint"] == "Month 18"].set_index("patient_id")
    assert m18.loc["GK02", "score"] == 26 and m18.loc["GK02", "change"] == 3
    assert m18.loc["GK02", "pct_change"] == pytest.approx(300 / 23)
    assert sorted(m18["change"]) == [3, 5, 6, 8, 10]
    paired = pd.read_csv(a / "tables" / "paired_tests.csv")
    w = paired[(paired["measure"] == "HFMSE") & (paired["test"] == "wilcoxon")].iloc[0]
    assert w["p_value"] == pytest.approx(0.0625) and w["min_p"] == pytest.approx(0.0625)
    resp = pd.read_csv(a / "tables" / "responders.csv")
    imp = resp[(resp["measure"] == "HFMSE") & (resp["category"] == "improved")].iloc[0]
    assert (imp["count"], imp["n"]) == (5, 5)
    assert imp["ci_low"] == pytest.approx(0.4781762, abs=1e-6)
    lmm = pd.read_csv(a / "tables" / "lmm_hfmse_fixed.csv").set_index("term")
    assert lmm.loc["months", "estimate"] == pytest.approx(0.3526, abs=1e-3)
    html = (a / "report.html").read_text(encoding="utf-8")
    # 5 patients cannot support an unstructured covariance over 5 timepoints: stated
    assert "compound symmetry (cs, 2 parameters) was used instead" in html
    assert "no result of this test can go below 0.0625" in html
    assert ("HFMSE total: 5 of 5 patients improved from baseline to Month 18 (0 unchanged, "
            "0 declined); mean change +6.40 points (95% CI 3.05 to 9.75), median +6 (range +3 "
            "to +10); 5 of 5 reached the clinically meaningful change of 3 points. Wilcoxon "
            "signed-rank p = 0.0625, the smallest p-value 5 patients allow.") in html


def test_input_hash_is_reported(two_runs: tuple[Path, Path], data_file: Path) -> None:
    import hashlib

    a, _ = two_runs
    prov = pd.read_csv(a / "tables" / "provenance_inputs.csv")
    assert prov.loc[0, "file"] == data_file.name
    assert prov.loc[0, "sha256"] == hashlib.sha256(data_file.read_bytes()).hexdigest()
    html = (a / "report.html").read_text(encoding="utf-8")
    assert hashlib.sha256(data_file.read_bytes()).hexdigest() in html
    for dep in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "jinja2"):
        assert f"<td>{dep}</td>" in html


def test_html_escapes_data_and_is_self_contained(two_runs: tuple[Path, Path]) -> None:
    a, _ = two_runs
    html = (a / "report.html").read_text(encoding="utf-8")
    assert SCRIPT_ID not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # no external resource or link
    assert "http://" not in html.replace("http://example.com", "")
    assert html.count('<img src="data:image/png;base64,') == len(
        re.findall(r'<figure class="plot"', html)) >= 10


def test_csv_formula_neutralised_numbers_stay_numbers(two_runs: tuple[Path, Path]) -> None:
    a, _ = two_runs
    text = (a / "tables" / "patients_hfmse.csv").read_text(encoding="utf-8")
    assert not any(ln.startswith(("=", '"=')) for ln in text.splitlines())
    assert "\"'=HYPERLINK(\"\"http://example.com\"\")\"" in text
    ly = (a / "tables" / "mmrm_hfmse_lsmeans.csv").read_text()
    assert "'-" not in ly
    pat = pd.read_csv(a / "tables" / "patients_pp_nonpref.csv")
    assert pd.api.types.is_numeric_dtype(pat["change"])
    summ = pd.read_csv(a / "tables" / "summary_hfmse.csv")
    # negative numbers (a CI bound of the loading change) stay numbers
    assert (summ["ci_low"] < 0).any() and pd.api.types.is_float_dtype(summ["ci_low"])


def test_two_runs_identical_but_for_generation_time(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        x, y = (a / rel).read_bytes(), (b / rel).read_bytes()
        if rel.suffix in (".html", ".md", ".pdf") or rel.name == ".sma-outcomes-manifest.json":
            continue  # the manifest lists the documents' hashes, which hold the time
        assert x == y, rel
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    for name in ("report.html", "report.md"):
        x = stamp.sub("TIME", (a / name).read_text(encoding="utf-8"))
        y = stamp.sub("TIME", (b / name).read_text(encoding="utf-8"))
        assert x == y
        assert len(stamp.findall((a / name).read_text(encoding="utf-8"))) >= 1


def test_pdf_is_deterministic_with_fixed_time(data_file: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    kw = dict(formats=["pdf", "html"], measures=["HFMSE"], patient_figures=False)
    a = build_report(data_file, tmp_path / "a", **kw).parent
    b = build_report(data_file, tmp_path / "b", **kw).parent
    assert (a / "report.pdf").read_bytes() == (b / "report.pdf").read_bytes()
    assert (a / "report.html").read_bytes() == (b / "report.html").read_bytes()
    assert "2023-11-14 22:13:20 UTC" in (a / "report.html").read_text(encoding="utf-8")


def test_existing_report_needs_force(data_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    kw = dict(measures=["HFMSE"], patient_figures=False)
    with pytest.raises(ReportExistsError, match="already exists"):
        build_report(data_file, out, **kw)
    # a folder sma-outcomes did not write is never replaced, even with force
    with pytest.raises(ReportExistsError, match="not a report folder made by sma-outcomes"):
        build_report(data_file, out, force=True, **kw)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "report.html").write_text("old report")  # the file name does not make it ours
    with pytest.raises(ReportExistsError, match="not a report folder made by sma-outcomes"):
        build_report(data_file, out, force=True, **kw)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "report.html"]
    ours = tmp_path / "ours"
    build_report(data_file, ours, **kw)
    build_report(data_file, ours, force=True, **kw)
    assert "<!DOCTYPE html>" in (ours / "report.html").read_text(encoding="utf-8")


def test_data_error_writes_nothing(tmp_path: Path) -> None:
    from sma_outcomes import DataError

    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,visit,day,HFMSE\nP1,Baseline,0,20\nP1,Month 6,180,99\n")
    with pytest.raises(DataError) as err:
        build_report(bad, tmp_path / "out")
    assert len(err.value.problems) == 1
    assert list(tmp_path.iterdir()) == [bad]


def test_unknown_measure_and_timepoint(data_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RULM.*not in the data"):
        build_report(data_file, tmp_path / "x", measures=["RULM"])
    with pytest.raises(ValueError, match="'Month 99' is not one of.*Month 18"):
        build_report(data_file, tmp_path / "x", timepoint="Month 99")
    assert not (tmp_path / "x").exists()


def test_pseudonymize_everywhere(data_file: Path, tmp_path: Path) -> None:
    out = build_report(data_file, tmp_path / "p", pseudonymize=True, pseudonym_key="k",
                       formats=["html", "md"], measures=["HFMSE"]).parent
    from sma_outcomes.report.safety import pseudonym_map

    ids = ["GK02", "GK04", "GK05", SCRIPT_ID, FORMULA_ID]
    codes = pseudonym_map(ids, key="k")
    assert all(re.fullmatch(r"P-[0-9a-f]{8}", c) for c in codes.values())
    everything = ""
    for p in out.rglob("*"):
        if p.is_file():
            everything += p.name + "\n"
            if p.suffix in (".html", ".md", ".csv", ".svg"):
                text = p.read_text(encoding="utf-8", errors="replace")
                # embedded images: base64 can spell anything ("GK04" by chance)
                everything += re.sub(r"base64,[A-Za-z0-9+/=]+", "", text)
    for raw in ("GK02", "GK04", "GK05", "alert(1)", "HYPERLINK", "2019-", "2020-"):
        assert raw not in everything, raw
    for code in codes.values():
        assert code in everything
    assert {p.stem for p in (out / "figures" / "patients").glob("*.png")} == set(codes.values())
    # the same key gives the same codes in another report
    pat = pd.read_csv(out / "tables" / "patients_hfmse.csv")
    assert set(pat["patient_id"]) == set(codes.values())


def test_cohort_report_uses_unstructured_mmrm(tmp_path: Path) -> None:
    out = build_report(SAMPLE / "cohort.csv", tmp_path / "c", measures=["HFMSE"],
                       patient_figures=False).parent
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "covariance us." in html
    ls = pd.read_csv(out / "tables" / "mmrm_hfmse_lsmeans.csv")
    assert ls["visit"].tolist()[-1] == "Month 26"
    summary = pd.read_csv(out / "tables" / "data_summary.csv").set_index("item")["value"]
    assert summary["patients"] == "80"
    windows = pd.read_csv(out / "tables" / "provenance_windows.csv")
    assert windows["label"].tolist()[-2:] == ["Month 22", "Month 26"]
    # 80 patients: the report draws the first 12 (one figure) and says where the rest are
    assert len(list((out / "figures").glob("patients_*.png"))) == 1
    assert "first 12 of 80 patients" in html and "--no-patient-figures" in html
    assert not list((out / "figures").glob("*.svg"))  # no format nobody asked for


def test_validation_warnings_and_items(tmp_path: Path) -> None:
    d = pd.read_csv(SAMPLE / "case_series.csv")
    pd.concat([d, d.iloc[[0]]]).to_csv(tmp_path / "dup.csv", index=False)
    out = build_report(tmp_path / "dup.csv", tmp_path / "dup", measures=["HFMSE"],
                       patient_figures=False).parent
    warn = pd.read_csv(out / "tables" / "validation_warnings.csv")
    assert warn["row"].tolist() == [32] * 3 and set(warn["rule"]) == {"duplicate"}
    assert "row 32 repeats row 2" in (out / "report.html").read_text(encoding="utf-8")
    clinic = build_report(SAMPLE / "clinic_export.xlsx", tmp_path / "clinic", skiprows=1,
                          dayfirst=True, patient_figures=False).parent
    summary = pd.read_csv(clinic / "tables" / "data_summary.csv").set_index("item")["value"]
    assert summary["measures in the data"] == "HFMSE, HFMSE items (33)"
    assert summary["measures analysed"] == "HFMSE"
    assert (clinic / "figures" / "items_hfmse.png").exists()
    opts = pd.read_csv(clinic / "tables" / "provenance_options.csv").set_index("option")["value"]
    assert opts["read: dayfirst"] == "True" and opts["read: skiprows"] == "1"


def test_user_windows_file(tmp_path: Path) -> None:
    win = tmp_path / "windows.csv"
    win.write_text("label,lo,hi,target\nBaseline,-30,0,0\nYear 1,300,420,365\n"
                   "Month 18,480,620,550\n")
    out = build_report(SAMPLE / "case_series.csv", tmp_path / "w", windows=win,
                       measures=["HFMSE"], patient_figures=False).parent
    pat = pd.read_csv(out / "tables" / "patients_hfmse.csv")
    assert sorted(set(pat["timepoint"])) == ["Baseline", "Month 18", "Year 1"]
    shown = pd.read_csv(out / "tables" / "provenance_windows.csv")
    assert shown["label"].tolist() == ["Baseline", "Year 1", "Month 18"]
    inputs = pd.read_csv(out / "tables" / "provenance_inputs.csv")
    assert inputs["role"].tolist() == ["scores", "windows"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "MMRM skipped: 2 post-baseline timepoint(s)" in html


def test_dataframe_input_and_folder_input(tmp_path: Path) -> None:
    import hashlib

    df = pd.read_csv(SAMPLE / "case_series.csv")
    html = build_report(df, tmp_path / "df", measures=["PP_PREF"], patient_figures=False)
    assert html == tmp_path / "df" / "report.html"
    inputs = pd.read_csv(tmp_path / "df" / "tables" / "provenance_inputs.csv")
    csv_form = df.to_csv(index=False, lineterminator="\n").encode()
    assert inputs.loc[0, "sha256"] == hashlib.sha256(csv_form).hexdigest()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "one.csv").write_bytes((SAMPLE / "case_series.csv").read_bytes())
    with pytest.raises(OptionError, match="build_reports"):
        build_report(folder, tmp_path / "batch", measures=["HFMSE"], patient_figures=False)
    batch = build_reports(folder, tmp_path / "batch", measures=["HFMSE"], patient_figures=False)
    assert batch.index == tmp_path / "batch" / "index.html"
    assert (tmp_path / "batch" / "one" / "report.html").exists()


def test_identical_files_from_a_separate_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    src = SAMPLE / "case_series.csv"
    here = build_report(src, tmp_path / "here", measures=["PP_PREF"],
                        patient_figures=False).parent
    run = subprocess.run([sys.executable, "-m", "sma_outcomes", "report", str(src), "--out",
                          str(tmp_path / "there"), "--measures", "PP_PREF",
                          "--no-patient-figures"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    there = tmp_path / "there"
    files = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file()
                   and p.suffix in (".csv", ".png", ".svg"))
    assert len(files) > 10
    for rel in files:
        assert (here / rel).read_bytes() == (there / rel).read_bytes(), rel


def test_report_events_options_reach_prepare(tmp_path):
    """build_report(events=, sem=) places events on the timeline and keeps the options."""
    from sma_outcomes.report.prepare import prepare
    from sma_outcomes.stats.estimand import Estimand

    prep = prepare("data/sample/cohort.csv", events="data/sample/events.csv", sem={"HFMSE": 1.2})
    events = pd.read_csv("data/sample/events.csv")
    assert len(prep.events) == len(events)
    assert prep.estimand == Estimand()
    assert prep.sem == {"HFMSE": 1.2}
    assert "events_before" in prep.changes.columns
    switched = prep.changes[prep.changes["after_treatment_switch"].astype(bool)]
    assert set(switched["patient_id"]) <= set(events.loc[events["event"] == "treatment switch",
                                                         "patient_id"])
    plain = prepare("data/sample/cohort.csv")
    assert plain.events is None and plain.estimand is None


def test_report_events_of_unknown_patient_are_refused():
    from sma_outcomes.report.prepare import prepare

    events = pd.read_csv("data/sample/events.csv")
    events.loc[0, "patient_id"] = "ZZ9"
    with pytest.raises(DataError, match="ZZ9"):
        prepare("data/sample/cohort.csv", events=events)


def test_report_sem_option_is_checked():
    from sma_outcomes.report.options import ReportOptions, check_sem

    assert check_sem({"hfmse": "1.5"}) == {"HFMSE": 1.5}
    with pytest.raises(ValueError, match="positive number"):
        ReportOptions(sem={"HFMSE": -1})
    with pytest.raises(ValueError, match="MEASURE=VALUE"):
        check_sem(["HFMSE"])


def test_unknown_reference_name_fails_before_any_work():
    from sma_outcomes.report.options import ReportOptions

    with pytest.raises(OptionError, match="unknown reference 'Mercury 2016'"):
        ReportOptions(references=["Mercury 2016"])


def test_html_figures_carry_their_printed_size(tmp_path):
    """Each embedded figure states its size in inches (pHYs of its PNG): print shows it at
    that size, the screen at 1.5 times."""
    from sma_outcomes.report.typeset import png_inches

    out = build_report(SAMPLE / "case_series.csv", tmp_path / "r", measures=["HFMSE"],
                       patient_figures=False)
    html = out.read_text(encoding="utf-8")
    sizes = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="[^"]*" style="--w: ([0-9.]+)in">',
                       html)
    assert len(sizes) == html.count("<img ") and sizes
    cohort = (out.parent / "figures" / "cohort_hfmse.png").read_bytes()
    assert f"{png_inches(cohort)[0]}" in sizes and png_inches(cohort)[0] == 3.5
    css = html[html.index("<style>"):html.index("</style>")]
    assert "width: calc(var(--w, 6in) * 1.5)" in css and "width: var(--w, 6in)" in css


def test_pseudonymised_report_with_dated_events_and_a_cutoff_date(tmp_path):
    """Event dates and a cut-off date become days before the dates are dropped, so the
    pseudonymised report counts the same flow; a date cut-off needs dated data."""
    events = pd.DataFrame({"patient_id": ["GK01", "GK03"], "date": ["2019-12-01", "2020-02-10"],
                           "event": ["scoliosis surgery", "feeding tube"]})
    kw = dict(events=events, cutoff="2020-06-30", patient_figures=False, measures=["HFMSE"])
    plain = build_report(SAMPLE / "case_series.csv", tmp_path / "plain", **kw).parent
    coded = build_report(SAMPLE / "case_series.csv", tmp_path / "coded", pseudonymize=True,
                         **kw).parent
    flow = (coded / "tables" / "flow.csv").read_text(encoding="utf-8")
    assert flow == (plain / "tables" / "flow.csv").read_text(encoding="utf-8")
    # GK01 started 2019-03-04, so Month 14 (from day 368) is not yet due on 2020-06-30
    table = pd.read_csv(coded / "tables" / "flow.csv").set_index("timepoint")
    assert table.loc["Month 18", "not_yet_due"] == 5 and table.loc["Baseline", "assessed"] == 5
    assert (pd.read_csv(coded / "tables" / "estimand.csv")["n_patients"].dropna() >= 0).all()
    for f in (coded / "tables").glob("*.csv"):
        assert not re.search(r"\bGK0\d\b|2019-12-01", f.read_text(encoding="utf-8")), f.name
    from sma_outcomes.report.prepare import prepare

    with pytest.raises(OptionError, match="the data have no dates"):
        prepare(SAMPLE / "cohort.csv", events=SAMPLE / "events.csv", cutoff="2023-06-30")
