"""Figures fit for a paper: no text outside the canvas, y axes name measure and unit,
titles use plain names (issue 12).

Every public ``plot_*`` function is drawn from the bundled data; while the
figure is rendered, the extent of every text that is actually drawn is
recorded and must lie inside the figure.
"""

from __future__ import annotations

import warnings

import matplotlib.text as mtext
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import sma_outcomes as so
from sma_outcomes.plot import (
    plot_cohort,
    plot_flow,
    plot_item_heatmap,
    plot_mi,
    plot_patient,
    plot_patients,
    plot_slope,
    plot_timeline,
    plot_tipping_point,
    plot_waterfall,
)
from sma_outcomes.plot.style import DOUBLE_COLUMN, MIN_FONT
from sma_outcomes.registry import axis_label
from tests.conftest import SAMPLE

LONG = "Purdue Pegboard, preferred hand (pins in 30 s)"


def _read(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return so.change_from_baseline(so.read_scores(SAMPLE / name))


def _clinic():
    """The bundled clinic export: item-level HFMSE of three patients."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return so.change_from_baseline(so.load_example("clinic_export"))


@pytest.fixture(scope="module")
def cohort():
    return _read("cohort.csv")


@pytest.fixture(scope="module")
def case():
    return _read("case_series.csv")


def items(case, n=12, seed=3):
    """HFMSE item changes at the case series' Month 18 (the bundled data have totals only)."""
    rng = np.random.default_rng(seed)
    pids = sorted(case["patient_id"].astype(str).unique())[:n]
    rows = [dict(patient_id=p, measure=f"HFMSE_{i:02d}", timepoint="Month 18", analysed=True,
                 change=float(rng.integers(-2, 3)), score=float(rng.integers(0, 3)))
            for p in pids for i in range(1, 34)]
    return pd.DataFrame(rows)


EVENTS = pd.DataFrame({
    "patient_id": ["GK01", "GK01", "GK01", "GK03", "C001", "C001"],
    "day": [250.0, 262, 540, 100, 30, 700],
    "event": ["scoliosis surgery", "ventilation start", "treatment switch", "spinal fusion",
              "feeding tube", "regimen change"],
    "detail": [None, None, "risdiplam after nusinersen, higher dose", None, None, "higher dose"],
})


def _flow(cutoff=None):
    """patient_flow on the bundled cohort and its events."""
    from sma_outcomes.stats.flow import patient_flow

    events = so.read_events(SAMPLE / "events.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changes = so.change_from_baseline(so.load_example("cohort"), events=events)
    return patient_flow(changes, events, cutoff=cutoff)


def _mi():
    """A small two-arm multiple imputation (tests/test_plot_sensitivity.py)."""
    from tests.test_plot_sensitivity import fit

    return fit()


def figures(cohort, case):
    """(name, factory) for every public plot function, in several realistic shapes."""
    many = [f"C{i:03d}" for i in range(1, 13)]
    return {
        "patient-case": lambda: plot_patient(case, patient_id="GK01"),
        "patient-cohort": lambda: plot_patient(cohort, patient_id="C001"),
        "patient-purdue-days": lambda: plot_patient(case, patient_id="GK03", measures="PP_PREF",
                                                    time="days"),
        "patient-events": lambda: plot_patient(case, patient_id="GK01", events=EVENTS),
        "patient-events-cohort": lambda: plot_patient(cohort, patient_id="C001", events=EVENTS,
                                                      measures=["PP_NONPREF"]),
        "timeline-events": lambda: plot_timeline(case, events=EVENTS),
        "patients-one": lambda: plot_patients(case, measures="PP_PREF"),
        "patients-grid": lambda: plot_patients(cohort, patient_ids=many,
                                               measures=["HFMSE", "PP_PREF", "PP_NONPREF"]),
        "cohort-hue": lambda: plot_cohort(cohort, measure="PP_PREF", hue="sma_type"),
        "cohort-change": lambda: plot_cohort(cohort, measure="PP_NONPREF", y="change"),
        "cohort-pct": lambda: plot_cohort(cohort, measure="RULM", y="pct_change", hue="site"),
        "waterfall-case": lambda: plot_waterfall(case, measure="PP_PREF", timepoint="Month 18"),
        "waterfall-cohort": lambda: plot_waterfall(cohort, measure="PP_NONPREF", y="pct_change",
                                                   timepoint="Month 18", threshold=20),
        "waterfall-hue": lambda: plot_waterfall(cohort, measure="HFMSE", hue="sma_type"),
        "slope-case": lambda: plot_slope(case, measure="PP_PREF", timepoint="Month 18"),
        "slope-cohort": lambda: plot_slope(cohort, measure="PP_NONPREF", hue="sma_type"),
        "timeline-case": lambda: plot_timeline(case),
        "timeline-cohort": lambda: plot_timeline(cohort),
        "items": lambda: plot_item_heatmap(items(case), measure="HFMSE", timepoint="Month 18"),
        "items-clinic": lambda: plot_item_heatmap(_clinic(), measure="HFMSE"),
        "flow": lambda: plot_flow(_flow()),
        "flow-measure": lambda: plot_flow(_flow(cutoff=700), measure="PP_PREF"),
        "mi": lambda: plot_mi(_mi()),
        "tipping": lambda: plot_tipping_point(so.tipping_point(_mi()), measure="HFMSE"),
    }


NAMES = sorted(figures(None, None))


def drawn_texts(fig):
    """Window extents of every non-empty text drawn while rendering ``fig``."""
    seen = []
    original = mtext.Text.draw

    def record(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            seen.append((self.get_text(), self.get_window_extent(renderer), self.get_fontsize()))

    mtext.Text.draw = record
    try:
        FigureCanvasAgg(fig).draw()
    finally:
        mtext.Text.draw = original
    return seen


@pytest.mark.parametrize("name", NAMES)
def test_no_text_outside_the_canvas(name, cohort, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = figures(cohort, case)[name]()
    texts = drawn_texts(fig)
    assert texts
    w, h = fig.bbox.width, fig.bbox.height
    out = [(t, tuple(np.round(b.extents, 1))) for t, b, _ in texts
           if b.x0 < -0.5 or b.y0 < -0.5 or b.x1 > w + 0.5 or b.y1 > h + 0.5]
    assert not out, f"{name}: text outside the {w:.0f} x {h:.0f} px canvas: {out}"


@pytest.mark.parametrize("name", NAMES)
def test_every_y_axis_names_measure_and_unit(name, cohort, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = figures(cohort, case)[name]()
    if name.startswith(("timeline", "items", "flow")):
        return  # their y axes are patients (flow: timepoints)
    units = ("(points)", "(pins in 30 s)", "(% of baseline)")
    shown = [a for a in fig.axes if a.get_visible() and a.get_label() != "<colorbar>"]
    rows: dict[float, list] = {}
    for ax in shown:
        rows.setdefault(round(ax.get_position().y0, 3), []).append(ax)
        label = " ".join(ax.get_ylabel().split())
        if label or name != "patients-one":  # one measure: only the first panel of a row
            assert label.endswith(units), f"{name}: y label {label!r}"
            assert "PP " not in label and "total" not in label
    for row in rows.values():
        assert min(row, key=lambda a: a.get_position().x0).get_ylabel()


def test_labels_and_titles_from_the_registry(case):
    assert axis_label("HFMSE") == "HFMSE (points)"
    assert axis_label("PP_PREF") == LONG
    fig = plot_waterfall(case, measure="PP_PREF", timepoint="Month 18")
    assert fig.axes[0].get_title("left") == "Purdue Pegboard, preferred hand at Month 18"
    assert " ".join(fig.axes[0].get_ylabel().split()) == (
        "Change in Purdue Pegboard, preferred hand (pins in 30 s)")
    fig = plot_patient(case, patient_id="GK01", measures="PP_PREF")
    assert " ".join(fig.axes[0].get_ylabel().split()) == LONG


def test_long_label_fits_single_column(case):
    """The long Purdue label is wrapped, not cut, at a journal's single column."""
    fig = plot_slope(case, measure="PP_PREF", timepoint="Month 18", width=3.5, height=2.0)
    texts = {t: box for t, box, _ in drawn_texts(fig)}
    label = fig.axes[0].get_ylabel()
    assert "\n" in label and " ".join(label.split()) == LONG
    box = texts[label]
    assert box.y0 >= 0 and box.y1 <= fig.bbox.height and box.x0 >= 0


@pytest.mark.parametrize("name", NAMES)
def test_text_readable_at_column_width(name, cohort, case):
    """Every drawn text is at least MIN_FONT (5 pt) at the figure's own size,
    and no default figure is wider than two journal columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = figures(cohort, case)[name]()
    small = sorted({(t, s) for t, _, s in drawn_texts(fig) if s < MIN_FONT})
    assert not small, f"{name}: text smaller than {MIN_FONT} pt: {small[:5]}"
    assert fig.get_figwidth() <= DOUBLE_COLUMN + 0.01


@pytest.mark.parametrize("name", ["cohort-hue", "slope-case", "waterfall-case", "patients-grid",
                                  "patient-events", "flow-measure", "mi", "tipping"])
def test_saved_files_keep_text_inside(name, cohort, case, tmp_path):
    """End to end, on the files: nothing is drawn on the PNG's outermost pixels, and
    every SVG text is anchored inside the SVG's canvas."""
    import re

    from PIL import Image

    from sma_outcomes.plot import save_figure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = figures(cohort, case)[name]()
    with Image.open(save_figure(fig, tmp_path / "f.png", dpi=100)) as im:
        px = np.asarray(im.convert("L"))
    border = np.r_[px[0], px[-1], px[:, 0], px[:, -1]]
    assert border.min() == 255, f"{name}: something touches the PNG's edge"
    svg = save_figure(fig, tmp_path / "f.svg").read_text()
    w, h = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    anchors = [(float(x), float(y)) for x, y in
               re.findall(r'<text [^>]*x="([-\d.]+)" y="([-\d.]+)"', svg)]
    assert anchors and all(0 <= x <= w and 0 <= y <= h for x, y in anchors)


def test_every_public_plot_function_is_checked():
    """A new plot_* function must join the no-clipping check (here, or in test_plot_verdict)."""
    from pathlib import Path

    import sma_outcomes.plot as P

    here = Path(__file__).read_text(encoding="utf-8")
    verdict = (Path(__file__).parent / "test_plot_verdict.py").read_text(encoding="utf-8")
    public = [n for n in P.__all__ if n.startswith("plot_")]
    assert len(public) >= 11
    unchecked = [n for n in public if f"{n}(" not in here.replace(
        "def test_every_public_plot_function_is_checked", "")
        and not (n == "plot_slope_change" and "test_no_text_outside_the_canvas" in verdict
                 and f"{n}(" in verdict)]
    assert unchecked == []
