"""save_figure writes identical bytes in separate processes; the batch equals serial output."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sma_outcomes.plot import plot_patient, save_figure, save_patient_figures
from sma_outcomes.plot.batch import _file_names, safe_filename
from tests.conftest import ROOT
from tests.test_plot_patient import make_table

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.test_plot_patient import make_table
    from sma_outcomes.plot import plot_patient, save_figure
    data, doses = make_table(3)
    fig = plot_patient(data, patient_id="P2", doses=doses)
    for fmt in ("png", "svg", "pdf"):
        save_figure(fig, sys.argv[1] + "." + fmt)
    """
)


def test_same_bytes_in_two_processes(tmp_path):
    script = tmp_path / "draw.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    for name, seed in (("a", "1"), ("b", "2")):
        subprocess.run(
            [sys.executable, str(script), str(tmp_path / name)], check=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "MPLBACKEND": "Agg"},
            timeout=120,
        )
    for fmt in ("png", "svg", "pdf"):
        a = (tmp_path / f"a.{fmt}").read_bytes()
        b = (tmp_path / f"b.{fmt}").read_bytes()
        assert len(a) > 1000 and a == b, fmt
    svg = (tmp_path / "a.svg").read_text()
    # text stays text (svg.fonttype "none"): searchable and editable in a journal's tools
    assert "<text" in svg and "Months since first dose" in svg and "font-family" in svg
    pdf = (tmp_path / "a.pdf").read_bytes()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"CreationDate" not in pdf and b"Producer" not in pdf
    assert b"Software" not in (tmp_path / "a.png").read_bytes()[:200]


def test_png_pixel_size_and_formats(tmp_path):
    from PIL import Image

    data, doses = make_table(2)
    fig = plot_patient(data, patient_id="P1", doses=doses)
    out = save_figure(fig, tmp_path / "sub" / "p1.png")  # 300 dpi by default
    w, h = fig.get_size_inches()
    with Image.open(out) as im:
        assert im.size == (round(w * 300), round(h * 300))
        assert im.info.get("dpi", (300, 300))[0] == pytest.approx(300, abs=0.01)
    assert save_figure(fig, tmp_path / "p1", format="svg").read_bytes().startswith(b"<?xml")
    with pytest.raises(ValueError, match="format must be one of"):
        save_figure(fig, tmp_path / "p1.jpg")


def test_safe_filenames():
    assert safe_filename("<script>alert(1)</script>") == "_script_alert_1___script_"
    assert safe_filename("..") == "patient"
    names = _file_names(["P 1", "P_1", "p_1"])
    assert names["P 1"] == "P_1" and len({n.lower() for n in names.values()}) == 3


def test_batch_parallel_equals_serial(tmp_path):
    data, doses = make_table(4)
    serial = save_patient_figures(data, tmp_path / "s", doses=doses, jobs=1, fmt="png", dpi=72)
    par = save_patient_figures(data, tmp_path / "p", doses=doses, jobs=2, fmt="png", dpi=72,
                               progress=True)
    assert serial.patient_id.tolist() == ["P1", "P2", "P3", "P4"]
    for a, b in zip(serial.path, par.path, strict=True):
        assert Path(a).name == Path(b).name
        assert Path(a).read_bytes() == Path(b).read_bytes()
    # a batch figure is the single-patient figure
    single = save_figure(plot_patient(data, patient_id="P3", doses=doses), tmp_path / "one.png",
                         dpi=72)
    assert single.read_bytes() == Path(serial.path[2]).read_bytes()


def test_batch_passes_options_and_checks(tmp_path):
    data, doses = make_table(2)
    out = save_patient_figures(data, tmp_path, doses=doses, jobs=1, fmt="svg",
                               measures=["HFMSE"], time="days", patient_ids=["P2"])
    assert out.path.str.endswith("P2.svg").tolist() == [True]
    with pytest.raises(ValueError, match="`fmt` must be one of"):
        save_patient_figures(data, tmp_path, doses=doses, fmt="gif")
    from sma_outcomes import DataError

    with pytest.raises(DataError, match="P9"):
        save_patient_figures(data, tmp_path, doses=doses, patient_ids=["P9"])
    assert isinstance(out, pd.DataFrame)


def test_png_resolution_configurable(tmp_path):
    from PIL import Image

    from sma_outcomes.plot import save

    data, doses = make_table(1)
    fig = plot_patient(data, patient_id="P1", doses=doses)
    w, h = fig.get_size_inches()
    with Image.open(save_figure(fig, tmp_path / "a.png", dpi=150)) as im:
        assert abs(im.size[0] - w * 150) <= 1 and abs(im.size[1] - h * 150) <= 1
    assert save.DEFAULT_DPI == 300


def test_batch_leaves_no_figure_alive(tmp_path):
    """Memory stays bounded by one figure: each is cleared after saving, none is kept."""
    import gc

    from matplotlib.figure import Figure

    def alive():
        gc.collect()
        return sum(isinstance(o, Figure) and len(o.axes) > 0 for o in gc.get_objects())

    data, doses = make_table(6)
    before = alive()
    save_patient_figures(data, tmp_path, doses=doses, jobs=1, fmt="png", dpi=50)
    assert alive() == before
