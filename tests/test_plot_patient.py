"""Per-patient trajectories: what was drawn equals the table."""

from __future__ import annotations

import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sma_outcomes import DataError, DataWarning
from sma_outcomes.plot import plot_patient, plot_patients
from sma_outcomes.plot._draw import stack_rows
from sma_outcomes.schema import DAYS_PER_MONTH

TIMEPOINTS = ["Baseline", "Loading", "Month 6", "Month 10", "Month 14", "Month 18"]
VISIT_DAYS = [-7, 45, 183, 305, 427, 549]
DOSE_DAYS = [0, 14, 28, 63, 183, 305, 427, 549]


def make_table(n: int = 5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small tidy table with the timeline's columns, and its dose table.

    Patient P2 has HFMSE not tested (NT) at Month 10; P3 has no Purdue
    non-preferred score at Month 6 (missing code UTA).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(1, n + 1):
        pid = f"P{p}"
        sma_type = "2" if p % 3 else "3"
        days = [float(d + s) for d, s in zip(VISIT_DAYS, rng.integers(-4, 5, len(VISIT_DAYS)), strict=True)]
        for m, base, step in (("HFMSE", 18.0 + 2 * p, 1.0), ("PP_PREF", 4.0 + p % 4, 1.0),
                              ("PP_NONPREF", 2.0 + p % 3, 0.6)):
            b = None
            for k, tp in enumerate(TIMEPOINTS):
                score = float(np.round(base + step * k + rng.integers(-1, 2)))
                code = ""
                if (pid, m, tp) in {("P2", "HFMSE", "Month 10"), ("P3", "PP_NONPREF", "Month 6")}:
                    score, code = np.nan, "NT" if m == "HFMSE" else "UTA"
                if k == 0:
                    b = score
                rows.append(dict(
                    patient_id=pid, visit=tp, date=pd.NaT, day=days[k],
                    measure=m, score=score, missing_code=code, sma_type=sma_type,
                    timepoint=tp, analysed=True, baseline=b, change=score - b,
                    pct_change=100 * (score - b) / b if b else np.nan, is_baseline=k == 0,
                ))
    data = pd.DataFrame(rows)
    data["timepoint"] = pd.Categorical(data["timepoint"], categories=TIMEPOINTS, ordered=True)
    doses = pd.DataFrame(
        [dict(patient_id=f"P{p}", dose_number=i + 1, day=float(d), phase="loading" if i < 4 else "maintenance")
         for p in range(1, n + 1) for i, d in enumerate(DOSE_DAYS)]
    )
    return data, doses


def span(patch):
    """(x0, x1, y0, y1) of an axvspan/axhspan patch, in its own coordinates."""
    v = patch.get_patch_transform().transform(patch.get_path().vertices)
    return v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max()


def by_gid(ax, gid):
    arts = [a for a in ax.get_children() if a.get_gid() == gid]
    return arts


@pytest.fixture(scope="module")
def table():
    return make_table()


def test_plotted_values_equal_scores_with_gaps(table):
    data, doses = table
    fig = plot_patient(data, patient_id="P2", doses=doses)
    assert len(fig.axes) == 3
    for ax, m in zip(fig.axes, ["HFMSE", "PP_PREF", "PP_NONPREF"], strict=True):
        rows = data[(data.patient_id == "P2") & (data.measure == m)].sort_values("day")
        (line,) = by_gid(ax, "scores")
        np.testing.assert_allclose(line.get_xdata(), rows["day"] / DAYS_PER_MONTH)
        np.testing.assert_array_equal(line.get_ydata(), rows["score"].to_numpy())
    # the NT visit is a gap (NaN in the line), marked with a cross and its code
    hf = fig.axes[0]
    y = by_gid(hf, "scores")[0].get_ydata()
    assert np.isnan(y).sum() == 1 and np.isfinite(y[[2, 4]]).all()
    (cross,) = by_gid(hf, "missing")
    day_nt = data.query("patient_id == 'P2' and measure == 'HFMSE' and visit == 'Month 10'").day.iloc[0]
    assert cross.get_xdata()[0] == pytest.approx(day_nt / DAYS_PER_MONTH)
    assert [t.get_text() for t in by_gid(hf, "missing-code")] == ["NT"]
    assert by_gid(fig.axes[1], "missing") == []


def test_dose_markers_on_dose_days_numbered(table):
    data, doses = table
    fig = plot_patient(data, patient_id="P1", doses=doses, time="days")
    top = fig.axes[0]
    (marks,) = by_gid(top, "doses")
    np.testing.assert_allclose(marks.get_offsets()[:, 0], DOSE_DAYS)
    faces = marks.get_facecolors()
    # loading filled (dark), maintenance open (white)
    assert np.allclose(faces[4:], mpl.colors.to_rgba("white"))
    assert not np.allclose(faces[:4], mpl.colors.to_rgba("white"))
    assert [t.get_text() for t in by_gid(top, "dose-number")] == [str(i) for i in range(1, 9)]
    # dose lines in every panel, numbers only on top
    for ax in fig.axes:
        (lines,) = by_gid(ax, "dose-lines")
        assert [s[0, 0] for s in lines.get_segments()] == DOSE_DAYS
    assert by_gid(fig.axes[1], "dose-number") == []
    # loading phase shaded from the first to the last loading dose
    (shade,) = by_gid(top, "loading-phase")
    assert span(shade)[:2] == (0.0, 63.0)


def test_dose_numbers_do_not_overlap(table):
    data, doses = table
    fig = plot_patient(data, patient_id="P1", doses=doses)
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in by_gid(fig.axes[0], "dose-number")]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (i, j)
    # and nothing is drawn outside the figure
    for b in boxes:
        assert b.y1 <= fig.bbox.height and b.x0 >= 0


