"""Read a source (delimited text, Excel, SAS transport or a DataFrame) into a raw frame.

The raw frame keeps cells as the file has them (text, or numbers where the
column is plainly numeric) together with each row's number *as a spreadsheet
shows it* (the header line is row 1), so that every later error can point at
the right row. Nothing here interprets scores.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import OptionError
from .columns import measure_code, role_of
from .database import query, query_file
from .excel import MAX_LAYOUT, OLE_MAGIC, is_strict, read_sheet, refuse_ole, zip_members
from .problems import fail

SNIFF_BYTES = 64 * 1024


@dataclass
class RawTable:
    """Cells of one source and the spreadsheet row number of each data row."""

    frame: pd.DataFrame
    rows: np.ndarray
    name: str
    decimal: str = "."
    kind: str = "frame"
    sheets: list[str] = field(default_factory=list)
    sheet: str | None = None


def read_source(
    source: str | os.PathLike | pd.DataFrame | None,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    decimal: str | None = None,
    sql: str | None = None,
    con: object = None,
    text_roles: tuple[str, ...] = (
        "patient_id", "visit", "measure", "date", "first_dose_date", "score", "day", "ady",
        "handedness",
    ),
) -> RawTable:
    """Read any supported source into a :class:`RawTable`.

    The format is recognised from the file's first bytes (the name's suffix only
    breaks ties), so a workbook named .csv or a tab-separated export named .xls is
    read for what it is.

    Parameters
    ----------
    source : path or DataFrame
        A .csv/.tsv/.txt file (separator sniffed), .xlsx/.xlsm workbook, Parquet
        file, SAS transport .xpt, SAS .sas7bdat, a SQLite or DuckDB database file
        (with ``sql``), or a DataFrame already in memory. None with ``sql`` and ``con``.
    sep, encoding, sheet_name, skiprows, decimal
        As in :func:`sma_outcomes.read_scores`.
    sql, con
        A query and a DB-API connection (sqlite3, DuckDB, ...) or SQLAlchemy
        connectable; or a query and a database file given as ``source``.
    text_roles : tuple of str
        Column roles read from delimited text as categoricals of the cells' text
        (with the measure columns of a wide layout): each distinct text is then
        interpreted once, which keeps a million-row file fast.

    Raises
    ------
    DataError
        Missing, empty, binary, encrypted or undecodable file; a sheet that does
        not exist; a query that fails.

    Examples
    --------
    >>> raw = read_source(pd.DataFrame({"patient": ["P1"], "HFMSE": [20]}))
    >>> raw.rows.tolist(), raw.name
    ([2], '<DataFrame>')
    """
    if sql is not None or con is not None:
        return _read_sql(source, sql, con)
    if isinstance(source, pd.DataFrame):
        return _from_frame(source, "<DataFrame>", decimal, "frame")
    if source is None:
        raise OptionError("read_scores() needs a source: a file, a DataFrame, or sql= with con=")
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise fail(name, "file", f"file not found: {name}")
    if path.is_dir():
        raise fail(name, "file", f"{name} is a folder, not a data file")
    suffix = path.suffix.lower()
    head = _first_bytes(path)
    if head.startswith(b"PK\x03\x04"):
        return _read_zip(path, name, sheet_name=sheet_name, skiprows=skiprows,
                         decimal=decimal)
    if head.startswith(OLE_MAGIC):
        refuse_ole(path, name)
    if head.startswith(b"PAR1"):
        return _read_parquet(path, name, decimal)
    if head.startswith(b"SQLite format 3\x00") or head[8:12] == b"DUCK":
        raise fail(name, "format", "this is a database file: pass the query that selects the "
                   "scores, sql='SELECT ... FROM ...' (CLI: --sql \"SELECT ...\")")
    if suffix == ".xpt" or head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD"):
        return _read_sas(path, name, "xport")
    if suffix == ".sas7bdat":
        return _read_sas(path, name, "sas7bdat")
    if suffix == ".parquet":
        return _read_parquet(path, name, decimal)
    if suffix in (".xls", ".xlsx", ".xlsm") and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        raise fail(name, "format", "this file has an Excel name but is a web page (HTML/XML), as "
                   "some systems export; open it in Excel and save it as .xlsx, or export CSV")
    return _read_text(
        path, name, sep=sep, encoding=encoding, skiprows=skiprows, decimal=decimal,
        text_roles=text_roles, head=head,
    )


def _from_frame(frame: pd.DataFrame, name: str, decimal: str | None, kind: str) -> RawTable:
    frame = frame.copy(deep=True)
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.reset_index(drop=True)
    _check_header(list(frame.columns), name)
    return RawTable(frame, np.arange(len(frame)) + 2, name, decimal or ".", kind=kind)


def _check_header(header: list[str], name: str) -> None:
    """Refuse a header that names one column twice (which would be read as two)."""
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        key = str(h).strip().casefold()
        if not key or key.startswith("unnamed:") or key == "complete?":
            continue  # REDCap's labels export repeats "Complete?" once per form
        if key in seen:
            raise fail(name, "columns", f"the header names the column {str(h).strip()!r} twice "
                       f"(columns {seen[key] + 1} and {j + 1}); rename one, or leave one out "
                       "with ignore=[...]" , column=str(h).strip())
        seen[key] = j


def _read_zip(path: Path, name: str, **kw) -> RawTable:  # noqa: ANN003
    members = zip_members(path)
    if "xl/workbook.bin" in members:
        raise fail(name, "format", "this is an Excel Binary Workbook (.xlsb); open it in Excel "
                   "and save it as .xlsx (Excel Workbook)")
    if "xl/workbook.xml" in members and is_strict(path):
        raise fail(name, "format", "this workbook was saved as 'Strict Open XML Spreadsheet', "
                   "which cannot be read; open it in Excel and save it as .xlsx (Excel "
                   "Workbook)")
    if any(m.startswith("xl/") for m in members):
        return _read_excel(path, name, **kw)
    if "content.xml" in members:
        raise fail(name, "format", "this is an OpenDocument spreadsheet (.ods); open it and "
                   "save it as .xlsx, or export CSV")
    if not members:
        raise fail(name, "format", "cannot be opened as an Excel workbook (the zip container "
                   "is damaged); open it in Excel and save it again")
    raise fail(name, "format", "this is a zip archive, not a workbook; unpack it and read the "
               "data file inside")


def _read_parquet(path: Path, name: str, decimal: str | None) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise fail(name, "format", "reading Parquet needs pyarrow: pip install pyarrow") from None
    except Exception as err:  # pyarrow raises its own error types for a damaged file
        raise fail(name, "format", f"cannot be read as a Parquet file ({err})") from None
    return _from_frame(frame, name, decimal, "parquet")


def _read_sql(source: object, sql: str | None, con: object) -> RawTable:
    if not sql or not isinstance(sql, str):
        raise OptionError("sql= takes the query text (SELECT ...) and con= a database "
                          f"connection; got sql={sql!r}")
    if isinstance(source, pd.DataFrame):
        raise OptionError("give either a DataFrame or sql=, not both")
    name = "<SQL query>"
    if con is None:
        if source is None:
            raise OptionError("sql= needs con= (a database connection) or a database file as "
                              "the source")
        frame = query_file(Path(source), sql)
        name = f"{source} <SQL query>"
    else:
        if source is not None:
            raise OptionError("give either a source file or con=, not both")
        frame = query(con, sql)
    return _from_frame(frame, name, None, "sql")


# --------------------------------------------------------------------------- text
def _first_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES)


def detect_encoding(head: bytes) -> str | None:
    """An encoding announced by a byte-order mark, or UTF-16 recognised by its zero
    bytes; None otherwise.

    Examples
    --------
    >>> detect_encoding("a,b".encode("utf-16")), detect_encoding(b"a,b")
    ('utf-16', None)
    >>> detect_encoding("a,b".encode("utf-32")), detect_encoding("ab,c".encode("utf-16-le"))
    ('utf-32', 'utf-16-le')
    """
    if head.startswith(b"\xff\xfe\x00\x00") or head.startswith(b"\x00\x00\xfe\xff"):
        return "utf-32"
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    sample = head[:4096]
    half = len(sample) // 2
    if half >= 2:
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        if odd > 0.4 * half and even == 0:
            return "utf-16-le"
        if even > 0.4 * half and odd == 0:
            return "utf-16-be"
    return None


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
    head: bytes,
) -> RawTable:
    if not head.strip():
        raise fail(name, "empty", "the file is empty")
    found = detect_encoding(head)
    if encoding is not None:
        try:
            enc = codecs.lookup(encoding).name
        except LookupError:
            raise fail(name, "encoding", f"unknown encoding {encoding!r}") from None
        if enc in ("utf-8", "utf_8") and found == "utf-8-sig":
            enc = "utf-8-sig"  # the byte-order mark is not part of the first column name
        elif enc in ("utf-16", "utf-32") and found != enc:
            # "utf-16" needs a byte-order mark: without one, take the order the bytes show
            enc = found if found and found.startswith(enc) else f"{enc}-le"
    elif found is not None:
        enc = found
    else:
        if b"\x00" in head:
            raise fail(
                name, "format",
                "this is a binary file, not delimited text (if it is text in another encoding, "
                "pass encoding=..., e.g. encoding='utf-16'; CLI: --encoding utf-16)",
            )
        enc = "utf-8-sig"
    try:
        text_head = codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=False)
    except UnicodeError:
        raise _decode_error(path, name, enc) from None
    if "\x00" in text_head:
        raise fail(name, "format", f"the file read as {enc} holds NUL characters: it is binary, "
                   "or in another encoding (pass encoding=...)")
    if not text_head.strip():
        raise fail(name, "empty", "the file is empty")
    skip = int(skiprows or 0)
    lines = text_head.splitlines()
    directive = re.match(r"^\ufeff?sep=(.)\s*$", lines[skip]) if len(lines) > skip else None
    if directive:  # Excel's "sep=;" first line names the separator
        sep = sep or directive.group(1)
        skip += 1
    body = lines[skip:]
    if not [ln for ln in body if ln.strip()]:
        raise fail(name, "empty", "the file has no header line")
    if sep is None:
        sep = _sniff_sep(body[:50])
    if decimal is None:
        decimal = _sniff_decimal(body[1:50], sep)
    header = next(csv.reader([body[0]], delimiter=sep)) if len(sep) == 1 else body[0].split(sep)
    _check_header(header, name)
    dtype = {col: "category" for col in header
             if role_of(col) in text_roles or measure_code(col) is not None}
    try:
        with pd.option_context("mode.string_storage", "python"):
            frame = _read_csv(
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
            engine="c" if len(sep) == 1 else "python",
            **({"low_memory": False} if len(sep) == 1 else {}),
            )
    except UnicodeError:
        raise _decode_error(path, name, enc) from None
    except pd.errors.EmptyDataError:
        raise fail(name, "empty", "the file is empty") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise fail(name, "format", f"cannot be read as delimited text ({err})") from None
    frame.columns = [str(c) for c in frame.columns]
    rows = np.arange(len(frame)) + skip + 2
    return RawTable(frame, rows, name, decimal, kind="text")


def _read_csv(path: Path, **kw) -> pd.DataFrame:  # noqa: ANN003
    return pd.read_csv(path, **kw)


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
    sheet = read_sheet(path, name, sheet_name=sheet_name)
    label = f"{name} [{sheet.title}]"
    skip = int(skiprows or 0)
    cells = {k: v for k, v in sheet.cells.items() if k[0] > skip and _filled(v)}
    if not cells:
        raise fail(label, "empty", "the sheet is empty" + (f" below row {skip}" if skip else ""))
    row_ids = sorted({r for r, _ in cells})
    col_ids = sorted({c for _, c in cells})
    if len(row_ids) * len(col_ids) > MAX_LAYOUT:
        raise fail(label, "size", f"the sheet's values span {len(row_ids):,} rows and "
                   f"{len(col_ids):,} columns, more than this reader lays out; export the "
                   "scores as CSV or Parquet")
    # the header is the first row with any content after the skipped rows
    header_row = row_ids[0]
    body_rows = row_ids[1:]
    col_pos = {c: j for j, c in enumerate(col_ids)}
    row_pos = {r: i for i, r in enumerate(body_rows)}
    data = np.full((len(body_rows), len(col_ids)), None, dtype=object)
    header: list[object] = [None] * len(col_ids)
    for (r, c), v in cells.items():
        if r == header_row:
            header[col_pos[c]] = v
        else:
            data[row_pos[r], col_pos[c]] = v
    columns = [_header_text(h) if _filled(h) else f"Unnamed: {c - 1}"
               for h, c in zip(header, col_ids, strict=True)]
    _check_header(columns, label)
    frame = pd.DataFrame(data, columns=columns, dtype=object)
    # a row between two data rows that holds nothing is kept (as blank) so that row
    # numbers stay those of the sheet
    return RawTable(frame, np.asarray(body_rows, dtype=np.int64), label, decimal or ".",
                    kind="excel", sheets=sheet.sheets, sheet=sheet.title)


def _header_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)


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
