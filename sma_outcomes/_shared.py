"""Small helpers every stage shares: column checks, measure choice, sorting, numbers.

Each exists once. The checks raise the package's one exception per kind of
mistake (:class:`~sma_outcomes.ColumnError`, :class:`~sma_outcomes.MeasureError`,
:class:`~sma_outcomes.OptionError`) with a message that names the function or
parameter, what is allowed and what was passed.

Examples
--------
>>> sorted(["P10", "P2", "P1"], key=natural_key)
['P1', 'P2', 'P10']
>>> plain_number(3.0), plain_number(2.5), signed(-2.5, "%")
('3', '2.5', '-3%')
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .exceptions import ColumnError, DataError, MeasureError, OptionError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "natural_key",
    "plain_number",
    "signed",
    "require_columns",
    "check_choice",
    "check_level",
    "measures_in",
    "pick_measure",
    "renamed",
    "last_common_timepoint",
]


def natural_key(value: object) -> tuple:
    """Sort key that orders ``"P2"`` before ``"P10"``.

    Examples
    --------
    >>> natural_key("P10") > natural_key("P9")
    True
    """
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def plain_number(x: float) -> str:
    """A number as people write it: ``3`` rather than ``3.0``; ``""`` for missing.

    Examples
    --------
    >>> plain_number(66.0), plain_number(0.5), plain_number(float("nan"))
    ('66', '0.5', '')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def signed(value: float, suffix: str = "", digits: int = 0) -> str:
    """``+5``, ``-2``, ``0`` (``digits`` decimals, halves rounded away from zero).

    Examples
    --------
    >>> signed(5.0), signed(-2.5, "%"), signed(52.5, "%"), signed(0.0)
    ('+5', '-3%', '+53%', '0')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    scale = 10**digits
    r = math.floor(abs(value) * scale + 0.5 + 1e-9) / scale * (1 if value >= 0 else -1)
    if r == 0:
        return f"0{suffix}"
    return f"{'+' if r > 0 else '-'}{abs(r):.{digits}f}{suffix}"


def require_columns(data: Any, columns: Iterable[str], *, func: str, hint: str = "") -> None:
    """Raise :class:`ColumnError` naming the function, every missing column and those found.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], func="f")
    >>> try:
    ...     require_columns(pd.DataFrame({"a": [1]}), ["change"], func="paired_test",
    ...                     hint="run change_from_baseline() first")
    ... except ColumnError as err:
    ...     print(err)
    paired_test() needs the column 'change'; the table has 'a' (run change_from_baseline() first)
    """
    if not hasattr(data, "columns"):
        raise TypeError(f"{func}() expects a pandas DataFrame as `data`, "
                        f"got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        word = "column" if len(missing) == 1 else "columns"
        found = ", ".join(repr(str(c)) for c in data.columns) or "no columns"
        raise ColumnError(f"{func}() needs the {word} {', '.join(map(repr, missing))}; "
                          f"the table has {found}" + (f" ({hint})" if hint else ""))


def check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    """Raise :class:`OptionError` naming the parameter, the allowed values and the value.

    Examples
    --------
    >>> check_choice("time", "months", ("months", "days"))
    >>> try:
    ...     check_choice("time", "weeks", ("months", "days"))
    ... except OptionError as err:
    ...     print(err)
    `time` must be one of ['months', 'days'], not 'weeks'
    """
    if value not in allowed:
        raise OptionError(f"`{name}` must be one of {list(allowed)}, not {value!r}")


def check_level(level: float) -> float:
    """A confidence level strictly between 0 and 1, else :class:`OptionError`.

    Examples
    --------
    >>> check_level(0.9)
    0.9
    """
    try:
        value = float(level)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 < value < 1.0:
        raise OptionError(f"`level` must be strictly between 0 and 1 (e.g. 0.95), not {level!r}")
    return value


def measures_in(data: Any, measures: str | Sequence[str] | None = None, *,
                param: str = "measures") -> list[str]:
    """Measures to analyse: the given ones (checked) or all in the data, in order.

    The order is the categorical order when ``measure`` is categorical, else the
    order of first appearance.

    Examples
    --------
    >>> import pandas as pd
    >>> measures_in(pd.DataFrame({"measure": ["RULM", "HFMSE", "RULM"]}))
    ['RULM', 'HFMSE']
    """
    col = data["measure"]
    if hasattr(col.dtype, "categories"):
        present = [str(m) for m in col.cat.categories if (col == m).any()]
    else:
        present = [str(m) for m in dict.fromkeys(col.dropna())]
    if measures is None:
        return present
    wanted = [measures] if isinstance(measures, str) else list(measures)
    unknown = [m for m in wanted if m not in present]
    if unknown:
        raise MeasureError(f"`{param}`: {', '.join(map(repr, unknown))} not in the data; "
                           f"the data have {present}")
    return wanted


def pick_measure(data: Any, measure: str | None, *, func: str) -> str:
    """The one measure a function works on: ``measure`` (checked), or the only one.

    Examples
    --------
    >>> import pandas as pd
    >>> pick_measure(pd.DataFrame({"measure": ["HFMSE"] * 2}), None, func="fit_lmm")
    'HFMSE'
    >>> try:
    ...     pick_measure(pd.DataFrame({"measure": ["HFMSE", "RULM"]}), None, func="fit_lmm")
    ... except MeasureError as err:
    ...     print(err)
    fit_lmm() works on one measure and the data have 2: pass `measure=` one of ['HFMSE', 'RULM']
    """
    present = measures_in(data)
    if measure is None:
        if len(present) == 1:
            return present[0]
        raise MeasureError(f"{func}() works on one measure and the data have {len(present)}: "
                           f"pass `measure=` one of {present}")
    if not isinstance(measure, str):
        raise MeasureError(f"{func}(): `measure` takes one measure code, not "
                           f"{type(measure).__name__} {measure!r}; the data have {present}")
    if measure not in present:
        raise MeasureError(f"{func}(): `measure` {measure!r} is not in the data; "
                           f"the data have {present}")
    return measure


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Accept a renamed keyword for a while, with a ``FutureWarning`` naming the new one.

    The wrapped function keeps its own signature for ``help()`` and
    ``inspect.signature``.

    Examples
    --------
    >>> import warnings
    >>> @renamed(changes="data")
    ... def f(data):
    ...     return data
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(changes=1), str(w[0].message)
    (1, 'f(changes=...) is deprecated; use f(data=...) instead')
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__name__}() got both `{old}` (deprecated) "
                                        f"and `{new}`; pass only `{new}`")
                    warnings.warn(f"{func.__name__}({old}=...) is deprecated; use "
                                  f"{func.__name__}({new}=...) instead", FutureWarning,
                                  stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def last_common_timepoint(data: Any, measures: Sequence[str] | None = None, *,
                          func: str = "last_common_timepoint") -> str:
    """The latest timepoint at which at least half of the patients have a change.

    Generic functions use it when no ``timepoint`` is given, instead of a
    study-specific default. Timepoints are taken in their categorical order
    (the order the timeline gives them), else in order of first appearance;
    ``Baseline`` is never chosen. Patients counted are those with a baseline
    (a non-missing ``change`` at some timepoint) among the analysed rows.

    Raises
    ------
    ColumnError
        Without ``patient_id``, ``timepoint`` and ``change`` columns.
    DataError
        When no timepoint after baseline has a change.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"patient_id": ["a", "a", "a", "b", "b"], "measure": "HFMSE",
    ...                   "timepoint": ["Baseline", "Month 6", "Month 12", "Baseline", "Month 6"],
    ...                   "change": [0.0, 1.0, 2.0, 0.0, 1.0]})
    >>> last_common_timepoint(d)
    'Month 12'
    """
    require_columns(data, ("patient_id", "measure", "timepoint", "change"), func=func)
    rows = data
    if "analysed" in data.columns:
        rows = data.loc[data["analysed"].fillna(False).astype(bool).to_numpy()]
    if measures is not None:
        rows = rows.loc[rows["measure"].isin(measures_in(rows, measures)).to_numpy()]
    tp = rows["timepoint"]
    if hasattr(tp.dtype, "categories"):
        order = [str(c) for c in tp.cat.categories]
    else:
        order = [str(c) for c in dict.fromkeys(tp.dropna())]
    has = rows.loc[rows["change"].notna().to_numpy()]
    n_patients = has["patient_id"].nunique()
    counts = has.groupby(has["timepoint"].astype(str), observed=True)["patient_id"].nunique()
    candidates = [t for t in order if t != "Baseline" and counts.get(t, 0) * 2 >= n_patients
                  and counts.get(t, 0) > 0]
    if not candidates:
        raise DataError("no timepoint after baseline has a change from baseline; "
                        "pass `timepoint=` explicitly")
    return candidates[-1]