def test_band_equals_threshold_around_baseline(table):
    data, doses = table
    fig = plot_patient(data, patient_id="P4", doses=doses)
    base = data.query("patient_id == 'P4' and measure == 'HFMSE'").baseline.iloc[0]
    hf = fig.axes[0]
    (line,) = by_gid(hf, "baseline")
    assert line.get_ydata()[0] == base
    (band,) = by_gid(hf, "band")
    assert span(band)[2:] == (base - 3.0, base + 3.0)
    # Purdue has no threshold: baseline line, no band
    assert by_gid(fig.axes[1], "band") == [] and len(by_gid(fig.axes[1], "baseline")) == 1


def test_user_threshold_gives_purdue_a_band(table):
    data, doses = table
    fig = plot_patient(data, patient_id="P1", measures="PP_PREF", doses=doses,
                       threshold={"PP_PREF": 2})
    (band,) = by_gid(fig.axes[0], "band")
    y0, y1 = span(band)[2:]
    assert y1 - y0 == 4.0


def test_band_clipped_to_scale_range():
    df = pd.DataFrame({"patient_id": "X", "day": [-1.0, 100], "measure": "HFMSE",
                       "score": [1.0, 2.0]})
    fig = plot_patient(df, patient_id="X", schedule=None)
    (band,) = by_gid(fig.axes[0], "band")
    assert span(band)[2:] == (0.0, 4.0)


def test_baseline_without_timeline_columns():
    df = pd.DataFrame({"patient_id": "X", "day": [-30.0, -2, 0, 90], "measure": "RULM",
                       "score": [10.0, 12.0, np.nan, 15.0]})
    fig = plot_patient(df, patient_id="X", schedule=None, time="days")
    (line,) = by_gid(fig.axes[0], "baseline")
    assert line.get_ydata()[0] == 12.0  # last non-missing on or before day 0


