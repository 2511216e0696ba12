"""Dosing schedules: planned days (fixed and calendar months), doses, phases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.timeline import SCHEDULES, Schedule, get_schedule
from sma_outcomes.timeline.schedules import round_half_up


def test_nusinersen_fixed_month_days():
    # 63 + k * 4 * 30.4375 = 184.75, 306.5, 428.25, 550 -> rounded half up
    s = get_schedule("nusinersen")
    assert s.dose_days(until_day=560).tolist() == [0, 14, 28, 63, 185, 307, 428, 550]
    assert s.dose_days().tolist() == [0, 14, 28, 63]
    assert s.n_loading == 4 and s.has_maintenance


def test_nusinersen_calendar_months_from_dates():
    # first dose 2019-03-04, 4th dose 2019-05-06; + 4, 8, 12, 16 calendar months:
    # 2019-09-06 (day 186), 2020-01-06 (308), 2020-05-06 (429), 2020-09-06 (552)
    s = get_schedule("nusinersen")
    days = s.dose_days(until_day=560, first_dose_date=pd.Timestamp("2019-03-04"))
    assert days.tolist() == [0, 14, 28, 63, 186, 308, 429, 552]
    fixed = get_schedule("nusinersen", calendar_months=False)
    assert fixed.dose_days(560, pd.Timestamp("2019-03-04")).tolist() == [
        0, 14, 28, 63, 185, 307, 428, 550,
    ]


def test_month_end_is_clipped():
    # 4th dose 2019-10-31 (first dose 2019-08-29); + 4 months -> 2020-02-29 (leap year)
    s = get_schedule("nusinersen")
    first = pd.Timestamp("2019-08-29")
    assert first + pd.Timedelta(days=63) == pd.Timestamp("2019-10-31")
    assert s.maintenance_day(1, first) == (pd.Timestamp("2020-02-29") - first).days


def test_us_label_fourth_dose():
    assert get_schedule("nusinersen_us").loading_days == (0, 14, 28, 58)
    s = get_schedule("nusinersen", fourth_dose_day=58)
    assert s.loading_days == (0, 14, 28, 58)
    assert "58" in s.description
    # 58 + 121.75 = 179.75 -> 180
    assert s.maintenance_day(1) == 180


def test_high_dose_regimen():
    s = get_schedule("nusinersen_high_dose")
    # 14 + k * 121.75 = 135.75, 257.5, 379.25 -> 136, 258, 379
    assert s.dose_days(until_day=400).tolist() == [0, 14, 136, 258, 379]
    assert [s.dose_mg(k) for k in (1, 2, 3, 4)] == [50, 50, 28, 28]
    assert get_schedule("nusinersen_hd") is s


def test_single_dose_and_continuous():
    ona = get_schedule("zolgensma")
    assert ona.name == "onasemnogene_abeparvovec"
    assert ona.dose_days(until_day=1000).tolist() == [0]
    assert [ona.phase_of(n) for n in (0, 1)] == ["pre-treatment", "maintenance"]
    ris = get_schedule("Evrysdi")
    assert ris.continuous and not ris.has_maintenance
    assert ris.dose_days(until_day=100).tolist() == [0]
    assert np.isnan(ris.dose_mg(1))


def test_phases_by_doses_before():
    s = get_schedule("nusinersen")
    assert [s.phase_of(n) for n in range(6)] == [
        "pre-treatment", "loading", "loading", "loading", "maintenance", "maintenance",
    ]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="not a known schedule.*nusinersen"):
        get_schedule("nusinersenn")
    with pytest.raises(ValueError, match="4 loading doses"):
        get_schedule("nusinersen_high_dose", fourth_dose_day=60)
    with pytest.raises(ValueError, match="after day 28"):
        get_schedule("nusinersen", fourth_dose_day=20)
    with pytest.raises(ValueError, match="start with day 0"):
        Schedule("x", "x", (1.0, 14.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="one loading_dose_mg"):
        Schedule("x", "x", (0.0, 14.0), (1.0,))


def test_schedule_passthrough_and_registry():
    s = SCHEDULES["risdiplam"]
    assert get_schedule(s) is s
    assert set(SCHEDULES) == {
        "nusinersen", "nusinersen_high_dose", "onasemnogene_abeparvovec", "risdiplam",
    }


def test_round_half_up():
    assert [round_half_up(x) for x in (0.5, 1.5, 2.5, 306.5, -0.5, 52.49)] == [
        1, 2, 3, 307, -1, 52,
    ]
    assert np.isnan(round_half_up(float("nan")))
