"""Report safety helpers: formula neutralisation, atomic folders, pseudonyms, batch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes.report.safety import (
    ReportExistsError,
    atomic_folder,
    neutralise_cells,
    pseudonym_map,
    pseudonymize_table,
    write_csv,
)

from .conftest import SAMPLE


@pytest.mark.parametrize("text", ["=1+1", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_get_a_quote(text: str) -> None:
    out = neutralise_cells(pd.DataFrame({"id": [text], "change": [-4.0], "n": [-2]}))
    assert out.loc[0, "id"] == "'" + text
    assert out.loc[0, "change"] == -4.0 and out.loc[0, "n"] == -2


@pytest.mark.parametrize("text", ["=1+1", "+1", "-cmd", "@SUM(A1)"])
def test_csv_round_trip_keeps_numbers(text: str, tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"id": [text], "change": [-4.0], "n": [-2]}), tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["id,change,n", f"'{text},-4,-2"]
    back = pd.read_csv(path)
    assert back.loc[0, "change"] == -4.0 and back.loc[0, "n"] == -2


def test_plain_text_and_numbers_unchanged() -> None:
    t = pd.DataFrame({"id": ["P1", "a=b", "3-4"], "x": [-1.5, 0.0, 2.0],
                      "c": pd.Categorical(["=x", "y", "y"])})
    out = neutralise_cells(t)
    assert out["id"].tolist() == ["P1", "a=b", "3-4"]
    assert out["x"].tolist() == [-1.5, 0.0, 2.0]
    assert out["c"].tolist() == ["'=x", "y", "y"]
    assert t["c"].tolist() == ["=x", "y", "y"]  # input untouched


def test_column_names_are_neutralised() -> None:
    assert list(neutralise_cells(pd.DataFrame({"=x": [1]})).columns) == ["'=x"]


def test_atomic_folder_interrupted_leaves_old_report(tmp_path: Path) -> None:
    target = tmp_path / "r"
    target.mkdir()
    (target / "report.html").write_text("complete")
    with pytest.raises(RuntimeError), atomic_folder(target, force=True) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in target.iterdir()] == ["report.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # temporary folder removed


def test_atomic_folder_refuses_existing_without_force(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    with pytest.raises(ReportExistsError), atomic_folder(tmp_path / "r"):
        pass


def test_atomic_folder_replaces_with_force(tmp_path: Path) -> None:
    target = tmp_path / "r"
    target.mkdir()
    (target / "index.html").write_text("x")
    with atomic_folder(target, force=True) as tmp:
        (tmp / "new.txt").write_text("y")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_force_never_replaces_a_foreign_folder(tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.mkdir()
    (target / "README.md").write_text("keep me")
    with pytest.raises(ReportExistsError, match="not a report folder"), \
            atomic_folder(target, force=True):
        pass
    assert (target / "README.md").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


def test_pseudonyms_stable_and_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"GK{i:02d}" for i in range(1, 40)]
    a = pseudonym_map(ids, key="k1")
    assert a == pseudonym_map(list(reversed(ids)), key="k1")
    assert len(set(a.values())) == len(ids)
    assert a != pseudonym_map(ids, key="k2")
    monkeypatch.setenv("SMA_OUTCOMES_PSEUDONYM_KEY", "k1")
    assert pseudonym_map(ids) == a
    monkeypatch.delenv("SMA_OUTCOMES_PSEUDONYM_KEY")
    seq = pseudonym_map(ids)
    assert sorted(seq.values()) == [f"P{i:02d}" for i in range(1, 40)]
    assert seq == pseudonym_map(ids)
    assert [seq[i] for i in ids] != sorted(seq.values())  # order of ids not revealed


def test_pseudonymize_table_drops_dates() -> None:
    t = pd.DataFrame({"patient_id": ["A"], "date": [pd.Timestamp("2020-01-02")],
                      "first_dose_date": [pd.Timestamp("2020-01-01")], "day": [1.0]})
    out = pseudonymize_table(t, {"A": "P01"})
    assert list(out.columns) == ["patient_id", "day"]
    assert out["patient_id"].tolist() == ["P01"]


def test_batch_reports_bad_input_and_completes_the_rest(tmp_path: Path) -> None:
    from sma_outcomes.report import build_reports

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.csv").write_bytes((SAMPLE / "case_series.csv").read_bytes())
    (folder / "bad.csv").write_text("patient_id,visit,day,HFMSE\nP1,Baseline,0,20\n"
                                    "P1,Month 6,180,99\n")
    (folder / "notes.md").write_text("not data")
    batch = build_reports(folder, tmp_path / "out", patient_figures=False,
                          measures=None, timepoint="Month 18")
    status = batch.status
    assert status["input"].tolist() == ["bad.csv", "good.csv"]
    assert status["status"].tolist() == ["data error", "ok"]
    assert "row 3, column 'HFMSE': 99 is above the HFMSE maximum of 66" in status.loc[0, "detail"]
    out = tmp_path / "out"
    assert (out / "good" / "report.html").exists() and not (out / "bad").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="good/report.html"' in index and "data error" in index
    assert "99 is above the HFMSE maximum" in index
    assert pd.read_csv(out / "index.csv")["status"].tolist() == ["data error", "ok"]
    assert batch.index == out / "index.html"
    assert batch.n_ok == 1


@pytest.mark.parametrize("module", ["batch", "build", "content", "figures", "inference", "prepare",
                                    "provenance", "render", "reproduce", "safety", "tables"])
def test_docstring_examples(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest
    import importlib

    from .conftest import ROOT

    monkeypatch.chdir(ROOT)  # the examples read data/sample/ relative to the repository
    mod = importlib.import_module(f"sma_outcomes.report.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
