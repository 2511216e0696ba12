"""dose_table(events=): planned doses follow switches and discontinuations (hand-computed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sma_outcomes.timeline import assign_timepoints, dose_table

# nusinersen: loading days 0, 14, 28, 63; maintenance every 4 "months" of 30.5 days
# without a first-dose date: 63 + 122 k -> 185, 307, 428, 550, 672
SCORES = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4"],
                       "day": [0.0, 700] * 4, "measure": "HFMSE", "score": 20.0})
EVENTS = pd.DataFrame({
    "patient_id": ["P1", "P2", "P3", "P3"],
    "day": [200.0, 300, 150, 400],
    "event": ["treatment switch", "discontinuation", "discontinuation", "treatment switch"],
    "detail": ["risdiplam", "", "", "nusinersen"],
})


def _of(table, pid):
    return table[table["patient_id"] == pid].reset_index(drop=True)


def test_without_events_unchanged():
    d = dose_table(SCORES)
    assert _of(d, "P1")["day"].tolist() == [0, 14, 28, 63, 185, 307, 428, 550, 672]
    assert (d["drug"] == "nusinersen").all()


def test_switch_stops_nusinersen_and_starts_risdiplam():
    p1 = _of(dose_table(SCORES, events=EVENTS), "P1")
    # nusinersen before the switch on day 200, then risdiplam (continuous: its start)
    assert p1["day"].tolist() == [0, 14, 28, 63, 185, 200]
    assert p1["drug"].tolist() == ["nusinersen"] * 5 + ["risdiplam"]
    assert p1["dose_number"].tolist() == [1, 2, 3, 4, 5, 1]
    assert p1["phase"].tolist() == ["loading"] * 4 + ["maintenance", "loading"]
    assert p1["planned"].all()
    assert np.isnan(p1["dose"].iloc[-1]) and (p1["dose"].iloc[:5] == 12).all()


def test_discontinuation_stops_doses():
    # P2 stops on day 300: the dose planned on day 307 and later are not given
    p2 = _of(dose_table(SCORES, events=EVENTS), "P2")
    assert p2["day"].tolist() == [0, 14, 28, 63, 185]
    # P4 has no events: the whole schedule
    p4 = _of(dose_table(SCORES, events=EVENTS), "P4")
    assert p4["day"].tolist() == [0, 14, 28, 63, 185, 307, 428, 550, 672]


def test_restart_after_discontinuation_counts_from_the_switch_day():
    # P3: stops on day 150 (after the 4th loading dose), restarts nusinersen on day 400:
    # 400 + (0, 14, 28, 63, 185); the next, 400 + 307 = 707, is after the last assessment
    p3 = _of(dose_table(SCORES, events=EVENTS), "P3")
    assert p3["day"].tolist() == [0, 14, 28, 63, 400, 414, 428, 463, 585]
    assert p3["dose_number"].tolist() == [1, 2, 3, 4, 1, 2, 3, 4, 5]
    assert p3["phase"].tolist() == ["loading"] * 4 + ["loading"] * 4 + ["maintenance"]


def test_switch_then_discontinuation_stops_the_new_drug():
    ev = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [100.0, 420],
                       "event": ["treatment switch", "discontinuation"],
                       "detail": ["nusinersen_high_dose", ""]})
    p1 = _of(dose_table(SCORES, events=ev), "P1")
    # high dose: loading 0, 14 (50 mg), maintenance 14 + 122 k (28 mg), from day 100:
    # 100, 114, 236, 358; the next, 479, is after the discontinuation on day 420
    assert p1["day"].tolist() == [0, 14, 28, 63, 100, 114, 236, 358]
    assert p1["dose_number"].tolist() == [1, 2, 3, 4, 1, 2, 3, 4]
    assert p1["dose"].tolist() == [12.0] * 4 + [50.0, 50.0, 28.0, 28.0]
    assert p1["phase"].tolist() == ["loading"] * 6 + ["maintenance"] * 2


def test_dates_follow_calendar_months_from_the_switch_date():
    s = SCORES[SCORES["patient_id"] == "P3"].assign(first_dose_date=pd.Timestamp("2020-01-01"))
    p3 = _of(dose_table(s, events=EVENTS[EVENTS["patient_id"] == "P3"]), "P3")
    restart = pd.Timestamp("2020-01-01") + pd.Timedelta(days=400)  # 2021-02-04
    assert p3["date"].iloc[4] == restart
    # 4th loading dose on day 63 of the new schedule, maintenance 4 calendar months later
    fourth = restart + pd.Timedelta(days=63)
    assert p3["date"].iloc[7] == fourth
    assert p3["date"].iloc[8] == fourth + pd.DateOffset(months=4)


def test_agrees_with_doses_before_of_assign_timepoints():
    """Doses before each assessment from dose_table(events=) = assign_timepoints(events=)."""
    days = [0.0, 120, 180, 199, 201, 300, 390, 401, 430, 600, 700]
    s = pd.DataFrame({"patient_id": np.repeat(["P1", "P2", "P3", "P4"], len(days)),
                      "day": days * 4, "measure": "HFMSE", "score": 20.0})
    at = assign_timepoints(s, events=EVENTS)
    d = dose_table(s, events=EVENTS)
    for (pid, day), nb in zip(zip(at["patient_id"], at["day"], strict=True),
                              at["doses_before"], strict=True):
        mine = _of(d, pid)
        # the current regimen: the last one that started strictly before `day`
        started = mine[(mine["dose_number"] == 1) & (mine["day"] < day)]
        if started.empty:
            assert nb == 0
            continue
        start = started["day"].max()
        reg = mine[(mine["day"] >= start) & (mine["day"] < day)]
        if mine.loc[mine["day"] == start, "drug"].iloc[0] == "risdiplam":
            continue  # continuous dosing: doses_before counts days, not rows
        assert int(nb) == len(reg), (pid, day)
