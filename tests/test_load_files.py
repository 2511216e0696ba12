"""Real clinic files (issue 11): each class of file made the way real tools make it,
read exactly or refused with a DataError that says what to do."""

from __future__ import annotations

import datetime as dt
import inspect
import sqlite3
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from sma_outcomes import DataError, DataWarning, check_scores, read_doses, read_scores
from sma_outcomes.load import excel
from sma_outcomes.load.read import READ_OPTIONS
from tests.files import make


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def expected_scores():
    return [20, 18, 22, 19, 35, 30, 36, 31, 10, 12, 12, 14]


# --------------------------------------------------------------------------- options
@pytest.mark.parametrize("func", [read_scores, check_scores, read_doses])
def test_reading_options_are_real_parameters(func):
    params = inspect.signature(func).parameters
    assert set(READ_OPTIONS) <= set(params) and {"sql", "con"} <= set(params)
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
    with pytest.raises(TypeError):
        func(pd.DataFrame({"patient": ["P1"], "HFMSE": [1]}), sheet="x")


def test_ignore_leaves_columns_out():
    frame = pd.DataFrame({"patient": ["P1"], "HFMSE": [20], "HFMSE old": [3], "notes": ["x"]})
    with pytest.raises(DataError, match="'HFMSE old'"):
        read_scores(frame)
    df = read_scores(frame, ignore=["hfmse old", "Notes"])
    assert df["score"].tolist() == [20] and "notes" not in df.columns
    with pytest.raises(DataError, match=r"ignore= names \['nope'\]"):
        read_scores(frame, ignore=["nope"])


# --------------------------------------------------------------------------- Excel
def test_stale_dimension_loses_nothing(tmp_path):
    path = make.stale_dimension(tmp_path / "stale.xlsx", ref="A1:B2")
    df = read_scores(path)
    assert df["score"].tolist() == expected_scores()
    assert df["patient_id"].nunique() == 3 and set(df["measure"]) == {"HFMSE", "RULM"}


def test_formula_without_saved_value_is_refused_with_row_and_column(tmp_path):
    path = make.formulas_without_values(tmp_path / "formula.xlsx")
    with pytest.raises(DataError) as err:
        read_scores(path)
    msg = str(err.value)
    assert "row 3, column E ('RULM'): =C3+D3" in msg
    assert "open and save the file in Excel" in msg
    table = check_scores(path)
    assert table[["row", "column", "rule"]].values.tolist() == [[3, "RULM", "formula"]]


def test_xlsxwriter_formula_zero_is_not_a_value(tmp_path):
    pytest.importorskip("xlsxwriter")
    path = make.xlsxwriter_formulas(tmp_path / "xw.xlsx")
    with pytest.raises(DataError, match=r"row 3, column C \('HFMSE'\): =C2\+2.*open and save"):
        read_scores(path)


def test_absurd_used_range_is_read_in_bounded_time(tmp_path):
    path = make.absurd_used_range(tmp_path / "xfd.xlsx")
    assert path.stat().st_size < 20_000
    start = time.perf_counter()
    df = read_scores(path)
    assert time.perf_counter() - start < 5
    assert df["score"].tolist() == expected_scores()


def test_huge_content_is_refused(tmp_path, monkeypatch):
    path = make.workbook(tmp_path / "big.xlsx")
    monkeypatch.setattr(excel, "MAX_CELLS", 10)
    with pytest.raises(DataError, match=r"more than 10 values.*CSV or Parquet"):
        read_scores(path)
    monkeypatch.setattr(excel, "MAX_CELLS", 10**6)
    monkeypatch.setattr(excel, "MAX_SHEET_BYTES", 100)
    with pytest.raises(DataError, match="GB of cell data"):
        read_scores(path)


