"""Read one sheet of an Excel workbook (.xlsx/.xlsm) cell by cell, as the file holds it.

The sheet's XML is streamed and every cell that holds a value is kept, whatever
used range the file declares: a stale ``<dimension>`` (written by scripts and
some exporters) loses nothing, and a single formatted empty cell at XFD1048576
costs nothing. Only the rows and columns that hold values are laid out, so the
time is bounded by the file's content, not by its declared size.

Refused with a :class:`~sma_outcomes.DataError`:

- a formula cell without a saved value (the file was written by a program that
  does not calculate, such as openpyxl; xlsxwriter stores 0 for every formula and
  asks Excel to calculate on opening, which counts as no value too): the message
  names its row and column and says to open and save the file in Excel;
- a password-protected (encrypted) workbook, an old ``.xls`` workbook, an Excel
  Binary Workbook (``.xlsb``) and one saved as "Strict Open XML";
- a sheet whose XML exceeds :data:`MAX_SHEET_BYTES` uncompressed or that holds more
  than :data:`MAX_CELLS` values (truly huge content);
- a sheet that does not exist (the message lists the sheets with their numbers).

Sheets are chosen by name, compared ignoring case and surrounding spaces (Excel
itself does not allow two sheets whose names differ only by case), or by number
counted **from 0** (``sheet_name=0`` is the first sheet, as in pandas). Merged
cells take the value of their top-left cell, as Excel shows them.

Examples
--------
>>> import openpyxl, tempfile, pathlib
>>> wb = openpyxl.Workbook(); ws = wb.active; ws.title = "Scores"
>>> ws.append(["patient", "HFMSE"]); ws.append(["P1", 20])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"; wb.save(path)
>>> sheet = read_sheet(path, str(path), sheet_name="scores")
>>> sheet.title, sheet.cells
('Scores', {(1, 1): 'patient', (1, 2): 'HFMSE', (2, 1): 'P1', (2, 2): 20})
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import DataError
from .problems import fail

#: Largest uncompressed sheet XML read (bytes); larger sheets are refused.
MAX_SHEET_BYTES = 1_500_000_000
#: A sheet whose XML is over MAX_BOMB_BYTES and MAX_RATIO times its packed size is
#: refused before parsing (empty formatted cells by the million, or a zip bomb).
MAX_BOMB_BYTES = 100_000_000
MAX_RATIO = 300
#: Most cells holding a value that one sheet may have.
MAX_CELLS = 30_000_000
#: Largest table laid out from one sheet (filled rows x filled columns).
MAX_LAYOUT = 200_000_000

_CELL_TYPES = {"n", "s", "str", "b", "e", "d", "inlineStr"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class NoCachedValue:
    """A formula cell whose value was never calculated (no ``<v>`` in the file)."""

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __repr__(self) -> str:
        return f"={self.formula}"


@dataclass
class Sheet:
    """The values of one sheet: ``cells[(row, column)]`` with 1-based row and column."""

    title: str
    cells: dict[tuple[int, int], object]
    sheets: list[str] = field(default_factory=list)
    formulas: list[tuple[int, int, str]] = field(default_factory=list)


def ole_kind(path: Path) -> str | None:
    """``"encrypted"`` for a password-protected Office file, ``"ole"`` for another OLE2
    file (an old .xls workbook), None when the file is not an OLE2 compound file."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head != OLE_MAGIC:
            return None
        data = fh.read(4 * 1024 * 1024)
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode(
            "utf-16-le") in data:
        return "encrypted"
    return "ole"


def refuse_ole(path: Path, name: str) -> None:
    """Raise the DataError for an OLE2 file given as a workbook or as text."""
    kind = ole_kind(path)
    if kind == "encrypted":
        raise fail(name, "format",
                   "the workbook is password-protected (encrypted), so it cannot be read; "
                   "open it in Excel, remove the password (File > Info > Protect Workbook > "
                   "Encrypt with Password, clear it) and save it, then read the saved copy")
    if kind == "ole":
        raise fail(name, "format",
                   "this is an old Excel 97-2003 workbook (.xls format); open it in Excel "
                   "and save it as .xlsx (Excel Workbook)")


