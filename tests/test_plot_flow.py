"""plot_flow: the CONSORT-style patient-flow figure (issue 13).

What was drawn is read back from the figure (bar segments by ``gid``, count
labels) and compared with the tables of ``patient_flow``: per timepoint the
assessed, missing and not-yet-due patients, and the missing by reason.
"""

from __future__ import annotations

import io
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import sma_outcomes as so
from sma_outcomes.exceptions import OptionError
from sma_outcomes.plot import plot_flow
from sma_outcomes.plot.flow import reason_label, reason_order
from sma_outcomes.stats.flow import patient_flow
from tests.conftest import SAMPLE
from tests.test_plot_layout import drawn_texts


@cache
def cohort_flow(cutoff=None):
    events = so.read_events(SAMPLE / "events.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changes = so.change_from_baseline(so.load_example("cohort"), events=events)
    if cutoff == "mixed":  # half the patients cut off at day 500, the rest at day 900
        pids = sorted(changes["patient_id"].astype(str).unique())
        cutoff = {p: (500 if i % 2 else 900) for i, p in enumerate(pids)}
        return patient_flow(changes, events, cutoff=cutoff)
    return patient_flow(changes, events, cutoff=cutoff)


def small_flow():
    """The hand-counted example of stats/flow.py: two patients, one UTA at Month 6."""
    s = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"], "day": [0.0, 185, 0, 185],
                      "measure": "HFMSE", "score": [20.0, 22, 30, None],
                      "missing_code": ["", "", "", "UTA"]})
    return patient_flow(so.change_from_baseline(s), cutoff=400)


def drawn(fig):
    """Per axes: {gid: {row: width}} of the bar segments, and the count labels by row."""
    out = []
    for ax in fig.axes:
        seg: dict[str, dict[int, float]] = {}
        for p in ax.patches:
            row = int(round(p.get_y() + p.get_height() / 2))
            assert row not in seg.get(p.get_gid(), {}), "one segment per row and gid"
            seg.setdefault(p.get_gid(), {})[row] = p.get_width()
        out.append(seg)
    return out


def expected(flow, measure=None):
    key = "all" if measure is None else measure
    s = flow.summary[flow.summary["measure"] == key].reset_index(drop=True)
    r = flow.reasons[flow.reasons["measure"] == key]
    rows = {str(t): i for i, t in enumerate(s["timepoint"])}
    left = {g: {i: float(n) for i, n in enumerate(s[col]) if n > 0}
            for g, col in (("assessed", "assessed"), ("missing", "missing"),
                           ("not yet due", "not_yet_due"))}
    right: dict[str, dict[int, float]] = {}
    for tp, reason, n in zip(r["timepoint"].astype(str), r["reason"], r["n"], strict=True):
        right.setdefault(f"reason:{reason}", {})[rows[tp]] = float(n)
    return s, {k: v for k, v in left.items() if v}, right


@pytest.mark.parametrize("cutoff,measure", [(None, None), (700, "PP_PREF"), ("mixed", None),
                                            ("mixed", "PP_NONPREF"), (None, "HFMSE")])
def test_segments_drawn_equal_the_flow_tables(cutoff, measure):
    flow = cohort_flow(cutoff)
    fig = plot_flow(flow, measure=measure)
    s, left, right = expected(flow, measure)
    got_left, got_right = drawn(fig)
    assert got_left == left
    assert got_right == right
    # each row adds up: assessed + missing + not yet due = every patient
    for i, row in s.iterrows():
        total = sum(got_left[g].get(i, 0) for g in got_left)
        assert total == row["n_patients"]
        assert sum(v.get(i, 0) for v in got_right.values()) == row["missing"]
    # segments of a row are laid end to end, in a fixed order of reasons
    ax = fig.axes[1]
    order = reason_order([g[len("reason:"):] for g in right])
    for i in range(len(s)):
        x = [p.get_x() for g in order for p in ax.patches
             if p.get_gid() == f"reason:{g}" and round(p.get_y() + p.get_height() / 2) == i]
        assert x == sorted(x)
    # rows top to bottom are the timepoints, labelled with the patients expected
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == [f"{t} ({e} expected)" for t, e in zip(s["timepoint"], s["expected"],
                                                           strict=True)]
    assert fig.axes[0].yaxis_inverted()


