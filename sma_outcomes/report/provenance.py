"""Methods and provenance: software versions, input hashes, options, schedule, windows.

Examples
--------
>>> v = software_versions()
>>> v.iloc[0]["package"]
'sma_outcomes'
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from .content import Section
from .safety import sha256_file

__all__ = ["software_versions", "input_table", "options_table", "generation_time",
           "add_methods"]

#: Dependencies whose versions are reported.
DEPENDENCIES = ("numpy", "pandas", "scipy", "statsmodels", "patsy", "matplotlib", "openpyxl",
                "pyreadstat", "jinja2", "tqdm")


def software_versions() -> pd.DataFrame:
    """Versions of sma_outcomes, Python and the dependencies.

    Examples
    --------
    >>> "pandas" in software_versions()["package"].tolist()
    True
    """
    rows = [("sma_outcomes", __version__), ("python", platform.python_version())]
    for name in DEPENDENCIES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    return pd.DataFrame(rows, columns=["package", "version"])


def input_table(files: dict[str, Any]) -> pd.DataFrame:
    """Role, file name, size and SHA-256 of every input file (in-memory tables noted).

    Examples
    --------
    >>> input_table({"scores": "data/sample/case_series.csv"})[["role", "file"]]
         role             file
    0  scores  case_series.csv
    """
    rows = []
    for role, src in files.items():
        if src is None:
            continue
        if isinstance(src, (str, os.PathLike)) and Path(src).is_file():
            p = Path(src)
            rows.append((role, p.name, p.stat().st_size, sha256_file(p)))
        elif isinstance(src, pd.DataFrame):
            import hashlib

            text = src.to_csv(index=False, lineterminator="\n").encode("utf-8")
            rows.append((role, "(DataFrame in memory; SHA-256 of its CSV form)", len(text),
                         hashlib.sha256(text).hexdigest()))
        else:
            rows.append((role, f"({type(src).__name__} in memory)", None, ""))
    return pd.DataFrame(rows, columns=["role", "file", "bytes", "sha256"])


def options_table(options: dict[str, Any]) -> pd.DataFrame:
    """Every option used, as text.

    Examples
    --------
    >>> options_table({"measures": ["HFMSE", "RULM"], "windows": None})["value"].tolist()
    ['HFMSE, RULM', '']
    """
    def text(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return ", ".join(str(x) for x in v)
        if isinstance(v, os.PathLike):
            return Path(v).name
        if isinstance(v, pd.DataFrame):
            return f"table of {len(v)} rows"
        return "" if v is None else str(v)

    return pd.DataFrame([(k, text(v)) for k, v in options.items()], columns=["option", "value"])


def generation_time() -> str:
    """Now, in UTC; ``SOURCE_DATE_EPOCH`` (reproducible builds) fixes it.

    Examples
    --------
    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "0"
    >>> generation_time()
    '1970-01-01 00:00:00 UTC'
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = (datetime.fromtimestamp(int(epoch), timezone.utc) if epoch and epoch.isdigit()
           else datetime.now(timezone.utc))
    return now.strftime("%Y-%m-%d %H:%M:%S UTC")


def add_methods(
    sec: Section,
    *,
    inputs: pd.DataFrame,
    options: pd.DataFrame,
    schedule: Any,
    windows: pd.DataFrame | None,
    doses_given: bool,
    pseudonymized: bool,
    generated: str,
) -> None:
    """The methods and provenance section.

    Examples
    --------
    >>> from sma_outcomes.report.content import Section
    >>> from sma_outcomes.timeline import get_schedule
    >>> sec = Section("Methods")
    >>> add_methods(sec, inputs=input_table({}), options=options_table({}),
    ...             schedule=get_schedule("nusinersen"), windows=None, doses_given=False,
    ...             pseudonymized=False, generated="now")
    >>> [t.name for t in sec.items if t.kind == "table"]
    ['provenance_inputs', 'provenance_options', 'provenance_software']
    """
    sec.text(
        "Timepoints: each assessment is placed in the visit window whose target day is "
        "closest; when several fall in one window the one closest to the target is "
        "analysed (ties to the earlier) and the others are kept and flagged. Baseline: the "
        "last non-missing score on or before the first dose. Change = score - baseline; "
        "percent change = 100 x change / baseline (not defined when baseline is 0), shown "
        "rounded half up to a whole percent. Paired tests compare baseline with the chosen "
        "timepoint in patients with both; the Wilcoxon signed-rank test is exact (conditional "
        "on ties), and the smallest p-value the sample size allows is stated."
    )
    sched = (f"{schedule.name}: {schedule.description}" if hasattr(schedule, "description")
             else str(schedule))
    sec.text(f"Dosing schedule: {sched}."
             + (" Real doses were taken from the dose table listed below." if doses_given
                else " Doses are the planned ones of the schedule."))
    if pseudonymized:
        sec.text("Patient ids were replaced by pseudonyms everywhere (tables, figures, file "
                 "names) and calendar dates were left out; study days are kept.", "note")
    sec.table("provenance_inputs", inputs, title="Input files (SHA-256 of the bytes read).")
    sec.table("provenance_options", options, title="Options used.")
    if windows is not None:
        w = windows.copy()
        if "anchor" in w.columns:
            w["anchor"] = w["anchor"].astype("Float64")
        sec.table("provenance_windows", w,
                  title="Visit windows (study days; anchor: the dose number the window moves "
                  "with when doses are delayed).")
    sec.table("provenance_software", software_versions(), title="Software.")
    sec.text(f"Generated {generated}. Everything in this report other than this time is "
             "determined by the input files and the options above.")
