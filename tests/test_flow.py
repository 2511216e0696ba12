"""Patient flow: hand-counted expected / assessed / missing with reasons."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.exceptions import DataWarning, OptionError
from sma_outcomes.stats.flow import patient_flow
from sma_outcomes.timeline import change_from_baseline

from .conftest import SAMPLE


def visits(pid, days, pp=None, pp_code=""):
    rows = []
    for i, d in enumerate(days):
        rows.append((pid, float(d), "HFMSE", 20.0 + i, ""))
        missing = pp is not None and i == pp
        rows.append((pid, float(d), "PP_PREF", np.nan if missing else 5.0 + i,
                     pp_code if missing else ""))
    return rows


def data():
    rows = (visits("P1", [0, 50, 185, 307, 428]) + visits("P2", [0, 50, 185], pp=2,
                                                          pp_code="UTA")
            + visits("P3", [0, 50]) + visits("P4", [0]) + visits("P5", [0]))
    s = pd.DataFrame(rows, columns=["patient_id", "day", "measure", "score", "missing_code"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return change_from_baseline(s)


EVENTS = pd.DataFrame({"patient_id": ["P2", "P2", "P3", "P5"],
                       "day": [200.0, 280.0, 100.0, 30.0],
                       "event": ["discontinuation", "NIV", "scoliosis surgery", "death"]})
CUTOFF = {"P1": 500, "P2": 500, "P3": 300, "P4": 500, "P5": 500}


def test_flow_counts_by_hand():
    flow = patient_flow(data(), EVENTS, cutoff=CUTOFF)
    s = flow.summary.set_index(["measure", "timepoint"])
    tps = ["Baseline", "Loading", "Month 6", "Month 10", "Month 14"]
    got = s.loc["all"].loc[tps, ["n_patients", "not_yet_due", "expected", "assessed", "missing"]]
    # Month 10/14 windows end on days 367/489: after P3's cut-off (day 300)
    assert got.to_numpy().tolist() == [
        [5, 0, 5, 5, 0],
        [5, 0, 5, 3, 2],   # P4 no visit, P5 died on day 30
        [5, 0, 5, 2, 3],   # P3 after scoliosis surgery, P4, P5
        [5, 1, 4, 1, 3],   # P3 not yet due; P2 discontinued (before NIV), P4, P5
        [5, 1, 4, 1, 3],
    ]
    assert s.loc[("all", "Month 10"), "window_end"] == 367
    r = flow.reasons
    m10 = r[(r["measure"] == "all") & (r["timepoint"] == "Month 10")]
    assert m10["reason"].tolist() == ["event: death", "event: discontinuation",
                                      "no visit recorded"]
    assert m10["n"].tolist() == [1, 1, 1]
    m6 = r[(r["measure"] == "all") & (r["timepoint"] == "Month 6")]
    assert sorted(m6["reason"]) == ["event: death", "event: scoliosis_surgery",
                                    "no visit recorded"]
    # per measure: P2's Purdue at Month 6 was not done (UTA); the visit still counts
    pp6 = s.loc[("PP_PREF", "Month 6")]
    assert (pp6["assessed"], pp6["missing"]) == (1, 4)
    pp_r = r[(r["measure"] == "PP_PREF") & (r["timepoint"] == "Month 6")]
    assert dict(zip(pp_r["reason"], pp_r["n"], strict=True)) == {
        "not done: UTA": 1, "event: death": 1, "event: scoliosis_surgery": 1,
        "no visit recorded": 1}
    st = flow.status
    one = st[(st["patient_id"] == "P3") & (st["measure"] == "HFMSE")]
    assert one["status"].tolist() == ["assessed", "assessed", "missing", "not yet due",
                                      "not yet due"]
    assert one["event"].tolist() == ["", "", "scoliosis_surgery", "", ""]
    assert list(flow.summary["measure"].unique()) == ["all", "HFMSE", "PP_PREF"]


def test_without_cutoff_or_events_everything_is_due():
    flow = patient_flow(data())
    assert (flow.summary["not_yet_due"] == 0).all()
    assert set(flow.reasons["reason"]) == {"no visit recorded", "not done: UTA"}
    assert (flow.summary["expected"] == 5).all()


def test_date_cutoff_needs_dates():
    with pytest.raises(OptionError, match="no dates"):
        patient_flow(data(), cutoff="2024-01-01")
    d = data().assign(first_dose_date=pd.Timestamp("2020-01-01"))
    flow = patient_flow(d, cutoff="2020-12-01")  # day 335: Month 10 (ends 367) not yet due
    s = flow.summary.set_index(["measure", "timepoint"])
    assert s.loc[("all", "Month 10"), "not_yet_due"] == 5
    assert s.loc[("all", "Month 6"), "not_yet_due"] == 0


def test_sample_cohort_flow_adds_up():
    from sma_outcomes import read_events, read_scores

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ch = change_from_baseline(read_scores(SAMPLE / "cohort.csv"))
    flow = patient_flow(ch, read_events(SAMPLE / "events.csv"))
    s = flow.summary
    assert (s["expected"] == s["assessed"] + s["missing"]).all()
    by = flow.reasons.groupby(["measure", "timepoint"], observed=True)["n"].sum()
    miss = s.set_index(["measure", "timepoint"])["missing"]
    assert (by.reindex(miss.index).fillna(0).astype(int) == miss).all()
    assert flow.reasons["reason"].str.startswith("event: ").any()
