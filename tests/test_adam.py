"""ADaM export: PARAMCD mapping, BDS columns, CSV/XPT files, round trip through read_scores."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from sma_outcomes.exceptions import ColumnError, DataError, DataWarning
from sma_outcomes.registry import PARAMCD, SCALES, measure_from_paramcd
from sma_outcomes.timeline import change_from_baseline, to_adam
from sma_outcomes.timeline.adam import ADAM_COLUMNS

from .conftest import SAMPLE


def small():
    """P1: baseline day -3 (date known), Month 6 twice (186 chosen over 200), unscheduled day 100."""
    s = pd.DataFrame(
        {
            "patient_id": "P1",
            "visit": ["Screening", "M6a", "M6b", "Extra", "Screening"],
            "date": pd.to_datetime(["2020-01-01", "2020-07-08", "2020-07-22", "2020-04-13", "2020-01-01"]),
            "day": [-3.0, 186, 200, 100, -3],
            "measure": ["HFMSE", "HFMSE", "HFMSE", "HFMSE", "PP_NONPREF"],
            "score": [20.0, 24, 25, 22, 1],
            "missing_code": "",
        }
    )
    return change_from_baseline(s)


def test_paramcd_mapping_is_cdisc_safe_and_reversible():
    assert set(PARAMCD) == set(SCALES)
    assert len(set(PARAMCD.values())) == len(PARAMCD)
    for measure, code in PARAMCD.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{0,7}", code), code
        assert measure_from_paramcd(code) == measure
        assert measure_from_paramcd(measure) == measure
    assert PARAMCD["PP_NONPREF"] == "PPNPREF"
    assert PARAMCD["HFMSE_33"] == "HFMSE33"
    assert PARAMCD["RULM_A"] == "RULMA"
    assert PARAMCD["CHOP_INTEND"] == "CHOPINTD"
    assert measure_from_paramcd(" ppassem ") == "PP_ASSEMBLY"
    with pytest.raises(DataError, match="not a known parameter code"):
        measure_from_paramcd("XYZ123")


def test_to_adam_columns_and_values():
    a = to_adam(small())
    assert tuple(a.columns) == ADAM_COLUMNS
    assert a["USUBJID"].tolist() == ["P1"] * 5
    assert a["PARAMCD"].tolist() == ["HFMSE"] * 4 + ["PPNPREF"]
    assert a["PARAM"].tolist()[-1] == "Purdue Pegboard, non-preferred hand (pins)"
    assert a["AVISIT"].tolist() == ["Baseline", "Month 6", "Month 6", "Unscheduled", "Baseline"]
    np.testing.assert_array_equal(a["AVISITN"], [0, 2, 2, np.nan, 0])  # Baseline, Loading, Month 6
    # ADY: no day 0; day -3 stays -3, day 186 -> 187
    np.testing.assert_array_equal(a["ADY"], [-3, 187, 201, 101, -3])
    np.testing.assert_array_equal(a["AVAL"], [20, 24, 25, 22, 1])
    np.testing.assert_array_equal(a["BASE"], [20, 20, 20, 20, 1])
    np.testing.assert_array_equal(a["CHG"], [0, 4, 5, 2, 0])
    np.testing.assert_allclose(a["PCHG"], [0, 20, 25, 10, 0])
    assert a["ABLFL"].tolist() == ["Y", "", "", "", "Y"]
    assert a["ANL01FL"].tolist() == ["Y", "Y", "", "", "Y"]
    assert a["ADT"].iloc[0] == pd.Timestamp("2020-01-01")


def test_ady_day_zero_convention():
    s = pd.DataFrame({"patient_id": "P1", "day": [-1.0, 0.0, 1.0, np.nan], "measure": "RULM",
                      "score": [10.0, 11, 12, 13]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        a = to_adam(change_from_baseline(s))
    np.testing.assert_array_equal(a["ADY"], [-1, 1, 2, np.nan])
    assert a["ABLFL"].tolist() == ["", "Y", "", ""]


def test_to_adam_refuses_a_score_table():
    s = pd.DataFrame({"patient_id": "P1", "day": [0.0, 1.0], "measure": "RULM",
                      "score": [10.0, 11]})
    with pytest.raises(ColumnError, match=r"to_adam\(\) needs the columns 'baseline', 'change', "
                       "'pct_change'.*change_from_baseline"):
        to_adam(s)


def test_write_csv_and_xpt(tmp_path):
    import pyreadstat
    a = to_adam(small(), tmp_path / "adsma.csv")
    back = pd.read_csv(tmp_path / "adsma.csv", keep_default_na=False)
    assert back.columns.tolist() == list(ADAM_COLUMNS)
    assert back["ADT"].tolist()[:2] == ["2020-01-01", "2020-07-08"]
    to_adam(small(), tmp_path / "adsma.xpt", dataset="ADSMA")
    x, meta = pyreadstat.read_xport(str(tmp_path / "adsma.xpt"))
    assert meta.table_name == "ADSMA"
    assert meta.column_names_to_labels["CHG"] == "Change from Baseline"
    assert meta.original_variable_types["ADT"] == "DATE"
    assert all(len(c) <= 8 for c in x.columns)
    np.testing.assert_array_equal(x["ADY"], a["ADY"])
    assert pd.to_datetime(x["ADT"]).tolist() == a["ADT"].tolist()
    with pytest.raises(ValueError, match=".csv or .xpt"):
        to_adam(small(), tmp_path / "adsma.txt")
    with pytest.raises(ValueError, match="dataset name"):
        to_adam(small(), tmp_path / "a.xpt", dataset="TOO_LONG_NAME")


def test_unknown_measure_raises():
    s = small()
    s.loc[0, "measure"] = "GRIP"
    with pytest.raises(DataError, match="no PARAMCD for measure\\(s\\) \\['GRIP'\\]"):
        to_adam(s)


@pytest.mark.parametrize("suffix", [".csv", ".xpt"])
def test_round_trip_through_read_scores(tmp_path, suffix):
    from sma_outcomes import load
    changes = small()
    path = tmp_path / f"admotor{suffix}"
    to_adam(changes, path)
    back = load.read_scores(path)
    cols = ["patient_id", "measure", "day", "date", "score"]
    # records sharing an AVISIT (the two Month 6 rows) but not a day are both kept
    assert len(back) == len(changes)
    key = ["patient_id", "measure", "day"]
    got = back[cols].sort_values(key).reset_index(drop=True)
    want = changes[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert sorted(back["visit"]) == sorted(to_adam(changes)["AVISIT"])
    # and the changes derived again are the same
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        again = change_from_baseline(back).sort_values(key).reset_index(drop=True)
    ref = changes.sort_values(key).reset_index(drop=True)
    np.testing.assert_allclose(again["change"], ref["change"])
    assert again["analysed"].tolist() == ref["analysed"].tolist()


def test_round_trip_case_series(tmp_path):
    from sma_outcomes import load
    path = SAMPLE / "case_series.csv"
    changes = change_from_baseline(load.read_scores(path))
    to_adam(changes, tmp_path / "gk.xpt")
    back = change_from_baseline(load.read_scores(tmp_path / "gk.xpt"))
    key = ["patient_id", "measure", "day"]
    a = changes.sort_values(key).reset_index(drop=True)
    b = back.sort_values(key).reset_index(drop=True)
    assert a["timepoint"].astype(object).tolist() == b["timepoint"].astype(object).tolist()
    np.testing.assert_allclose(a["score"], b["score"])
    np.testing.assert_allclose(a["pct_change"], b["pct_change"])


@pytest.mark.parametrize("suffix", [".csv", ".xpt"])
def test_missing_codes_survive_the_round_trip(tmp_path, suffix):
    from sma_outcomes import read_scores

    scores = read_scores(SAMPLE / "case_series.csv")
    path = tmp_path / f"adam{suffix}"
    to_adam(change_from_baseline(scores), path)
    back = read_scores(path)
    assert back["missing_code"].tolist() == scores["missing_code"].tolist()
    assert back.loc[back.missing_code == "NT", "score"].isna().all()
