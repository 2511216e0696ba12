"""Exceptions and warnings raised by sma_outcomes.

``DataError`` is the one exception for problems in the data a user gives us;
its message names the file, the row as a spreadsheet shows it, the column and
the value, for every problem found (not only the first).
"""

from __future__ import annotations

from typing import Any


class DataError(ValueError):
    """Bad input data: raised with every problem found in the source.

    Parameters
    ----------
    message : str
        Human-readable description (all problems, one per line).
    problems : pandas.DataFrame, optional
        One row per problem, with the columns of :func:`sma_outcomes.check_scores`
        (``severity, file, row, column, value, rule, message``).

    Examples
    --------
    >>> from sma_outcomes import DataError
    >>> try:
    ...     raise DataError("case.csv row 3, column 'HFMSE': 70 is above 66")
    ... except ValueError as err:
    ...     print(err)
    case.csv row 3, column 'HFMSE': 70 is above 66
    """

    def __init__(self, message: str, problems: Any = None) -> None:
        super().__init__(message)
        self.problems = problems


class ColumnError(DataError, KeyError):
    """A column a function needs is not in the table.

    The message names the function, the missing column(s) and the columns
    found. It is a :class:`DataError` (so a ``ValueError``) and, for code that
    looks columns up, a ``KeyError``: one ``except DataError`` catches it.

    Examples
    --------
    >>> from sma_outcomes import ColumnError
    >>> str(ColumnError("no column 'change'"))
    "no column 'change'"
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MeasureError(DataError, KeyError):
    """An unknown measure code, or several measures where one must be chosen.

    The message names the parameter (``measure``/``measures``), the measures
    available and what was passed.

    Examples
    --------
    >>> from sma_outcomes import MeasureError, get_scale
    >>> try:
    ...     get_scale("HFMS")
    ... except MeasureError as err:
    ...     print(err)
    unknown measure code 'HFMS'; did you mean 'HFMSE'?
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class OptionError(ValueError):
    """A parameter was given a value outside the allowed ones.

    The message names the parameter, the allowed values and what was passed.

    Examples
    --------
    >>> from sma_outcomes import OptionError
    >>> isinstance(OptionError("x"), ValueError)
    True
    """


class DataWarning(UserWarning):
    """Something in the data was accepted but deserves attention (a collapsed
    exact duplicate, a patient without baseline, ...)."""


class ModelWarning(UserWarning):
    """A model fit was completed but with a caveat stated in plain words."""


class ConvergenceWarning(ModelWarning):
    """The optimiser did not reach a verified optimum."""


class SingularFitWarning(ModelWarning):
    """A variance component or correlation is on the boundary of its space."""
