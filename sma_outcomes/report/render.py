"""Turn a :class:`~sma_outcomes.report.content.Report` into files.

HTML through jinja2 with autoescape on (everything from the data is shown as
text), Markdown for manuscripts, PDF through matplotlib's ``PdfPages``; tables
as neutralised CSV, figures as PNG and SVG with deterministic bytes.

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
import io
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..plot import save_figure
from .content import Figure, Report, Table, format_cell
from .safety import write_csv

__all__ = ["render_html", "render_markdown", "render_pdf", "write_assets", "environment"]

FIGURE_DPI = 150


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
    env.globals["cells"] = _cells
    env.globals["version"] = __version__
    return env


def _cells(table: Table) -> dict:
    frame = table.shown()
    header = [str(c) for c in frame.columns]
    rows = []
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    for rec in frame.itertuples(index=False, name=None):
        rows.append(
            [
                {"text": format_cell(v, str(c), table.digits.get(str(c))), "num": isnum}
                for v, c, isnum in zip(rec, frame.columns, numeric, strict=True)
            ]
        )
    return {"header": header, "rows": rows}


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


def write_assets(report: Report, folder: Path) -> None:
    """Write every table as ``tables/<name>.csv`` and figure as ``figures/<name>.png|svg``.

    The PNG bytes are kept in the :class:`Figure` for embedding; the matplotlib
    figure is then released.

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
    for f in report.figures():
        if f.figure is None:
            continue
        png = save_figure(f.figure, folder / "figures" / f"{f.name}.png", dpi=FIGURE_DPI)
        save_figure(f.figure, folder / "figures" / f"{f.name}.svg")
        f.png = png.read_bytes()
        f.figure.clear()
        f.figure = None


def render_pdf(report: Report, path: Path) -> None:
    """The report as PDF: text pages (monospace tables) and one page per figure.

    Uses matplotlib's ``PdfPages`` with fixed metadata so the bytes are
    reproducible. Figures are placed from their embedded PNG.

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
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.image import imread

    lines: list[tuple[str, str]] = []  # (style, text)
    pages: list[MplFigure] = []

    def flush() -> None:
        if not lines:
            return
        per_page = 70
        for start in range(0, len(lines), per_page):
            fig = MplFigure(figsize=(8.27, 11.69))
            y = 0.97
            for style, text in lines[start : start + per_page]:
                size = {"h1": 13, "h2": 11, "h3": 10, "mono": 5.5}.get(style, 6.5)
                family = "monospace" if style == "mono" else "sans-serif"
                weight = "bold" if style.startswith("h") else "normal"
                fig.text(0.05, y, text, fontsize=size, family=family, weight=weight, va="top")
                y -= 0.0133 if style in ("mono", "p") else 0.02
            pages.append(fig)
        lines.clear()

    lines.append(("h1", report.title))
    if report.subtitle:
        lines += [("p", w) for w in textwrap.wrap(report.subtitle, 130)]
    lines.append(("p", f"Generated {report.generated} by sma_outcomes {__version__}."))
    for s in report.sections:
        lines.append(("h2" if s.level <= 2 else "h3", s.title))
        for item in s.items:
            if item.kind == "text":
                lines += [("p", w) for w in textwrap.wrap(item.body, 140)]
            elif item.kind == "table":
                if item.title:
                    lines.append(("p", item.title))
                text = item.shown().to_string(
                    index=False,
                    max_colwidth=40,
                    na_rep="",
                    formatters={c: (lambda v, c=c: format_cell(v, str(c))) for c in item.shown().columns},
                )
                lines += [("mono", ln[:150]) for ln in text.splitlines()]
            elif isinstance(item, Figure) and item.png:
                flush()
                img = imread(io.BytesIO(item.png), format="png")
                h, w = img.shape[:2]
                fig = MplFigure(figsize=(8.27, 11.69))
                width = 0.9
                height = min(0.85, width * h / w * 8.27 / 11.69)
                ax = fig.add_axes((0.05, 0.95 - height, width, height))
                ax.imshow(img)
                ax.set_axis_off()
                fig.text(0.05, 0.97, item.title or item.name, fontsize=10, weight="bold")
                pages.append(fig)
    flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}
    with PdfPages(path, metadata=meta) as pdf:
        for fig in pages:
            pdf.savefig(fig)
