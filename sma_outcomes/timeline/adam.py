"""CDISC ADaM export: a BDS-style analysis table of scores and change from baseline.

Measure codes map to ADaM parameter codes (``PARAMCD``: at most 8 characters,
letters, digits and underscores, starting with a letter):

=================  ==========  ====================================
measure            PARAMCD     rule
=================  ==========  ====================================
HFMSE              HFMSE       unchanged
HFMSE_01..HFMSE_33 HFMSE01..   underscore dropped
RULM, RULM_A..T    RULM, RULMA underscore dropped
PP_PREF            PPPREF      underscore dropped
PP_NONPREF         PPNPREF     shortened
PP_RIGHT, PP_LEFT  PPRIGHT,    underscore dropped
                   PPLEFT
PP_BOTH            PPBOTH      underscore dropped
PP_ASSEMBLY        PPASSEM     shortened
CHOP_INTEND        CHOPINTD    shortened
HINE2, SMWT, MFM32 unchanged   unchanged
=================  ==========  ====================================

:data:`sma_outcomes.registry.PARAMCD` holds the mapping and
:func:`sma_outcomes.registry.measure_from_paramcd` reverses it (the loader uses it to
read ADaM back).

Examples
--------
>>> from sma_outcomes import change_from_baseline, read_scores, to_adam
>>> adam = to_adam(change_from_baseline(read_scores("data/sample/case_series.csv")))
>>> adam[["USUBJID", "PARAMCD", "AVISIT", "AVAL", "CHG"]].head(2)
  USUBJID PARAMCD    AVISIT  AVAL  CHG
0    GK01   HFMSE  Baseline  15.0  0.0
1    GK01  PPPREF  Baseline   4.0  0.0
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from .._shared import renamed, require_columns
from ..exceptions import DataError
from ..registry import PARAMCD, get_scale

__all__ = ["ADAM_COLUMNS", "ADAM_LABELS", "to_adam"]

#: Columns of :func:`to_adam`, in order.
ADAM_COLUMNS: tuple[str, ...] = (
    "USUBJID",
    "PARAMCD",
    "PARAM",
    "AVISIT",
    "AVISITN",
    "ADT",
    "ADY",
    "AVAL",
    "AVALC",
    "BASE",
    "CHG",
    "PCHG",
    "ABLFL",
    "ANL01FL",
)

#: Variable labels (written into .xpt files).
ADAM_LABELS: dict[str, str] = {
    "USUBJID": "Unique Subject Identifier",
    "AVALC": "Analysis Value (C): missing-score code",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N)",
    "ADT": "Analysis Date",
    "ADY": "Analysis Relative Day",
    "AVAL": "Analysis Value",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "PCHG": "Percent Change from Baseline",
    "ABLFL": "Baseline Record Flag",
    "ANL01FL": "Analysis Flag 01",
}

#: AVISIT of assessments outside every visit window.
UNSCHEDULED = "Unscheduled"


def _ady(day: pd.Series) -> pd.Series:
    """CDISC relative day: no day 0 (day 0 -> ADY 1; day -1 -> ADY -1)."""
    return day.where(day.isna() | (day < 0), day + 1.0)


@renamed(changes="data")
def to_adam(
    data: pd.DataFrame, path: str | os.PathLike[str] | None = None, *, dataset: str = "ADMOTOR"
) -> pd.DataFrame:
    """BDS-style ADaM table of scores and change from baseline, optionally written to a file.

    Parameters
    ----------
    data : pandas.DataFrame
        The changes table (the old keyword ``changes=`` still works, with a
        ``FutureWarning``): output of :func:`~sma_outcomes.timeline.change_from_baseline`. A score
        table without ``baseline``, ``change`` and ``pct_change`` is refused:
        the schedule and windows are the caller's choice, not ``to_adam``'s.
    path : str or path-like, optional
        Write the table: ``.csv`` (dates as ``YYYY-MM-DD``) or ``.xpt`` (SAS
        transport version 5, with variable labels; ``ADT`` as a SAS date).
    dataset : str
        Dataset name inside an .xpt file (at most 8 characters).

    Returns
    -------
    pandas.DataFrame
        One record per row of ``changes`` (same order), columns:

        - ``USUBJID`` patient_id; ``PARAMCD`` from :data:`PARAMCD`; ``PARAM``
          measure name and unit from the scale registry;
        - ``AVISIT`` the timepoint (``"Unscheduled"`` outside every window),
          ``AVISITN`` its position in the ordered timepoints (Baseline 0, then
          1, 2, ...; NaN when unscheduled);
        - ``ADT`` date (NaT when unknown), ``ADY`` relative day with no day 0:
          day + 1 on or after the first dose, day before it;
        - ``AVAL`` score, ``AVALC`` the source's missing-score code where AVAL is
          missing (NT, UTA, ...; read back into ``missing_code``), ``BASE`` baseline, ``CHG`` change, ``PCHG`` percent change;
        - ``ABLFL`` ``"Y"`` on the baseline record, ``ANL01FL`` ``"Y"`` on
          analysed records (else ``""``).

    Raises
    ------
    DataError
        For a measure without a PARAMCD.
    ColumnError
        When ``changes`` is not a changes table (a column is missing).
    ValueError
        For a path with a suffix other than .csv or .xpt, or a bad dataset name.

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes import change_from_baseline, to_adam
    >>> s = pd.DataFrame({"patient_id": "P1", "day": [0.0, 550], "measure": "PP_NONPREF",
    ...                   "score": [1.0, 6.0]})
    >>> to_adam(change_from_baseline(s))[["USUBJID", "PARAMCD", "AVISIT", "ADY", "CHG", "PCHG"]]
      USUBJID  PARAMCD    AVISIT    ADY  CHG   PCHG
    0      P1  PPNPREF  Baseline    1.0  0.0    0.0
    1      P1  PPNPREF  Month 18  551.0  5.0  500.0
    """
    require_columns(data, (S.PATIENT, S.DAY, S.MEASURE, S.SCORE, S.BASELINE, S.CHANGE,
                              S.PCT_CHANGE), func="to_adam",
                    hint="to_adam takes the changes table from change_from_baseline()")
    measure = data[S.MEASURE].astype(str)
    present = [str(m) for m in pd.unique(measure)]  # distinct values, not row by row
    unknown = sorted(set(present) - set(PARAMCD))
    if unknown:
        raise DataError(
            f"to_adam: no PARAMCD for measure(s) {unknown}; known measures are the "
            "codes of sma_outcomes.registry.SCALES"
        )
    tp = data[S.TIMEPOINT] if S.TIMEPOINT in data.columns else pd.Series(np.nan, index=data.index)
    if not isinstance(tp.dtype, pd.CategoricalDtype):
        tp = tp.astype("category")
    avisitn = tp.cat.codes.astype(float).where(tp.notna())
    avisit = tp.astype(object).where(tp.notna(), UNSCHEDULED).astype(str)
    date = (
        pd.to_datetime(data[S.DATE], errors="coerce")
        if S.DATE in data.columns
        else pd.Series(pd.NaT, index=data.index)
    )
    day = pd.to_numeric(data[S.DAY], errors="coerce").astype(float)
    params = {m: f"{get_scale(m).name} ({get_scale(m).unit})" for m in present}

    def flag(col: str) -> np.ndarray:
        if col not in data.columns:
            return np.full(len(data), "", dtype=object)
        return np.where(data[col].fillna(False).astype(bool), "Y", "")

    out = pd.DataFrame(
        {
            "USUBJID": data[S.PATIENT].astype(str).to_numpy(),
            "PARAMCD": measure.map(PARAMCD).to_numpy(),
            "PARAM": measure.map(params).to_numpy(),
            "AVISIT": avisit.to_numpy(),
            "AVISITN": avisitn.to_numpy(float),
            "ADT": date.astype("datetime64[ns]").dt.normalize().to_numpy(),
            "ADY": _ady(day).to_numpy(float),
            "AVAL": pd.to_numeric(data[S.SCORE], errors="coerce").to_numpy(float),
            "AVALC": (data[S.MISSING_CODE].fillna("").astype(str).to_numpy(object)
                      if S.MISSING_CODE in data.columns
                      else np.full(len(data), "", dtype=object)),
            "BASE": pd.to_numeric(data[S.BASELINE], errors="coerce").to_numpy(float),
            "CHG": pd.to_numeric(data[S.CHANGE], errors="coerce").to_numpy(float),
            "PCHG": pd.to_numeric(data[S.PCT_CHANGE], errors="coerce").to_numpy(float),
            "ABLFL": flag(S.IS_BASELINE),
            "ANL01FL": flag(S.ANALYSED),
        }
    )
    if path is not None:
        _write(out, Path(path), dataset)
    return out


def _write(table: pd.DataFrame, path: Path, dataset: str) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")
    elif suffix == ".xpt":
        import pyreadstat

        name = str(dataset).upper()
        if not (1 <= len(name) <= 8 and name[0].isalpha() and name.replace("_", "").isalnum()):
            raise ValueError(f"dataset name must be 1-8 letters/digits starting with a letter, got {dataset!r}")
        xpt = table.copy()
        adt = pd.Series(xpt["ADT"].dt.date, dtype=object)
        xpt["ADT"] = adt.where(xpt["ADT"].notna(), None)
        pyreadstat.write_xport(
            xpt,
            str(path),
            file_label="Motor function scores: analysis data",
            column_labels=ADAM_LABELS,
            table_name=name,
            file_format_version=5,
        )
    else:
        raise ValueError(f"to_adam: path must end in .csv or .xpt, got {path.name!r}")
