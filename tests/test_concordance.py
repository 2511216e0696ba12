"""Cross-scale concordance categories, by threshold and by reliable change."""

from __future__ import annotations

import pandas as pd
import pytest

from sma_outcomes import MeasureError, OptionError
from sma_outcomes.stats.agreement import CONCORDANCE_COLUMNS, concordance

PAIRS = {  # patient: (HFMSE change, RULM change)
    "P1": (3.0, 2.0), "P2": (2.0, 1.0), "P3": (-3.0, -2.0), "P4": (3.0, 0.0),
    "P5": (-4.0, 1.0), "P6": (4.0, -3.0),
}


def _changes():
    rows = []
    for pid, (h, r) in PAIRS.items():
        for m, v in (("HFMSE", h), ("RULM", r)):
            rows.append({"patient_id": pid, "measure": m, "timepoint": "Month 12", "change": v})
    rows.append({"patient_id": "P7", "measure": "HFMSE", "timepoint": "Month 12", "change": 5.0})
    rows.append({"patient_id": "P7", "measure": "PP_PREF", "timepoint": "Month 12",
                 "change": 2.0})
    return pd.DataFrame(rows)


def test_categories_with_registry_thresholds():
    c = concordance(_changes()).set_index("patient_id")
    assert list(c.reset_index().columns) == list(CONCORDANCE_COLUMNS)
    assert "P7" not in c.index  # no RULM
    assert c["category"].to_dict() == {
        "P1": "both improved", "P2": "both stable", "P3": "both declined",
        "P4": "one improved, one stable", "P5": "one declined, one stable",
        "P6": "opposite directions"}
    assert c["agreement"].tolist() == ["concordant"] * 3 + ["discordant"] * 2 + ["opposite"]
    assert c["definition"].iloc[0] == (
        "HFMSE: improved if change >= 3, declined if change <= -3; "
        "RULM: improved if change >= 2, declined if change <= -2")


def test_coratti_grouping_with_threshold_3():
    # > +2 improved, < -2 declined on both scales (integer scores: threshold 3)
    c = concordance(_changes(), threshold=3).set_index("patient_id")
    assert c.loc["P1", "category"] == "one improved, one stable"
    assert c.loc["P3", "category"] == "one declined, one stable"
    assert c.loc["P6", "category"] == "opposite directions"


def test_reliable_rule():
    # SEM 1: MDC = 1.959964 * sqrt(2) = 2.771808; SEM 0.5 for RULM: MDC 1.385904
    c = concordance(_changes(), rule="reliable", sem={"HFMSE": 1.0, "RULM": 0.5})
    c = c.set_index("patient_id")
    assert c.loc["P1", "category"] == "both improved"       # 3 > 2.77, 2 > 1.39
    assert c.loc["P2", "category"] == "both stable"         # 2 < 2.77; 1 < 1.39
    assert c.loc["P5", "category"] == "one declined, one stable"  # -4 < -2.77; 1 < 1.39
    assert c.loc["P6", "second_class"] == "declined"        # -3 < -1.39
    assert "|RCI| > 1.96" in c.loc["P1", "definition"]
    with pytest.raises(OptionError, match="sem="):
        concordance(_changes(), rule="reliable")


def test_purdue_pair_and_errors():
    d = _changes()
    with pytest.raises(OptionError, match="threshold"):
        concordance(d, ("HFMSE", "PP_PREF"))
    c = concordance(d, ("HFMSE", "PP_PREF"), threshold={"PP_PREF": 2.0})
    assert c["category"].tolist() == ["both improved"]
    with pytest.raises(MeasureError, match="measures="):
        concordance(d.loc[d["measure"] != "RULM"])
    with pytest.raises(OptionError, match="two different"):
        concordance(d, ("HFMSE", "HFMSE"))
    with pytest.raises(OptionError, match="rule"):
        concordance(d, rule="anchor")


def test_public_name_is_the_function_not_a_module() -> None:
    import sma_outcomes as sma
    import sma_outcomes.stats.agreement  # noqa: F401  (importing the module must not shadow it)

    assert callable(sma.concordance) and callable(sma.stats.concordance)
