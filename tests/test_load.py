"""Loader tests: every format, layout and error of issue 2, with exact values."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from sma_outcomes import DataError, DataWarning, check_scores, read_doses, read_scores
from tests.conftest import SAMPLE


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def scores_of(df, measure):
    return df.loc[df["measure"] == measure, "score"].tolist()


# --------------------------------------------------------------------------- samples
def test_case_series_sample():
    df = read_scores(SAMPLE / "case_series.csv")
    assert list(df.columns[:7]) == ["patient_id", "visit", "date", "day", "measure", "score",
                                    "missing_code"]
    assert len(df) == 90 and df["patient_id"].nunique() == 5
    assert df["date"].dtype == "datetime64[ns]"
    gk01 = df[(df.patient_id == "GK01") & (df.measure == "HFMSE")]
    assert gk01["score"].tolist() == [15, 16, 18, 20, 22, 23]
    assert gk01["day"].tolist() == [0, 49, 186, 310, 428, 552]
    nt = df[df.missing_code == "NT"]
    assert len(nt) == 1 and nt["score"].isna().all() and nt["measure"].item() == "PP_NONPREF"
    assert (df["sma_type"] == 2).all()  # patient-level column passed through


def test_cohort_sample_long_layout():
    df = read_scores(SAMPLE / "cohort.csv")
    assert df["patient_id"].nunique() == 80
    assert set(df["measure"]) == {"HFMSE", "RULM", "PP_PREF", "PP_NONPREF"}
    assert set(df.loc[df.score.isna(), "missing_code"]) == {"UTA"}
    assert {"sma_type", "sex", "handedness", "site", "smn2_copies"} <= set(df.columns)


def test_clinic_export_items_and_title_row():
    df = read_scores(SAMPLE / "clinic_export.xlsx", skiprows=1, dayfirst=True)
    items = df[df.measure.str.startswith("HFMSE_")]
    totals = df[df.measure == "HFMSE"].set_index(["patient_id", "visit"])["score"]
    sums = items.groupby(["patient_id", "visit"])["score"].sum(min_count=33)
    complete = totals.dropna()
    assert (complete == sums.loc[complete.index]).all()
    assert np.isnan(totals.loc[("MC-102", "M10")])  # item 20 not tested: no total
    assert df["patient_id"].str.strip().eq(df["patient_id"]).all()  # padded ids trimmed
    assert df.loc[df.patient_id == "MC-101", "day"].unique().tolist() == [0, 185, 306]
    assert str(df["date"].iloc[0].date()) == "2020-02-03"


# --------------------------------------------------------------------------- formats
def test_semicolon_decimal_comma_and_bom(tmp_path):
    text = "\ufeffPatient;Visit;Datum;PP preferred hand\nP1;BL;2021-01-04;7,5\nP1;M6;2021-07-05;9,25\n"
    df = read_scores(write(tmp_path, "eu.csv", text))
    assert scores_of(df, "PP_PREF") == [7.5, 9.25]
    assert df["patient_id"].tolist() == ["P1", "P1"]


def test_tab_separated(tmp_path):
    df = read_scores(write(tmp_path, "t.tsv", "subject\tvisit\tday\tRULM\nA\tV1\t0\t20\n"))
    assert df[["patient_id", "day", "measure", "score"]].values.tolist() == [["A", 0.0, "RULM", 20.0]]


def test_explicit_sep_and_decimal(tmp_path):
    path = write(tmp_path, "x.txt", "id|visit|HFMSE|PP_PREF\n1|a|10|4,5\n")
    df = read_scores(path, sep="|", decimal=",")
    assert scores_of(df, "PP_PREF") == [4.5] and df.patient_id.tolist() == ["1", "1"]


def test_excel_sheet_name_and_missing_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"a": [1]}).to_excel(xw, sheet_name="notes", index=False)
        pd.DataFrame({"Patient ID": ["P1"], "Visit": ["BL"], "HFMSE total": [33]}).to_excel(
            xw, sheet_name="scores", index=False)
    df = read_scores(path, sheet_name="scores")
    assert scores_of(df, "HFMSE") == [33]
    assert scores_of(read_scores(path, sheet_name=" Scores"), "HFMSE") == [33]  # any case
    assert scores_of(read_scores(path, sheet_name=1), "HFMSE") == [33]  # counted from 0
    with pytest.raises(DataError, match=r"no sheet 'Score'.*0 'notes', 1 'scores'"):
        read_scores(path, sheet_name="Score")
    with pytest.raises(DataError, match=r"no sheet number 2 \(sheets are numbered from 0\)"):
        read_scores(path, sheet_name=2)


def test_sas_transport_round_trip(tmp_path):
    import pyreadstat

    frame = pd.DataFrame({"USUBJID": ["S1", "S1"], "PARAMCD": ["HFMSE", "RULM"],
                          "AVISIT": ["Baseline", "Baseline"], "ADY": [1.0, 1.0],
                          "AVAL": [30.0, 20.0]})
    path = tmp_path / "adqs.xpt"
    pyreadstat.write_xport(frame, str(path))
    df = read_scores(path)
    assert df[["patient_id", "visit", "day", "measure", "score"]].values.tolist() == [
        ["S1", "Baseline", 0.0, "HFMSE", 30.0], ["S1", "Baseline", 0.0, "RULM", 20.0]]


def test_dataframe_input_is_not_modified():
    frame = pd.DataFrame({"patient": [" P1 ", "P2"], "HFMSE": ["12", "NT"]})
    before = frame.copy(deep=True)
    df = read_scores(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert df["patient_id"].tolist() == ["P1", "P2"] and df["missing_code"].tolist() == ["", "NT"]


def test_reading_never_writes_to_the_file(tmp_path):
    path = write(tmp_path, "s.csv", "patient_id,visit,HFMSE\nP1,BL,20\nP1,BL,20\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    mtime = path.stat().st_mtime_ns
    with pytest.warns(DataWarning):
        read_scores(path)
    check_scores(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


# --------------------------------------------------------------------------- layouts
def test_long_layout_aliases_and_missing_codes(tmp_path):
    text = ("Subject,Visit date,Test,Result\n"
            "P1,2020-01-02,HFMSE total,20\nP1,2020-01-02,hfmse,\nP2,2020-01-02,RULM,n/a\n"
            "P2,2020-01-02,Purdue non-preferred hand,not tested\nP3,2020-01-02,rulm,-\n")
    with pytest.raises(DataError, match="conflicting"):
        read_scores(write(tmp_path, "a.csv", text))
    text = text.replace("P1,2020-01-02,hfmse,\n", "")
    df = read_scores(write(tmp_path, "b.csv", text))
    assert df["measure"].tolist() == ["HFMSE", "RULM", "PP_NONPREF", "RULM"]
    assert df["missing_code"].tolist() == ["", "N/A", "NT", "-"]
    assert df["score"].isna().tolist() == [False, True, True, True]


def test_adam_columns_read_as_long_layout():
    adam = pd.DataFrame({
        "USUBJID": ["S1", "S1", "S1"], "PARAMCD": ["HFMSE", "HFMSE", "HFMSE"],
        "PARAM": ["HFMSE total"] * 3, "AVISIT": ["Baseline", "Month 6", "Month 6"],
        "ADT": ["2020-01-01", "2020-07-01", "2020-07-15"], "ADY": [-3, 183, 197],
        "AVAL": [20, 22, 23], "BASE": [20, 20, 20], "CHG": [0, 2, 3],
    })
    df = read_scores(adam)
    assert df["day"].tolist() == [-3, 182, 196]  # ADY has no day 0
    assert df["visit"].tolist() == ["Baseline", "Month 6", "Month 6"]  # same AVISIT, two days
    assert "BASE" not in df.columns and "CHG" not in df.columns


def test_item_columns_with_and_without_padding():
    items = {f"hfmse_{i}" if i % 2 else f"HFMSE item {i:02d}": [1] for i in range(1, 34)}
    df = read_scores(pd.DataFrame({"patient_id": ["P1"], "visit": ["BL"], **items}))
    assert scores_of(df, "HFMSE") == [33.0]
    assert sorted(m for m in df.measure if m.startswith("HFMSE_"))[0] == "HFMSE_01"


def test_rulm_items_entry_item_not_counted():
    items = {f"RULM_{k}": [2] for k in "BCDEFGHIJKLMNOPQRS"} | {"RULM_T": [1], "RULM entry item A": [5]}
    df = read_scores(pd.DataFrame({"id": ["P1"], "visit": ["BL"], **items}))
    assert scores_of(df, "RULM") == [37.0] and scores_of(df, "RULM_A") == [5.0]


def test_item_sum_must_match_recorded_total():
    items = {f"HFMSE_{i:02d}": [1, 2] for i in range(1, 34)}
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": ["BL", "BL"], **items,
                          "HFMSE": [33, 60]})
    with pytest.raises(DataError) as err:
        read_scores(frame)
    msg = str(err.value)
    assert "row 3" in msg and "'HFMSE'" in msg and "60 disagrees with the sum of its items, 66" in msg


def test_purdue_right_left_with_handedness():
    frame = pd.DataFrame({"patient": ["R", "L", "U"], "handedness": ["Right", "left", ""],
                          "Purdue right hand": [10, 6, 8], "Purdue left hand": [7, 9, 5]})
    df = read_scores(frame)
    got = {(p, m): s for p, m, s in df[["patient_id", "measure", "score"]].values}
    assert got[("R", "PP_PREF")] == 10 and got[("R", "PP_NONPREF")] == 7
    assert got[("L", "PP_PREF")] == 9 and got[("L", "PP_NONPREF")] == 6
    assert got[("U", "PP_RIGHT")] == 8 and got[("U", "PP_LEFT")] == 5


def test_purdue_sum_of_three_trials_range():
    frame = pd.DataFrame({"patient": ["A"], "PP_PREF": [40]})
    with pytest.raises(DataError, match="above the PP_PREF maximum of 25"):
        read_scores(frame)
    assert scores_of(read_scores(frame, purdue="sum3"), "PP_PREF") == [40]
    assert scores_of(read_scores(pd.DataFrame({"patient": ["A"], "PP_PREF": [7.67]})),
                     "PP_PREF") == [7.67]  # means of trials need not be integers


def test_columns_option_maps_other_names():
    frame = pd.DataFrame({"Kind": ["K1"], "Termin": ["BL"], "Grob": [12]})
    df = read_scores(frame, columns={"Kind": "patient_id", "Termin": "visit", "Grob": "HFMSE"})
    assert df[["patient_id", "visit", "measure", "score"]].values.tolist() == [["K1", "BL", "HFMSE", 12.0]]


def test_first_dose_date_gives_study_day(tmp_path):
    text = "patient,first dose date,visit date,HFMSE\nP1,2020-01-10,2020-01-03,10\nP1,2020-01-10,2020-03-13,11\n"
    df = read_scores(write(tmp_path, "d.csv", text))
    assert df["day"].tolist() == [-7, 63]


# --------------------------------------------------------------------------- dates
def test_ambiguous_dates_are_refused(tmp_path):
    path = write(tmp_path, "amb.csv", "patient,date,HFMSE\nP1,03/02/2020,10\nP1,04/05/2020,11\n")
    with pytest.raises(DataError, match="day-first or month-first.*dayfirst=True"):
        read_scores(path)
    assert read_scores(path, dayfirst=True)["date"].dt.month.tolist() == [2, 5]
    assert read_scores(path, dayfirst=False)["date"].dt.month.tolist() == [3, 4]


def test_unambiguous_day_first_column_and_impossible_date(tmp_path):
    path = write(tmp_path, "d.csv", "patient,date,HFMSE\nP1,13/02/2020,10\nP1,31/02/2020,11\n")
    with pytest.raises(DataError) as err:
        read_scores(path)
    assert "row 3, column 'date': '31/02/2020' is not a valid date" in str(err.value)


# --------------------------------------------------------------------------- errors
def test_all_problems_reported_together_with_rows_and_columns(tmp_path):
    text = ("title line\npatient_id,visit,HFMSE,RULM,PP_PREF\n"
            "P1,BL,70,12,3\nP1,M6,7.5,x,inf\n,M10,3,4,5\nP2,BL,-1,38,26\n")
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError) as err:
        read_scores(path, skiprows=1)
    table = err.value.problems
    got = {(int(r.row), r.column, r.rule) for r in table.itertuples()}
    assert {(3, "HFMSE", "range"), (4, "HFMSE", "integer"), (4, "RULM", "number"),
            (4, "PP_PREF", "range"), (5, "patient_id", "patient"), (6, "HFMSE", "range"),
            (6, "RULM", "range"), (6, "PP_PREF", "range")} <= got
    msg = str(err.value)
    assert msg.startswith(f"{path}: 8 problems")
    assert "row 3, column 'HFMSE': 70 is above the HFMSE maximum of 66" in msg
    assert "row 4, column 'RULM': 'x' is not a number" in msg
    assert "row 4, column 'PP_PREF': inf is not a finite number" in msg
    assert isinstance(err.value, ValueError)


def test_check_scores_returns_problems_without_raising(tmp_path):
    path = write(tmp_path, "c.csv", "patient_id,HFMSE\nP1,67\nP2,66\n")
    table = check_scores(path)
    assert list(table.columns) == ["severity", "file", "row", "column", "value", "rule", "message"]
    assert table[["severity", "row", "column", "value", "rule"]].values.tolist() == [
        ["error", 2, "HFMSE", "67", "range"]]
    assert check_scores(SAMPLE / "case_series.csv").empty


def test_unknown_measure_suggests_nearest(tmp_path):
    path = write(tmp_path, "u.csv", "patient,measure,score\nP1,HFMES,10\nP1,XYZ,3\n")
    with pytest.raises(DataError) as err:
        read_scores(path)
    assert "row 2, column 'measure': unknown measure 'HFMES'; did you mean 'HFMSE'?" in str(err.value)
    with pytest.raises(DataError, match="'HFMSE_34' looks like a score column.*'HFMSE_33'"):
        read_scores(pd.DataFrame({"patient": ["P1"], "HFMSE_34": [1]}))


def test_missing_required_columns_name_expected_and_found():
    with pytest.raises(DataError, match=r"no patient column.*found 'visit', 'HFMSE'"):
        read_scores(pd.DataFrame({"visit": ["BL"], "HFMSE": [1]}))
    with pytest.raises(DataError, match=r"no score columns found.*found 'patient', 'comment'"):
        read_scores(pd.DataFrame({"patient": ["P1"], "comment": ["x"]}))


def test_duplicates_collapse_and_conflicts(tmp_path):
    path = write(tmp_path, "dup.csv", "patient,visit,day,HFMSE\nP1,BL,0,10\nP1,BL,0,10\nP1,BL,30,11\n")
    with pytest.warns(DataWarning, match="row 3 repeats row 2"):
        df = read_scores(path)
    assert scores_of(df, "HFMSE") == [10, 11]  # same label, other day: a second assessment
    path = write(tmp_path, "conf.csv", "patient,visit,day,HFMSE\nP1,BL,0,10\nP1,BL,0,12\n")
    with pytest.raises(DataError, match=r"conflicting scores.*10 \(row 2\), 12 \(row 3\)"):
        read_scores(path)


def test_file_level_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_scores(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="the file is empty"):
        read_scores(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match="no data rows"):
        read_scores(write(tmp_path, "h.csv", "patient_id,HFMSE\n\n,\n"))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02binary\x00")
    with pytest.raises(DataError, match="binary file"):
        read_scores(binary)
    latin = write(tmp_path, "l.csv", "patient,visit,HFMSE\nJos\u00e9,BL,10\n", encoding="cp1252")
    with pytest.raises(DataError, match=r"not valid utf-8-sig.*line 2.*encoding='cp1252'"):
        read_scores(latin)
    assert read_scores(latin, encoding="cp1252")["patient_id"].tolist() == ["Jos\u00e9"]


def test_padding_and_trailing_empty_rows_and_columns(tmp_path):
    text = " Patient ID , Visit ,HFMSE,\n  P1 , BL ,20,\n,,,\n\n"
    df = read_scores(write(tmp_path, "p.csv", text))
    assert df[["patient_id", "visit", "score"]].values.tolist() == [["P1", "BL", 20.0]]


# --------------------------------------------------------------------------- doses
def test_read_doses_and_errors(tmp_path):
    path = write(tmp_path, "doses.csv", "patient,date,dose mg,drug\nP1,2020-01-01,12,nusinersen\n"
                 "P1,2020-01-20,12,nusinersen\n")
    doses = read_doses(path)
    assert doses["day"].isna().all() and doses["dose"].tolist() == [12, 12]
    assert doses["date"].dt.day.tolist() == [1, 20] and doses["drug"].iloc[0] == "nusinersen"
    bad = write(tmp_path, "bad.csv", "patient,day,dose\nP1,0,-12\n,14,12\n")
    with pytest.raises(DataError) as err:
        read_doses(bad)
    assert "row 2, column 'dose'" in str(err.value) and "row 3" in str(err.value)


# --------------------------------------------------------------------------- warnings
def test_clean_files_raise_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_scores(SAMPLE / "case_series.csv")
        read_scores(SAMPLE / "cohort.csv")