def test_a_few_kb_that_unpack_to_a_huge_sheet_are_refused_at_once(tmp_path, monkeypatch):
    path = make.stale_dimension(tmp_path / "bomb.xlsx", ref="A1:XFD1048576")
    empties = '<row><c s="0"/></row>' * 200_000  # rows numbered by position, as allowed
    make.rewrite_member(path, "xl/worksheets/sheet1.xml",
                        lambda t: t.replace("</sheetData>", empties + "</sheetData>"))
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(excel, "MAX_BOMB_BYTES", 1_000_000)
    start = time.perf_counter()
    with pytest.raises(DataError, match="empty formatted cells"):
        read_scores(path)
    assert time.perf_counter() - start < 2


def test_first_sheet_without_scores_names_the_sheet_that_has_them(tmp_path):
    notes = pd.DataFrame({"Notes": ["exported 2021-10-01", "by the physio team"]})
    path = make.workbook(tmp_path / "book.xlsx", title="HFMSE data",
                         before=[("Read me", notes)])
    with pytest.raises(DataError) as err:
        read_scores(path)
    msg = str(err.value)
    assert "first sheet, 'Read me', holds no score columns, but sheet 'HFMSE data'" in msg
    assert "sheet_name='HFMSE data'" in msg and '--sheet "HFMSE data"' in msg
    assert "0 'Read me', 1 'HFMSE data'" in msg
    assert read_scores(path, sheet_name="hfmse DATA")["score"].tolist() == expected_scores()
    assert read_scores(path, sheet_name=1)["score"].tolist() == expected_scores()
    assert read_scores(path, sheet_name="1")["score"].tolist() == expected_scores()


def test_empty_first_sheet_names_the_sheet_with_scores(tmp_path):
    from openpyxl import load_workbook

    path = make.workbook(tmp_path / "book.xlsx", title="Data")
    wb = load_workbook(path)
    wb.create_sheet("Sheet1", 0)  # an empty template sheet left in front
    wb.save(path)
    with pytest.raises(DataError, match=r"first sheet, 'Sheet1', is empty, but sheet 'Data'"):
        read_scores(path)


def test_password_protected_workbook(tmp_path):
    path = make.encrypted(tmp_path / "locked.xlsx")
    with pytest.raises(DataError, match="password-protected"):
        read_scores(path)
    renamed = path.rename(tmp_path / "locked.csv")  # whatever its name
    with pytest.raises(DataError, match="password-protected"):
        read_scores(renamed)


def test_old_xls_and_misnamed_files(tmp_path):
    old = tmp_path / "old.xlsx"
    old.write_bytes(excel.OLE_MAGIC + b"\x00" * 600)
    with pytest.raises(DataError, match="Excel 97-2003.*save it as .xlsx"):
        read_scores(old)
    book = make.workbook(tmp_path / "book.xlsx")
    as_csv = tmp_path / "book.csv"
    as_csv.write_bytes(book.read_bytes())
    assert read_scores(as_csv)["score"].tolist() == expected_scores()  # content decides
    tsv = write(tmp_path, "export.xls", "patient\tday\tHFMSE\nP1\t0\t20\n")
    assert read_scores(tsv)["score"].tolist() == [20]
    html = write(tmp_path, "export.xls", "<html><table><tr><td>patient</td></tr></table></html>")
    with pytest.raises(DataError, match="web page"):
        read_scores(html)
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(book.read_bytes()[:2000])
    with pytest.raises(DataError, match="Excel workbook"):
        read_scores(damaged)


def test_merged_cells_take_the_top_left_value(tmp_path):
    from openpyxl import load_workbook

    path = make.workbook(tmp_path / "merged.xlsx")
    wb = load_workbook(path)
    ws = wb.active
    ws["A3"] = None
    ws.merge_cells("A2:A3")  # P01 written once for its two visits
    wb.save(path)
    assert read_scores(path)["patient_id"].tolist()[:4] == ["P01"] * 4


