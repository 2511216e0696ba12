"""Events on the timeline: events_before, after_<event> flags, switches and discontinuation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.exceptions import DataError
from sma_outcomes.timeline import assign_timepoints, change_from_baseline


def scores(days, pid="P1"):
    return pd.DataFrame({"patient_id": pid, "day": np.asarray(days, float), "measure": "HFMSE",
                         "score": 20.0 + np.arange(len(days))})


def test_switch_restarts_the_new_schedule_and_keeps_the_day():
    # nusinersen planned (0, 14, 28, 63, 185, ...); switch to risdiplam on day 200:
    # day 307 -> 107 daily doses before (days 200..306), day 428 -> 228
    ev = pd.DataFrame({"patient_id": ["P1"], "day": [200.0], "event": ["switch"],
                       "detail": ["Evrysdi"]})
    out = assign_timepoints(scores([0, 185, 200, 307, 428]), events=ev)
    assert out["day"].tolist() == [0, 185, 200, 307, 428]
    assert out["doses_before"].tolist() == [0, 4, 5, 107, 228]
    assert out["drug"].tolist() == ["nusinersen"] * 3 + ["risdiplam"] * 2
    assert out["phase"].tolist()[3:] == ["maintenance", "maintenance"]
    # the assessment on the switch day is before it
    assert out["events_before"].tolist() == [0, 0, 0, 1, 1]
    assert out["after_treatment_switch"].tolist() == [False, False, False, True, True]
    # timepoints still follow the first schedule
    assert out["timepoint"].astype(object).tolist()[3:] == ["Month 10", "Month 14"]


def test_switch_to_nusinersen_counts_its_loading_doses():
    # risdiplam from day 0, switch to nusinersen on day 100: its doses on days
    # 100, 114, 128, 163 (switch day + 0, 14, 28, 63)
    ev = pd.DataFrame({"patient_id": ["P1"], "day": [100.0], "event": ["treatment_switch"],
                       "detail": ["nusinersen"]})
    out = assign_timepoints(scores([0, 50, 120, 150, 170]), schedule="risdiplam", events=ev)
    assert out["doses_before"].tolist() == [0, 50, 2, 3, 4]
    assert out["phase"].tolist() == ["pre-treatment", "maintenance", "loading", "loading",
                                     "maintenance"]
    assert out["drug"].tolist() == ["risdiplam", "risdiplam"] + ["nusinersen"] * 3


def test_discontinuation_stops_the_dose_count_until_a_restart():
    # planned doses before day 200: 0, 14, 28, 63, 185 -> 5 (planned 428 would give 7);
    # a switch to risdiplam on day 500 restarts the count: day 550 -> 50
    ev = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [200.0, 500.0],
                       "event": ["discontinuation", "switch"], "detail": ["", "risdiplam"]})
    out = assign_timepoints(scores([0, 185, 428, 550]), events=ev)
    assert out["doses_before"].tolist() == [0, 4, 5, 50]
    assert out["events_before"].tolist() == [0, 0, 1, 2]
    assert out["after_discontinuation"].tolist() == [False, False, True, True]


def test_flags_per_event_type_and_patient():
    ev = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [100.0, 300.0, 50.0],
                       "event": ["scoliosis surgery", "NIV", "death"]})
    s = pd.concat([scores([0, 185, 307, 428]), scores([0, 40], pid="P2")], ignore_index=True)
    out = assign_timepoints(s, events=ev)
    assert out["events_before"].tolist() == [0, 1, 2, 2, 0, 0]
    assert out["after_scoliosis_surgery"].tolist() == [False, True, True, True, False, False]
    assert out["after_ventilation_start"].tolist() == [False, False, True, True, False, False]
    assert out["after_death"].tolist() == [False] * 6
    assert "after_feeding_tube" not in out.columns
    # without events nothing is added, and the doses are the planned ones
    plain = assign_timepoints(s)
    assert "events_before" not in plain.columns
    assert plain["doses_before"].tolist() == out["doses_before"].tolist()


def test_event_dates_with_first_dose_dates_and_change_table():
    s = scores([0, 185, 307]).assign(first_dose_date=pd.Timestamp("2020-01-01"))
    ev = pd.DataFrame({"patient_id": ["P1"], "date": [pd.Timestamp("2020-04-10")],
                       "event": ["feeding tube"]})  # day 100
    out = change_from_baseline(s, events=ev)
    assert out["after_feeding_tube"].tolist() == [False, True, True]
    # a table with timepoints already: the flags are still added
    again = change_from_baseline(assign_timepoints(s), events=ev)
    assert again["events_before"].tolist() == [0, 1, 1]


def test_bad_events_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="unknown event type"):
        assign_timepoints(scores([0]), events=pd.DataFrame(
            {"patient_id": ["P1"], "day": [1.0], "event": ["holiday"]}))
    with pytest.raises(DataError, match="day of 1 event"):
        assign_timepoints(scores([0]), events=pd.DataFrame(
            {"patient_id": ["P1"], "date": [pd.Timestamp("2020-01-01")], "event": ["death"]}))
    path = tmp_path / "ev.csv"
    path.write_text("patient_id,day,event,detail\nP1,10,switch,aspirin\n")
    with pytest.raises(DataError, match=r"row 2, column 'detail'.*unknown drug 'aspirin'"):
        assign_timepoints(scores([0]), events=path)
