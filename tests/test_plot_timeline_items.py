"""Swimmer timeline and item heatmap: markers and cells equal the tables."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sma_outcomes import DataError
from sma_outcomes.plot import plot_item_heatmap, plot_timeline
from sma_outcomes.plot.items import item_matrix
from sma_outcomes.plot.timeline import assessment_table
from sma_outcomes.schema import DAYS_PER_MONTH
from tests.test_plot_change import no_overlap
from tests.test_plot_patient import DOSE_DAYS, by_gid, make_table


@pytest.fixture(scope="module")
def table():
    return make_table(6)


def test_assessment_status(table):
    data, _ = table
    a = assessment_table(data)
    p2 = a[a.patient_id == "P2"].set_index("day")
    day_nt = data.query("patient_id == 'P2' and visit == 'Month 10'").day.iloc[0]
    assert p2.loc[day_nt, "status"] == "partial"  # HFMSE NT, Purdue done
    assert (a.status != "missing").all()
    b = assessment_table(data, measures=["HFMSE"])
    assert b.set_index(["patient_id", "day"]).loc[("P2", day_nt), "status"] == "missing"


def test_timeline_doses_and_assessments(table):
    data, doses = table
    fig = plot_timeline(data, doses=doses, time="days", sort="id")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"P{i}" for i in range(1, 7)]
    (marks,) = by_gid(ax, "doses")
    off = marks.get_offsets()
    np.testing.assert_allclose(off[:, 0], np.tile(DOSE_DAYS, 6))
    # each patient's doses sit on that patient's row (just above it)
    np.testing.assert_allclose(off[:, 1], np.repeat(np.arange(6), 8) - 0.3)
    (done,) = by_gid(ax, "assessments-complete")
    (part,) = by_gid(ax, "assessments-partial")
    a = assessment_table(data)
    assert len(done.get_xdata()) == (a.status == "complete").sum()
    assert sorted(part.get_ydata()) == [1.0, 2.0]  # P2 and P3
    (fu,) = by_gid(ax, "follow-up")
    days = np.r_[data[data.patient_id == "P1"].day, DOSE_DAYS]  # first to last event
    assert fu.get_segments()[0][:, 0].tolist() == [days.min(), days.max()]


def test_timeline_sorted_by_follow_up_and_months():
    data, doses = make_table(3)
    data = data[~((data.patient_id == "P2") & (data.day > 300))]
    doses = doses[~((doses.patient_id == "P2") & (doses.day > 300))]
    fig = plot_timeline(data, doses=doses)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "P2"
    (marks,) = by_gid(fig.axes[0], "doses")
    assert marks.get_offsets()[:, 0].max() == pytest.approx(549 / DAYS_PER_MONTH)


def test_timeline_thirty_patients_legible():
    data, doses = make_table(30, seed=1)
    fig = plot_timeline(data, doses=doses)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()
    ticks = fig.axes[0].get_yticklabels()
    assert len(ticks) == 30 and min(t.get_fontsize() for t in ticks) >= 4.5
    assert no_overlap([t.get_window_extent(renderer) for t in ticks])


def item_table(n=4, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(1, n + 1):
        for i in range(1, 34):
            rows.append(dict(patient_id=f"P{p}", measure=f"HFMSE_{i:02d}", timepoint="Month 18",
                             analysed=True, change=float(rng.integers(-2, 3)),
                             score=float(rng.integers(0, 3))))
    d = pd.DataFrame(rows)
    d.loc[(d.patient_id == "P2") & (d.measure == "HFMSE_05"), ["change", "score"]] = np.nan
    return d


def test_item_matrix_and_heatmap_cells():
    d = item_table()
    m = item_matrix(d, measure="HFMSE", timepoint="Month 18")
    assert m.shape == (4, 33) and list(m.columns)[:2] == ["HFMSE_01", "HFMSE_02"]
    fig = plot_item_heatmap(d, measure="HFMSE", timepoint="Month 18")
    ax = fig.axes[0]
    img = ax.images[0].get_array()
    np.testing.assert_array_equal(img.filled(np.nan), m.to_numpy())
    assert img.mask[1, 4] and img.mask.sum() == 1  # P2's item 5 is grey, not 0
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["1", "2", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["P1", "P2", "P3", "P4"]
    texts = by_gid(ax, "item-value")
    assert len(texts) == int(np.sum(np.nan_to_num(m.to_numpy()) != 0))
    assert " ".join(fig.axes[1].get_ylabel().split()) == "Change in item score (points)"
    # colours: -2..2 each its own class, 0 white
    norm, cmap = ax.images[0].norm, ax.images[0].cmap
    assert [cmap(norm(v))[:3] for v in (0.0,)] == [(1.0, 1.0, 1.0)]
    assert len({cmap(norm(v)) for v in (-2.0, -1.0, 0.0, 1.0, 2.0)}) == 5


def test_item_heatmap_scores_and_rulm():
    rows = [dict(patient_id="A", measure=f"RULM_{k}", timepoint="Month 6", score=1.0, change=0.0)
            for k in "BCD"]
    fig = plot_item_heatmap(pd.DataFrame(rows), measure="RULM", timepoint="Month 6", y="score")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["B", "C", "D"]
    assert ax.images[0].get_array().count() == 3  # items E..T not scored


def test_item_heatmap_errors():
    d = item_table()
    with pytest.raises(DataError, match="no HFMSE item scores|item-level data"):
        plot_item_heatmap(d.assign(measure="HFMSE"), measure="HFMSE", timepoint="Month 18")
    with pytest.raises(DataError, match="Month 6"):
        plot_item_heatmap(d, measure="HFMSE", timepoint="Month 6")
    with pytest.raises(ValueError, match="has no items"):
        plot_item_heatmap(d, measure="PP_PREF", timepoint="Month 18")


def test_item_heatmap_thirty_patients_labels_do_not_overlap():
    fig = plot_item_heatmap(item_table(30, seed=2), measure="HFMSE", timepoint="Month 18")
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    for labels in (ax.get_yticklabels(), ax.get_xticklabels()):
        assert min(t.get_fontsize() for t in labels) >= 4.5
        assert no_overlap([t.get_window_extent(renderer) for t in labels])
    assert len(ax.get_yticklabels()) == 30 and len(ax.get_xticklabels()) == 33


def test_item_heatmap_scale_keyword_is_deprecated():
    d = item_table()
    new = plot_item_heatmap(d, measure="HFMSE", timepoint="Month 18")
    with pytest.warns(FutureWarning, match=r"plot_item_heatmap\(measure=\.\.\.\) instead"):
        old = plot_item_heatmap(d, scale="HFMSE", timepoint="Month 18")
    np.testing.assert_array_equal(old.axes[0].images[0].get_array(),
                                  new.axes[0].images[0].get_array())
    with pytest.warns(FutureWarning, match=r"item_matrix\(measure="):
        item_matrix(d, scale="HFMSE", timepoint="Month 18")
    with pytest.raises(TypeError, match="both"):
        plot_item_heatmap(d, scale="HFMSE", measure="HFMSE")


def test_item_heatmap_timepoint_defaults_to_the_last_common_one():
    d = pd.concat([item_table().assign(timepoint="Month 6"), item_table(seed=1)])
    fig = plot_item_heatmap(d, measure="HFMSE")
    assert fig.axes[0].get_title("left") == "HFMSE items at Month 18"


def test_timeline_events_one_marker_per_event(table):
    data, doses = table
    events = pd.DataFrame({"patient_id": ["P1", "P3", "P3"], "day": [200.0, 90, 400],
                           "event": ["scoliosis surgery", "scoliosis surgery", "death"]})
    fig = plot_timeline(data, doses=doses, events=events, time="days", sort="id")
    ax = fig.axes[0]
    marks = by_gid(ax, "events")
    assert len(marks) == 2  # one per kind of event
    np.testing.assert_allclose(marks[0].get_xdata(), [200.0, 90])
    rows = {t.get_text(): i for i, t in enumerate(ax.get_yticklabels())}
    np.testing.assert_allclose(np.round(marks[0].get_ydata()), [rows["P1"], rows["P3"]])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Scoliosis surgery" in labels and "Death" in labels


def test_timeline_all_eleven_event_types_distinguishable(table):
    from sma_outcomes.load.events import EVENT_TYPES

    data, doses = table
    codes = list(EVENT_TYPES)
    assert len(codes) == 11
    events = pd.DataFrame({"patient_id": ["P1", "P2", "P3"] * 4, "day": np.arange(12) * 30.0,
                           "event": (codes + ["scoliosis_surgery"])})
    fig = plot_timeline(data, doses=doses, events=events, time="days", sort="id")
    marks = by_gid(fig.axes[0], "events")
    assert len(marks) == 11
    looks = [(mpl.colors.to_hex(m.get_markerfacecolor()), m.get_marker()) for m in marks]
    assert len(set(looks)) == 11  # colour + marker pairs all differ
    assert len({m for _, m in looks}) == 11  # and so do the shapes alone
    # shapes of the assessments ("o", "x") and doses ("v") are not reused
    assert not {m for _, m in looks} & {"o", "x", "v"}
    # scoliosis surgery twice, on one artist
    assert [len(m.get_xdata()) for m in marks][0] == 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [m.get_label() for m in marks] == [
        "Scoliosis surgery", "Spinal fusion", "Ventilation start", "Feeding tube",
        "Treatment switch", "Add on", "Regimen change", "Discontinuation",
        "Loss of ambulation", "Death", "Other"]
    assert all(m.get_label() in legend for m in marks)
    # the legend's handle for each kind looks like its marks
    handles = {h.get_label(): h for h in fig.legends[0].legend_handles}
    for m in marks:
        h = handles[m.get_label()]
        assert (h.get_marker(), mpl.colors.to_hex(h.get_markerfacecolor())) == (
            m.get_marker(), mpl.colors.to_hex(m.get_markerfacecolor()))
