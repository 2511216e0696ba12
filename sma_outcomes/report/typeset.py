"""The report as a typeset PDF, through Typst (the ``typst`` package from PyPI).

Why Typst: one wheel with the compiler and its fonts inside (no browser, no
system libraries such as Pango or Cairo, no network), fast enough for
hundreds of pages, and byte-reproducible output: the same source gives the
same PDF on every machine because system fonts are ignored and no date is
written. WeasyPrint would reuse the HTML but needs Pango from the system and
is many times slower on long tables.

What the PDF does:

- a title block and a table of contents (``#outline``);
- text in Libertinus Serif (proportional), numbers in tables with tabular
  figures, right-aligned, so decimals line up in a column of equal decimals;
- tables that fit the page: cells wrap, tables break across pages with the
  header repeated, and a table too wide for a portrait page gets a landscape
  page of its own; nothing is ever cut;
- figures 14 cm wide (at most 11 cm high), each with its numbered caption.

Examples
--------
>>> typst_string('say "hi" \\\\ #1')
'"say \\\\"hi\\\\" \\\\\\\\ #1"'
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

from .._version import __version__
from .content import Figure, Report, Table, Text, shown_rows_note
from .content import table_cells as _cells

__all__ = ["render_typst_source", "render_typst_pdf", "typst_string", "png_size", "png_inches",
           "PORTRAIT_CHARS"]

#: Characters of table text that fit across a portrait A4 page at the table font size;
#: a wider table gets a landscape page.
PORTRAIT_CHARS = 118

#: Width in characters at which a table cell with spaces is taken to wrap.
WRAP_CHARS = 14

#: Text width of the page and the tallest a figure may be, in cm.
TEXT_WIDTH_CM = 14.0
FIGURE_MAX_HEIGHT_CM = 11.0


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels of a PNG, from its header.

    Examples
    --------
    >>> import struct
    >>> png_size(b"\\x89PNG\\r\\n\\x1a\\n" + b"\\0\\0\\0\\rIHDR" + struct.pack(">II", 640, 480))
    (640, 480)
    """
    import struct

    w, h = struct.unpack(">II", png[16:24])
    return max(1, w), max(1, h)


def png_inches(png: bytes, default_dpi: float = 300.0) -> tuple[float, float]:
    """Width and height in inches of a PNG: its pixels over the resolution it states (pHYs).

    Examples
    --------
    >>> import struct
    >>> head = b"\\x89PNG\\r\\n\\x1a\\n" + b"\\0\\0\\0\\rIHDR" + struct.pack(">II", 900, 600)
    >>> png_inches(head + b"\\0" * 5 + b"\\0\\0\\0\\tpHYs" + struct.pack(">IIB", 11811, 11811, 1))
    (3.0, 2.0)
    >>> png_inches(head, default_dpi=150)
    (6.0, 4.0)
    """
    import struct

    w, h = png_size(png)
    dpi = default_dpi
    at = png.find(b"pHYs", 0, 4096)
    if at > 0 and len(png) >= at + 13:
        ppm, _, unit = struct.unpack(">IIB", png[at + 4 : at + 13])
        if unit == 1 and ppm > 0:  # pixels per metre
            dpi = ppm * 0.0254
    return round(w / dpi, 2), round(h / dpi, 2)


def typst_string(text: object) -> str:
    """A Typst string literal holding ``text`` exactly (shown as plain text, never markup).

    Examples
    --------
    >>> typst_string("a\\nb")
    '"a\\\\nb"'
    """
    out = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