def test_count_labels_equal_their_segments():
    flow = cohort_flow("mixed")
    fig = plot_flow(flow)
    s, *_ = expected(flow)
    for ax in fig.axes:
        labels = [t for t in ax.texts if t.get_gid() == "count"]
        assert labels
        for t in labels:
            x, y = t.get_position()
            (p,) = [p for p in ax.patches if abs(p.get_x() + p.get_width() / 2 - x) < 1e-9
                    and abs(p.get_y() + p.get_height() / 2 - y) < 1e-9]
            n = int(t.get_text().split()[0])
            assert n == p.get_width()
            if p.get_gid() == "assessed":  # with the percentage of those expected
                exp = s.loc[int(round(y)), "expected"]
                assert t.get_text() == f"{n} ({100 * n / exp:.0f}%)"
    # on the bundled cohort every segment is wide enough for its count
    assert sum(len([t for t in ax.texts if t.get_gid() == "count"]) for ax in fig.axes) == (
        sum(len(ax.patches) for ax in fig.axes))


def test_hand_counted_example():
    fig = plot_flow(small_flow(), measure="HFMSE")
    left, right = drawn(fig)
    # Baseline 2 assessed; Loading 2 missing (no visit); Month 6 1 assessed, 1 UTA
    assert left == {"assessed": {0: 2.0, 2: 1.0}, "missing": {1: 2.0, 2: 1.0}}
    assert right == {"reason:no visit recorded": {1: 2.0}, "reason:not done: UTA": {2: 1.0}}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Assessed", "Missing", "Test not done: unable to assess",
                      "No visit recorded"]
    assert fig.axes[0].get_title(loc="left") == "Patient flow: HFMSE"


def test_plain_words_and_names():
    fig = plot_flow(cohort_flow(700), measure="PP_PREF")
    assert fig.axes[0].get_title(loc="left") == "Patient flow: Purdue Pegboard, preferred hand"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Not yet due at the cut-off" in legend and "Died" in legend
    assert not any("_" in t or ":" in t.split(" ")[0] for t in legend)
    assert fig.axes[0].get_xlabel() == "Patients (n = 80)"
    assert fig.axes[1].get_xlabel() == "Patients missing, by reason"
    assert reason_label("event: scoliosis_surgery") == "After scoliosis surgery"
    assert reason_label("not done: NT") == "Test not done: not tested"
    assert reason_label("not done: XYZ") == "Test not done: XYZ"
    fig = plot_flow(cohort_flow(None))
    assert fig.axes[0].get_title(loc="left") == "Patient flow: the visits (any measure)"


def test_deterministic():
    def png():
        buf = io.BytesIO()
        plot_flow(cohort_flow("mixed")).savefig(buf, format="png", dpi=60)
        return buf.getvalue()

    assert png() == png()


@pytest.mark.parametrize("measure", [None, "PP_PREF"])
def test_no_text_outside_the_canvas(measure):
    fig = plot_flow(cohort_flow(700), measure=measure)
    w, h = fig.bbox.width, fig.bbox.height
    texts = drawn_texts(fig)
    assert texts
    out = [t for t, b, _ in texts if b.x0 < -0.5 or b.y0 < -0.5 or b.x1 > w + 0.5
           or b.y1 > h + 0.5]
    assert not out
    # count labels stay inside their segments
    renderer = fig._get_renderer()
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_gid() != "count":
                continue
            box = t.get_window_extent(renderer)
            x, y = t.get_position()
            (p,) = [p for p in ax.patches if abs(p.get_x() + p.get_width() / 2 - x) < 1e-9
                    and abs(p.get_y() + p.get_height() / 2 - y) < 1e-9]
            seg = p.get_window_extent(renderer)
            assert seg.x0 <= box.x0 and box.x1 <= seg.x1


def test_nothing_missing_and_errors():
    flow = cohort_flow(None)
    s = flow.summary
    none_missing = flow._replace(summary=s.assign(assessed=s["expected"], missing=0),
                                 reasons=flow.reasons.iloc[:0])
    fig = plot_flow(none_missing)
    assert not fig.axes[1].patches
    assert "No value missing" in [t.get_text() for t in fig.axes[1].texts]
    with pytest.raises(OptionError, match="`measure` must be one of"):
        plot_flow(flow, measure="6MWT")
    with pytest.raises(OptionError, match="patient_flow"):
        plot_flow(flow.summary)
    assert np.isclose(plot_flow(flow, height=3.0).get_figheight(), 3.0)
