"""The typeset PDF: every value of every table is in its text; pages are real pages."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes.report import build_report
from sma_outcomes.report.content import Report
from sma_outcomes.report.render import _cells, render_pdf

from .conftest import SAMPLE

pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")


def _squash(text: str) -> str:
    """Text without white space or soft hyphens: cells wrap, so lines break anywhere."""
    return re.sub(r"[\s\u00ad\u200b]+", "", text).replace("−", "-")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    """The case-series report with hostile ids, as PDF, and its Report object."""
    from sma_outcomes.report import build

    tmp = tmp_path_factory.mktemp("pdf")
    d = pd.read_csv(SAMPLE / "case_series.csv")
    d["patient_id"] = d["patient_id"].replace({"GK01": '#set text(red) "\\ $x$ <b>',
                                               "GK02": "=1+1"})
    path = tmp / "hostile.csv"
    d.to_csv(path, index=False)
    seen: list[Report] = []
    real = build.render_pdf

    def keep(rep: Report, out: Path) -> None:
        seen.append(rep)
        real(rep, out)

    build.render_pdf = keep
    try:
        out = build_report(path, tmp / "r", formats=["pdf", "html"], patient_figures=False,
                           timepoint="Month 18")
    finally:
        build.render_pdf = real
    return out.parent / "report.pdf", seen[0]


def test_every_table_value_is_in_the_pdf_text(built: tuple[Path, Report]) -> None:
    pdf, rep = built
    reader = pypdf.PdfReader(pdf)
    text = _squash("".join(page.extract_text() for page in reader.pages))
    missing = []
    n = 0
    for table in rep.tables():
        cells = _cells(table)
        for value in [*cells["header"], *(c["text"] for row in cells["rows"] for c in row)]:
            if value:
                n += 1
                if _squash(value) not in text:
                    missing.append((table.name, value))
    assert n > 300 and missing == []
    assert "Contents" in reader.pages[0].extract_text()  # a table of contents up front
    assert '#set text(red) "\\ $x$ <b>' in "".join(p.extract_text() for p in reader.pages)


def test_wide_tables_get_landscape_pages_and_figures_fit(built: tuple[Path, Report]) -> None:
    pdf, rep = built
    reader = pypdf.PdfReader(pdf)
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
             for p in reader.pages}
    assert (595, 842) in sizes and sizes <= {(595, 842), (842, 595)}  # A4 (landscape if wide)
    assert len(reader.pages) < 30
    n_images = sum(len(p.images) for p in reader.pages)
    assert n_images == len(rep.figures())


def test_pages_render_as_images(built: tuple[Path, Report], tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from matplotlib.image import imread

    pdf, _ = built
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "3", str(pdf),
                    str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 3
    for page in pages:
        img = imread(page)
        assert img.shape[0] > 100 and img[..., :3].std() > 0.01  # not blank


def test_pdf_bytes_are_reproducible(tmp_path: Path) -> None:
    rep = Report("Demo", generated="2024-01-01 00:00:00 UTC")
    rep.section("Data").table("t", pd.DataFrame({"x": [1.25, 2.0], "id": ["a", "b"]}))
    render_pdf(rep, tmp_path / "a.pdf")
    render_pdf(rep, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "b.pdf"]


def test_a_very_wide_table_gets_a_landscape_page_and_is_not_cut(tmp_path: Path) -> None:
    wide = pd.DataFrame({f"column {i}": [f"value_{i}_{j}_abcdefgh" for j in range(3)]
                         for i in range(14)})
    rep = Report("Wide", generated="now")
    rep.section("Data").table("wide", wide, title="A wide table.")
    render_pdf(rep, tmp_path / "w.pdf")
    reader = pypdf.PdfReader(tmp_path / "w.pdf")
    assert any(float(p.mediabox.width) > float(p.mediabox.height) for p in reader.pages)
    text = _squash("".join(p.extract_text() for p in reader.pages))
    assert all(_squash(v) in text for v in wide.to_numpy().ravel())
