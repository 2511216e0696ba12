"""plot_slope_change: the forest plot of per-patient slope change (issue 14).

Checks what was drawn against the table (one marker and one whisker per patient,
sorted, the zero line, ids and labels), the two input tables
(``LMMResult.patient_coefficients()`` and ``patient_verdicts()``), ``ax=``, and
that no text leaves the canvas (as tests/test_plot_layout.py does for the
other figures).
"""

from __future__ import annotations

import io
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import sma_outcomes as so
from sma_outcomes.exceptions import ColumnError, DataError, DataWarning, OptionError
from sma_outcomes.plot import plot_slope_change
from sma_outcomes.plot.style import DOUBLE_COLUMN, MIN_FONT
from sma_outcomes.plot.verdict import VERDICT_COLORS, slope_change_label
from tests.test_plot_layout import drawn_texts

Z95 = 1.959963984540054

SMALL = pd.DataFrame({
    "patient_id": ["P1", "P2", "P3", "P4", "P10"],
    "n_obs": [8, 7, 6, 8, 5],
    "n_pre": [3, 1, 0, 2, 1],
    "slope_change": [0.30, -0.20, 0.05, 0.30, 0.10],
    "se_slope_change": [0.10, 0.05, 0.02, 0.20, 0.08],
})


@cache
def cohort_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return so.fit_lmm(so.load_example("cohort"), "HFMSE", random="piecewise")


