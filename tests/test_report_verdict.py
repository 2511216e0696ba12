"""Report section "Is each patient doing better than expected?" (report/verdict.py, issue 14)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

import sma_outcomes.report.verdict as RV
from sma_outcomes import fit_lmm, reliable_change
from sma_outcomes.report import build_report
from sma_outcomes.report.content import Report, Section
from sma_outcomes.report.prepare import prepare
from sma_outcomes.report.reproduce import NO_AGES, reproduce_case_series
from sma_outcomes.stats.verdict import VERDICT_NOTES

from .conftest import SAMPLE

TITLE = "Is each patient doing better than expected?"


def _texts(sec: Section) -> list[str]:
    return [i.body for i in sec.items if i.kind == "text"]


@pytest.fixture(scope="module")
def cohort_prep():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(SAMPLE / "cohort.csv")


@pytest.fixture(scope="module")
def cohort_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample cohort (23 patients with visits before the first dose), SEM given."""
    out = tmp_path_factory.mktemp("rv") / "cohort"
    return build_report(SAMPLE / "cohort.csv", out, patient_figures=False,
                        formats=["html", "md"], sem={"HFMSE": 1.5}).parent


@pytest.fixture(scope="module")
def case_series_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reproduce_case_series(tmp_path_factory.mktemp("rv") / "cs").parent


def test_cohort_report_has_the_section_with_one_row_per_patient(cohort_report: Path,
                                                                 cohort_prep) -> None:
    html = (cohort_report / "report.html").read_text(encoding="utf-8")
    assert f"<h2>{TITLE}</h2>" in html
    v = pd.read_csv(cohort_report / "tables" / "patient_verdicts_hfmse.csv")
    assert len(v) == 80 == cohort_prep.changes["patient_id"].nunique()
    assert v["patient_id"].is_unique and (v["measure"] == "HFMSE").all()
    assert (v["timepoint"] == cohort_prep.timepoint).all()  # Month 26
    # the notes of the section are printed once, and every one of them
    for note in VERDICT_NOTES:
        assert html.count(note.replace("'", "&#39;")) == 1


