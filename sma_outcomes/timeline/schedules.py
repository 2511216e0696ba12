"""Treatment schedules: when doses are planned, relative to the first dose.

Day 0 is the first dose (label convention; trials that call it day 1 must
subtract 1 first). A :class:`Schedule` knows its loading doses (fixed days),
its maintenance interval (in months) and whether dosing is continuous.

Month arithmetic
----------------
Maintenance dose *k* is planned *k* x ``maintenance_months`` months after the
last loading dose. When the first-dose date is known and
``calendar_months=True`` (the default), months are calendar months counted
from the date of the last loading dose (``pandas.DateOffset(months=...)``;
the 31st becomes the last day of a shorter month) and the day is the number
of days from the first-dose date. Otherwise a month is 30.4375 days
(:data:`sma_outcomes.schema.DAYS_PER_MONTH`), so 4 months = 121.75 days, and
the planned day is rounded half up to a whole day: with the 4th dose on day
63 the maintenance doses fall on days 185, 307, 428, 550, 672, ...

Examples
--------
>>> from sma_outcomes.timeline import get_schedule
>>> s = get_schedule("nusinersen")
>>> s.dose_days(until_day=560).tolist()
[0.0, 14.0, 28.0, 63.0, 185.0, 307.0, 428.0, 550.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..schema import DAYS_PER_MONTH, PHASES

__all__ = ["Schedule", "get_schedule", "SCHEDULES", "round_half_up", "add_months"]


def round_half_up(x: float) -> float:
    """Round to the nearest whole number, halves away from zero (2.5 -> 3).

    Examples
    --------
    >>> round_half_up(306.5), round_half_up(-0.5), round_half_up(52.6)
    (307.0, -1.0, 53.0)
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return float("nan")
    return float(math.copysign(math.floor(abs(x) + 0.5), x))