def test_duplicate_header_is_refused(tmp_path):
    path = write(tmp_path, "dup.csv", "patient,HFMSE,HFMSE\nP1,20,21\n")
    with pytest.raises(DataError, match=r"names the column 'HFMSE' twice \(columns 2 and 3\)"):
        read_scores(path)


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le", "utf-16-be"])
def test_unicode_text_is_detected(tmp_path, encoding):
    path = make.unicode_text(tmp_path / "unicode.txt", encoding=encoding)
    df = read_scores(path)
    assert df["score"].tolist() == expected_scores()
    assert str(df["date"].iloc[0].date()) == "2021-01-04"


def test_encoding_is_honoured_before_the_binary_check(tmp_path):
    text = "patient\tvisit\tHFMSE\nJos\u00e9\tBL\t10\n"
    path = write(tmp_path, "u.txt", text, encoding="utf-16-le")
    assert read_scores(path, encoding="utf-16-le")["patient_id"].tolist() == ["Jos\u00e9"]
    assert read_scores(path, encoding="utf-16")["patient_id"].tolist() == ["Jos\u00e9"]
    assert read_scores(path)["patient_id"].tolist() == ["Jos\u00e9"]  # recognised by its zeros
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02binary\x00\xff")
    with pytest.raises(DataError, match="binary file.*encoding="):
        read_scores(binary)


# --------------------------------------------------------------------------- dates
@pytest.mark.parametrize("value", ["3021-01-02", "1650-03-04", "02/01/3021"])
def test_implausible_dates_name_row_column_and_value(tmp_path, value):
    path = write(tmp_path, "d.csv", f"patient,visit date,HFMSE\nP1,2021-01-04,10\nP1,{value},11\n")
    with pytest.raises(DataError) as err:
        read_scores(path, dayfirst=True)
    assert (f"row 3, column 'visit date': '{value}' is outside the plausible range of dates "
            "(1900-2099)") in str(err.value)


def test_dates_beyond_pandas_bounds_are_data_errors(tmp_path):
    frame = pd.DataFrame({"patient": ["P1", "P1"], "HFMSE": [10, 11],
                          "date": np.array(["2021-01-01", "3021-01-01"], dtype="datetime64[s]")})
    with pytest.raises(DataError, match=r"row 3, column 'date': 3021-01-01 is outside"):
        read_scores(frame)
    path = make.workbook(tmp_path / "d.xlsx", pd.DataFrame({
        "patient": ["P1", "P1"], "date": [dt.datetime(2021, 1, 1), dt.datetime(9999, 1, 1)],
        "HFMSE": [1, 2]}))
    with pytest.raises(DataError, match=r"row 3, column 'date': 9999-01-01 is outside"):
        read_scores(path)
    big = write(tmp_path, "big.csv", "patient,date,HFMSE\nP1,10000-01-01,3\n")
    with pytest.raises(DataError, match=r"row 2, column 'date': '10000-01-01'"):
        read_scores(big)


def test_time_zone_aware_datetimes_give_the_local_calendar_date():
    when = pd.to_datetime(["2021-03-04 23:30", "2021-09-04 00:30"]).tz_localize("Europe/Berlin")
    frame = pd.DataFrame({"patient": ["P1", "P1"], "date": when, "HFMSE": [10, 11],
                          "first dose date": pd.Timestamp("2021-03-01", tz="Europe/Berlin")})
    df = read_scores(frame)
    assert [str(d.date()) for d in df["date"]] == ["2021-03-04", "2021-09-04"]
    assert df["day"].tolist() == [3.0, 187.0]  # whole days, not shifted to UTC
    text = pd.DataFrame({"patient": ["P1"], "date": ["2021-03-04T23:30:00+01:00"], "HFMSE": [1]})
    assert str(read_scores(text)["date"].iloc[0].date()) == "2021-03-04"


