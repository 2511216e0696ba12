"""Read a source (delimited text, Excel, SAS transport or a DataFrame) into a raw frame.

The raw frame keeps cells as the file has them (text, or numbers where the
column is plainly numeric) together with each row's number *as a spreadsheet
shows it* (the header line is row 1), so that every later error can point at
the right row. Nothing here interprets scores.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import measure_code, role_of
from .problems import fail

TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ".tab", ".dat", ""}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SNIFF_BYTES = 64 * 1024


@dataclass
class RawTable:
    """Cells of one source and the spreadsheet row number of each data row."""

    frame: pd.DataFrame
    rows: np.ndarray
    name: str
    decimal: str = "."


def read_source(
    source: str | os.PathLike | pd.DataFrame,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    decimal: str | None = None,
    text_roles: tuple[str, ...] = (
        "patient_id", "visit", "measure", "date", "first_dose_date", "score", "day", "ady",
        "handedness",
    ),
) -> RawTable:
    """Read any supported source into a :class:`RawTable`.

    Parameters
    ----------
    source : path or DataFrame
        A .csv/.tsv/.txt file (separator sniffed), .xlsx/.xlsm workbook, SAS
        transport .xpt, SAS .sas7bdat, or a DataFrame already in memory.
    sep, encoding, sheet_name, skiprows, decimal
        As in pandas; ``encoding`` defaults to UTF-8 with or without BOM, and
        nothing else is tried.
    text_roles : tuple of str
        Column roles read from delimited text as categoricals of the cells' text
        (with the measure columns of a wide layout): each distinct text is then
        interpreted once, which keeps a million-row file fast.

    Raises
    ------
    DataError
        Missing, empty, binary or undecodable file; a sheet that does not exist.

    Examples
    --------
    >>> raw = read_source(pd.DataFrame({"patient": ["P1"], "HFMSE": [20]}))
    >>> raw.rows.tolist(), raw.name
    ([2], '<DataFrame>')
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy(deep=True)
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.reset_index(drop=True)
        return RawTable(frame, np.arange(len(frame)) + 2, "<DataFrame>", decimal or ".")
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise fail(name, "file", f"file not found: {name}")
    if path.is_dir():
        raise fail(name, "file", f"{name} is a folder, not a data file")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, name, sheet_name=sheet_name, skiprows=skiprows, decimal=decimal)
    if suffix == ".xls":
        raise fail(name, "format", "old .xls workbooks are not supported; save it as .xlsx")
    if suffix == ".xpt":
        return _read_sas(path, name, "xport")
    if suffix == ".sas7bdat":
        return _read_sas(path, name, "sas7bdat")
    return _read_text(
        path, name, sep=sep, encoding=encoding, skiprows=skiprows, decimal=decimal,
        text_roles=text_roles,
    )


# --------------------------------------------------------------------------- text
def _first_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES)


def _decode_error(path: Path, name: str, encoding: str) -> Exception:
    data = path.read_bytes()
    try:
        data.decode(encoding)
        line, snippet = None, b""
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        snippet = data[err.start : err.start + 4]
    where = f" (first at line {line}, bytes {snippet!r})" if line else ""
    return fail(
        name,
        "encoding",
        f"the file is not valid {encoding}{where}; if it was saved by Excel on Windows try "
        "encoding='cp1252' (or 'latin-1'); CLI: --encoding cp1252",
        row=line,
    )