PREAMBLE = """\
#set document(title: {title}, date: none)
#set page(paper: "a4", margin: (x: 1.8cm, y: 2cm), numbering: "1 / 1",
          footer: context align(center, text(size: 8pt, fill: gray.darken(40%),
            [sma\\_outcomes {version} #h(1em) #counter(page).display("1 / 1", both: true)])))
#set text(font: "Libertinus Serif", size: 10pt, lang: "en", hyphenate: false)
#set par(justify: false)
#set heading(numbering: "1.1")
#show heading: set block(above: 1.2em, below: 0.6em)
#show figure: set block(breakable: true)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.caption: set text(size: 9pt)
#show figure.caption: set align(left)
#set table(stroke: (x, y) => if y == 0 {{ (bottom: 0.6pt) }} else {{ (bottom: 0.2pt + gray) }},
           inset: (x: 4pt, y: 2.5pt))
#show table: set text(size: 8pt, number-width: "tabular")
#show table.cell.where(y: 0): set text(weight: "bold")
#let note(body) = block(fill: rgb("#eef5fb"), stroke: (left: 2pt + rgb("#0072b2")),
                        inset: 6pt, width: 100%, body)
#let warn(body) = block(fill: rgb("#fdf3e6"), stroke: (left: 2pt + rgb("#e69f00")),
                        inset: 6pt, width: 100%, body)
"""


def _table_width(table: Table, cells: dict) -> int:
    """Characters a table needs on one line: header words and cells (long cells wrap)."""
    total = 0
    for j, h in enumerate(cells["header"]):
        # header words are bold (about 15% wider) and never break
        words = math.ceil(1.15 * max((len(w) for w in str(h).split()), default=1))
        need = 0
        for r in cells["rows"]:
            text = r[j]["text"]
            # a cell with spaces wraps onto a second line; a word never does
            need = max(need, max(min(len(text), WRAP_CHARS),
                                 max((len(w) for w in text.split()), default=0)))
        total += max(words, need) + 2
    return total


_NUMBER = re.compile(r"^[<>−+-]?\d[\d,]*(\.(\d+))?%?$")


def _decimals(text: str) -> int:
    m = _NUMBER.match(text)
    return len(m.group(2)) if m and m.group(2) else 0


def aligned_cell(text: str, decimals: int) -> str:
    """A right-aligned number padded with invisible digits to ``decimals`` places.

    With tabular figures every digit has the same width, so the hidden
    padding lines the decimal points up; the visible text stays as it is.

    Examples
    --------
    >>> aligned_cell("2", 2)
    '[#"2"#hide(".00")]'
    >>> aligned_cell("2.5", 2)
    '[#"2.5"#hide("0")]'
    >>> aligned_cell("n/a", 2)
    '"n/a"'
    """
    if not _NUMBER.match(text) or decimals == 0:
        return typst_string(text)
    have = _decimals(text)
    pad = ("." if have == 0 else "") + "0" * (decimals - have)
    if text.endswith("%") or not pad:
        return typst_string(text)
    return f"[#{typst_string(text)}#hide({typst_string(pad)})]"


def _table(item: Table, cells: dict, note: str) -> str:
    ncol = max(1, len(cells["header"]))
    nums = [bool(cells["rows"]) and all(r[j]["num"] for r in cells["rows"] if r[j]["text"])
            for j in range(ncol)]
    places = [max([_decimals(r[j]["text"]) for r in cells["rows"]] or [0]) if nums[j] else 0
              for j in range(ncol)]
    align = "(" + ", ".join("right" if n else "left" for n in nums) + ",)"
    body = [f"table.header({', '.join(typst_string(h) for h in cells['header'])}),"]
    for row in cells["rows"]:
        body.append(", ".join(aligned_cell(c["text"], places[j]) if nums[j]
                              else typst_string(c["text"]) for j, c in enumerate(row)) + ",")
    caption = " ".join(x for x in (item.title, item.caption) if x)
    if item.csv:
        caption += f" (tables/{item.name}.csv)"
    if note:
        caption += " " + note
    table = (f"#figure(kind: table, caption: {typst_string(caption.strip())},\n"
             f"table(columns: {ncol}, align: {align},\n" + "\n".join(body) + "\n))\n")
    width = _table_width(item, cells)
    if width > 1.3 * PORTRAIT_CHARS:  # a landscape page of its own
        return f"#page(flipped: true)[\n{table}]\n"
    if width > PORTRAIT_CHARS:  # a smaller type still fits the portrait page
        return f"#[\n#show table: set text(size: 6.3pt)\n{table}]\n"
    return table