def sheet_names(path: Path, name: str) -> list[str]:
    """Names of a workbook's sheets in order."""
    wb = _open(path, name)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _open(path: Path, name: str):  # noqa: ANN202 - an openpyxl workbook
    from openpyxl import load_workbook

    refuse_ole(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # from bytes: the content decides, whatever the file's name
            return load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a broken zip or XML
        raise fail(name, "format", f"cannot be opened as an Excel workbook ({_why(err)})"
                   ) from None


def _why(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text if len(text) < 200 else text[:197] + "..."


def pick_sheet(sheets: list[str], sheet_name: str | int | None, name: str) -> str:
    """The sheet a ``sheet_name`` means: a name (any case) or a number from 0.

    Examples
    --------
    >>> pick_sheet(["Notes", "Scores"], " scores ", "f.xlsx"), pick_sheet(["a", "b"], 1, "f")
    ('Scores', 'b')
    """
    listed = ", ".join(f"{i} {s!r}" for i, s in enumerate(sheets))
    if sheet_name is None:
        return sheets[0]
    if isinstance(sheet_name, bool) or not isinstance(sheet_name, (str, int)):
        raise fail(name, "sheet", f"sheet_name must be a sheet name or a number counted from "
                   f"0, not {sheet_name!r}; the sheets are {listed}")
    if isinstance(sheet_name, int):
        if not 0 <= sheet_name < len(sheets):
            raise fail(name, "sheet", f"there is no sheet number {sheet_name} (sheets are "
                       f"numbered from 0); the sheets are {listed}")
        return sheets[sheet_name]
    want = sheet_name.strip().casefold()
    for s in sheets:
        if s.strip().casefold() == want:
            return s
    if want.isdigit() and int(want) < len(sheets):
        return sheets[int(want)]
    raise fail(name, "sheet", f"there is no sheet {sheet_name!r}; the sheets are {listed} "
               "(a name, in any case, or a number counted from 0)")


def read_sheet(path: Path, name: str, *, sheet_name: str | int | None = None) -> Sheet:
    """Every cell of one sheet that holds a value.

    Raises
    ------
    DataError
        Unreadable, encrypted or huge workbooks, missing sheets, formulas without
        saved values.
    """
    wb = _open(path, name)
    try:
        sheets = list(wb.sheetnames)
        if not sheets:
            raise fail(name, "empty", "the workbook has no sheets")
        title = pick_sheet(sheets, sheet_name, name)
        ws = wb[title]
        if not hasattr(ws, "_worksheet_path"):
            raise fail(name, "sheet", f"sheet {title!r} is a chart, not a table of values")
        try:
            sheet = _parse(wb, ws, name, title)
        except DataError:
            raise
        except Exception as err:  # a damaged sheet: bad XML, bad references, bad strings
            raise fail(name, "format", f"sheet {title!r} cannot be read: the workbook is "
                       f"damaged ({_why(err)}); open it in Excel and save it again") from None
    finally:
        wb.close()
    sheet.sheets = sheets
    if sheet.formulas:
        top = min(r for r, _ in sheet.cells)

        def col_name(c: int) -> str:
            head = sheet.cells.get((top, c))
            return f"{_letter(c)} ({head!r})" if isinstance(head, str) else _letter(c)

        shown = "; ".join(f"row {r}, column {col_name(c)}: ={f}"
                          for r, c, f in sheet.formulas[:5])
        head = sheet.cells.get((top, sheet.formulas[0][1]))
        more = f" (and {len(sheet.formulas) - 5} more)" if len(sheet.formulas) > 5 else ""
        raise fail(f"{name} [{title}]", "formula",
                   f"{len(sheet.formulas)} formula cell(s) have no saved value, so their "
                   f"values are unknown: {shown}{more}. The file was written by a program that "
                   "does not calculate formulas; open and save the file in Excel (or "
                   "LibreOffice) so that the values are stored, then read it again",
                   row=sheet.formulas[0][0],
                   column=head if isinstance(head, str) else _letter(sheet.formulas[0][1]),
                   value=f"={sheet.formulas[0][2]}")
    return sheet


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    try:
        return get_column_letter(col)
    except ValueError:
        return str(col)


def _parse(wb, ws, name: str, title: str) -> Sheet:  # noqa: ANN001 - openpyxl objects
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    archive = wb._archive
    try:
        info = archive.getinfo(ws._worksheet_path)
    except KeyError:
        raise fail(name, "format", f"sheet {title!r} is missing from the workbook") from None
    size = info.file_size
    if size > MAX_BOMB_BYTES and size > MAX_RATIO * max(info.compress_size, 1):
        raise fail(name, "size", f"sheet {title!r} unpacks from {info.compress_size / 1e3:.0f} KB "
                   f"to {size / 1e6:.0f} MB of cell data: a huge range of empty formatted cells "
                   "or a damaged file; in Excel, delete the unused rows and columns below and "
                   "right of the data (or copy the data to a new workbook) and save it")
    if size > MAX_SHEET_BYTES:
        raise fail(name, "size", f"sheet {title!r} holds {size / 1e9:.1f} GB of cell data, more "
                   f"than this reader takes ({MAX_SHEET_BYTES / 1e9:.1f} GB); export the scores "
                   "as CSV or Parquet")

    formulas: list[tuple[int, int, str]] = []
    # Writers that do not calculate (openpyxl, xlsxwriter) mark the workbook "calculate on
    # load"; xlsxwriter then stores 0 as every formula's value: a value nobody calculated
    uncalculated = _full_calc_on_load(archive)

    class Parser(WorkSheetParser):
        def parse_cell(self, element):  # noqa: ANN001, ANN202
            kind = element.get("t", "n")
            if kind not in _CELL_TYPES:
                raise ValueError(f"cell {element.get('r')} has the unknown type {kind!r}")
            cell = super().parse_cell(element)
            if cell["value"] is None or uncalculated:
                f = element.find(FORMULA_TAG)
                if f is not None:
                    formulas.append((cell["row"], cell["column"], f.text or ""))
                    cell["value"] = NoCachedValue(f.text or "")
            return cell

    cells: dict[tuple[int, int], object] = {}
    with archive.open(ws._worksheet_path) as src, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                        date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        for _row, row_cells in parser.parse():
            for c in row_cells:
                v = c["value"]
                if v is None or (isinstance(v, str) and v == ""):
                    continue
                cells[(c["row"], c["column"])] = v
            if len(cells) > MAX_CELLS:
                raise fail(name, "size", f"sheet {title!r} holds more than {MAX_CELLS:,} values, "
                           "more than this reader takes; export the scores as CSV or Parquet")
        merged = getattr(parser, "merged_cells", None)
    if merged is not None and cells:
        _fill_merged(cells, merged)
    return Sheet(title, cells, formulas=formulas)


def _full_calc_on_load(archive: zipfile.ZipFile) -> bool:
    try:
        text = archive.read("xl/workbook.xml")[:200_000].decode("utf-8", "replace")
    except KeyError:
        return False
    m = re.search(r"<(?:\w+:)?calcPr\b[^>]*\bfullCalcOnLoad=\"(1|true)\"", text)
    return m is not None


def _fill_merged(cells: dict, merged) -> None:  # noqa: ANN001 - openpyxl MergeCells
    """Give the cells of a merged range the value of its top-left cell (as Excel shows)."""
    rows = {r for r, _ in cells}
    cols = {c for _, c in cells}
    top, bottom, left, right = min(rows), max(rows), min(cols), max(cols)
    budget = MAX_CELLS
    for rng in getattr(merged, "mergeCell", []) or []:
        try:
            from openpyxl.utils import range_boundaries

            c1, r1, c2, r2 = range_boundaries(rng.ref)
        except Exception:  # a damaged reference: the range is left unmerged
            continue
        value = cells.get((r1, c1))
        r1, r2, c1, c2 = max(r1, top), min(r2, bottom), max(c1, left), min(c2, right)
        area = max(0, r2 - r1 + 1) * max(0, c2 - c1 + 1)
        if value is None or area > budget:
            continue
        budget -= area
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                cells.setdefault((r, c), value)


def is_strict(path: Path) -> bool:
    """Whether a workbook uses the ISO "Strict Open XML" namespaces (openpyxl reads none)."""
    try:
        with zipfile.ZipFile(path) as z, z.open("xl/workbook.xml") as fh:
            return b"purl.oclc.org/ooxml/spreadsheetml" in fh.read(4096)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def zip_members(path: Path) -> list[str]:
    """Names inside a zip file ([] when it is not a readable zip)."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