def test_labels_from_registry(table):
    data, doses = table
    fig = plot_patient(data, patient_id="P1", doses=doses)
    assert fig.axes[0].get_ylabel().replace("\n", " ") == "HFMSE (points)"
    assert "Purdue Pegboard" in fig.axes[1].get_ylabel()
    assert fig.axes[-1].get_xlabel() == "Months since first dose"
    assert [t.get_text() for t in fig.texts] == ["Patient P1 · SMA type 2"]


def test_not_analysed_get_open_markers(table):
    data, doses = table
    d = data.copy()
    sel = (d.patient_id == "P1") & (d.measure == "HFMSE") & (d.visit == "Loading")
    d.loc[sel, "analysed"] = False
    fig = plot_patient(d, patient_id="P1", measures=["HFMSE"], doses=doses)
    (pts,) = by_gid(fig.axes[0], "not-analysed")
    assert pts.get_ydata().tolist() == d.loc[sel, "score"].tolist()


def test_into_given_axes(table):
    from matplotlib.figure import Figure

    data, doses = table
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_patient(data, patient_id="P1", measures="HFMSE", doses=doses, ax=ax)
    assert out is fig and len(by_gid(ax, "scores")) == 1
    with pytest.raises(ValueError, match="single measure"):
        plot_patient(data, patient_id="P1", doses=doses, ax=ax)


def test_errors(table):
    data, doses = table
    with pytest.raises(DataError, match="patient 'P99'"):
        plot_patient(data, patient_id="P99", doses=doses)
    with pytest.raises(DataError, match="RULM"):
        plot_patient(data, patient_id="P1", measures="RULM", doses=doses)
    with pytest.raises(ValueError, match="`time` must be one of"):
        plot_patient(data, patient_id="P1", doses=doses, time="weeks")
    with pytest.raises(DataError, match=r"plot_patient\(\) needs the column 'score'; the table has"):
        plot_patient(data.drop(columns="score"), patient_id="P1", doses=doses)


def test_undated_rows_warned_and_left_out(table):
    data, doses = table
    d = data.copy()
    d.loc[(d.patient_id == "P1") & (d.visit == "Month 6"), "day"] = np.nan
    with pytest.warns(DataWarning, match="no study day"):
        fig = plot_patient(d, patient_id="P1", doses=doses)
    assert len(by_gid(fig.axes[0], "scores")[0].get_ydata()) == 5


