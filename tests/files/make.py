"""Files made the way clinics' tools make them: openpyxl workbooks (with a stale
dimension, formulas without saved values, a formatted cell at XFD1048576),
password-protected workbooks (msoffcrypto-tool, as Excel encrypts), Excel's
"Unicode Text" (UTF-16 with a byte-order mark, tab-separated), REDCap raw and
labels exports, Parquet, SQLite and DuckDB databases.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

SCORES = pd.DataFrame({
    "Patient ID": ["P01", "P01", "P02", "P02", "P03", "P03"],
    "Visit": ["Baseline", "Month 6"] * 3,
    "Visit date": [dt.datetime(2021, 1, 4), dt.datetime(2021, 7, 5), dt.datetime(2021, 2, 1),
                   dt.datetime(2021, 8, 2), dt.datetime(2021, 3, 1), dt.datetime(2021, 9, 6)],
    "HFMSE": [20, 22, 35, 36, 10, 12],
    "RULM": [18, 19, 30, 31, 12, 14],
})


def workbook(path: Path, frame: pd.DataFrame = SCORES, title: str = "Scores",
             before: list[tuple[str, pd.DataFrame]] = ()) -> Path:
    """A workbook written row by row with openpyxl (as scripts write them)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, other in [*before, (title, frame)]:
        ws = wb.create_sheet(name)
        ws.append(list(other.columns))
        for row in other.itertuples(index=False):
            ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
    wb.save(path)
    return path


def rewrite_member(path: Path, member: str, edit) -> Path:  # noqa: ANN001
    """Rewrite one file inside an .xlsx (zip) with ``edit(text) -> text``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == member:
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())
    return path


def stale_dimension(path: Path, ref: str = "A1:B2") -> Path:
    """A workbook whose <dimension> declares less than the sheet holds."""
    workbook(path)
    return rewrite_member(path, "xl/worksheets/sheet1.xml",
                          lambda t: re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{ref}"', t))


def formulas_without_values(path: Path) -> Path:
    """openpyxl writes formulas but never their values (it does not calculate)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Scores"
    ws.append(["patient", "day", "RULM_left", "RULM_right", "RULM"])
    ws.append(["P1", 0, 10, 9, 19])
    ws.append(["P1", 180, 11, 10, "=C3+D3"])
    wb.save(path)
    return path


def xlsxwriter_formulas(path: Path) -> Path:
    """xlsxwriter stores 0 as the value of every formula (it does not calculate)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Scores")
    ws.write_row(0, 0, ["patient", "day", "HFMSE"])
    ws.write_row(1, 0, ["P1", 0, 20])
    ws.write_row(2, 0, ["P1", 180])
    ws.write_formula(2, 2, "=C2+2")
    wb.close()
    return path


def absurd_used_range(path: Path) -> Path:
    """A formatted empty cell at XFD1048576 stretches the used range to the sheet's end."""
    from openpyxl import load_workbook
    from openpyxl.styles import PatternFill

    workbook(path)
    wb = load_workbook(path)
    ws = wb.active
    ws["XFD1048576"].fill = PatternFill("solid", fgColor="FFFF00")
    wb.save(path)
    return path


def encrypted(path: Path, password: str = "secret") -> Path:
    """A password-protected workbook, encrypted as Excel does (Agile encryption)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = workbook(path.with_name(path.stem + "_plain.xlsx"))
    with open(plain, "rb") as src, open(path, "wb") as out:
        OOXMLFile(src).encrypt(password, out)
    plain.unlink()
    return path


def unicode_text(path: Path, encoding: str = "utf-16") -> Path:
    """Excel's "Unicode Text": UTF-16 with a byte-order mark, tab-separated, CRLF."""
    text = SCORES.assign(**{"Visit date": SCORES["Visit date"].dt.strftime("%Y-%m-%d")}) \
        .to_csv(sep="\t", index=False, lineterminator="\r\n")
    path.write_bytes(text.encode(encoding))
    return path


#: A REDCap raw export ("CSV / Microsoft Excel (raw data)") of a longitudinal project
#: with a repeating instrument, a checkbox field and form-status columns.
REDCAP_RAW = """record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,redcap_data_access_group,sex,sma_type,first_dose_date,demographics_complete,visit_date,hfmse_total,rulm_total,tested_by___1,tested_by___2,motor_complete
1,baseline_arm_1,,,site_a,F,2,2021-01-04,2,,,,,,
1,baseline_arm_1,motor,1,site_a,,,,,2021-01-04,20,18,1,0,2
1,month_6_arm_1,motor,1,site_a,,,,,2021-07-05,22,19,0,1,2
2,baseline_arm_1,,,site_b,M,3,2021-02-01,2,,,,,,
2,baseline_arm_1,motor,1,site_b,,,,,2021-02-01,35,30,1,0,2
2,month_6_arm_1,motor,1,site_b,,,,,2021-08-02,36,,1,0,0
"""

#: The same project exported as "CSV / Microsoft Excel (labels)".
REDCAP_LABELS = """Record ID,Event Name,Repeat Instrument,Repeat Instance,Data Access Group,Sex,SMA type,First dose date,Complete?,Visit date,HFMSE total,RULM total,Tested by (choice=Physiotherapist),Tested by (choice=Doctor),Complete?
1,Baseline (Arm 1: Treated),,,Site A,Female,2,2021-01-04,Complete,,,,,,
1,Baseline (Arm 1: Treated),Motor,1,Site A,,,,,2021-01-04,20,18,Checked,Unchecked,Complete
1,Month 6 (Arm 1: Treated),Motor,1,Site A,,,,,2021-07-05,22,19,Unchecked,Checked,Complete
2,Baseline (Arm 1: Treated),,,Site B,Male,3,2021-02-01,Complete,,,,,,
2,Baseline (Arm 1: Treated),Motor,1,Site B,,,,,2021-02-01,35,30,Checked,Unchecked,Complete
2,Month 6 (Arm 1: Treated),Motor,1,Site B,,,,,2021-08-02,36,,Checked,Unchecked,Incomplete
"""


def sqlite_db(path: Path, frame: pd.DataFrame = SCORES) -> Path:
    import sqlite3

    con = sqlite3.connect(path)
    out = frame.assign(**{"Visit date": frame["Visit date"].dt.strftime("%Y-%m-%d")})
    out.to_sql("motor_scores", con, index=False)
    con.close()
    return path
