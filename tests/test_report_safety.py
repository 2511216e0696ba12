"""Report safety helpers: formula neutralisation, atomic folders, pseudonyms, batch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes.report.safety import (
    INCOMPLETE,
    MANIFEST,
    OutputError,
    ReportExistsError,
    UnsafeTargetError,
    atomic_folder,
    is_report_folder,
    neutralise_cells,
    patient_file_names,
    pseudonym_map,
    pseudonymize_table,
    read_manifest,
    sha256_file,
    write_csv,
    write_manifest,
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


def _ours(target: Path, **files: str) -> Path:
    """A folder as sma-outcomes writes it: files plus the manifest."""
    target.mkdir()
    for name, text in files.items():
        (target / name.replace("__", ".")).write_text(text)
    write_manifest(target)
    return target


def test_atomic_folder_interrupted_leaves_old_report(tmp_path: Path) -> None:
    target = _ours(tmp_path / "r", report__html="complete")
    with pytest.raises(RuntimeError), atomic_folder(target, force=True) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "report.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # temporary folder removed


def test_atomic_folder_refuses_existing_without_force(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    with pytest.raises(ReportExistsError), atomic_folder(tmp_path / "r"):
        pass


def test_atomic_folder_replaces_with_force(tmp_path: Path) -> None:
    target = _ours(tmp_path / "r", index__html="x")
    (target / "sub").mkdir()
    with atomic_folder(target, force=True) as tmp:
        (tmp / "new.txt").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    assert read_manifest(target) == {"new.txt": sha256_file(target / "new.txt")}


def test_force_never_replaces_a_foreign_folder(tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.mkdir()
    (target / "README.md").write_text("keep me")
    with pytest.raises(ReportExistsError, match="not a report folder"), \
            atomic_folder(target, force=True):
        pass
    assert (target / "README.md").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


@pytest.mark.parametrize("name", ["index.html", "report.md", "report.html", "report.pdf"])
def test_force_never_replaces_a_folder_by_its_file_names(tmp_path: Path, name: str) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / name).write_text("looks like a report")
    (target / "patients.xlsx").write_bytes(b"precious")
    assert not is_report_folder(target)
    with pytest.raises(ReportExistsError, match="not a report folder"), \
            atomic_folder(target, force=True):
        pass
    assert (target / "patients.xlsx").read_bytes() == b"precious"


@pytest.mark.parametrize("change", ["added", "changed"])
def test_force_refuses_a_report_folder_the_user_changed(tmp_path: Path, change: str) -> None:
    target = _ours(tmp_path / "r", report__html="ours")
    if change == "added":
        (target / "notes.docx").write_text("the user's notes")
    else:
        (target / "report.html").write_text("edited by the user")
    with pytest.raises(ReportExistsError, match=f"notes.docx|{change}"), \
            atomic_folder(target, force=True):
        pass
    assert (target / MANIFEST).exists() and len(list(target.iterdir())) == 2 + (change == "added")


def test_a_forged_or_broken_manifest_is_not_ours(tmp_path: Path) -> None:
    target = tmp_path / "r"
    target.mkdir()
    (target / MANIFEST).write_text("{not json")
    assert not is_report_folder(target)
    (target / MANIFEST).write_text('{"written_by": "someone else", "files": {}}')
    assert not is_report_folder(target)


@pytest.mark.parametrize("where", ["cwd", "parent", "home", "root"])
def test_current_folder_parents_and_home_refused(tmp_path: Path, where: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "home" / "project"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(work)
    out = {"cwd": ".", "parent": "..", "home": str(tmp_path / "home"), "root": "/"}[where]
    for force in (False, True):
        with pytest.raises(UnsafeTargetError, match="cannot be a report folder"), \
                atomic_folder(out, force=force):
            pass
    assert [p.name for p in work.parent.iterdir()] == ["project"]


def test_killed_run_leftovers_are_cleaned_and_never_look_complete(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    target = tmp_path / "r"
    code = ("import os, sys\nfrom sma_outcomes.report.safety import atomic_folder\n"
            f"with atomic_folder({str(target)!r}) as tmp:\n"
            "    (tmp / 'report.html').write_text('half')\n"
            "    os._exit(9)\n")  # killed: no clean-up runs
    subprocess.run([sys.executable, "-c", code], check=False)
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and ".sma-outcomes-tmp-" in left[0].name
    assert (left[0] / INCOMPLETE).exists() and not is_report_folder(left[0])
    # a temporary-looking folder without our marker, or of a live process, is left alone
    fake = tmp_path / ".r.sma-outcomes-tmp-user"
    fake.mkdir()
    live = tmp_path / ".r.sma-outcomes-tmp-live"
    live.mkdir()
    import os
    import socket

    (live / INCOMPLETE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    with pytest.warns(UserWarning, match="temporary folder of another sma-outcomes run"), \
            atomic_folder(target) as tmp:
        (tmp / "report.html").write_text("complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fake.name, live.name, "r"])
    assert is_report_folder(target)


@pytest.mark.parametrize("err, cause", [
    (28, "no space left on the device (disk full)"),
    (30, "the file system is read-only"),
    (13, "permission denied"),
    (36, "the file name is too long"),
])
def test_write_failures_become_one_output_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                err: int, cause: str) -> None:
    import os

    def failing(*args: object, **kw: object) -> None:
        raise OSError(err, os.strerror(err), str(tmp_path / "r" / "report.html"))

    target = tmp_path / "r"
    with pytest.raises(OutputError) as info, atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("x")
        monkeypatch.setattr(Path, "write_text", failing)
        (tmp / "report.html").write_text("y")
    monkeypatch.undo()
    assert str(info.value) == f"cannot write {target / 'report.html'}: {cause}"
    assert list(tmp_path.iterdir()) == []  # no partial folder, no temporary folder


def test_real_unwritable_folder_is_an_output_error(tmp_path: Path) -> None:
    import os
    import stat

    if os.geteuid() != 0:  # a read-only folder
        parent = tmp_path / "ro"
        parent.mkdir()
        parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:  # root writes anywhere but in sysfs
        parent = Path("/sys")
        if not parent.is_dir():
            pytest.skip("no unwritable folder here")
    try:
        with pytest.raises(OutputError, match=f"^cannot write {parent}/report: "), \
                atomic_folder(parent / "report"):
            pass
    finally:
        if parent != Path("/sys"):
            parent.chmod(stat.S_IRWXU)
    assert not (parent / "report").exists()


def test_patient_file_names_portable_unique_bounded() -> None:
    ids = ["GK01", "gk01", "P 01", "P_01", "<script>", "CON", "com1.x", "a" * 300, "a" * 299,
           "é", "x.", "..", "", "患者-7", "P-1"]
    names = patient_file_names(ids)
    assert set(names) == set(ids)
    folded = [n.lower() for n in names.values()]
    assert len(set(folded)) == len(ids)  # unique, also on case-insensitive disks
    for n in names.values():
        assert 0 < len(n) <= 60 and not n.startswith(".") and not n.endswith((".", " "))
        assert all(c.isascii() and (c.isalnum() or c in "._-") for c in n)
        assert n.split(".")[0].upper() not in ("CON", "PRN", "AUX", "NUL", "COM1", "LPT1")
    assert names["P-1"] == "P-1" and names["P_01"] == "P_01"
    assert names == patient_file_names(list(reversed(ids)))  # stable


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


@pytest.mark.parametrize("module", ["batch", "build", "content", "figures", "inference", "options",
                                    "patients", "prepare", "progress", "provenance", "render",
                                    "reproduce", "safety", "tables", "typeset"])
def test_docstring_examples(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest
    import importlib

    from .conftest import ROOT

    monkeypatch.chdir(ROOT)  # the examples read data/sample/ relative to the repository
    mod = importlib.import_module(f"sma_outcomes.report.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