def test_global_rcparams_untouched(table):
    data, doses = table
    before = dict(mpl.rcParams)
    plot_patient(data, patient_id="P1", doses=doses)
    after = dict(mpl.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


USER_RC = {"font.size": 20, "font.family": "serif", "lines.linewidth": 5, "axes.linewidth": 3,
           "xtick.major.size": 9, "xtick.major.pad": 10, "xtick.labelsize": 15,
           "ytick.labelsize": 15, "legend.fontsize": 18, "axes.titlesize": 22,
           "patch.linewidth": 3}


def pixels(fig, rc=None):
    from sma_outcomes.plot.style import house_style

    with (mpl.rc_context(rc) if rc else house_style()):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("kind", ["patient", "patients", "cohort", "waterfall", "slope", "timeline"])
def test_figure_looks_the_same_under_other_rcparams(table, kind):
    """Shown later (e.g. in Jupyter) under a user's rcParams, a figure is unchanged."""
    from sma_outcomes import plot

    data, doses = table
    make = {
        "patient": lambda: plot.plot_patient(data, patient_id="P2", doses=doses),
        "patients": lambda: plot.plot_patients(data, measures="HFMSE", doses=doses),
        "cohort": lambda: plot.plot_cohort(data, measure="HFMSE"),
        "waterfall": lambda: plot.plot_waterfall(data, measure="HFMSE", timepoint="Month 18"),
        "slope": lambda: plot.plot_slope(data, measure="HFMSE", timepoint="Month 18"),
        "timeline": lambda: plot.plot_timeline(data, doses=doses),
    }[kind]
    np.testing.assert_array_equal(pixels(make()), pixels(make(), USER_RC))


def test_stack_rows():
    assert stack_rows([0, 1, 2, 10], [3, 3, 3, 3], gap=0) == [0, 1, 2, 0]


# ---------------------------------------------------------------- small multiples


def test_small_multiples_one_measure(table):
    data, doses = table
    fig = plot_patients(data, measures="HFMSE", doses=doses, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title("left") for ax in visible] == ["P1", "P2", "P3", "P4", "P5"]
    assert len(fig.axes) == 6  # 2 x 3 grid, last cell hidden
    for ax in visible:
        pid = ax.get_title("left")
        rows = data[(data.patient_id == pid) & (data.measure == "HFMSE")].sort_values("day")
        np.testing.assert_array_equal(by_gid(ax, "scores")[0].get_ydata(), rows.score)
    # one y range for all
    assert len({ax.get_ylim() for ax in visible}) == 1
    # x tick labels shown on the lowest panel of each column only
    shown = [ax.xaxis.get_tick_params()["labelbottom"] for ax in fig.axes[:3]]
    assert shown == [False, False, True]


def test_small_multiples_patients_by_measures(table):
    data, doses = table
    fig = plot_patients(data, patient_ids=["P3", "P1"], measures=["HFMSE", "PP_NONPREF"],
                        doses=doses)
    assert [ax.get_title("left") for ax in fig.axes] == ["P3", "P3", "P1", "P1"]
    assert [" ".join(ax.get_ylabel().split()) for ax in fig.axes[:2]] == [
        "HFMSE (points)", "Purdue Pegboard, non-preferred hand (pins in 30 s)"]
    y = by_gid(fig.axes[1], "scores")[0].get_ydata()
    assert np.isnan(y).sum() == 1  # P3's UTA visit is a gap


def test_small_multiples_thirty_patients_titles_do_not_overlap():
    data, doses = make_table(30, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_patients(data, measures="HFMSE", doses=doses)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()
    titles = [ax._left_title.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 30
    for i in range(len(titles)):
        for j in range(i + 1, len(titles)):
            assert not titles[i].overlaps(titles[j])


def test_default_doses_come_from_the_timeline_schedule():
    from sma_outcomes import timeline
    df = pd.DataFrame({"patient_id": "X", "day": [-3.0, 45, 180, 300], "measure": "HFMSE",
                       "score": [20.0, 21, 23, 24]})
    want = timeline.dose_table(df, schedule="nusinersen")
    fig = plot_patient(df, patient_id="X", time="days")
    (marks,) = by_gid(fig.axes[0], "doses")
    np.testing.assert_allclose(marks.get_offsets()[:, 0], want.day)
    assert marks.get_offsets()[:4, 0].tolist() == [0.0, 14.0, 28.0, 63.0]
    fig = plot_patient(df, patient_id="X", schedule=None)
    assert by_gid(fig.axes[0], "doses") == []


def test_importable_from_the_package():
    import sma_outcomes

    assert sma_outcomes.plot_patient is plot_patient
    for name in ("plot_patients", "plot_cohort", "plot_waterfall", "plot_slope",
                 "plot_timeline", "plot_item_heatmap", "save_figure"):
        assert callable(getattr(sma_outcomes, name))


def test_events_drawn_as_labelled_lines(table):
    data, doses = table
    events = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [200.0, 600, 50],
                           "event": ["scoliosis surgery", "treatment_switch", "death"],
                           "detail": [None, "risdiplam", None]})
    fig = plot_patient(data, patient_id="P1", doses=doses, events=events)
    for ax in fig.axes:
        (lc,) = by_gid(ax, "events")
        np.testing.assert_allclose([s[0, 0] for s in lc.get_segments()],
                                   np.array([200.0, 600]) / DAYS_PER_MONTH)
    labels = [t.get_text() for t in by_gid(fig.axes[0], "event-label")]
    assert labels == ["Scoliosis surgery", "Treatment switch: risdiplam"]
    # the x axis reaches the event after the last visit
    assert fig.axes[0].get_xlim()[1] > 600 / DAYS_PER_MONTH
    assert "Event" in [t.get_text() for t in fig.legends[0].get_texts()]
    renderer = FigureCanvasAgg(fig).get_renderer()
    from matplotlib.text import Text

    # the text itself (an annotation's own extent includes its leader)
    boxes = [Text.get_window_extent(t, renderer) for t in by_gid(fig.axes[0], "event-label")]
    assert not boxes[0].overlaps(boxes[1])
    with pytest.raises(DataError, match="event"):
        plot_patient(data, patient_id="P1", events=events.drop(columns="event"))


def test_small_multiples_draw_event_lines(table):
    data, doses = table
    events = pd.DataFrame({"patient_id": ["P2"], "day": [300.0], "event": ["spinal fusion"]})
    fig = plot_patients(data, patient_ids=["P1", "P2"], measures=["HFMSE", "PP_PREF"],
                        doses=doses, events=events)
    drawn = [len(by_gid(ax, "events")) for ax in fig.axes]
    assert drawn == [0, 0, 1, 1]
    (lc,) = by_gid(fig.axes[2], "events")
    assert lc.get_segments()[0][0, 0] == pytest.approx(300 / DAYS_PER_MONTH)
    assert "Event" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_default_doses_follow_a_treatment_switch(tmp_path, monkeypatch):
    """C008 switches to risdiplam on day 394: nusinersen doses stop, risdiplam starts."""
    from sma_outcomes.load import load_example
    from sma_outcomes.plot import batch, plot_timeline
    from sma_outcomes.timeline import change_from_baseline

    events = load_example("events")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changes = change_from_baseline(load_example("cohort"), events=events)
    one = changes[changes["patient_id"] == "C008"]
    # by hand: nusinersen loading 0, 14, 28, 63, maintenance 185, 307; the dose due on
    # day 428 is after the switch and not given; risdiplam's schedule starts on day 394
    expected = [0, 14, 28, 63, 185, 307, 394]
    fig = plot_patient(one, patient_id="C008", measures="HFMSE", events=events, time="days")
    (marks,) = by_gid(fig.axes[0], "doses")
    np.testing.assert_allclose(marks.get_offsets()[:, 0], expected)
    without = plot_patient(one, patient_id="C008", measures="HFMSE", time="days")
    (old,) = by_gid(without.axes[0], "doses")
    assert 428 in old.get_offsets()[:, 0] and 394 not in old.get_offsets()[:, 0]
    grid = plot_patients(one, patient_ids=["C008"], measures="HFMSE", events=events, time="days")
    days = np.concatenate([c.get_offsets()[:, 0] for c in by_gid(grid.axes[0], "doses")])
    assert 394 in days and 428 not in days
    tl = plot_timeline(one, events=events, time="days")
    (swim,) = by_gid(tl.axes[0], "doses")
    np.testing.assert_allclose(np.sort(swim.get_offsets()[:, 0]), expected)
    # the batch derives the dose table once, with the events
    seen = []

    def spy(*args, doses=None, **kwargs):
        seen.append(doses)
        return plot_patient(*args, doses=doses, **kwargs)

    monkeypatch.setattr(batch, "plot_patient", spy)
    batch.save_patient_figures(one, tmp_path, events=events, jobs=1, measures="HFMSE")
    np.testing.assert_allclose(seen[0]["day"], expected)


def test_events_the_schedule_cannot_follow_warn_and_keep_the_plan(table):
    data, _ = table
    events = pd.DataFrame({"patient_id": ["P1"], "day": [200.0], "event": ["treatment switch"],
                           "detail": ["a new trial drug"]})
    with pytest.warns(DataWarning, match="planned doses drawn without following the events"):
        fig = plot_patient(data, patient_id="P1", events=events, time="days")
    (marks,) = by_gid(fig.axes[0], "doses")
    assert len(marks.get_offsets()) > 0
