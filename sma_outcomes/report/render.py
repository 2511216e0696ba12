"""Turn a :class:`~sma_outcomes.report.content.Report` into files.

HTML through jinja2 with autoescape on (everything from the data is shown as
text), Markdown for manuscripts, a typeset PDF through Typst
(:mod:`sma_outcomes.report.typeset`); tables as neutralised CSV, figures as PNG
(and SVG or PDF when asked) with deterministic bytes.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> from sma_outcomes.report.content import Report
>>> r = Report(title="Demo <b>")
>>> t = r.section("Data").table("n", pd.DataFrame({"patient_id": ["<script>"]}), title="Ids")
>>> html = render_html(r)
>>> "&lt;script&gt;" in html and "<script>" not in html
True
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from .._version import __version__
from ..plot import save_figure
from .content import Figure, Report, shown_rows_note, table_cells
from .safety import write_csv
from .typeset import png_inches, render_typst_pdf

__all__ = ["render_html", "render_markdown", "render_pdf", "write_assets", "environment",
           "FigureWriter", "FIGURE_DPI", "FIGURE_FORMATS"]

#: Resolution of report PNGs (files and embedded), dots per inch.
FIGURE_DPI = 300

#: Figure file formats a report can write; PNG is always written (it is embedded).
FIGURE_FORMATS = ("png", "svg", "pdf")


class FigureWriter:
    """Save each report figure the moment it is drawn, then release it.

    Attached to a :class:`Report` as its ``sink``: every figure added to a
    section is written as ``figures/<name>.png`` (plus the other formats
    asked for), its PNG bytes are kept for embedding (rendered once, read
    back from the file), and the matplotlib figure is dropped, so memory holds
    one drawn figure at a time.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure as MplFigure
    >>> from sma_outcomes.report.content import Report
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> r = Report("Demo", sink=FigureWriter(folder, dpi=50))
    >>> fig = MplFigure(figsize=(2, 1))
    >>> f = r.section("Figures").figure("line", fig)
    >>> f.figure is None, f.files, f.png[:4]
    (True, ('figures/line.png',), b'\x89PNG')
    """

    def __init__(self, folder: Path, formats: tuple[str, ...] = ("png",),
                 dpi: float = FIGURE_DPI) -> None:
        self.folder = Path(folder)
        self.formats = ("png", *[f for f in formats if f != "png"])
        self.dpi = dpi

    def __call__(self, f: Figure) -> None:
        if f.figure is None:
            return
        files = []
        for fmt in self.formats:
            path = save_figure(f.figure, self.folder / "figures" / f"{f.name}.{fmt}",
                               dpi=self.dpi)
            files.append(f"figures/{f.name}.{fmt}")
            if fmt == "png":
                f.png = path.read_bytes()
        f.files = tuple(files)
        f.figure = None


def environment() -> Any:
    """The jinja2 environment of the report templates (autoescape on).

    Examples
    --------
    >>> environment().autoescape
    True
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sma_outcomes.report", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    env.globals["inches"] = lambda data: png_inches(data)[0]
    env.globals["cells"] = _cells
    env.globals["rows_note"] = shown_rows_note
    env.globals["version"] = __version__
    return env


