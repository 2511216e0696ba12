"""Read a per-patient dose table (real-world dosing that drifts from the label)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .cells import cell_text
from .checks import drop_ignored
from .problems import Problems
from .source import read_source
from .tidy import _map_columns
from .values import parse_dates, parse_numbers

DOSE_COLUMNS = ("patient_id", "date", "day", "dose", "drug")


def read_doses(
    source: str | os.PathLike | pd.DataFrame | None = None,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    sheet_name: str | int | None = None,
    skiprows: int | None = None,
    dayfirst: bool | None = None,
    columns: Mapping[str, str] | None = None,
    ignore: Sequence[str] | None = None,
    purdue: str = "single",
    sql: str | None = None,
    con: Any = None,
) -> pd.DataFrame:
    """Read doses given to each patient, with the loader's conventions and errors.

    Parameters
    ----------
    source : path or DataFrame
        One row per dose: a patient column, a date and/or study-day column, and
        optionally the dose (mg) and the drug.
    sep, encoding, decimal, sheet_name, skiprows, dayfirst, columns, ignore, sql, con
        As in :func:`sma_outcomes.read_scores`.
    purdue
        Accepted so that the reading options of a score file can be passed on
        unchanged (:data:`~sma_outcomes.load.read.READ_OPTIONS`); not used.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id`` (str), ``date`` (datetime64, NaT if not given),
        ``day`` (float, NaN if not given), ``dose`` (float mg, NaN if not given),
        ``drug`` (str, "" if not given), sorted by patient and time.

    Raises
    ------
    DataError
        Every problem, with file, row, column and value.

    Examples
    --------
    >>> import pandas as pd
    >>> doses = read_doses(pd.DataFrame({"Patient": ["P1", "P1"], "Day": [0, 16],
    ...                                  "Dose (mg)": [12, 12]}))
    >>> doses[["patient_id", "day", "dose"]]
      patient_id   day  dose
    0         P1   0.0  12.0
    1         P1  16.0  12.0
    """
    del purdue
    raw = read_source(source, sep=sep, encoding=encoding, sheet_name=sheet_name,
                      skiprows=skiprows, decimal=decimal, sql=sql, con=con)
    problems = Problems(raw.name)
    frame = drop_ignored(raw.frame, ignore, problems)
    rows = raw.rows
    columns = dict(columns or {})
    roles, _measures, _rest = _map_columns(frame, columns, problems)
    found = ", ".join(repr(c) for c in frame.columns)
    if "patient_id" not in roles:
        problems.add("columns", f"no patient column (e.g. 'patient_id', 'Patient'); found {found}")
    if "date" not in roles and "day" not in roles:
        problems.add("columns", f"no date or study-day column for the doses; found {found}")
    problems.raise_if_errors()
    if frame.empty:
        problems.add("empty", "the dose table has no data rows")
        problems.raise_if_errors()
    out = pd.DataFrame({"patient_id": cell_text(frame[roles["patient_id"]])})
    if "date" in roles:
        dates, bad, why, odd = parse_dates(frame[roles["date"]].reset_index(drop=True),
                                           dayfirst)
        if why:
            problems.add("date", why, column=str(roles["date"]))
        elif bad.any():
            vals = frame[roles["date"]].to_numpy()[bad]
            problems.add_many("date", rows[bad], str(roles["date"]), vals,
                              [f"{v!r} is outside the plausible range of dates (1900-2099)"
                               if o else f"{v!r} is not a valid date"
                               for v, o in zip(vals, odd[bad], strict=True)])
        out["date"] = dates.to_numpy()
    else:
        out["date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    for role, label in (("day", "study day"), ("dose", "dose in mg")):
        if role in roles:
            num, code, bad = parse_numbers(frame[roles[role]].reset_index(drop=True), raw.decimal)
            bad |= ~np.isfinite(num) & (code == "") & frame[roles[role]].notna().to_numpy()
            if role == "dose":
                bad |= num < 0
            if bad.any():
                vals = frame[roles[role]].to_numpy()[bad]
                problems.add_many(role, rows[bad], str(roles[role]), vals,
                                  [f"{v!r} is not a valid {label}" for v in vals])
            out[role] = num
        else:
            out[role] = np.nan
    out["drug"] = cell_text(frame[roles["drug"]]) if "drug" in roles else ""
    no_id = (out["patient_id"] == "").to_numpy()
    for r in rows[no_id]:
        problems.add("patient", "a dose with no patient id", row=int(r),
                     column=str(roles["patient_id"]), value="")
    no_time = out["date"].isna().to_numpy() & np.isnan(out["day"].to_numpy())
    for r in rows[no_time & ~no_id]:
        problems.add("dose", "a dose with neither a date nor a study day", row=int(r))
    problems.raise_if_errors()
    out = out.sort_values(["patient_id", "date", "day"], kind="stable").reset_index(drop=True)
    return out[list(DOSE_COLUMNS)]