@cache
def cohort_verdicts() -> pd.DataFrame:
    pc = cohort_fit().patient_coefficients()
    slopes = pc.rename(columns={"se_slope_change": "slope_change_se"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changes = so.change_from_baseline(so.assign_timepoints(so.load_example("cohort")))
    return so.patient_verdicts(changes, "HFMSE", slopes=slopes)


def drawn(fig: Figure):
    """(ids top to bottom, estimates, low, high, colours) as drawn."""
    ax = fig.axes[0]
    (pts,) = [c for c in ax.collections if c.get_gid() == "estimates"]
    (lines,) = [c for c in ax.collections if c.get_gid() == "intervals"]
    xy = pts.get_offsets()
    segs = lines.get_segments()
    labels = {float(t): lab.get_text() for t, lab in zip(ax.get_yticks(), ax.get_yticklabels(),
                                                         strict=True)}
    order = np.argsort(-np.asarray(xy[:, 1]), kind="mergesort")  # top first
    ids = [labels[float(xy[i, 1])] for i in order]
    est = np.asarray(xy[order, 0], float)
    low = np.array([segs[i][0][0] for i in order])
    high = np.array([segs[i][1][0] for i in order])
    for i in order:  # whisker and dot on the same row
        assert segs[i][0][1] == segs[i][1][1] == xy[i, 1]
    colors = [tuple(np.round(lines.get_colors()[i % len(lines.get_colors())], 4))
              for i in order]
    faces = pts.get_facecolors()
    open_ = {ids[k] for k, i in enumerate(order) if tuple(faces[i][:3]) == (1.0, 1.0, 1.0)}
    return ids, est, low, high, colors, open_


def test_values_drawn_equal_the_patient_coefficients():
    pc = cohort_fit().patient_coefficients()
    fig = plot_slope_change(pc, measure="HFMSE")
    ids, est, low, high, _, _ = drawn(fig)
    assert sorted(ids) == sorted(pc["patient_id"]) and len(ids) == 80
    t = pc.set_index("patient_id").loc[ids]
    np.testing.assert_allclose(est, t["slope_change"], rtol=1e-12)
    np.testing.assert_allclose(low, t["slope_change"] - Z95 * t["se_slope_change"], rtol=1e-9)
    np.testing.assert_allclose(high, t["slope_change"] + Z95 * t["se_slope_change"], rtol=1e-9)
    assert np.all(np.diff(est) <= 0), "largest change of slope on top"
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Change in HFMSE slope (points per month)"
    (zero,) = [ln for ln in ax.lines if ln.get_gid() == "zero"]
    assert list(zero.get_xdata()) == [0, 0]
    lo, hi = ax.get_xlim()
    assert lo <= low.min() and hi >= high.max(), "every whisker inside the axes"
    assert fig.get_figwidth() <= DOUBLE_COLUMN


def test_verdict_table_intervals_and_colours_are_its_own():
    v = cohort_verdicts()
    fig = plot_slope_change(v)  # measure from the table's column
    ids, est, low, high, colors, open_ = drawn(fig)
    t = v.set_index("patient_id").loc[ids]
    np.testing.assert_allclose(est, t["slope_change"], rtol=1e-12)
    np.testing.assert_allclose(low, t["slope_change_low"], rtol=1e-12)
    np.testing.assert_allclose(high, t["slope_change_high"], rtol=1e-12)
    from matplotlib.colors import to_rgba

    expect = [tuple(np.round(to_rgba(VERDICT_COLORS[s]), 4)) for s in t["slope_verdict"]]
    assert colors == expect
    assert {"better on treatment", "no clear difference"} <= set(t["slope_verdict"])
    # the legend names the classes drawn (figure-level legend of an own figure)
    texts = [x.get_text() for x in fig.legends[0].get_texts()]
    assert "Better on treatment" in texts and "No clear difference" in texts


def test_order_ties_colours_and_open_dots():
    fig = plot_slope_change(SMALL, measure="HFMSE", level=0.9)
    ids, est, low, high, colors, open_ = drawn(fig)
    # ties (P1, P4 at 0.30) in natural id order from the top; P10 after P3 numerically
    assert ids == ["P1", "P4", "P10", "P3", "P2"]
    z = 1.6448536269514722
    t = SMALL.set_index("patient_id").loc[ids]
    np.testing.assert_allclose(high - est, z * t["se_slope_change"], rtol=1e-9)
    from matplotlib.colors import to_rgba

    blue, grey, red = (tuple(np.round(to_rgba(VERDICT_COLORS[k]), 4)) for k in VERDICT_COLORS)
    # P1: 0.3 +/- 0.16 > 0; P4: 0.3 +/- 0.33 crosses; P10 crosses; P3 0.05 +/- 0.03 > 0;
    # P2: -0.2 +/- 0.08 < 0
    assert colors == [blue, grey, grey, blue, red]
    assert open_ == {"P2", "P3", "P10"}  # n_pre < 2
    labels = [x.get_text() for x in fig.legends[0].get_texts()]
    assert labels == ["Better on treatment", "No clear difference", "Worse on treatment",
                      "< 2 assessments before dose 1"]
    assert fig.legends[0].get_title().get_text() == "Lines: 90% intervals"


def test_draws_into_a_given_axes():
    from sma_outcomes.plot.style import house_style, new_figure

    with house_style():
        host = new_figure(6, 3)
        a, b = host.subplots(1, 2)
    out = plot_slope_change(SMALL, measure="RULM", ax=b, title="")
    assert out is host
    assert not a.collections and len(b.collections) == 2
    assert b.get_xlabel() == "Change in RULM slope (points per month)"
    assert b.get_legend() is not None and not host.legends


def test_left_out_patients_are_named_and_errors_say_what_to_do():
    t = SMALL.copy()
    t.loc[1, "se_slope_change"] = np.nan
    with pytest.warns(DataWarning, match="1 patient.*left out: P2"):
        fig = plot_slope_change(t, measure="HFMSE")
    assert "P2" not in drawn(fig)[0]
    with pytest.raises(OptionError, match="pass measure="):
        plot_slope_change(SMALL)
    with pytest.raises(ColumnError, match="se_slope_change"):
        plot_slope_change(SMALL.drop(columns="se_slope_change"), measure="HFMSE")
    with pytest.raises(OptionError, match="one row per patient"):
        plot_slope_change(pd.concat([SMALL, SMALL]), measure="HFMSE")
    with pytest.raises(DataError, match="no patient"), pytest.warns(DataWarning):
        plot_slope_change(SMALL.assign(slope_change=np.nan), measure="HFMSE")


def test_labels():
    assert slope_change_label("HFMSE") == "Change in HFMSE slope (points per month)"
    assert slope_change_label("RULM", "years") == "Change in RULM slope (points per year)"
    assert slope_change_label("PP_NONPREF", "days") == (
        "Change in Purdue Pegboard, non-preferred hand slope (pins in 30 s per day)")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return buf.getvalue()


def test_deterministic():
    pc = cohort_fit().patient_coefficients()
    assert _png(plot_slope_change(pc, measure="HFMSE")) == _png(
        plot_slope_change(pc.sample(frac=1.0, random_state=1), measure="HFMSE"))


def _many(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"patient_id": [f"LONGPATIENT-{i:04d}" for i in range(n)],
                         "slope_change": rng.normal(0.2, 0.2, n),
                         "se_slope_change": rng.uniform(0.05, 0.3, n)})


LAYOUTS = {
    "cohort-80": lambda: plot_slope_change(cohort_fit().patient_coefficients(), measure="HFMSE"),
    "verdicts": lambda: plot_slope_change(cohort_verdicts()),
    "small-purdue": lambda: plot_slope_change(SMALL, measure="PP_NONPREF", time="years"),
    "one-patient": lambda: plot_slope_change(SMALL.iloc[:1], measure="HFMSE"),
    "long-ids": lambda: plot_slope_change(_many(40), measure="PP_PREF"),
    "too-many-for-ids": lambda: plot_slope_change(_many(300), measure="HFMSE"),
    "narrow": lambda: plot_slope_change(SMALL, measure="PP_PREF", width=2.5, height=2.0),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_no_text_outside_the_canvas_and_readable(name):
    fig = LAYOUTS[name]()
    texts = drawn_texts(fig)
    assert texts
    w, h = fig.bbox.width, fig.bbox.height
    out = [(t, tuple(np.round(b.extents, 1))) for t, b, _ in texts
           if b.x0 < -0.5 or b.y0 < -0.5 or b.x1 > w + 0.5 or b.y1 > h + 0.5]
    assert not out, f"{name}: text outside the {w:.0f} x {h:.0f} px canvas: {out}"
    small = sorted({(t, s) for t, _, s in texts if s < MIN_FONT})
    assert not small, f"{name}: text smaller than {MIN_FONT} pt: {small[:5]}"
    # patient ids never overlap
    ax = fig.axes[0]
    boxes = sorted((b.y0, b.y1) for t, b, _ in texts
                   if t in {lab.get_text() for lab in ax.get_yticklabels()})
    assert all(b0[1] <= b1[0] + 0.5 for b0, b1 in zip(boxes, boxes[1:], strict=False))
    if name == "too-many-for-ids":
        assert ax.get_ylabel() == "Patients (n = 300)"
        assert not ax.get_yticklabels()