# --------------------------------------------------------------------------- rows, ids
def test_summary_rows_are_refused_with_their_row(tmp_path):
    path = write(tmp_path, "s.csv", "patient,day,HFMSE\nP1,0,10\nP2,0,20\n\nMean,,15\n"
                 "Std. dev.,,7.1\nn,,2\n")
    with pytest.raises(DataError) as err:
        read_scores(path)
    rows = err.value.problems.query("rule == 'summary_row'")["row"].tolist()
    assert rows == [5, 6, 7]
    assert "looks like a summary row ('Mean' in column 'patient')" in str(err.value)
    frame = pd.DataFrame({"patient": ["P1", None], "visit": ["BL", "Total"], "HFMSE": [10, 10]})
    with pytest.raises(DataError, match="row 3.*summary row \\('Total' in column 'visit'\\)"):
        read_scores(frame)


def test_ids_differing_by_case_or_invisible_characters(tmp_path):
    path = write(tmp_path, "i.csv", "patient,day,HFMSE\nP01,0,10\np01,180,20\nP02\u200b,0,15\n"
                 "P02,180,16\n")
    with pytest.raises(DataError) as err:
        read_scores(path)
    msg = str(err.value)
    assert "'P01' (row 2); 'p01' (row 3) differ only by case" in msg
    assert "'P02\\u200b' (row 4)" in msg and "\u200b" not in msg  # shown escaped
    values = err.value.problems["value"].tolist()
    assert "P02\\u200b" in values or "P02" in values


def test_ids_with_and_without_surrounding_spaces_warn(tmp_path):
    path = write(tmp_path, "s.csv", "patient,day,HFMSE\nP03\u00a0,0,3\nP03,180,4\n")
    with pytest.warns(DataWarning, match=r"'P03' is written with and without surrounding spaces"):
        df = read_scores(path)
    assert df["patient_id"].tolist() == ["P03", "P03"]


# --------------------------------------------------------------------------- columns
def test_clinic_aliases(tmp_path):
    path = write(tmp_path, "a.csv", "patient,day,Total RULM,RULM total,Pegboard right,"
                 "Pegboard left,HINE-2 score,CHOP INTEND total,6MWT (m)\n"
                 "P1,0,20,,10,9,20,40,300\n")
    with pytest.raises(DataError, match="2 columns mean 'RULM'"):
        read_scores(path)
    df = read_scores(path, ignore=["RULM total"])
    assert dict(zip(df["measure"], df["score"], strict=True)) == {
        "RULM": 20, "PP_RIGHT": 10, "PP_LEFT": 9, "HINE2": 20, "CHOP_INTEND": 40, "SMWT": 300}


