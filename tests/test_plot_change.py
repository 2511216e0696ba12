"""Waterfall and slope charts: bars and lines equal the changes, labels do not overlap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

from sma_outcomes import DataError, DataWarning
from sma_outcomes.plot import plot_slope, plot_waterfall
from sma_outcomes.plot.change import IMPROVED, STABLE, WORSENED, _spread, classify_change
from tests.test_plot_patient import by_gid, make_table


@pytest.fixture(scope="module")
def table():
    return make_table(8, seed=3)[0]


def month18(data, measure="HFMSE"):
    return data[(data.measure == measure) & (data.timepoint == "Month 18")]


def no_overlap(boxes):
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if boxes[i].overlaps(boxes[j]):
                return False
    return True


def test_waterfall_bars_sorted_changes(table):
    fig = plot_waterfall(table, measure="HFMSE", timepoint="Month 18")
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    want = month18(table).sort_values("change", ascending=False, kind="mergesort")
    assert heights == sorted(heights, reverse=True)
    np.testing.assert_array_equal(heights, want.change)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert sorted(labels) == sorted(want.patient_id)
    # each label sits under its own bar
    for lab, h in zip(labels, heights, strict=True):
        assert want.set_index("patient_id").loc[lab, "change"] == h
    assert sorted(line.get_ydata()[0] for line in by_gid(ax, "threshold")) == [-3.0, 3.0]
    colors = [p.get_facecolor() for p in ax.patches]
    cats = classify_change(np.array(heights), 3.0)
    table_c = {"improved": IMPROVED, "stable": STABLE, "worsened": WORSENED}
    assert colors == [to_rgba(table_c[c]) for c in cats]
    assert ax.get_ylabel() == "Change in HFMSE (points)"


def test_waterfall_percent_has_no_default_threshold(table):
    fig = plot_waterfall(table, measure="HFMSE", timepoint="Month 18", y="pct_change")
    ax = fig.axes[0]
    np.testing.assert_allclose(sorted(p.get_height() for p in ax.patches),
                               sorted(month18(table)["pct_change"]))
    assert by_gid(ax, "threshold") == []
    assert ax.get_ylabel() == "Change in HFMSE (% of baseline)"
    fig = plot_waterfall(table, measure="HFMSE", timepoint="Month 18", y="pct_change", threshold=20)
    assert sorted(line.get_ydata()[0] for line in by_gid(fig.axes[0], "threshold")) == [-20, 20]


def test_waterfall_thirty_patients_labels_do_not_overlap():
    data = make_table(30, seed=4)[0]
    fig = plot_waterfall(data, measure="HFMSE", timepoint="Month 18")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels()]
    assert len(boxes) == 30 and no_overlap(boxes)
    assert min(t.get_fontsize() for t in fig.axes[0].get_xticklabels()) >= 4.0
    assert fig.get_figwidth() <= 7.2


def test_waterfall_drops_missing_with_warning(table):
    d = table.copy()
    d.loc[(d.patient_id == "P1") & (d.timepoint == "Month 18"), "change"] = np.nan
    with pytest.warns(DataWarning, match="P1"):
        fig = plot_waterfall(d, measure="HFMSE", timepoint="Month 18")
    assert len(fig.axes[0].patches) == 7


def test_waterfall_hue(table):
    fig = plot_waterfall(table, measure="HFMSE", timepoint="Month 18", hue="sma_type")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["SMA type 2", "SMA type 3"]


def test_waterfall_errors(table):
    with pytest.raises(DataError, match="timepoints with HFMSE: Baseline, Loading"):
        plot_waterfall(table, measure="HFMSE", timepoint="Month 99")
    with pytest.raises(DataError, match="change_from_baseline"):
        plot_waterfall(table.drop(columns="change"), measure="HFMSE", timepoint="Month 18")
    dup = pd.concat([table, month18(table).iloc[:1]])
    with pytest.raises(DataError, match="several analysed"):
        plot_waterfall(dup, measure="HFMSE", timepoint="Month 18")


def test_slope_segments_equal_baseline_and_score(table):
    fig = plot_slope(table, measure="PP_PREF", timepoint="Month 18")
    ax = fig.axes[0]
    (lc,) = by_gid(ax, "slopes")
    rows = month18(table, "PP_PREF")
    rows = rows.assign(k=rows.patient_id.str[1:].astype(int)).sort_values("k")
    segs = lc.get_segments()
    np.testing.assert_array_equal([s[0, 1] for s in segs], rows.baseline)
    np.testing.assert_array_equal([s[1, 1] for s in segs], rows.score)
    assert all(s[0, 0] == 0 and s[1, 0] == 1 for s in segs)
    (mean,) = by_gid(ax, "mean")
    np.testing.assert_allclose(mean.get_ydata(), [rows.baseline.mean(), rows.score.mean()])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "Month 18"]
    assert " ".join(ax.get_ylabel().split()) == "Purdue Pegboard, preferred hand (pins in 30 s)"


def test_slope_labels_spread_without_overlap():
    data = make_table(30, seed=6)[0]
    fig = plot_slope(data, measure="HFMSE", timepoint="Month 18", hue="sma_type")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()
    labels = by_gid(fig.axes[0], "patient-label")
    assert len(labels) == 30
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert no_overlap(boxes)
    # every label inside the figure
    assert all(b.y0 >= 0 and b.y1 <= fig.bbox.height and b.x1 <= fig.bbox.width for b in boxes)


def test_spread():
    out = _spread(np.array([5.0, 5.0, 5.0, 0.0]), 1.0, lo=0.0, hi=6.0)
    assert out.tolist() == [4.0, 5.0, 6.0, 0.0]
    assert np.all(np.diff(np.sort(out)) >= 1.0 - 1e-12)


def test_timepoint_defaults_to_the_last_common_one():
    """No study-specific default: the last timepoint with a change for at least half."""
    data, _ = make_table(6)
    late = data.assign(timepoint=data["timepoint"].astype(str))
    # only one of six patients reaches Month 18: it is not "common"
    late = late[(late.timepoint != "Month 18") | (late.patient_id == "P1")]
    fig = plot_waterfall(late, measure="HFMSE")
    assert fig.axes[0].get_title("left") == "HFMSE at Month 14"
    fig = plot_slope(data, measure="HFMSE")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Baseline", "Month 18"]
