"""Estimand strategies, hand-computed on four patients (one per strategy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.exceptions import OptionError
from sma_outcomes.stats.estimand import Estimand, apply_estimand
from sma_outcomes.timeline import change_from_baseline

DAYS = [0.0, 185, 307, 428]


def changes():
    rows = []
    for pid, scores in {"P1": [20, 22, 24, 25], "P2": [30, 31, 29, 28], "P3": [10, 12],
                        "P4": [40, 41, 43, 44]}.items():
        rows += [(pid, d, "HFMSE", float(s)) for d, s in zip(DAYS, scores, strict=False)]
    s = pd.DataFrame(rows, columns=["patient_id", "day", "measure", "score"])
    return change_from_baseline(s)


EVENTS = pd.DataFrame({
    "patient_id": ["P1", "P1", "P2", "P3", "P4"],
    "day": [200.0, 400.0, 100.0, 250.0, 300.0],
    "event": ["scoliosis surgery", "feeding tube", "switch", "death", "loss of ambulation"],
    "detail": ["", "", "risdiplam", "", ""],
})
ESTIMAND = Estimand({"scoliosis_surgery": "hypothetical", "death": "composite",
                     "loss of ambulation": "while on treatment"})


def test_every_strategy_by_hand():
    data, table = apply_estimand(changes(), EVENTS, ESTIMAND)
    got = data.set_index(["patient_id", "day"])
    # P1: surgery on day 200 (hypothetical) -> days 307 and 428 set aside, still present;
    # the feeding tube on day 400 (treatment policy) does not lift it (most restrictive wins)
    p1 = got.loc["P1"]
    assert p1["strategy"].tolist() == ["none", "none", "hypothetical", "hypothetical"]
    assert p1["intercurrent_event"].tolist() == ["", "", "scoliosis_surgery", "scoliosis_surgery"]
    assert p1["set_aside"].tolist() == [False, False, True, True]
    assert p1["change"].tolist() == [0, 2, 4, 5]  # never deleted
    np.testing.assert_array_equal(p1["analysis_change"], [0, 2, np.nan, np.nan])
    # P2: switch on day 100 (default treatment policy): values used as observed
    p2 = got.loc["P2"]
    assert p2["strategy"].tolist() == ["none"] + ["treatment_policy"] * 3
    assert p2["analysis_change"].tolist() == [0, 1, -1, -2]
    # P3: death on day 250 (composite, worst = HFMSE floor 0 - baseline 10 = -10):
    # rows added at Month 10 (median day 307) and Month 14 (428)
    p3 = got.loc["P3"]
    assert p3["added"].tolist() == [False, False, True, True]
    assert p3["timepoint"].astype(str).tolist() == ["Baseline", "Month 6", "Month 10", "Month 14"]
    assert p3["strategy"].tolist() == ["none", "none", "composite", "composite"]
    assert p3["analysis_change"].tolist() == [0, 2, -10, -10]
    assert p3["score"].isna().tolist() == [False, False, True, True]
    # P4: loss of ambulation on day 300 (while on treatment): data up to the event
    p4 = got.loc["P4"]
    assert p4["set_aside"].tolist() == [False, False, True, True]
    np.testing.assert_array_equal(p4["analysis_change"], [0, 1, np.nan, np.nan])
    assert len(data) == 16  # 14 observed rows + 2 added

    ev_rows = table[table["attribute"] == "intercurrent event"]
    assert ev_rows["event"].tolist() == ["scoliosis_surgery", "feeding_tube", "treatment_switch",
                                         "loss_of_ambulation", "death"]
    assert ev_rows["strategy"].tolist() == ["hypothetical", "treatment_policy",
                                            "treatment_policy", "while_on_treatment", "composite"]
    assert ev_rows["n_patients"].tolist() == [1, 1, 1, 1, 1]
    assert ev_rows["n_values"].tolist() == [2, 0, 3, 2, 2]
    assert table["attribute"].tolist()[:2] == ["population", "variable"]
    assert table.loc[0, "n_patients"] == 4
    assert table["description"].iloc[1] == "change from baseline in HFMSE"
    assert table["attribute"].iloc[-1] == "summary measure"


def test_composite_number_and_all_treatment_policy():
    data, _ = apply_estimand(changes(), EVENTS, Estimand({"death": "composite"},
                                                         composite_value=-20))
    assert data.loc[data["added"], "analysis_change"].tolist() == [-20, -20]
    plain, _ = apply_estimand(changes(), EVENTS, Estimand())
    assert not plain["set_aside"].any() and not plain["added"].any()
    obs = plain["change"].notna()
    assert plain.loc[obs, "analysis_change"].tolist() == plain.loc[obs, "change"].tolist()


def test_bad_specifications():
    with pytest.raises(OptionError, match="strategy must be one of"):
        Estimand({"death": "ignore"})
    with pytest.raises(OptionError, match="not an event type"):
        Estimand({"holiday": "hypothetical"})
    with pytest.raises(OptionError, match="Estimand"):
        apply_estimand(changes(), EVENTS, {"death": "composite"})


def test_ice_table_first_set_aside_timepoint():
    from sma_outcomes.stats.estimand import ice_table

    data, _ = apply_estimand(changes(), EVENTS, ESTIMAND)
    ice = ice_table(data, measure="HFMSE")
    # P1: surgery on day 200 -> Month 10 first set aside; P4: loss of ambulation on day 300
    assert ice["patient_id"].tolist() == ["P1", "P4"]
    assert ice["timepoint"].astype(str).tolist() == ["Month 10", "Month 10"]
    assert ice["strategy"].tolist() == ["hypothetical", "while_on_treatment"]
    assert ice["event"].tolist() == ["scoliosis_surgery", "loss_of_ambulation"]


def test_composite_rows_keep_patient_columns_for_the_mmrm():
    """Added composite rows carry sma_type, sex, site ... so fit_mmrm keeps them."""
    import warnings

    from sma_outcomes.load import example_path, load_example, read_events
    from sma_outcomes.stats import fit_mmrm

    events = read_events(example_path("cohort").with_name("events.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ch = change_from_baseline(load_example("cohort"), events=events)
    hfmse = ch[ch["measure"] == "HFMSE"]
    data, _ = apply_estimand(hfmse, events, Estimand({"death": "composite"}))
    added = data[data["added"]]
    assert len(added) > 0
    for col in ("sma_type", "sex", "site", "age_at_first_dose", "smn2_copies", "handedness"):
        assert added[col].notna().all(), col
        # the patient's own value
        own = hfmse.groupby("patient_id")[col].first()
        assert (added[col].to_numpy() == own.reindex(added["patient_id"]).to_numpy()).all()
    assert data["sma_type"].dtype == hfmse["sma_type"].dtype
    assert (~added["is_baseline"].astype(bool)).all()
    assert added["analysed"].all()
    assert (added["visit"] == added["timepoint"].astype(str)).all()
    assert added["after_death"].all() and (added["events_before"] >= 1).all()
    # row-level columns stay empty
    assert added["score"].isna().all() and added["doses_before"].isna().all()
    # every analysed post-baseline row with a value (the MMRM models changes after baseline)
    used = data[data["analysed"] & data["analysis_change"].notna() & ~data["is_baseline"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_mmrm(data, y="analysis_change", arm="sma_type")
    assert fit.n_obs == len(used)
