"""``reproduce case-series``: the published ranges computed from the bundled data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes.report.reproduce import case_series_path, reproduce_case_series


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reproduce_case_series(tmp_path_factory.mktemp("cs") / "case-series")


def test_ranges_match_the_paper(report: Path) -> None:
    r = pd.read_csv(report.parent / "tables" / "ranges.csv").set_index("measure")
    got = {m: tuple(int(v) for v in r.loc[m, ["change_min", "change_max", "pct_min", "pct_max"]])
           for m in r.index}
    assert got == {"HFMSE": (3, 10, 13, 53), "PP_PREF": (4, 9, 80, 225),
                   "PP_NONPREF": (3, 7, 60, 500)}
    assert r["matches"].all() and (r["n_improved"] == 5).all() and (r["n"] == 5).all()


def test_per_patient_table(report: Path) -> None:
    per = pd.read_csv(report.parent / "tables" / "per_patient.csv")
    assert len(per) == 15
    gk01 = per[(per["patient_id"] == "GK01") & (per["measure"] == "PP_NONPREF")].iloc[0]
    assert (gk01["baseline"], gk01["month_18"], gk01["change"]) == (1, 6, 5)
    assert gk01["pct_change"] == 500
    gk03 = per[(per["patient_id"] == "GK03") & (per["measure"] == "HFMSE")].iloc[0]
    assert gk03["pct_change"] == pytest.approx(1000 / 19)  # 52.63 -> 53
    assert gk03["pct_change_rounded"] == 53


def test_paired_tests_state_the_smallest_p(report: Path) -> None:
    p = pd.read_csv(report.parent / "tables" / "paired_tests.csv")
    w = p[p["test"] == "wilcoxon"]
    assert w["n"].tolist() == [5, 5, 5]
    assert w["p_value"].tolist() == pytest.approx([0.0625] * 3)
    assert w["min_p"].tolist() == pytest.approx([0.0625] * 3)
    html = report.read_text(encoding="utf-8")
    assert "cannot give a two-sided p-value below 0.0625" in html


def test_files_and_figures(report: Path) -> None:
    figs = {p.name for p in (report.parent / "figures").iterdir()}
    assert {"trajectories.png", "trajectories.svg", "slope_hfmse.png", "slope_pp_pref.svg",
            "slope_pp_nonpref.png", "cohort_hfmse.png"} <= figs
    assert (report.parent / "report.md").exists()
    html = report.read_text(encoding="utf-8")
    assert "not the patients&#39; recorded values" in html
    assert html.count("data:image/png;base64,") == len([f for f in figs if f.endswith(".png")])


def test_refuses_to_overwrite(report: Path) -> None:
    from sma_outcomes.report import ReportExistsError

    with pytest.raises(ReportExistsError):
        reproduce_case_series(report.parent)


def test_sample_data_found_relative_to_package() -> None:
    import sma_outcomes

    assert case_series_path() == (Path(sma_outcomes.__file__).resolve().parents[1]
                                  / "data" / "sample" / "case_series.csv")


def test_missing_sample_data_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    from sma_outcomes.load import examples

    monkeypatch.setattr(examples, "__file__", str(tmp_path / "pkg" / "load" / "examples.py"))
    monkeypatch.setattr(examples.resources, "files", lambda name: tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="not found .*and the installed package"):
        case_series_path()


def test_range_sentences_are_computed_from_the_data() -> None:
    """A lowered score changes the words, not only the numbers (review bug)."""
    from sma_outcomes import change_from_baseline, read_scores
    from sma_outcomes.report.reproduce import case_series_tables, range_sentence

    scores = read_scores(case_series_path())
    changes = change_from_baseline(scores)
    at18 = changes[(changes["patient_id"] == "GK01") & (changes["measure"] == "HFMSE")
                   & (changes["timepoint"].astype(str) == "Month 18") & changes["analysed"]]
    assert len(at18) == 1
    month18 = (scores["patient_id"] == "GK01") & (scores["measure"] == "HFMSE") & (
        scores["day"] == at18["day"].iloc[0])
    assert month18.sum() == 1
    lowered = scores.copy()
    base = scores.loc[(scores["patient_id"] == "GK01") & (scores["measure"] == "HFMSE"),
                      "score"].iloc[0]
    lowered.loc[month18, "score"] = base - 3
    _, ranges = case_series_tables(change_from_baseline(lowered))
    hfmse = next(r for r in ranges.itertuples(index=False) if r.measure == "HFMSE")
    text = range_sentence(hfmse)
    assert "4 of 5 children improved" in text and "every child" not in text
    assert "changes -3 to +" in text and "+-" not in text
    _, ranges = case_series_tables(change_from_baseline(scores))
    hfmse = next(r for r in ranges.itertuples(index=False) if r.measure == "HFMSE")
    assert range_sentence(hfmse).startswith("HFMSE total: every child improved (5 of 5)")