def test_slope_change_is_the_models_own(cohort_report: Path) -> None:
    """A row's slopes are fit_lmm(random="piecewise").patient_coefficients()'s."""
    v = pd.read_csv(cohort_report / "tables" / "patient_verdicts_hfmse.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = pd.read_csv(SAMPLE / "cohort.csv")
        pc = fit_lmm(scores, "HFMSE", random="piecewise").patient_coefficients()
    pc = pc.set_index("patient_id")
    mine = v.set_index("patient_id").loc["C021"]
    assert mine["slope_change"] == pytest.approx(pc.loc["C021", "slope_change"], rel=1e-6)
    assert mine["slope_change_se"] == pytest.approx(pc.loc["C021", "se_slope_change"], rel=1e-5)
    assert mine["n_pre"] == pc.loc["C021", "n_pre"] == 4
    # the interval is estimate +/- 1.959964 x SE
    assert mine["slope_change_high"] - mine["slope_change"] == pytest.approx(
        1.959964 * mine["slope_change_se"], rel=1e-6)
    assert int((v["n_pre"] >= 2).sum()) == 23  # the patients with visits before the first dose


def test_reliable_classes_match_reliable_change(cohort_report: Path, cohort_prep) -> None:
    v = pd.read_csv(cohort_report / "tables" / "patient_verdicts_hfmse.csv",
                    keep_default_na=False, na_values=[""])
    rc = reliable_change(cohort_prep.changes, {"HFMSE": 1.5}, measures="HFMSE",
                         timepoint=cohort_prep.timepoint).set_index("patient_id")
    got = v.set_index("patient_id").loc[rc.index, "reliable_change"]
    assert got.tolist() == rc["reliable_change"].tolist()
    # MDC95 by hand: 1.959964 x sqrt(2) x 1.5 = 4.158 -> a change of +5 is reliable, +4 is not
    assert v["mdc"].dropna().unique() == pytest.approx([1.959964 * math.sqrt(2) * 1.5])
    by_change = v.dropna(subset=["change"]).groupby("change")["reliable_change"].first()
    assert by_change[4.0] == "no reliable change"
    assert by_change[5.0] == "reliable improvement"
    html = (cohort_report / "report.html").read_text(encoding="utf-8")
    assert ("HFMSE total: only a change larger than 4.2 points is beyond measurement error "
            "(MDC95, from SEM 1.5), more than the clinically meaningful change of 3 points") in html
    assert "Reliable change is not assessed" not in html


def test_cohort_report_natural_history_concordance_and_forest(cohort_report: Path) -> None:
    v = pd.read_csv(cohort_report / "tables" / "patient_verdicts_hfmse.csv",
                    keep_default_na=False, na_values=[""])
    assert set(v["reference"].fillna("")) <= {"mercuri2016_hfmse", ""}
    ok = v.dropna(subset=["expected_change"])
    assert ok["observed_minus_expected"].tolist() == pytest.approx(
        (ok["change"] - ok["expected_change"]).tolist(), abs=1e-8)  # CSV: 10 digits
    assert set(v["concordance_measure"].fillna("")) <= {"RULM", ""}
    nh = pd.read_csv(cohort_report / "tables" / "natural_history_hfmse.csv")
    assert nh["n"].iloc[0] == len(ok)
    assert (cohort_report / "figures" / "slope_change_hfmse.png").is_file()
    html = (cohort_report / "report.html").read_text(encoding="utf-8")
    assert "The figure shows 40 of the 80 patients" in html
    assert "Mercuri et al. 2016" in html


def test_forest_is_capped_by_most_assessments_before_dose(cohort_prep,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RV, "FOREST_MAX_PATIENTS", 5)
    rep = Report("t")
    RV.add_benefit_section(rep.section(TITLE), cohort_prep.changes, ["HFMSE"],
                           cohort_prep.timepoint, references=[])
    sec = rep.sections[0]
    fig = [i for i in sec.items if i.kind == "figure"][0].figure
    shown = {t.get_text() for t in fig.axes[0].get_yticklabels()}
    v = [i for i in sec.items if i.kind == "table"][0].frame
    # by hand: the five largest n_pre, ties in id order
    top = v.sort_values(["n_pre", "patient_id"], ascending=[False, True]).head(5)
    assert shown == set(top["patient_id"])
    assert any("The figure shows 5 of the 80 patients" in t for t in _texts(sec))
    assert any("no reference was asked for" in t for t in _texts(sec))


def test_without_sem_the_statement_is_there(case_series_report: Path) -> None:
    html = (case_series_report / "report.html").read_text(encoding="utf-8")
    assert "Reliable change is not assessed: the scale registry holds no standard error" in html
    assert "reproduce_case_series(sem={&#39;HFMSE&#39;: 1.2})" in html


def test_reproduce_shows_the_section_for_the_five_children(case_series_report: Path) -> None:
    html = (case_series_report / "report.html").read_text(encoding="utf-8")
    md = (case_series_report / "report.md").read_text(encoding="utf-8")
    assert f"<h2>{TITLE}</h2>" in html and f"## {TITLE}" in md
    assert ("no patient has an assessment before the first dose other than the baseline"
            in html)
    assert NO_AGES.replace("'", "&#39;") in html
    v = pd.read_csv(case_series_report / "tables" / "patient_verdicts_hfmse.csv")
    assert v["patient_id"].tolist() == ["GK01", "GK02", "GK03", "GK04", "GK05"]
    assert v["change"].tolist() == [8, 3, 10, 5, 6]  # the Month 18 changes of per_patient.csv
    assert v["slope_change"].isna().all() and v["reliable_change"].isna().all()


def test_case_series_with_sem_classes_by_hand() -> None:
    """SEM 1.5: MDC95 = 1.959964 x sqrt(2) x 1.5 = 4.158; changes +8 +3 +10 +5 +6."""
    prep = prepare(SAMPLE / "case_series.csv", sem={"HFMSE": 1.5})
    rep = Report("t")
    RV.add_patient_benefit(rep, prep)
    v = rep.tables()[-1].frame
    assert v["reliable_change"].tolist() == [
        "reliable improvement", "no reliable change", "reliable improvement",
        "reliable improvement", "reliable improvement"]
    assert v["rci"].tolist() == pytest.approx([c / (math.sqrt(2) * 1.5) for c in (8, 3, 10, 5, 6)])
    texts = _texts(rep.sections[0])
    assert any(t.startswith("GK02: Change at Month 18: +3 points, within measurement error")
               for t in texts)
    assert any("4 of 5 patients improved reliably, 0 declined reliably, 1 changed within" in t
               for i in rep.sections[0].items if i.kind == "text" for t in [i.body])


def test_slopes_need_three_patients_with_two_visits_before_dose(cohort_prep) -> None:
    ch = cohort_prep.changes
    keep = {"C007", "C021"}  # two patients keep their visits before the first dose
    pre = (ch["day"] < -40) & ~ch["patient_id"].isin(keep)
    sec = Section(TITLE)
    RV.add_benefit_section(sec, ch[~pre], ["HFMSE"], cohort_prep.timepoint, references=[])
    assert any("2 patient(s) have 2 or more assessments before the first dose, and the model "
               "needs at least 3" in t for t in _texts(sec))
    v = sec.items[[i.kind for i in sec.items].index("table")].frame
    assert v["slope_change"].isna().all()
    assert not any(i.kind == "figure" for i in sec.items)


def test_no_ages_and_no_partner_are_stated() -> None:
    prep = prepare(SAMPLE / "case_series.csv")
    sec = Section(TITLE)
    RV.add_benefit_section(sec, prep.changes, prep.measures, prep.timepoint)
    texts = _texts(sec)
    assert any(t.startswith("No natural-history comparison with Mercuri et al. 2016: the data "
                            "hold no ages") for t in texts)
    assert any("but the Purdue Pegboard has no registered clinically meaningful change" in t
               for t in texts)


def test_helpers() -> None:
    assert RV.partner_measure("HFMSE", ["HFMSE", "PP_PREF", "RULM"]) == ("RULM", "threshold")
    assert RV.partner_measure("RULM", ["RULM", "HFMSE"]) == ("HFMSE", "threshold")
    assert RV.partner_measure("PP_PREF", ["PP_PREF"]) is None
    assert RV.partner_measure("PP_PREF", ["PP_PREF", "HFMSE"]) is None  # PP_PREF: no threshold
    assert RV.partner_measure("PP_PREF", ["PP_PREF", "HFMSE"], {"HFMSE": 1, "PP_PREF": 1}) == (
        "HFMSE", "reliable")
    refs, left = RV.applicable_references(["mercuri2016_hfmse", "pera2019_rulm"], "HFMSE", set())
    assert [r.name for r in refs] == ["mercuri2016_hfmse"] and left == ["pera2019_rulm"]
    assert RV.applicable_references(None, "RULM", {"2"})[0][0].name == "pera2019_rulm"
    assert RV.reference_label("pera2019_rulm") == "Pera et al. 2019"


def test_purdue_agreement_by_reliable_change_with_sems() -> None:
    """SEM 1.5 (HFMSE) and 0.8 (PP_PREF): MDC95 4.158 and 2.217 points/pins.

    HFMSE changes +8 +3 +10 +5 +6; PP_PREF changes (per_patient.csv) all >= +4:
    only GK02's HFMSE change (+3) is within measurement error.
    """
    prep = prepare(SAMPLE / "case_series.csv", sem={"HFMSE": 1.5, "PP_PREF": 0.8})
    rep = Report("t")
    RV.add_patient_benefit(rep, prep)
    v = rep.tables()[-1].frame
    assert (v["concordance_measure"] == "PP_PREF").all()
    assert v["concordance"].tolist() == ["both improved", "one improved, one stable",
                                         "both improved", "both improved", "both improved"]
    shown = rep.tables()[-1].display
    assert "Agreement with Purdue Pegboard, preferred hand" in shown.columns