_cells = table_cells


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (figures embedded as PNG).

    Figures must have been saved (``png`` filled) by :func:`write_assets`
    first; unsaved figures are rendered to PNG here.

    Examples
    --------
    >>> from sma_outcomes.report.content import Report
    >>> r = Report("Demo", generated="now")
    >>> r.section("Data").text("a < b")
    >>> "a &lt; b" in render_html(r)
    True
    """
    for f in report.figures():
        if not f.png and f.figure is not None:
            f.png = _png_bytes(f.figure)
    return environment().get_template("report.html.j2").render(report=report)


def render_index(title: str, entries: list[dict], generated: str) -> str:
    """Index page of a batch: one row per input with its status and link.

    Examples
    --------
    >>> html = render_index("Batch", [{"name": "<a>.csv", "sha256": "ab", "status": "ok",
    ...                                 "href": "a/report.html", "detail": ""}], "now")
    >>> "&lt;a&gt;.csv" in html
    True
    """
    n_ok = sum(e["status"] == "ok" for e in entries)
    return environment().get_template("index.html.j2").render(
        title=title, entries=entries, generated=generated, n_ok=n_ok
    )


def _md_escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(
        ">", "&gt;"
    ).replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The report as Markdown (pipe tables; figures linked to ``figures/*.png``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.report.content import Report
    >>> r = Report("Demo", generated="now")
    >>> t = r.section("Data").table("n", pd.DataFrame({"id": ["a|b"], "n": [5]}))
    >>> print(render_markdown(r).splitlines()[-3:-1])
    ['| id | n |', '|---|---:|']
    """
    out = [f"# {_md_escape(report.title)}", ""]
    if report.subtitle:
        out += [_md_escape(report.subtitle), ""]
    out += [f"Generated {report.generated} by sma_outcomes {__version__}.", ""]
    for s in report.sections:
        out += ["#" * s.level + " " + _md_escape(s.title), ""]
        for item in s.items:
            if item.kind == "text":
                prefix = "> " if item.style in ("note", "warn") else ""
                out += [prefix + _md_escape(item.body), ""]
            elif item.kind == "table":
                cells = _cells(item)
                if item.title:
                    out += [f"**{_md_escape(item.title)}** {_md_escape(item.caption)}".rstrip(), ""]
                out.append("| " + " | ".join(_md_escape(h) for h in cells["header"]) + " |")
                out.append("|" + "|".join("---:" if c["num"] else "---" for c in
                                          (cells["rows"][0] if cells["rows"] else
                                           [{"num": False}] * len(cells["header"]))) + "|")
                for row in cells["rows"]:
                    out.append("| " + " | ".join(_md_escape(c["text"]) for c in row) + " |")
                out.append("")
                if shown_rows_note(item):
                    out += [f"*{shown_rows_note(item)}*", ""]
            elif item.kind == "figure":
                out += [f"![{_md_escape(item.title or item.name)}](figures/{item.name}.png)", ""]
                if item.caption:
                    out += [f"*{_md_escape(item.caption)}*", ""]
    return "\n".join(out)


def _png_bytes(fig: Any) -> bytes:
    import tempfile


    with tempfile.TemporaryDirectory() as tmp:
        path = save_figure(fig, Path(tmp) / "f.png", dpi=FIGURE_DPI)
        return path.read_bytes()


def write_assets(report: Report, folder: Path, formats: tuple[str, ...] = ("png",),
                 dpi: float = FIGURE_DPI) -> None:
    """Write every table as ``tables/<name>.csv`` and each figure not yet saved.

    Figures go to ``figures/<name>.png`` (plus ``formats``); the PNG bytes are
    kept in the :class:`Figure` for embedding and the matplotlib figure is
    released. Figures a :class:`FigureWriter` already saved are not drawn again.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from sma_outcomes.report.content import Report
    >>> r = Report("Demo")
    >>> t = r.section("Data").table("counts", pd.DataFrame({"n": [5]}))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_assets(r, folder)
    >>> (folder / "tables" / "counts.csv").read_text()
    'n\\n5\\n'
    """

    for t in report.tables():
        if t.csv:
            write_csv(t.frame, folder / "tables" / f"{t.name}.csv")
    writer = FigureWriter(folder, formats, dpi)
    for f in report.figures():
        writer(f)


def render_pdf(report: Report, path: Path) -> None:
    """The report as a typeset PDF (Typst): contents, whole tables, figures with captions.

    See :mod:`sma_outcomes.report.typeset`. Figures already saved beside
    ``path`` are used from there; the bytes are reproducible (no date, no
    system fonts).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sma_outcomes.report.content import Report
    >>> r = Report("Demo", generated="now")
    >>> r.section("Data").text("Five patients.")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.pdf"
    >>> render_pdf(r, path)
    >>> path.read_bytes()[:5]
    b'%PDF-'
    """
    render_typst_pdf(report, path, Path(path).parent)