def _read_text(
    path: Path,
    name: str,
    *,
    sep: str | None,
    encoding: str | None,
    skiprows: int | None,
    decimal: str | None,
    text_roles: tuple[str, ...],
) -> RawTable:
    head = _first_bytes(path)
    if not head.strip():
        raise fail(name, "empty", "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise fail(name, "format", "this looks like an Excel workbook; give it an .xlsx name")
    if b"\x00" in head:
        raise fail(
            name, "format",
            "this is a binary file, not delimited text (if it is UTF-16 text, pass "
            "encoding='utf-16')",
        )
    enc = encoding or "utf-8-sig"
    try:
        text_head = head.decode(enc, errors="strict")
    except UnicodeDecodeError:
        # the sniffed block may end inside a multi-byte character: decode what is safe
        try:
            text_head = head[:-4].decode(enc, errors="strict")
        except UnicodeDecodeError:
            raise _decode_error(path, name, enc) from None
    except LookupError:
        raise fail(name, "encoding", f"unknown encoding {encoding!r}") from None
    skip = int(skiprows or 0)
    lines = text_head.splitlines()
    body = lines[skip:]
    if not [ln for ln in body if ln.strip()]:
        raise fail(name, "empty", "the file has no header line")
    if sep is None:
        sep = _sniff_sep(body[:50])
    if decimal is None:
        decimal = _sniff_decimal(body[1:50], sep)
    header = next(csv.reader([body[0]], delimiter=sep))
    dtype = {col: "category" for col in header
             if role_of(col) in text_roles or measure_code(col) is not None}
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            encoding=enc,
            skiprows=skip,
            decimal=decimal,
            dtype=dtype,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skipinitialspace=False,
            engine="c",
            low_memory=False,
        )
    except UnicodeDecodeError:
        raise _decode_error(path, name, enc) from None
    except pd.errors.EmptyDataError:
        raise fail(name, "empty", "the file is empty") from None
    except pd.errors.ParserError as err:
        raise fail(name, "format", f"cannot be read as delimited text ({err})") from None
    frame.columns = [str(c) for c in frame.columns]
    rows = np.arange(len(frame)) + skip + 2
    return RawTable(frame, rows, name, decimal)


def _sniff_sep(lines: list[str]) -> str:
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {s: header.count(s) for s in (",", ";", "\t", "|")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _sniff_decimal(lines: list[str], sep: str) -> str:
    """Decimal commas are detected in semicolon- and tab-separated files only."""
    if sep == ",":
        return "."
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)
    for row in reader:
        for cell in row:
            c = cell.strip()
            if c and c.replace(",", "", 1).replace("-", "", 1).isdigit() and "," in c:
                return ","
    return "."


# --------------------------------------------------------------------------- excel
def _read_excel(
    path: Path, name: str, *, sheet_name: str | int | None, skiprows: int | None,
    decimal: str | None,
) -> RawTable:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a broken zip
        raise fail(name, "format", f"cannot be opened as an Excel workbook ({err})") from None
    try:
        sheets = wb.sheetnames
        if sheet_name is None or sheet_name == 0:
            ws = wb[sheets[0]]
        elif isinstance(sheet_name, int):
            if not 0 <= sheet_name < len(sheets):
                raise fail(name, "sheet", f"there is no sheet number {sheet_name}; sheets: "
                           + ", ".join(repr(s) for s in sheets))
            ws = wb[sheets[sheet_name]]
        elif sheet_name not in sheets:
            raise fail(name, "sheet", f"there is no sheet {sheet_name!r}; the sheets are "
                       + ", ".join(repr(s) for s in sheets))
        else:
            ws = wb[sheet_name]
        cells = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    skip = int(skiprows or 0)
    cells = cells[skip:]
    # the header is the first row with any content after the skipped rows
    first = next((i for i, r in enumerate(cells) if any(_filled(v) for v in r)), None)
    if first is None:
        raise fail(name, "empty", "the sheet is empty")
    header = cells[first]
    body = cells[first + 1 :]
    numbers = np.arange(len(body)) + skip + first + 2
    width = max([len(header)] + [len(r) for r in body])
    header = list(header) + [None] * (width - len(header))
    keep = [
        j for j in range(width)
        if _filled(header[j]) or any(j < len(r) and _filled(r[j]) for r in body)
    ]
    columns = [str(header[j]) if _filled(header[j]) else f"Unnamed: {j}" for j in keep]
    data = [[(r[j] if j < len(r) else None) for j in keep] for r in body]
    frame = pd.DataFrame(data, columns=columns, dtype=object)
    return RawTable(frame, numbers, f"{name} [{ws.title}]", decimal or ".")


def _filled(v: object) -> bool:
    return v is not None and not (isinstance(v, str) and not v.strip())


# --------------------------------------------------------------------------- SAS
def _read_sas(path: Path, name: str, kind: str) -> RawTable:
    import pyreadstat

    reader = pyreadstat.read_xport if kind == "xport" else pyreadstat.read_sas7bdat
    try:
        frame, _meta = reader(str(path))
    except Exception as err:  # pyreadstat raises its own error types
        raise fail(name, "format", f"cannot be read as a SAS {kind} file ({err})") from None
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(frame.reset_index(drop=True), np.arange(len(frame)) + 2, name, ".")
