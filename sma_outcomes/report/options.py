"""Report options and their defaults, in one place.

:func:`~sma_outcomes.report.build_report` and
:func:`~sma_outcomes.report.build_reports` take the same keywords; both turn
them into one :class:`ReportOptions`, so a default is stated once.

Examples
--------
>>> ReportOptions().formats
('html',)
>>> check_formats("html,markdown")
('html', 'md')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ..exceptions import OptionError
from ..stats.natural_history import get_reference

__all__ = ["FORMATS", "FIGURE_FORMATS", "READ_OPTIONS", "ReportOptions", "check_formats",
           "check_figure_formats", "check_sem"]

#: Documents a report can be written as (tables and figures are always written).
FORMATS = ("html", "md", "pdf")

#: Figure file formats; PNG is always written (the documents embed it).
FIGURE_FORMATS = ("png", "svg", "pdf")

#: Reading options of :func:`sma_outcomes.read_scores` that reports pass on.
READ_OPTIONS = ("sheet_name", "skiprows", "dayfirst", "encoding", "sep", "decimal",
                "purdue", "columns")

PathLike = str | os.PathLike


def check_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    """Normalise report formats ("markdown" is "md"), refusing unknown ones.

    Examples
    --------
    >>> check_formats(["PDF", ".md"])
    ('pdf', 'md')
    """
    if isinstance(formats, str):
        formats = formats.split(",")
    out = [f.strip().lower().lstrip(".") for f in formats if f.strip()]
    out = ["md" if f == "markdown" else f for f in out]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise OptionError(f"formats must be among {list(FORMATS)}, not "
                          f"{', '.join(map(repr, bad)) or '(none)'}")
    return tuple(dict.fromkeys(out))


def check_figure_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    """Normalise figure file formats: PNG first (always written), then the others asked for.

    Examples
    --------
    >>> check_figure_formats("svg")
    ('png', 'svg')
    """
    if isinstance(formats, str):
        formats = formats.split(",")
    out = [f.strip().lower().lstrip(".") for f in formats if f.strip()]
    bad = [f for f in out if f not in FIGURE_FORMATS]
    if bad:
        raise OptionError(f"figure formats must be among {list(FIGURE_FORMATS)}, not "
                          f"{', '.join(map(repr, bad))}")
    return tuple(dict.fromkeys(["png", *out]))


def check_sem(sem: Mapping[str, Any] | Sequence[str]) -> dict[str, float]:
    """Standard errors of measurement by measure: a mapping or ``"CODE=VALUE"`` strings.

    Examples
    --------
    >>> check_sem(["HFMSE=1.2", "rulm = 0.9"])
    {'HFMSE': 1.2, 'RULM': 0.9}
    """
    pairs = (sem.items() if isinstance(sem, Mapping)
             else (str(s).split("=", 1) if "=" in str(s) else (str(s), "") for s in sem))
    out: dict[str, float] = {}
    for code, value in pairs:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not (number > 0 and number < float("inf")):
            raise OptionError(f"sem: the standard error of measurement of {code!s} must be a "
                              f"positive number (MEASURE=VALUE, e.g. HFMSE=1.2), not {value!r}")
        out[str(code).strip().upper()] = number
    return out


@dataclass(frozen=True)
class ReportOptions:
    """Everything that shapes a report besides the data and the output folder.

    The fields are the keywords of :func:`~sma_outcomes.report.build_report`;
    ``read`` holds the reading options of :func:`sma_outcomes.read_scores`.
    """

    formats: tuple[str, ...] = ("html",)
    measures: Sequence[str] | None = None
    timepoint: str | None = None
    schedule: str = "nusinersen"
    doses: PathLike | pd.DataFrame | None = None
    windows: PathLike | pd.DataFrame | Mapping | None = None
    pseudonymize: bool = False
    pseudonym_key: str | None = None
    patient_figures: bool = True
    jobs: int | None = None
    title: str | None = None
    read: Mapping[str, Any] = field(default_factory=dict)
    figure_formats: tuple[str, ...] = ("png",)
    dpi: int = 300
    events: PathLike | pd.DataFrame | None = None
    estimand: Any = None
    cutoff: Any = None
    sem: Mapping[str, float] | None = None
    references: Sequence[Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", check_formats(self.formats))
        object.__setattr__(self, "figure_formats", check_figure_formats(self.figure_formats))
        if not (isinstance(self.dpi, (int, float)) and 30 <= self.dpi <= 1200):
            raise OptionError(f"dpi must be a number from 30 to 1200, not {self.dpi!r}")
        unknown = sorted(set(self.read) - set(READ_OPTIONS))
        if unknown:
            raise OptionError(f"unknown reading option(s) {unknown}; the reading options "
                              f"are {list(READ_OPTIONS)}")
        object.__setattr__(self, "read", {k: v for k, v in self.read.items()
                                          if v is not None})
        if self.sem is not None:
            object.__setattr__(self, "sem", check_sem(self.sem))
        for ref in self.references or ():
            if isinstance(ref, str):
                get_reference(ref)  # an unknown name fails here, before any work

    @property
    def main_file(self) -> str:
        """File name of the main document (``report.html`` unless no HTML is asked for)."""
        return "report.html" if "html" in self.formats else f"report.{self.formats[0]}"

    def but(self, **changes: Any) -> ReportOptions:
        """A copy with some fields changed.

        Examples
        --------
        >>> ReportOptions().but(jobs=1).jobs
        1
        """
        return replace(self, **changes)
