"""Bundled sample data (``data/sample/`` in the repository, shipped in the wheel).

Examples
--------
>>> from sma_outcomes.load import example_path, load_example
>>> example_path("case_series").name
'case_series.csv'
>>> load_example("case_series")["patient_id"].nunique()
5
>>> load_example("events")["event"].nunique()
11
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from ..exceptions import OptionError
from .events import read_events
from .read import read_scores

#: name -> (file, loader options, description)
EXAMPLES: dict[str, tuple[str, dict, str]] = {
    "case_series": (
        "case_series.csv", {},
        "Five children with SMA type 2 on nusinersen: a reconstruction consistent with the "
        "published ranges of Gu & Kong 2021 (not the recorded values).",
    ),
    "cohort": ("cohort.csv", {}, "Synthetic cohort of 80 patients, SMA types 2 and 3."),
    "clinic_export": (
        "clinic_export.xlsx", {"skiprows": 1, "dayfirst": True},
        "A messy clinic export: title row, item-level HFMSE, day-first dates, NT codes.",
    ),
    "events": (
        "events.csv", {},
        "Intercurrent events of the cohort: every event type and five treatment switches "
        "(read with read_events).",
    ),
}


def example_path(name: str) -> Path:
    """Path of a bundled sample file.

    Parameters
    ----------
    name : {"case_series", "cohort", "clinic_export"}

    Raises
    ------
    ValueError
        For an unknown name (the known ones are listed).
    FileNotFoundError
        If the data are neither installed nor in a source checkout.
    """
    if name not in EXAMPLES:
        raise OptionError(f"unknown example {name!r}; choose one of {sorted(EXAMPLES)}")
    filename = EXAMPLES[name][0]
    checkout = Path(__file__).resolve().parents[2] / "data" / "sample" / filename
    if checkout.exists():
        return checkout
    try:
        installed = Path(str(resources.files("sma_outcomes.sample_data") / filename))
    except ModuleNotFoundError:
        installed = None
    if installed is not None and installed.exists():
        return installed
    raise FileNotFoundError(f"sample file {filename} not found (looked in {checkout.parent} "
                            "and the installed package)")


def load_example(name: str) -> pd.DataFrame:
    """Read a bundled sample: scores into the tidy score table, "events" into the events table.

    Examples
    --------
    >>> load_example("clinic_export")["measure"].str.startswith("HFMSE_").sum()
    np.int64(297)
    """
    _file, options, _text = EXAMPLES[name] if name in EXAMPLES else (None, {}, "")
    reader = read_events if name == "events" else read_scores
    return reader(example_path(name), **options)