def test_unrecognised_numeric_column_varying_within_patient_is_reported():
    frame = pd.DataFrame({"patient": ["P1", "P1", "P2"], "day": [0, 180, 0],
                          "HFMSE": [20, 21, 30], "grip kg": [5.0, 6.5, 7.0],
                          "sma_type": [2, 2, 3]})
    with pytest.warns(DataWarning, match=r"row 3, column 'grip kg'.*change within a patient"):
        read_scores(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_scores(frame, ignore=["grip kg"])  # sma_type is constant: no warning


def test_wide_by_visit_layout(tmp_path):
    path = write(tmp_path, "w.csv", "Patient,Date baseline,HFMSE baseline,RULM baseline,"
                 "Date month 6,HFMSE month 6,RULM month 6,sex\n"
                 "P1,2021-01-04,20,18,2021-07-05,22,19,F\nP2,2021-02-01,30,25,2021-08-02,31,x,M\n")
    with pytest.raises(DataError, match=r"row 3, column 'RULM month 6': 'x' is not a number"):
        read_scores(path)
    df = read_scores(path.write_text(path.read_text().replace(",x,", ",NT,")) and path)
    assert df[["patient_id", "visit", "measure", "score"]].head(4).values.tolist() == [
        ["P1", "Baseline", "HFMSE", 20], ["P1", "Baseline", "RULM", 18],
        ["P1", "Month 6", "HFMSE", 22], ["P1", "Month 6", "RULM", 19]]
    assert [str(d.date()) for d in df["date"].iloc[::2]] == [
        "2021-01-04", "2021-07-05", "2021-02-01", "2021-08-02"]
    assert df["missing_code"].iloc[-1] == "NT" and (df["sex"].iloc[:4] == "F").all()
    other = read_scores(pd.DataFrame({"id": ["P1"], "HFMSE_BL": [20], "HFMSE_M12": [25]}))
    assert other["visit"].tolist() == ["Baseline", "Month 12"]
    grip = pd.DataFrame({"id": ["P1"], "HFMSE_BL": [20], "Grip BL": [5.5]})
    with pytest.warns(DataWarning, match="'Grip BL' is one visit's \\(Baseline\\) but not a known"):
        read_scores(grip)


def test_unreadable_visit_headers_get_a_sensible_suggestion():
    frame = pd.DataFrame({"patient": ["P1"], "visit": ["x"], "HFMSE Jan 2021": [20]})
    with pytest.raises(DataError) as err:
        read_scores(frame)
    msg = str(err.value)
    assert "HFMSE_" not in msg and "'HFMSE baseline', 'HFMSE month 6'" in msg


def test_misspelt_date_column_is_named(tmp_path):
    path = write(tmp_path, "v.csv", "patient,visit,vist date,HFMSE\nP1,BL,2021-01-04,20\n")
    with pytest.raises(DataError, match=r"'vist date' looks like a misspelt 'visit date'"):
        read_scores(path)
    df = read_scores(path, columns={"vist date": "date"})
    assert str(df["date"].iloc[0].date()) == "2021-01-04"
    when = write(tmp_path, "w.csv", "patient,visit,when,HFMSE\nP1,BL,2021-01-04,20\n")
    assert check_scores(when).empty
    msg = check_scores(when, require_time=True)["message"].item()
    assert "no visit date or study-day column" in msg
    assert "found 'patient', 'visit', 'when', 'HFMSE'" in msg
    assert "column 'when' holds dates" in msg


# --------------------------------------------------------------------------- REDCap
@pytest.mark.parametrize("export", ["raw", "labels"])
def test_redcap_exports(tmp_path, export):
    text = make.REDCAP_RAW if export == "raw" else make.REDCAP_LABELS
    path = write(tmp_path, f"redcap_{export}.csv", text)
    with pytest.warns(DataWarning, match=r"row 7.*marked Incomplete"):
        df = read_scores(path)
    assert df[["patient_id", "visit", "measure", "score"]].values.tolist()[:4] == [
        ["1", "Baseline", "HFMSE", 20], ["1", "Baseline", "RULM", 18],
        ["1", "Month 6", "HFMSE", 22], ["1", "Month 6", "RULM", 19]]
    assert df["day"].tolist() == [0, 0, 182, 182, 0, 0, 182, 182]  # first dose from the record
    assert "site" in df.columns and df["site"].nunique() == 2
    assert not [c for c in df.columns if "___" in c or "choice=" in c or "omplete" in c]


def test_redcap_repeat_instances_become_visits():
    frame = pd.DataFrame({
        "record_id": [7, 7, 7], "redcap_repeat_instrument": ["motor"] * 3,
        "redcap_repeat_instance": [1, 2, 3], "assessment_date": ["2021-01-04", "2021-04-05",
                                                                 "2021-07-05"],
        "hfmse_total": [20, 21, 22], "motor_complete": [2, 2, 2]})
    df = read_scores(frame)
    assert df["visit"].tolist() == ["Motor 1", "Motor 2", "Motor 3"]


# --------------------------------------------------------------------------- Parquet, SQL
def test_parquet(tmp_path):
    path = tmp_path / "scores.parquet"
    make.SCORES.to_parquet(path)
    assert read_scores(path)["score"].tolist() == expected_scores()


def test_sql_query_on_sqlite(tmp_path):
    db = make.sqlite_db(tmp_path / "registry.sqlite")
    sql = "SELECT * FROM motor_scores ORDER BY rowid"
    with sqlite3.connect(db) as con:
        assert read_scores(sql=sql, con=con)["score"].tolist() == expected_scores()
        with pytest.raises(DataError, match="the query failed.*no such table"):
            read_scores(sql="SELECT * FROM nope", con=con)
    assert read_scores(db, sql=sql)["score"].tolist() == expected_scores()
    with pytest.raises(DataError, match="database file.*sql="):
        read_scores(db)


def test_sql_query_on_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "registry.duckdb"
    con = duckdb.connect(str(path))
    con.register("frame", make.SCORES)
    con.execute("CREATE TABLE motor_scores AS SELECT * FROM frame")
    df = read_scores(sql="SELECT * FROM motor_scores", con=con)
    con.close()
    assert df["score"].tolist() == expected_scores()
    assert str(df["date"].iloc[0].date()) == "2021-01-04"
    assert read_scores(path, sql="SELECT * FROM motor_scores")["score"].tolist() == \
        expected_scores()


# --------------------------------------------------------------------------- more text
def test_excel_sep_directive_and_written_out_dates(tmp_path):
    path = write(tmp_path, "x.csv", "sep=;\r\nPatient;Visit date;HFMSE\r\nP1;04-Jan-2021;20\r\n"
                 "P1;Jul 5, 2021;22\r\nP1;2022/01/03;23\r\nP1;04JAN2023;24\r\nP1;20240105;25\r\n",
                 encoding="utf-8-sig")
    df = read_scores(path)
    assert [str(d.date()) for d in df["date"]] == ["2021-01-04", "2021-07-05", "2022-01-03",
                                                    "2023-01-04", "2024-01-05"]
    assert df["score"].tolist() == [20, 22, 23, 24, 25]
    frame = pd.DataFrame({"patient": ["P1"], "date": [20210104], "HFMSE": [3]})
    assert str(read_scores(frame)["date"].iloc[0].date()) == "2021-01-04"


def test_excel_serial_numbers_as_dates_are_explained(tmp_path):
    path = write(tmp_path, "s.csv", "patient,date,HFMSE\nP1,44200,20\n")
    with pytest.raises(DataError, match="row 2, column 'date'.*Excel date serial number"):
        read_scores(path)


def test_require_time_needs_follow_up():
    one = pd.DataFrame({"patient": ["P1", "P2"], "day": [0, 0], "HFMSE": [20, 30]})
    assert check_scores(one).empty
    assert check_scores(one, require_time=True)["rule"].tolist() == ["follow_up"]
    two = pd.DataFrame({"patient": ["P1", "P1"], "day": [0, 180], "HFMSE": [20, 22]})
    assert check_scores(two, require_time=True).empty
    untested = two.assign(HFMSE=["NT", "UTA"])
    assert "no score has a value" in check_scores(untested, require_time=True)["message"].item()


def test_header_below_title_rows_is_pointed_at():
    from tests.conftest import SAMPLE

    with pytest.raises(DataError, match=r"header seems to be on row 2 .*pass skiprows=1"):
        read_scores(SAMPLE / "clinic_export.xlsx", dayfirst=True)


def test_more_clinic_headers():
    frame = pd.DataFrame({"Patient code": ["P1", "P1"],
                          "Visit Date (dd/mm/yyyy)": ["04/01/2021", "05/07/2021"],
                          "Assessment": ["HFMSE", "RULM (/37)"], "Total score": [20, 22]})
    df = read_scores(frame)  # the header says day first: no dayfirst= needed
    assert [str(d.date()) for d in df["date"]] == ["2021-01-04", "2021-07-05"]
    assert df["measure"].tolist() == ["HFMSE", "RULM"]
    wide = pd.DataFrame({"MRN": ["1"], "HFMSE (baseline)": [20], "HFMSE (month 6)": [22],
                         "Purdue dominant hand (baseline)": [10]})
    got = read_scores(wide)
    assert got[["visit", "measure", "score"]].values.tolist() == [
        ["Baseline", "HFMSE", 20], ["Month 6", "HFMSE", 22], ["Baseline", "PP_PREF", 10]]


def test_values_without_a_header(tmp_path):
    path = write(tmp_path, "u.csv", "patient,day,HFMSE,\nP1,0,20,18\nP1,180,22,19\n")
    with pytest.raises(DataError, match=r"row 2, column 'Unnamed: 3': column 4 holds numbers but "
                                        "has no header"):
        read_scores(path)
    notes = write(tmp_path, "n.csv", "patient,day,HFMSE,\nP1,0,20,checked\nP1,180,22,\n")
    with pytest.warns(DataWarning, match="column 4 holds values but has no header"):
        read_scores(notes)
    indexed = tmp_path / "pandas.xlsx"
    make.SCORES.to_excel(indexed)  # pandas writes its index under an empty header
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_scores(indexed)["score"].tolist() == expected_scores()


def test_redcap_first_field_under_another_name():
    frame = pd.DataFrame({"study_id": ["S1", "S1"],
                          "redcap_event_name": ["baseline_arm_1", "month_12_arm_1"],
                          "visit_date": ["2021-01-04", "2022-01-03"], "hfmse_total": [20, 23],
                          "motor_complete": [2, 2]})
    df = read_scores(frame)
    assert df[["patient_id", "visit", "score"]].values.tolist() == [
        ["S1", "Baseline", 20], ["S1", "Month 12", 23]]


def test_a_note_under_the_table_never_becomes_a_patient():
    frame = pd.DataFrame({"patient": ["P1", "P1", "Assessed by: Dr X"], "Days": [0, 180, None],
                          "HFMSE": [20, 22, None]})
    with pytest.warns(DataWarning, match="row 4.*holds only 'Assessed by: Dr X'.*not read"):
        df = read_scores(frame)
    assert df["patient_id"].unique().tolist() == ["P1"] and df["day"].tolist() == [0, 180]


def test_one_sheet_per_visit(tmp_path):
    scores = make.SCORES
    baseline = scores[scores["Visit"] == "Baseline"].drop(columns="Visit")
    month6 = scores[scores["Visit"] == "Month 6"].drop(columns="Visit")
    path = make.workbook(tmp_path / "visits.xlsx", month6, title="Month 6",
                         before=[("Baseline", baseline)])
    df = read_scores(path)
    assert sorted(df["score"].tolist()) == sorted(expected_scores())
    assert df.groupby("visit")["date"].min().dt.strftime("%Y-%m").to_dict() == {
        "Baseline": "2021-01", "Month 6": "2021-07"}
    assert read_scores(path, sheet_name="Month 6")["score"].tolist() == [22, 19, 36, 31, 12, 14]


def test_several_score_sheets_are_not_read_as_one(tmp_path):
    path = make.workbook(tmp_path / "two.xlsx", title="Copy", before=[("Scores", make.SCORES)])
    with pytest.raises(DataError, match=r"2 sheets hold score columns \('Scores', 'Copy'\)"):
        read_scores(path)
    assert read_scores(path, sheet_name="copy")["score"].tolist() == expected_scores()


def test_strict_open_xml_and_binary_workbooks_are_named(tmp_path):
    path = make.workbook(tmp_path / "strict.xlsx")
    make.rewrite_member(path, "xl/workbook.xml", lambda t: t.replace(
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main"))
    with pytest.raises(DataError, match="Strict Open XML"):
        read_scores(path)
    import zipfile

    xlsb = tmp_path / "book.xlsb"
    with zipfile.ZipFile(xlsb, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    with pytest.raises(DataError, match="Excel Binary Workbook"):
        read_scores(xlsb)
