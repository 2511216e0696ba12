"""read_events: vocabulary, spellings and the usual DataError (file, row, column, value)."""

from __future__ import annotations

import pandas as pd
import pytest

from sma_outcomes import DataError, read_events
from sma_outcomes.load.events import EVENT_TYPES

from .conftest import SAMPLE


def write(tmp_path, text, name="events.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_spellings_to_codes_and_drugs(tmp_path):
    path = write(tmp_path, "Patient,Date,Event type,New drug\n"
                           "P2,2021-03-01,Switch,Evrysdi\n"
                           "P1,2020-05-01,Scoliosis,\n"
                           "P1,2020-02-01,NIV start,\n"
                           "P1,2021-01-01,add-on,Zolgensma\n"
                           "P2,2021-06-01,High dose,\n"
                           "P3,2022-01-01,Died,\n")
    ev = read_events(path)
    assert list(ev.columns) == ["patient_id", "date", "day", "event", "detail", "drug"]
    assert ev["patient_id"].tolist() == ["P1", "P1", "P1", "P2", "P2", "P3"]
    assert ev["event"].tolist() == ["ventilation_start", "scoliosis_surgery", "add_on",
                                    "treatment_switch", "regimen_change", "death"]
    assert ev["drug"].tolist() == ["", "", "onasemnogene_abeparvovec", "risdiplam", "", ""]
    assert ev["detail"].tolist()[3] == "Evrysdi"
    assert ev["day"].isna().all()


def test_every_event_type_is_accepted_by_its_code():
    ev = read_events(pd.DataFrame({"patient_id": "P1", "day": range(len(EVENT_TYPES)),
                                   "event": list(EVENT_TYPES),
                                   "detail": ["nusinersen" if e in ("treatment_switch", "add_on")
                                              else "" for e in EVENT_TYPES]}))
    assert ev["event"].tolist() == list(EVENT_TYPES)


def test_bad_event_file_lists_every_problem_with_row_column_value(tmp_path):
    path = write(tmp_path, "patient_id,date,event,detail,birth date\n"
                           "P1,2020-01-10,holiday,,2015-01-01\n"          # row 2: unknown type
                           "P1,2020-02-01,switch,aspirin,2015-01-01\n"    # row 3: unknown drug
                           "P2,2010-01-01,feeding tube,,2012-05-05\n"     # row 4: before birth
                           "P2,2025-01-01,death,,2012-05-05\n"            # row 5: after cut-off
                           "P3,2020-13-45,death,,\n"                      # row 6: bad date
                           "P4,2020-01-01,switch,,\n")                    # row 7: no drug
    with pytest.raises(DataError) as info:
        read_events(path, cutoff="2024-06-30")
    msg = str(info.value)
    assert "events.csv: 6 problems" in msg
    assert "row 2, column 'event': 'holiday' is not a known event type; use one of: " \
           "scoliosis_surgery" in msg
    assert "row 3, column 'detail': a treatment switch to the unknown drug 'aspirin'" in msg
    assert "row 4, column 'date': an event before the patient's birth" in msg
    assert "row 5, column 'date': an event after the data cut-off 2024-06-30" in msg
    assert "row 6, column 'date': '2020-13-45' is not a valid date" in msg
    assert "row 7, column 'detail': a treatment switch without the new drug" in msg
    table = info.value.problems
    assert table.loc[table["row"] == 5, "value"].tolist() == ["2025-01-01"]


def test_days_with_age_and_cutoff_day():
    frame = pd.DataFrame({"id": ["P1", "P2"], "day": [-4000, 800], "event": ["other", "death"],
                          "age at first dose": [10.0, 3.0]})
    with pytest.raises(DataError, match=r"row 2, column 'day': an event before the patient's "
                                        r"birth(.|\n)*row 3, column 'day': an event after the "
                                        r"data cut-off \(day 720\)"):
        read_events(frame, cutoff=720)
    birth = {"P1": "2010-01-01"}
    with pytest.raises(DataError, match="before the patient's birth"):
        read_events(pd.DataFrame({"id": ["P1"], "date": ["2009-12-31"], "event": ["other"]}),
                    birth_dates=birth)


def test_missing_columns():
    with pytest.raises(DataError, match="no event column"):
        read_events(pd.DataFrame({"patient_id": ["P1"], "day": [1]}))
    with pytest.raises(DataError, match="no date or study-day column"):
        read_events(pd.DataFrame({"patient_id": ["P1"], "event": ["death"]}))


def test_sample_events_cover_every_type():
    path = SAMPLE / "events.csv"
    ev = read_events(path, cutoff="2100-01-01")
    assert set(ev["event"]) == set(EVENT_TYPES)
    assert (ev["event"] == "treatment_switch").sum() >= 3
