"""assign_timepoints, visit windows and dose tables: hand-computed examples."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sma_outcomes.exceptions import DataError, DataWarning
from sma_outcomes.timeline import assign_timepoints, dose_table, get_schedule
from sma_outcomes.timeline.timepoints import scheduled_numbers
from sma_outcomes.timeline.windows import default_windows, make_windows


def scores(days, measure="HFMSE", pid="P1", score=None):
    n = len(days)
    return pd.DataFrame(
        {
            "patient_id": pid,
            "visit": [f"V{i + 1}" for i in range(n)],
            "date": pd.NaT,
            "day": np.asarray(days, dtype=float),
            "measure": measure,
            "score": np.arange(20.0, 20.0 + n) if score is None else np.asarray(score, float),
            "missing_code": "",
        }
    )


# ----------------------------------------------------------------------------- windows
def test_default_nusinersen_windows():
    w = default_windows("nusinersen", until_day=560)
    assert w["label"].tolist() == ["Baseline", "Loading", "Month 6", "Month 10", "Month 14", "Month 18"]
    assert w["target"].tolist() == [0, 63, 185, 307, 428, 550]
    assert w["lo"].tolist() == [-np.inf, 29, 125, 247, 368, 490]
    assert w["hi"].tolist() == [0, 63, 246, 367, 489, 610]
    assert w["anchor"].tolist() == [1, 4, 5, 6, 7, 8]


def test_default_windows_other_schedules():
    hd = default_windows("nusinersen_high_dose", until_day=300)
    assert hd["label"].tolist() == ["Baseline", "Loading", "Month 4", "Month 8"]
    assert hd.loc[1, ["lo", "hi"]].tolist() == [1, 14]
    ona = default_windows("onasemnogene", until_day=400)
    # 6-monthly: targets 182.625 -> 183 and 365.25 -> 365; half-width floor(182.625/2) = 91
    assert ona["label"].tolist() == ["Baseline", "Month 6", "Month 12"]
    assert ona["target"].tolist() == [0, 183, 365]
    assert ona["lo"].tolist() == [-np.inf, 92, 274]
    assert default_windows("risdiplam", 10, baseline_lookback=28)["lo"].tolist() == [-28, 92]


def test_make_windows_forms_and_errors():
    w = make_windows({"Week 52": (364, 330, 400), "Baseline": (-30, 0)})
    assert w["label"].tolist() == ["Baseline", "Week 52"]  # sorted by target
    assert w["target"].tolist() == [-15, 364]
    assert make_windows({"Pre": (-np.inf, 0)})["target"].tolist() == [0]
    tab = make_windows(pd.DataFrame({"label": ["A"], "lo": [10], "hi": [20], "anchor": [2]}))
    assert tab.loc[0, "target"] == 15 and tab.loc[0, "anchor"] == 2
    with pytest.raises(ValueError, match="lo > hi"):
        make_windows({"A": (20, 10)})
    with pytest.raises(ValueError, match="target outside"):
        make_windows({"A": (30, 10, 20)})
    with pytest.raises(ValueError, match="window 'A'"):
        make_windows({"A": (1,)})
    with pytest.raises(ValueError, match="missing \\['hi'\\]"):
        make_windows(pd.DataFrame({"label": ["A"], "lo": [1]}))
    with pytest.raises(ValueError, match="duplicate labels"):
        make_windows(pd.DataFrame({"label": ["A", "A"], "lo": [1, 2], "hi": [3, 4]}))


# ----------------------------------------------------------------------------- selection
def test_window_selection_closest_and_ties():
    # Month 6 target 185: days 180 and 190 are 5 days away each -> tie -> earlier (180).
    # Month 10 target 307: 300 (7 away) and 305 (2 away) -> 305.
    s = scores([0, 180, 190, 300, 305])
    out = assign_timepoints(s)
    assert out["timepoint"].astype(object).tolist() == [
        "Baseline", "Month 6", "Month 6", "Month 10", "Month 10",
    ]
    assert out["analysed"].tolist() == [True, True, False, False, True]
    assert out["flag"].tolist() == [
        "", "", "duplicate in window (Month 6); day 180 chosen",
        "duplicate in window (Month 10); day 305 chosen", "",
    ]


def test_selection_prefers_a_score_and_is_per_measure():
    # Month 6: day 185 not done (NT), day 200 done -> 200 analysed; the other measure keeps 185
    s = pd.concat(
        [scores([185, 200], score=[np.nan, 24]), scores([185, 200], measure="PP_PREF")],
        ignore_index=True,
    )
    s.loc[0, "missing_code"] = "NT"
    out = assign_timepoints(s)
    assert out["analysed"].tolist() == [False, True, True, False]
    assert out["flag"].tolist()[:2] == ["duplicate in window (Month 6); day 200 chosen", ""]
    only_missing = scores([185], score=[np.nan]).assign(missing_code="NT")
    got = assign_timepoints(only_missing)
    assert got["analysed"].tolist() == [True]
    assert got["flag"].tolist() == ["score missing (NT)"]


def test_unscheduled_and_unknown_day_kept_in_order():
    s = scores([0, 100, np.nan, 63, -200])
    before = s.copy()
    with pytest.warns(DataWarning, match="day unknown for 1 assessment"):
        out = assign_timepoints(s)
    pd.testing.assert_frame_equal(s, before)  # input untouched
    assert out["visit"].tolist() == s["visit"].tolist()  # same rows, same order
    assert out["timepoint"].astype(object).fillna("-").tolist() == [
        "Baseline", "-", "-", "Loading", "Baseline",
    ]
    assert out["flag"].tolist() == [
        "", "unscheduled", "day unknown", "", "duplicate in window (Baseline); day 0 chosen",
    ]
    assert out["analysed"].tolist() == [True, False, False, True, False]
    assert out["doses_before"].isna().tolist() == [False, False, True, False, False]
    assert isinstance(out["timepoint"].dtype, pd.CategoricalDtype)
    assert out["timepoint"].cat.ordered
    # default categories stop at the last one used
    assert list(out["timepoint"].cat.categories) == ["Baseline", "Loading"]


def test_user_windows_keep_all_categories():
    out = assign_timepoints(scores([0, 350]), windows={"Baseline": (0, -30, 0), "Week 52": (364, 330, 400), "Week 104": (728, 700, 760)})
    assert list(out["timepoint"].cat.categories) == ["Baseline", "Week 52", "Week 104"]
    assert out["timepoint"].astype(object).tolist() == ["Baseline", "Week 52"]


# ----------------------------------------------------------------------------- doses
def test_dose_day_assessments():
    # days 0, 14, 28, 63 are dose days; 185 is the 1st maintenance dose
    s = scores([0, 14, 28, 63, 185])
    out = assign_timepoints(s)
    assert out["doses_before"].tolist() == [0, 1, 2, 3, 4]
    assert out["phase"].tolist() == ["pre-treatment", "loading", "loading", "loading", "maintenance"]
    after = assign_timepoints(s, assessment_before_dose=False)
    assert after["doses_before"].tolist() == [1, 2, 3, 4, 5]
    assert after["phase"].tolist() == ["loading", "loading", "loading", "maintenance", "maintenance"]
    # after the day-0 dose the day-0 assessment is no longer a baseline
    assert after["timepoint"].astype(object).fillna("-").tolist() == [
        "-", "-", "-", "Loading", "Month 6",
    ]
    assert after["flag"].tolist()[0] == "unscheduled"


def test_delayed_doses_from_a_dose_table():
    # 4th dose delayed from day 63 to 90 (+27); 1st maintenance on day 212 (185 + 27).
    doses = pd.DataFrame({"patient_id": "P1", "day": [0.0, 14, 28, 90, 212]})
    s = scores([0, 40, 88, 150, 212])
    out = assign_timepoints(s, doses=doses)
    assert out["doses_before"].tolist() == [0, 3, 3, 4, 4]
    assert out["phase"].tolist() == [
        "pre-treatment", "loading", "loading", "maintenance", "maintenance",
    ]
    # hi and target move with the delayed dose (+27), lo with the dose before it:
    # Loading [29, 90] target 90; Month 6 [125 + 27, 246 + 27] = [152, 273] target 212
    assert out["timepoint"].astype(object).fillna("-").tolist() == [
        "Baseline", "Loading", "Loading", "-", "Month 6",
    ]
    assert out["analysed"].tolist() == [True, False, True, False, True]
    assert out.loc[1, "flag"] == "duplicate in window (Loading); day 88 chosen"
    # the planned schedule counts the day-63 and day-185 doses and misses day 88
    planned = assign_timepoints(s)
    assert planned["doses_before"].tolist() == [0, 3, 4, 4, 5]
    assert planned["timepoint"].astype(object).fillna("-").tolist() == [
        "Baseline", "Loading", "-", "Month 6", "Month 6",
    ]


def test_missed_maintenance_dose_keeps_labels():
    # 2nd maintenance dose (planned day 307) missed; the next one given on day 428
    doses = pd.DataFrame({"patient_id": "P1", "day": [0.0, 14, 28, 63, 185, 428, 550]})
    s = scores([0, 185, 300, 428, 550])
    out = assign_timepoints(s, doses=doses)
    assert out["timepoint"].astype(object).tolist() == [
        "Baseline", "Month 6", "Month 10", "Month 14", "Month 18",
    ]
    assert out["doses_before"].tolist() == [0, 4, 5, 5, 6]
    assert scheduled_numbers(doses["day"].to_numpy(), get_schedule("nusinersen")).tolist() == [
        1, 2, 3, 4, 5, 7, 8,
    ]
    # re-loading after a long gap: an extra dose 14 days later shares the schedule position
    days = np.array([0, 14, 28, 63, 185, 550, 564, 686.0])
    assert scheduled_numbers(days, get_schedule("nusinersen")).tolist() == [1, 2, 3, 4, 5, 8, 8, 9]


def test_dose_table_with_dates_and_missing_patient():
    s = pd.concat([scores([0, 190], pid="P1"), scores([0, 185], pid="P2")], ignore_index=True)
    s["first_dose_date"] = pd.Timestamp("2020-01-01")
    s["day"] = np.nan
    s["date"] = pd.to_datetime(["2020-01-01", "2020-07-09", "2020-01-01", "2020-07-04"])
    doses = pd.DataFrame(
        {
            "patient_id": "P1",
            "date": pd.to_datetime(
                ["2020-01-01", "2020-01-15", "2020-01-29", "2020-03-04", "2020-07-09"]
            ),
        }
    )
    with pytest.warns(DataWarning, match="1 patient.*P2.*planned nusinersen"):
        out = assign_timepoints(s, doses=doses)
    # day from date: 2020-07-09 - 2020-01-01 = 190; doses on days 0, 14, 28, 63, 190
    # P2 (planned): 2020-03-04 + 4 calendar months = 2020-07-04, day 185, a dose day
    assert out["day"].tolist() == [0, 190, 0, 185]
    assert out["doses_before"].tolist() == [0, 4, 0, 4]
    with pytest.warns(DataWarning):
        d = dose_table(s, doses=doses)
    assert d["patient_id"].tolist() == ["P1"] * 5 + ["P2"] * 5
    assert d["planned"].tolist() == [False] * 5 + [True] * 5
    assert d.loc[4, "day"] == 190 and d.loc[4, "phase"] == "maintenance"
    assert d.loc[d["patient_id"] == "P2", "day"].tolist() == [0, 14, 28, 63, 185]
    assert d["date"].iloc[-1] == pd.Timestamp("2020-07-04")


def test_days_from_dose_table_dates_when_scores_have_only_dates():
    s = scores([np.nan, np.nan]).assign(date=pd.to_datetime(["2021-02-25", "2021-05-01"]))
    doses = pd.DataFrame(
        {"patient_id": "P1", "date": pd.to_datetime(["2021-03-01", "2021-03-15", "2021-03-29"])}
    )
    out = assign_timepoints(s, doses=doses)
    # 2021-02-25 is 4 days before the first dose; 2021-05-01 is day 61 (3 doses before)
    assert out["day"].tolist() == [-4, 61]
    assert out["doses_before"].tolist() == [0, 3]
    assert out["timepoint"].astype(object).tolist() == ["Baseline", "Loading"]


def test_dose_table_planned_columns_and_dates():
    s = scores([0, 552]).assign(date=pd.to_datetime(["2019-03-04", "2020-09-07"]))
    d = dose_table(s)
    assert list(d.columns) == [
        "patient_id", "dose_number", "day", "date", "dose", "drug", "phase", "planned",
    ]
    assert d["day"].tolist() == [0, 14, 28, 63, 186, 308, 429, 552]
    assert d["dose_number"].tolist() == list(range(1, 9))
    assert d["date"].dt.strftime("%Y-%m-%d").tolist()[-1] == "2020-09-06"
    assert d["dose"].tolist() == [12.0] * 8
    assert set(d["drug"]) == {"nusinersen"}
    assert d["planned"].all()
    hd = dose_table(s, schedule="nusinersen_high_dose")
    assert hd["dose"].tolist()[:3] == [50, 50, 28]


def test_dose_table_errors():
    s = scores([0, 100])
    with pytest.raises(DataError, match="neither a day nor a valid date"):
        dose_table(s, doses=pd.DataFrame({"patient_id": ["P1"], "day": [np.nan], "date": [pd.NaT]}))
    with pytest.raises(DataError, match="more than one dose on day"):
        dose_table(s, doses=pd.DataFrame({"patient_id": ["P1", "P1"], "day": [0.0, 0.0]}))
    with pytest.raises(DataError, match="'day'.*or a 'date'"):
        dose_table(s, doses=pd.DataFrame({"patient_id": ["P1"]}))
    with pytest.warns(DataWarning, match="not on day 0.*P1 \\(day 3\\)"):
        dose_table(s, doses=pd.DataFrame({"patient_id": ["P1"], "day": [3.0]}))


def test_dose_table_path_uses_the_loader(tmp_path):
    path = tmp_path / "doses.csv"
    path.write_text("patient_id,day,dose\nP1,0,12\nP1,14,12\nP1,28,12\nP1,70,12\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        d = dose_table(scores([0, 65]), doses=path)
    assert d["day"].tolist() == [0, 14, 28, 70]
    assert not d["planned"].any()
    out = assign_timepoints(scores([0, 65]), doses=path)
    assert out["doses_before"].tolist() == [0, 3]


def test_continuous_schedule_counts_daily_doses():
    out = assign_timepoints(scores([-3, 0, 10, 200]), schedule="risdiplam")
    assert out["doses_before"].tolist() == [0, 0, 10, 200]
    assert out["phase"].tolist() == ["pre-treatment", "pre-treatment", "maintenance", "maintenance"]
    assert out["timepoint"].astype(object).fillna("-").tolist() == ["Baseline", "Baseline", "-", "Month 6"]


def test_missing_columns_raise():
    with pytest.raises(DataError, match=r"assign_timepoints\(\) needs the column 'score'"):
        assign_timepoints(pd.DataFrame({"patient_id": ["P1"], "day": [0.0], "measure": ["HFMSE"]}))


def test_empty_table():
    out = assign_timepoints(scores([]))
    assert len(out) == 0
    assert {"doses_before", "phase", "timepoint", "analysed", "flag"} <= set(out.columns)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2"]),
            st.sampled_from(["HFMSE", "PP_PREF"]),
            st.integers(-120, 700),
            st.one_of(st.none(), st.integers(0, 30)),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_properties_nothing_deleted_one_analysed_per_timepoint(rows):
    s = pd.DataFrame(rows, columns=["patient_id", "measure", "day", "score"])
    s["day"] = s["day"].astype(float)
    s["score"] = s["score"].astype(float)
    before = s.copy()
    out = assign_timepoints(s)
    pd.testing.assert_frame_equal(s, before)
    assert len(out) == len(s)
    pd.testing.assert_frame_equal(out[list(s.columns)], s)
    tp = out[out["timepoint"].notna()]
    n = tp.groupby(["patient_id", "measure", "timepoint"], observed=True)["analysed"].sum()
    assert (n == 1).all()
    assert not out.loc[out["timepoint"].isna(), "analysed"].any()
    assert (out.loc[out["timepoint"].isna(), "flag"] == "unscheduled").all()
    # doses_before is monotone in day within a patient
    for _, g in out.groupby("patient_id"):
        g = g.sort_values("day")
        assert g["doses_before"].is_monotonic_increasing
    # the analysed row is the closest (non-missing first) to the window target
    dup = out["flag"].str.startswith("duplicate")
    assert (~out.loc[dup, "analysed"]).all()