def _round_half_up_array(x: np.ndarray) -> np.ndarray:
    """:func:`round_half_up` on an array (NaN stays NaN)."""
    x = np.asarray(x, dtype=float)
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def add_months(dates: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Add whole calendar months to dates, clipping the day to the month's end.

    The same rule as ``pandas.DateOffset(months=...)`` (31 January + 1 month is
    28 or 29 February), for arrays at once. NaT stays NaT.

    Parameters
    ----------
    dates : array of datetime64
        Dates (the time of day is dropped).
    months : int or array of int
        Months to add, broadcast against ``dates``.

    Returns
    -------
    numpy.ndarray of datetime64[D]

    Examples
    --------
    >>> d = np.array(["2019-01-31", "2019-03-04", "NaT"], dtype="datetime64[D]")
    >>> add_months(d, 1).astype(str).tolist()
    ['2019-02-28', '2019-04-04', 'NaT']
    """
    dates = np.asarray(dates).astype("datetime64[D]")
    months = np.asarray(months, dtype=np.int64)
    ym = dates.astype("datetime64[M]")
    nat = np.isnat(dates)
    dom = np.where(nat, 0, (dates - ym.astype("datetime64[D]")).astype(np.int64))
    tm = ym + months
    start = tm.astype("datetime64[D]")
    dim = ((tm + 1).astype("datetime64[D]") - start).astype(np.int64)
    out = start + np.minimum(dom, np.where(np.isnat(start), 0, dim - 1))
    return np.where(np.broadcast_to(nat, out.shape), np.datetime64("NaT", "D"), out)


@dataclass(frozen=True)
class Schedule:
    """A dosing schedule, in days from the first dose (day 0).

    Parameters
    ----------
    name : str
        Schedule key, e.g. ``"nusinersen"``.
    drug : str
        Drug name written into dose tables.
    loading_days : tuple of float
        Days of the loading doses (the first is 0). A single-dose treatment
        has one "loading" dose and no maintenance.
    loading_dose_mg : tuple of float
        Dose in mg of each loading dose (NaN when weight-based or not in mg).
    maintenance_months : float or None
        Interval between maintenance doses in months (None: no maintenance).
    maintenance_dose_mg : float
        Maintenance dose in mg.
    continuous : bool
        Daily dosing from day 0 (risdiplam): no loading or maintenance doses;
        every day from day 0 on is a dose day.
    calendar_months : bool
        Count maintenance months as calendar months when the first-dose date
        is known (see the module notes); ``False`` always uses 30.4375 days.
    visit_months : int
        For schedules without maintenance doses: default nominal visits every
        this many months (Month 6, Month 12, ...).
    description : str
        One line for reports.

    Notes
    -----
    Phases follow from the number of doses before an assessment
    (``doses_before``): 0 is ``"pre-treatment"``, fewer than the number of
    loading doses is ``"loading"``, otherwise ``"maintenance"``. With a single
    dose (onasemnogene) or continuous dosing (risdiplam) there is no loading
    phase, and everything after the first dose is called ``"maintenance"``
    (i.e. on treatment), so the three phase names stay the same everywhere.

    Examples
    --------
    >>> from sma_outcomes.timeline import Schedule
    >>> s = Schedule("custom", "nusinersen", (0.0, 14.0, 28.0, 58.0), (12.0,) * 4, 4, 12.0)
    >>> s.n_loading, s.phase_of(3), s.phase_of(4)
    (4, 'loading', 'maintenance')
    """

    name: str
    drug: str
    loading_days: tuple[float, ...]
    loading_dose_mg: tuple[float, ...]
    maintenance_months: float | None = None
    maintenance_dose_mg: float = float("nan")
    continuous: bool = False
    calendar_months: bool = True
    visit_months: int = 6
    description: str = ""

    def __post_init__(self) -> None:
        if not self.loading_days or self.loading_days[0] != 0:
            raise ValueError(
                f"Schedule {self.name!r}: loading_days must start with day 0 (the first dose), "
                f"got {self.loading_days!r}"
            )
        if list(self.loading_days) != sorted(self.loading_days):
            raise ValueError(
                f"Schedule {self.name!r}: loading_days must increase, got {self.loading_days!r}"
            )
        if len(self.loading_dose_mg) != len(self.loading_days):
            raise ValueError(
                f"Schedule {self.name!r}: give one loading_dose_mg per loading day "
                f"({len(self.loading_days)}), got {len(self.loading_dose_mg)}"
            )

    @property
    def n_loading(self) -> int:
        """Number of loading doses (1 for a single dose or continuous dosing)."""
        return len(self.loading_days)

    @property
    def has_maintenance(self) -> bool:
        """Whether repeated maintenance doses follow the loading doses."""
        return self.maintenance_months is not None and not self.continuous

    def maintenance_day(self, k: int, first_dose_date: pd.Timestamp | None = None) -> float:
        """Planned day of maintenance dose ``k`` (1, 2, ...).

        Parameters
        ----------
        k : int
            Maintenance dose number.
        first_dose_date : Timestamp, optional
            With a date and ``calendar_months=True``, calendar months are used.

        Examples
        --------
        >>> import pandas as pd
        >>> s = get_schedule("nusinersen")
        >>> s.maintenance_day(1), s.maintenance_day(1, pd.Timestamp("2019-03-04"))
        (185.0, 186.0)
        """
        if not self.has_maintenance:
            raise ValueError(f"Schedule {self.name!r} has no maintenance doses")
        last = self.loading_days[-1]
        months = k * float(self.maintenance_months)  # type: ignore[arg-type]
        if (
            self.calendar_months
            and first_dose_date is not None
            and not pd.isna(first_dose_date)
            and float(months).is_integer()
        ):
            start = pd.Timestamp(first_dose_date).normalize()
            date = start + pd.Timedelta(days=last) + pd.DateOffset(months=int(months))
            return float((date - start).days)
        return round_half_up(last + months * DAYS_PER_MONTH)

    def maintenance_days(self, k: np.ndarray, first_dose_date: np.ndarray | None = None) -> np.ndarray:
        """:meth:`maintenance_day` for many doses (and patients) at once.

        Parameters
        ----------
        k : array of int
            Maintenance dose numbers (1, 2, ...).
        first_dose_date : array of datetime64, optional
            One first-dose date per element of ``k`` (NaT where unknown: fixed months).

        Returns
        -------
        numpy.ndarray of float, the same days as :meth:`maintenance_day`.

        Examples
        --------
        >>> s = get_schedule("nusinersen")
        >>> d = np.array(["2019-03-04", "NaT"], dtype="datetime64[D]")
        >>> s.maintenance_days(np.array([1, 1]), d).tolist()
        [186.0, 185.0]
        """
        if not self.has_maintenance:
            raise ValueError(f"Schedule {self.name!r} has no maintenance doses")
        k = np.asarray(k, dtype=np.int64)
        last = float(self.loading_days[-1])
        months = k * float(self.maintenance_months)  # type: ignore[arg-type]
        out = _round_half_up_array(last + months * DAYS_PER_MONTH)
        if not self.calendar_months or first_dose_date is None:
            return out
        start = np.broadcast_to(np.asarray(first_dose_date).astype("datetime64[D]"), k.shape)
        use = ~np.isnat(start) & (months == np.floor(months))
        if not use.any():
            return out
        if not last.is_integer():  # part-days: the exact scalar rule
            for i in np.flatnonzero(use):
                out[i] = self.maintenance_day(int(k[i]), pd.Timestamp(start[i]))
            return out
        s = start[use]
        date = add_months(s + np.timedelta64(int(last), "D"), months[use].astype(np.int64))
        out[use] = (date - s).astype("timedelta64[D]").astype(np.int64).astype(float)
        return out

    def dose_days(
        self, until_day: float | None = None, first_dose_date: pd.Timestamp | None = None
    ) -> np.ndarray:
        """Planned dose days: all loading doses, then maintenance doses up to ``until_day``.

        Parameters
        ----------
        until_day : float, optional
            Last day to cover (inclusive). Without it only loading doses are returned.
        first_dose_date : Timestamp, optional
            Use calendar months from this date (see the module notes).

        Returns
        -------
        numpy.ndarray of float
            For a continuous schedule only the treatment start, ``[0.]``.

        Examples
        --------
        >>> get_schedule("nusinersen_high_dose").dose_days(until_day=400).tolist()
        [0.0, 14.0, 136.0, 258.0, 379.0]
        """
        days = [float(d) for d in self.loading_days]
        if self.has_maintenance and until_day is not None and not pd.isna(until_day):
            k = 1
            while True:
                d = self.maintenance_day(k, first_dose_date)
                if d > until_day:
                    break
                days.append(d)
                k += 1
        return np.asarray(days, dtype=float)

    def dose_mg(self, number: int) -> float:
        """Planned dose in mg of dose ``number`` (1-based).

        Examples
        --------
        >>> s = get_schedule("nusinersen_high_dose")
        >>> s.dose_mg(1), s.dose_mg(3)
        (50.0, 28.0)
        """
        if number <= self.n_loading:
            return float(self.loading_dose_mg[number - 1])
        return float(self.maintenance_dose_mg)

    def phase_of(self, doses_before: int) -> str:
        """Phase of an assessment after ``doses_before`` doses (see Notes of the class).

        Examples
        --------
        >>> get_schedule("risdiplam").phase_of(0), get_schedule("risdiplam").phase_of(30)
        ('pre-treatment', 'maintenance')
        """
        if doses_before <= 0:
            return PHASES[0]
        if doses_before < self.n_loading:
            return PHASES[1]
        return PHASES[2]


def _nusinersen(fourth_dose_day: float = 63.0) -> Schedule:
    return Schedule(
        name="nusinersen",
        drug="nusinersen",
        loading_days=(0.0, 14.0, 28.0, float(fourth_dose_day)),
        loading_dose_mg=(12.0, 12.0, 12.0, 12.0),
        maintenance_months=4,
        maintenance_dose_mg=12.0,
        description=(
            "Nusinersen 12 mg intrathecal on days 0, 14, 28 and "
            f"{fourth_dose_day:g}, then every 4 months"
        ),
    )


#: Built-in schedules by name (see :func:`get_schedule` for aliases).
SCHEDULES: dict[str, Schedule] = {
    "nusinersen": _nusinersen(),
    "nusinersen_high_dose": Schedule(
        name="nusinersen_high_dose",
        drug="nusinersen",
        loading_days=(0.0, 14.0),
        loading_dose_mg=(50.0, 50.0),
        maintenance_months=4,
        maintenance_dose_mg=28.0,
        description="Nusinersen 50 mg on days 0 and 14, then 28 mg every 4 months",
    ),
    "onasemnogene_abeparvovec": Schedule(
        name="onasemnogene_abeparvovec",
        drug="onasemnogene abeparvovec",
        loading_days=(0.0,),
        loading_dose_mg=(float("nan"),),
        description="Onasemnogene abeparvovec, a single dose on day 0 (dose in vg/kg, not mg)",
    ),
    "risdiplam": Schedule(
        name="risdiplam",
        drug="risdiplam",
        loading_days=(0.0,),
        loading_dose_mg=(float("nan"),),
        continuous=True,
        description="Risdiplam orally once daily from day 0 (weight-based dose)",
    ),
}

_ALIASES = {
    "nusinersen_12mg": "nusinersen",
    "spinraza": "nusinersen",
    "nusinersen_us": "nusinersen_us",
    "nusinersen_hd": "nusinersen_high_dose",
    "nusinersen_50_28": "nusinersen_high_dose",
    "onasemnogene": "onasemnogene_abeparvovec",
    "zolgensma": "onasemnogene_abeparvovec",
    "itvisma": "onasemnogene_abeparvovec",
    "evrysdi": "risdiplam",
}


def get_schedule(
    schedule: str | Schedule = "nusinersen",
    *,
    fourth_dose_day: float | None = None,
    calendar_months: bool | None = None,
) -> Schedule:
    """Look up a built-in dosing schedule (or pass a :class:`Schedule` through).

    Parameters
    ----------
    schedule : str or Schedule
        ``"nusinersen"`` (12 mg, days 0, 14, 28, 63, then every 4 months; aliases
        ``"nusinersen_12mg"``, ``"spinraza"``), ``"nusinersen_us"`` (4th dose on
        day 58, 30 days after the 3rd, as in the US label),
        ``"nusinersen_high_dose"`` (50 mg on days 0 and 14, then 28 mg every 4
        months from the 2nd dose, our reading of the label's "thereafter", not
        confirmed; alias ``"nusinersen_hd"``; switching from 12 mg is not modelled:
        give a dose table),
        ``"onasemnogene_abeparvovec"`` (single dose; aliases ``"onasemnogene"``,
        ``"zolgensma"``, ``"itvisma"``) or ``"risdiplam"`` (continuous daily;
        alias ``"evrysdi"``). Case and spaces/hyphens are ignored.
    fourth_dose_day : float, optional
        Day of the 4th nusinersen loading dose (default 63; 58 in the US label).
    calendar_months : bool, optional
        Override the month arithmetic (see the module notes).

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).

    Examples
    --------
    >>> get_schedule("nusinersen", fourth_dose_day=58).loading_days
    (0.0, 14.0, 28.0, 58.0)
    >>> get_schedule("Spinraza").name
    'nusinersen'
    """
    if isinstance(schedule, Schedule):
        out = schedule
    else:
        key = str(schedule).strip().lower().replace("-", "_").replace(" ", "_")
        key = _ALIASES.get(key, key)
        if key == "nusinersen_us":
            out = replace(_nusinersen(58.0), name="nusinersen_us")
        elif key in SCHEDULES:
            out = SCHEDULES[key]
        else:
            known = sorted(set(SCHEDULES) | {"nusinersen_us"} | set(_ALIASES))
            raise ValueError(
                f"schedule={schedule!r} is not a known schedule; use one of {known} "
                "or pass a Schedule(...)"
            )
    if fourth_dose_day is not None:
        if out.n_loading != 4:
            raise ValueError(
                f"fourth_dose_day applies to schedules with 4 loading doses; "
                f"{out.name!r} has {out.n_loading}"
            )
        days = (*out.loading_days[:3], float(fourth_dose_day))
        if days[3] <= days[2]:
            raise ValueError(f"fourth_dose_day must be after day {days[2]:g}, got {fourth_dose_day}")
        out = replace(
            out,
            loading_days=days,
            description=out.description.replace(f"{out.loading_days[3]:g}", f"{days[3]:g}", 1),
        )
    if calendar_months is not None:
        out = replace(out, calendar_months=bool(calendar_months))
    return out