def render_typst_source(report: Report, images: dict[str, str]) -> str:
    """The Typst source of the report; ``images`` maps figure names to image paths.

    Examples
    --------
    >>> import pandas as pd
    >>> r = Report("Demo #1", generated="now")
    >>> t = r.section("Data").table("n", pd.DataFrame({"id": ["<b>"], "n": [5]}))
    >>> src = render_typst_source(r, {})
    >>> '"<b>", "5",' in src and "#outline(" in src
    True
    """
    out = [PREAMBLE.format(title=typst_string(report.title), version=__version__)]
    out.append(f"#align(center, text(size: 17pt, weight: \"bold\", {typst_string(report.title)}))")
    if report.subtitle:
        out.append(f"#align(center, text(size: 11pt, {typst_string(report.subtitle)}))")
    out.append(f"#align(center, text(size: 9pt, fill: gray.darken(40%), "
               f"{typst_string(f'Generated {report.generated} by sma_outcomes {__version__}.')}))")
    out.append('#outline(title: "Contents", depth: 1, indent: auto)\n#pagebreak(weak: true)')
    for s in report.sections:
        level = max(1, s.level - 1)
        out.append(f"#heading(level: {level}, {typst_string(s.title)})")
        for item in s.items:
            if isinstance(item, Text):
                fn = item.style if item.style in ("note", "warn") else ""
                out.append(f"#{fn}({typst_string(item.body)})" if fn
                           else f"#par({typst_string(item.body)})")
            elif isinstance(item, Table):
                out.append(_table(item, _cells(item), shown_rows_note(item)))
            elif isinstance(item, Figure) and item.name in images:
                caption = " ".join(x for x in (item.title, item.caption) if x)
                w, h = png_size(item.png) if item.png else (4, 3)
                size = (f"width: {TEXT_WIDTH_CM}cm" if TEXT_WIDTH_CM * h / w <= FIGURE_MAX_HEIGHT_CM
                        else f"height: {FIGURE_MAX_HEIGHT_CM}cm")
                out.append(f"#figure(image({typst_string(images[item.name])}, {size}), "
                           f"caption: {typst_string(caption)})")
    return "\n".join(out) + "\n"


def render_typst_pdf(report: Report, path: str | os.PathLike, root: str | os.PathLike) -> None:
    """Typeset the report as ``path`` with Typst; figures are read from ``root``.

    Figures already saved (``files``) are used from ``root``; others are
    written to a temporary folder inside ``root`` first. The Typst source is
    not kept.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> r = Report("Demo", generated="now")
    >>> r.section("Data").text("Five patients.")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> render_typst_pdf(r, folder / "r.pdf", folder)
    >>> (folder / "r.pdf").read_bytes()[:5], sorted(p.name for p in folder.iterdir())
    (b'%PDF-', ['r.pdf'])
    """
    import typst

    root = Path(root).resolve()
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix=".typst-", dir=root) as tmp:
        images: dict[str, str] = {}
        for f in report.figures():
            png = next((x for x in f.files if x.endswith(".png")), "")
            if png and (root / png).is_file():
                images[f.name] = "/" + png
            elif f.png:
                (Path(tmp) / f"{f.name}.png").write_bytes(f.png)
                images[f.name] = "/" + (Path(tmp) / f"{f.name}.png").relative_to(root).as_posix()
        main = Path(tmp) / "report.typ"
        main.write_text(render_typst_source(report, images), encoding="utf-8")
        pdf = typst.compile(str(main), root=str(root), ignore_system_fonts=True,
                            format="pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
