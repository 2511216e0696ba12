"""The report's estimand sections: estimand table, patient flow, primary and sensitivity analyses.

Counts are checked against the events file read by hand (pandas, no package code).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes.report.content import Report
from sma_outcomes.report.estimand import MI_SEED, add_estimand_sections, mi_imputations
from sma_outcomes.report.prepare import prepare
from sma_outcomes.stats.estimand import Estimand

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
TITLES = ["Estimand", "Patient flow", "Primary analysis under the estimand",
          "Sensitivity to missing data"]
ESTIMAND = Estimand({"scoliosis surgery": "hypothetical", "spinal fusion": "hypothetical",
                     "death": "composite"})


def _report(**kw) -> tuple[Report, object]:
    prep = prepare(SAMPLE / "cohort.csv", events=SAMPLE / "events.csv", measures=["HFMSE"],
                   **kw)
    rep = Report("Demo")
    add_estimand_sections(rep, prep)
    return rep, prep


@pytest.fixture(scope="module")
def report():
    return _report(estimand=ESTIMAND)


def _items(rep: Report, title: str, kind: str) -> list:
    (sec,) = [s for s in rep.sections if s.title == title]
    return [i for i in sec.items if i.kind == kind]


def test_section_titles_in_order(report):
    rep, _ = report
    assert [s.title for s in rep.sections] == TITLES


def test_estimand_counts_equal_the_events_file_by_hand(report):
    rep, _ = report
    raw = pd.read_csv(SAMPLE / "events.csv")
    by_hand = raw.groupby("event")["patient_id"].nunique()  # spellings as in the file
    (table,) = [t for t in _items(rep, "Estimand", "table") if t.name == "estimand"]
    ev = table.frame[table.frame["attribute"] == "intercurrent event"]
    got = dict(zip(ev["event"].str.replace("_", " ").str.replace("add on", "add-on"),
                   ev["n_patients"].astype(int), strict=True))
    assert got == by_hand.to_dict()
    assert got == {"add-on": 2, "death": 4, "discontinuation": 8, "feeding tube": 2,
                   "loss of ambulation": 2, "other": 1, "regimen change": 2,
                   "scoliosis surgery": 3, "spinal fusion": 2, "treatment switch": 5,
                   "ventilation start": 2}
    strategies = dict(zip(ev["event"], ev["strategy"], strict=True))
    assert strategies["scoliosis_surgery"] == "hypothetical"
    assert strategies["death"] == "composite"
    assert strategies["treatment_switch"] == "treatment_policy"
    pop = table.frame[table.frame["attribute"] == "population"]["n_patients"].item()
    assert pop == 80
    (note,) = [t for t in _items(rep, "Estimand", "text") if t.style == "note"]
    n_patients = raw["patient_id"].nunique()
    assert note.body.startswith(f"{n_patients} patient(s) had at least one intercurrent event "
                                f"({len(raw)} events).")


def test_flow_counts_add_up(report):
    rep, _ = report
    tables = {t.name: t.frame for t in _items(rep, "Patient flow", "table")}
    assert "flow" in tables
    for name, t in tables.items():
        reasons = [c for c in t.columns if c.startswith(("not done", "event:", "no visit"))]
        assert (t["assessed"] + t[reasons].sum(axis=1) == t["expected"]).all(), name
        assert (t["expected"] + t["not_yet_due"] == t["n_patients"]).all(), name
        assert (t["missing"] == t["expected"] - t["assessed"]).all(), name
    flow = tables["flow"].set_index("timepoint")
    # without a cut-off every timepoint is due; 80 patients; deaths by hand: 4 died, by Month 26
    assert (flow["n_patients"] == 80).all() and (flow["not_yet_due"] == 0).all()
    assert flow.loc["Month 26", "event: death"] == 4
    assert {f.name for f in _items(rep, "Patient flow", "figure")} >= {"flow"}


def test_purdue_flow_shown_where_it_differs():
    prep = prepare(SAMPLE / "cohort.csv", events=SAMPLE / "events.csv",
                   measures=["HFMSE", "PP_PREF"])
    rep = Report("Demo")
    from sma_outcomes.report import estimand as E

    E._flow_section(rep.section("Patient flow"), prep, prep.measures)
    names = [t.name for t in rep.sections[0].items if t.kind == "table"]
    assert names == ["flow", "flow_pp_pref"]
    pp = rep.sections[0].items[[i.kind for i in rep.sections[0].items].index("table") + 2]
    assert "not done: UTA" in pp.frame.columns
    texts = [i.body for i in rep.sections[0].items if i.kind == "text"]
    assert "The flow of HFMSE is that of the visits." in texts


def test_primary_analysis_sets_values_aside(report):
    rep, prep = report
    (t,) = _items(rep, "Primary analysis under the estimand", "table")
    assert t.name == "estimand_mmrm_hfmse"
    assert t.frame["visit"].tolist()[-1] == "Month 26"
    texts = [i.body for i in _items(rep, "Primary analysis under the estimand", "text")]
    # by hand: values after scoliosis surgery / spinal fusion are set aside
    ch = prep.changes
    ev = pd.read_csv(SAMPLE / "events.csv")
    first = ev[ev["event"].isin(["scoliosis surgery", "spinal fusion"])].groupby(
        "patient_id")["day"].min()
    rows = ch[(ch["measure"] == "HFMSE") & ch["analysed"] & ~ch["is_baseline"]
              & ch["timepoint"].notna()]
    aside = int((rows["day"] > rows["patient_id"].map(first)).sum())
    assert any(f"; {aside} value(s) set aside." in x for x in texts)


def test_sensitivity_sentence_table_and_determinism(report):
    rep, prep = report
    notes = [i.body for i in _items(rep, "Sensitivity to missing data", "text")
             if i.style == "note"]
    (sentence,) = notes
    assert re.fullmatch(r"The improvement at Month 26 stays significant unless patients with "
                        r"missing scores did at least \d+\.\d points worse than the model "
                        r"assumes\.", sentence)
    texts = " ".join(i.body for i in _items(rep, "Sensitivity to missing data", "text"))
    assert f"{mi_imputations(80)} imputations" in texts and f"seed {MI_SEED}" in texts
    tables = {t.name: t.frame for t in _items(rep, "Sensitivity to missing data", "table")}
    comp = tables["sensitivity_hfmse"]
    assert comp["analysis"].tolist()[:2] == ["MMRM under the estimand (primary)",
                                             "Multiple imputation, MAR"]
    assert comp["p_value"].iloc[-1] == pytest.approx(0.05, abs=1e-4)  # at the tipping point
    assert [f.name for f in _items(rep, "Sensitivity to missing data", "figure")] == [
        "tipping_hfmse"]
    again, _ = _report(estimand=ESTIMAND)
    (t2,) = [t for t in _items(again, "Sensitivity to missing data", "table")
             if t.name == "sensitivity_hfmse"]
    pd.testing.assert_frame_equal(comp, t2.frame)


def test_cutoff_counts_timepoints_not_yet_due():
    # day 700 for everybody: Month 22 (window ends day 733) and Month 26 are not yet due
    rep, _ = _report(cutoff=700)
    flow = {t.name: t.frame for t in _items(rep, "Patient flow", "table")}["flow"]
    flow = flow.set_index("timepoint")
    assert flow.loc["Month 26", "not_yet_due"] == 80 and flow.loc["Month 26", "expected"] == 0
    assert flow.loc["Month 22", "not_yet_due"] == 80
    assert flow.loc["Month 18", "not_yet_due"] == 0 and flow.loc["Month 18", "expected"] == 80
    texts = " ".join(i.body for i in _items(rep, "Sensitivity to missing data", "text"))
    assert "not yet due at the data cut-off are left out" in texts


def test_without_events_nothing_is_added():
    prep = prepare(SAMPLE / "cohort.csv", measures=["HFMSE"])
    rep = Report("Demo")
    add_estimand_sections(rep, prep)
    assert rep.sections == []


def test_two_arms_add_jump_to_reference():
    scores = pd.read_csv(SAMPLE / "cohort.csv")
    ids = sorted(scores["patient_id"].unique())
    scores["arm"] = scores["patient_id"].map({p: "AB"[i % 2] for i, p in enumerate(ids)})
    prep = prepare(scores, events=SAMPLE / "events.csv", measures=["HFMSE"],
                   estimand=Estimand({"discontinuation": "hypothetical"}))
    rep = Report("Demo")
    add_estimand_sections(rep, prep)
    (primary,) = _items(rep, "Primary analysis under the estimand", "table")
    assert "B - A" in set(primary.frame["arm"].astype(str))
    tables = {t.name: t.frame for t in _items(rep, "Sensitivity to missing data", "table")}
    assert tables["sensitivity_hfmse"]["analysis"].tolist() == [
        "MMRM under the estimand (primary)", "Multiple imputation, MAR",
        "Jump to reference (A)"]
    (sentence,) = [i.body for i in _items(rep, "Sensitivity to missing data", "text")
                   if i.style == "note"]
    assert sentence.startswith("The difference between B and A at Month 26 ")
    assert "patients on B with missing scores" in sentence


def test_measures_the_estimand_leaves_unchanged_are_not_refitted():
    from sma_outcomes.report import estimand as E
    from sma_outcomes.stats.estimand import apply_estimand

    prep = prepare(SAMPLE / "cohort.csv", events=SAMPLE / "events.csv",
                   measures=["HFMSE", "RULM"])  # default estimand: treatment policy throughout
    ch = prep.changes
    analyses = {m: apply_estimand(ch[ch["measure"] == m], prep.events, prep.estimand).data
                for m in prep.measures}
    rep = Report("Demo")
    fits = E._primary_section(rep.section("Primary"), analyses, prep.measures, prep.timepoint)
    assert list(fits) == ["HFMSE"]  # fitted for the sensitivity analysis
    texts = [i.body for i in rep.sections[0].items if i.kind == "text"]
    assert ("RULM: the estimand leaves every value as observed, so the "
            "analysis under the "
            "estimand is the MMRM of the section 'Change by timepoint' above.") in texts


def test_build_report_with_events_has_the_sections(tmp_path):
    from sma_outcomes.report.build import build_report

    out = build_report(SAMPLE / "cohort.csv", tmp_path / "rep", events=SAMPLE / "events.csv",
                       estimand=ESTIMAND, measures=["HFMSE"], patient_figures=False)
    html = out.read_text()
    heads = re.findall(r"<h2[^>]*>([^<]*)", html)
    at = heads.index("Change by timepoint: mixed model for repeated measures")
    assert heads[at + 1: at + 5] == TITLES
    assert "stays significant unless patients with missing scores did at least" in html
    est = pd.read_csv(tmp_path / "rep" / "tables" / "estimand.csv")
    assert est.loc[est["event"] == "treatment_switch", "n_patients"].item() == 5
    assert (tmp_path / "rep" / "figures" / "tipping_hfmse.png").is_file()
    assert (tmp_path / "rep" / "figures" / "flow.png").is_file()


def test_report_without_events_has_no_estimand_sections():
    from sma_outcomes.report.build import compose

    prep = prepare(SAMPLE / "case_series.csv", measures=["HFMSE"])
    rep = compose(prep, title="Demo", options={}, inputs={}, generated="now")
    titles = [s.title for s in rep.sections]
    assert not set(TITLES) & set(titles)
    assert "Change by timepoint: mixed model for repeated measures" in titles


def test_nothing_missing_at_the_timepoint_moves_the_tipping_point():
    # day 800 for everybody: Month 26 (window ends day 854) is due for nobody, so nothing
    # is imputed there; Month 22 is the last timepoint with missing values
    rep, _ = _report(cutoff=800)
    texts = [i.body for i in _items(rep, "Sensitivity to missing data", "text")]
    assert ("No HFMSE value is missing at Month 26 (visits not yet due do not count); the "
            "sensitivity analysis is shown at Month 22, the last timepoint with missing "
            "values.") in texts
    note = [i.body for i in _items(rep, "Sensitivity to missing data", "text")
            if i.style == "note"]
    assert len(note) == 1 and note[0].startswith("The improvement at Month 22 stays significant")
    assert texts[1].startswith("No HFMSE value is missing") and texts[2] == note[0]
