"""Cohort trajectories: every patient as a thin line, the mean with its 95 %
CI at each nominal timepoint, and optionally a fitted LMM's population curve.

The summary is computed apart from the drawing (:func:`cohort_summary`).

Examples
--------
>>> from sma_outcomes.plot.cohort import cohort_summary, plot_cohort
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from .._shared import check_choice, check_level, natural_key, require_columns
from ..exceptions import DataError, ModelWarning
from ..schema import (
    ANALYSED,
    CHANGE,
    DAY,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    MEASURE,
    PATIENT,
    PCT_CHANGE,
    SCORE,
    TIMEPOINT,
    VISIT,
)
from . import _data as D
from ._draw import measure_color, time_axis, title_and_legend
from .style import GREY, GREY_DARK, SINGLE_COLUMN, color_for, finish, house_style, new_figure

__all__ = ["cohort_summary", "plot_cohort", "model_curve"]

_Y = (SCORE, CHANGE, PCT_CHANGE)


def _rows(data: pd.DataFrame, measure: str, y: str) -> pd.DataFrame:
    check_choice("y", y, _Y)
    hint = "" if y == SCORE else "run sma_outcomes.change_from_baseline(data) first"
    require_columns(data, [PATIENT, DAY, MEASURE, y], func="plot_cohort", hint=hint)
    rows = data[data[MEASURE] == measure]
    if len(rows) == 0:
        present = ", ".join(sorted(set(data[MEASURE].astype(str))))
        raise DataError(f"no {measure} rows in the table; measures present: {present}")
    rows = D.drop_unplaced(rows, measure)
    return rows.assign(**{PATIENT: rows[PATIENT].astype(str)})


def hue_label(hue: str, level: object) -> str:
    """Legend text for a level of a patient-level column.

    Examples
    --------
    >>> hue_label("sma_type", 2), hue_label("site", "North")
    ('SMA type 2', 'site North')
    """
    text = str(level)
    if hue == "sma_type":
        return text if text.lower().startswith(("sma", "type")) else f"SMA type {text}"
    if hue == "smn2_copies":
        return f"{text} SMN2 copies"
    return f"{hue.replace('_', ' ')} {text}"


def _levels(rows: pd.DataFrame, hue: str | None) -> list:
    if hue is None:
        return [None]
    require_columns(rows, [hue], func="plot_cohort")
    per_patient = rows.dropna(subset=[hue]).groupby(PATIENT)[hue].nunique()
    mixed = per_patient[per_patient > 1].index
    if len(mixed):
        raise DataError(
            f"`hue` must be a patient-level column, but {hue!r} changes within patient(s) "
            f"{', '.join(D.patient_order(mixed))}"
        )
    vals = rows[hue].dropna().unique()
    return sorted(vals, key=natural_key)


def cohort_summary(
    data: pd.DataFrame,
    *,
    measure: str,
    y: str = "score",
    time: str = "months",
    hue: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean with a t confidence interval at each nominal timepoint.

    Only the assessments chosen for analysis are used (``analysed`` True)
    when the table has that column; missing values are left out.

    Parameters
    ----------
    data : DataFrame
        Tidy score table with ``timepoint`` (from the timeline); without it the
        recorded ``visit`` labels are used, ordered by their median day.
    measure : str
        Measure code.
    y : {"score", "change", "pct_change"}
        Value summarised.
    time : {"months", "days"}
        Unit of the ``x`` column.
    hue : str, optional
        Patient-level column (e.g. sma_type): one summary per level.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        Columns ``timepoint, [hue], x, n, mean, sd, se, df, ci_low, ci_high``:
        ``x`` is the median time of the assessments in that timepoint; ``sd``,
        ``se`` and the CI are NaN for n < 2.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": list("abcabc"), "measure": "HFMSE",
    ...     "day": [0.0, 0, 0, 183, 180, 186], "score": [20.0, 22, 24, 23, 26, 26],
    ...     "timepoint": ["Baseline"] * 3 + ["Month 6"] * 3})
    >>> s = cohort_summary(df, measure="HFMSE")
    >>> s[["timepoint", "n", "mean"]].values.tolist()
    [['Baseline', 3, 22.0], ['Month 6', 3, 25.0]]
    >>> round(float(s["ci_high"].iloc[0]), 4)
    26.9683
    """
    check_choice("time", time, D.TIME_UNITS)
    level = check_level(level)
    rows = _rows(data, measure, y)
    if ANALYSED in rows.columns:
        rows = rows[rows[ANALYSED].fillna(False).astype(bool)]
    if TIMEPOINT in rows.columns:
        key = TIMEPOINT
        tp = rows[TIMEPOINT]
        order = (
            list(tp.cat.categories)
            if isinstance(tp.dtype, pd.CategoricalDtype)
            else sorted(tp.dropna().unique(), key=lambda t: rows.loc[tp == t, DAY].median())
        )
    else:
        require_columns(rows, [VISIT], func="cohort_summary", hint="give a timepoint or visit column")
        key = VISIT
        med = rows.groupby(VISIT)[DAY].median()
        order = list(med.sort_values(kind="mergesort").index)
    rows = rows[rows[key].notna()]
    levels = _levels(rows, hue)
    out = []
    for lev in levels:
        sub = rows if lev is None else rows[rows[hue] == lev]
        for t in order:
            g = sub[sub[key].astype(object) == t]
            v = pd.to_numeric(g[y], errors="coerce").to_numpy(float)
            v = v[np.isfinite(v)]
            n = len(v)
            if n == 0:
                continue
            mean = float(v.mean())
            sd = float(v.std(ddof=1)) if n > 1 else np.nan
            se = sd / np.sqrt(n) if n > 1 else np.nan
            q = stats.t.ppf(0.5 + level / 2, n - 1) if n > 1 else np.nan
            rec: dict[str, Any] = {"timepoint": str(t)}
            if hue is not None:
                rec[hue] = lev
            days = g.loc[g[y].notna(), DAY].to_numpy(float)
            rec.update(
                x=float(D.to_time(np.median(days), time)),
                n=n, mean=mean, sd=sd, se=se, df=float(n - 1),
                ci_low=mean - q * se, ci_high=mean + q * se,
            )
            out.append(rec)
    cols = ["timepoint", *([hue] if hue else []), "x", "n", "mean", "sd", "se", "df",
            "ci_low", "ci_high"]
    return pd.DataFrame(out, columns=cols)


# ---------------------------------------------------------------------------
# the fitted model, kept at arm's length


def _representative(values: pd.Series) -> Any:
    v = values.dropna()
    if len(v) == 0:
        raise DataError(f"no values of covariate {values.name!r} to predict the population curve")
    if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
        return float(v.mean())
    counts = v.value_counts()
    top = counts[counts == counts.max()].index
    return sorted(top, key=natural_key)[0]


def model_curve(
    model: Any,
    days: np.ndarray,
    *,
    patients: pd.DataFrame | None = None,
    fixed: dict[str, Any] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Population curve of a fitted LMM on a grid of study days, with its band at ``level``.

    Adapter between the plots and :class:`sma_outcomes.stats.LMMResult`: it
    needs only ``model.time`` (``"days"``, ``"months"`` or ``"years"``),
    ``model.covariates`` (names, may be empty) and
    ``model.predict(newdata, include_random=False)`` returning ``estimate``
    (or ``prediction``), ``ci_low`` and ``ci_high``.

    The band is at ``level``: passed on as ``predict(..., level=level)`` when
    ``predict`` takes it; otherwise recomputed from the ``se`` column (with
    the t quantile at the ``df`` column when there is one, else the normal
    quantile). A model whose ``predict`` gives neither raises a ValueError
    for a level other than 0.95, rather than draw a band of another level.

    Covariates are set from ``fixed`` when given there, otherwise to their mean
    (numeric) or most frequent value (other) over ``patients`` (one row per
    patient).

    Parameters
    ----------
    model : fitted LMM result
    days : array
        Study days.
    patients : DataFrame, optional
        One row per patient with the covariate columns.
    fixed : dict, optional
        Covariate values to use.
    level : float
        Confidence level of the band.

    Returns
    -------
    DataFrame
        ``day, estimate, ci_low, ci_high``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> class Line:
    ...     time, covariates = "months", []
    ...     def predict(self, newdata, include_random=False):
    ...         m = newdata["months"]
    ...         return newdata.assign(estimate=20 + m, ci_low=19 + m, ci_high=21 + m)
    >>> model_curve(Line(), np.array([0.0, 30.4375]))["estimate"].tolist()
    [20.0, 21.0]
    """
    tvar = getattr(model, "time", None)
    scale = {"days": 1.0, "months": DAYS_PER_MONTH, "years": DAYS_PER_YEAR}
    if tvar not in scale:
        raise ValueError(
            f"cannot place the model's time variable {tvar!r} on a days/months axis; "
            "fit the model with time='days', 'months' or 'years'"
        )
    newdata = pd.DataFrame({tvar: np.asarray(days, float) / scale[tvar]})
    fixed = dict(fixed or {})
    for cov in list(getattr(model, "covariates", []) or []):
        if cov in fixed:
            newdata[cov] = fixed[cov]
        elif patients is not None and cov in patients.columns:
            newdata[cov] = _representative(patients[cov])
        else:
            raise DataError(f"the model has covariate {cov!r}, which the table does not have")
    level = check_level(level)
    takes_level = _takes_level(model.predict)
    if takes_level:
        pred = model.predict(newdata, include_random=False, level=level)
    else:
        pred = model.predict(newdata, include_random=False)
    est = next((c for c in ("estimate", "prediction", "predicted", "fitted") if c in pred), None)
    if est is None or "ci_low" not in pred or "ci_high" not in pred:
        raise ValueError(
            "model.predict(newdata, include_random=False) must return 'estimate', "
            f"'ci_low' and 'ci_high' columns; got {list(pred.columns)}"
        )
    estimate = pred[est].to_numpy(float)
    low, high = pred["ci_low"].to_numpy(float), pred["ci_high"].to_numpy(float)
    if not takes_level:
        if "se" in pred:
            se = pred["se"].to_numpy(float)
            df = pred["df"].to_numpy(float) if "df" in pred else np.full(len(se), np.inf)
            q = np.where(np.isfinite(df), stats.t.ppf(0.5 + level / 2, np.where(
                np.isfinite(df), df, 1.0)), stats.norm.ppf(0.5 + level / 2))
            low, high = estimate - q * se, estimate + q * se
        elif not np.isclose(level, 0.95):
            raise ValueError(
                f"cannot draw a {level:.0%} band: model.predict() takes no `level` and "
                "returns no `se` column; use level=0.95 or a model that gives either"
            )
    return pd.DataFrame(
        {DAY: np.asarray(days, float), "estimate": estimate, "ci_low": low, "ci_high": high}
    )


def _takes_level(predict: Any) -> bool:
    """Whether ``predict`` accepts a ``level`` keyword."""
    try:
        params = inspect.signature(predict).parameters
    except (TypeError, ValueError):
        return False
    return "level" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _check_model(model: Any, measure: str, y: str) -> None:
    m = getattr(model, "measure", None)
    if m is not None and m != measure:
        raise ValueError(f"the model was fitted to {m!r}, not to {measure!r}")
    my = getattr(model, "y", None)
    if my is not None and my != y:
        raise ValueError(f"the model was fitted to {my!r}; call plot_cohort(..., y={my!r})")


# ---------------------------------------------------------------------------
# drawing


def _segments(x: np.ndarray, y: np.ndarray, ids: np.ndarray | None = None) -> list[np.ndarray]:
    """Pieces of each patient's polyline between missing values (never bridged).

    ``x``, ``y`` and ``ids`` are sorted by patient and time; a piece ends at a
    missing value and where the patient changes. Vectorised: thousands of
    patients cost one pass.

    Examples
    --------
    >>> x = np.array([0.0, 1, 2, 0, 1]); y = np.array([1.0, np.nan, 3, 4, 5])
    >>> [s[:, 1].tolist() for s in _segments(x, y, np.array(list("aaabb")))]
    [[1.0], [3.0], [4.0, 5.0]]
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return []
    # a new piece starts at every good point whose predecessor is bad or another patient's
    start = ok.copy()
    start[1:] &= ~ok[:-1] | (ids[1:] != ids[:-1] if ids is not None else False)
    piece = np.cumsum(start)[ok]
    pts = np.column_stack([x[ok], y[ok]])
    cuts = np.flatnonzero(np.diff(piece)) + 1
    return np.split(pts, cuts)


#: Above this many patient lines, vector output rasterises them (one image, not
#: thousands of paths); axes, text and means stay vector.
RASTER_ABOVE = 200


def plot_cohort(
    data: pd.DataFrame,
    *,
    measure: str,
    y: str = "score",
    model: Any = None,
    time: str = "months",
    hue: str | None = None,
    show_patients: bool = True,
    show_mean: bool = True,
    level: float | None = None,
    threshold: float | None = None,
    legend: bool = True,
    title: str | None = None,
    width: float = SINGLE_COLUMN,
    height: float = 2.6,
    ax: Axes | None = None,
) -> Figure:
    """Cohort trajectory: patients as thin lines, mean and 95 % CI by timepoint.

    Each patient is one thin line through all of their assessments (a missing
    score breaks it). At each nominal timepoint the mean of the analysed
    assessments is drawn with its t-based confidence interval, placed at the
    median time of those assessments (see :func:`cohort_summary`). Given a
    fitted linear mixed model, its population curve and confidence band are
    drawn over the observed time range.

    Parameters
    ----------
    data : DataFrame
        Tidy score table (with ``timepoint`` for the means).
    measure : str
        Measure code.
    y : {"score", "change", "pct_change"}
        What to draw; change needs :func:`sma_outcomes.change_from_baseline`.
    model : LMMResult, optional
        Fitted with :func:`sma_outcomes.fit_lmm` on the same measure and ``y``,
        with time in days, months or years. With covariates, the curve is for
        their mean (numeric) or most frequent value; when ``hue`` is one of
        them, one curve per level.
    time : {"months", "days"}
        Time axis unit.
    hue : str, optional
        Patient-level column (e.g. ``"sma_type"``) that colours patients, means
        and curves.
    show_patients, show_mean : bool
        Draw the individual lines; draw the means with CIs.
    level : float, optional
        Confidence level of the means' intervals and of the model's band
        (both labelled with it); default the model's ``level`` when a model
        with one is given, else 0.95.
    threshold : float, optional
        For change plots, the meaningful change line (default the registry's).
    legend : bool
        Draw a legend.
    title : str, optional
        Axes title.
    width, height : float
        Figure size in inches (ignored with ``ax``).
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import warnings
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_cohort
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # a few patients lack a Purdue baseline
    ...     changes = so.change_from_baseline(so.load_example("cohort"))
    >>> fig = plot_cohort(changes, measure="PP_PREF", hue="sma_type")
    >>> [c.get_gid() for c in fig.axes[0].collections][:2]
    ['patients', 'patients']
    >>> " ".join(fig.axes[0].get_ylabel().split())  # wrapped to the axes' height
    'Purdue Pegboard, preferred hand (pins in 30 s)'
    """
    check_choice("time", time, D.TIME_UNITS)
    if level is None:
        level = getattr(model, "level", None) if model is not None else None
        level = 0.95 if level is None else level
    level = check_level(level)
    rows = _rows(data, measure, y)
    levels = _levels(rows, hue)
    summary = (
        cohort_summary(rows, measure=measure, y=y, time=time, hue=hue, level=level)
        if show_mean and (TIMEPOINT in rows.columns or VISIT in rows.columns)
        else None
    )
    if model is not None:
        _check_model(model, measure, y)
    colors = {lev: (measure_color(measure) if lev is None else color_for(i))
              for i, lev in enumerate(levels)}
    if hue is not None and len(levels) == 0:
        raise DataError(f"column {hue!r} has no values for {measure}")

    with house_style():
        own = ax is None
        if ax is None:
            fig = new_figure(width, height, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        handles: list = []
        days_all = rows[DAY].to_numpy(float)
        xlo, xhi = D.to_time(np.array([np.nanmin(days_all), np.nanmax(days_all)]), time)
        npat = rows[PATIENT].nunique()

        if show_patients:
            ordered = rows.sort_values([PATIENT, DAY], kind="mergesort")
            raster = npat > RASTER_ABOVE
            for lev in levels:
                sub = ordered if lev is None else ordered[(ordered[hue] == lev).to_numpy()]
                segs = _segments(D.to_time(sub[DAY].to_numpy(float), time),
                                 pd.to_numeric(sub[y], errors="coerce").to_numpy(float),
                                 sub[PATIENT].to_numpy())
                color = GREY if lev is None else colors[lev]
                thin = 0.6 if npat <= RASTER_ABOVE else 0.4
                alpha = (0.45 if lev is None else 0.35) * (1.0 if npat <= RASTER_ABOVE else 0.6)
                lc = LineCollection(segs, colors=color, linewidths=thin, alpha=alpha,
                                    zorder=1, gid="patients")
                lc.set_rasterized(raster)
                ax.add_collection(lc)
                single = [s for s in segs if len(s) == 1]
                if single:
                    pts = np.vstack(single)
                    ax.plot(pts[:, 0], pts[:, 1], ls="none", marker="o", ms=1.5, color=color,
                            alpha=alpha, zorder=1, gid="patients-points", rasterized=raster)
            if hue is None:
                handles.append(Line2D([], [], color=GREY, lw=0.6, label=f"Patients (n = {npat})"))

        if model is not None:
            grid = np.linspace(np.nanmin(days_all), np.nanmax(days_all), 101)
            per_patient = rows.drop_duplicates(PATIENT)
            covs = list(getattr(model, "covariates", []) or [])
            curve_levels = levels if (hue is not None and hue in covs) else [None]
            if hue is not None and hue not in covs:
                warnings.warn(
                    f"the model has no covariate {hue!r}: one population curve is drawn",
                    ModelWarning, stacklevel=2,
                )
            for lev in curve_levels:
                cur = model_curve(model, grid, patients=per_patient,
                                  fixed=None if lev is None else {hue: lev}, level=level)
                cx = D.to_time(cur[DAY].to_numpy(), time)
                color = GREY_DARK if lev is None else colors[lev]
                ax.fill_between(cx, cur["ci_low"], cur["ci_high"], color=color, alpha=0.15, lw=0,
                                zorder=2, gid="model-band")
                ax.plot(cx, cur["estimate"], color=color, lw=1.4, ls=(0, (5, 1.5)), zorder=2.5,
                        gid="model")
            handles.append(Line2D([], [], color=GREY_DARK, lw=1.4, ls=(0, (5, 1.5)),
                                  label=f"Mixed model, population ({level:.0%} CI)"))

        if summary is not None and len(summary):
            nlev = len(levels)
            span = xhi - xlo if xhi > xlo else 1.0
            for i, lev in enumerate(levels):
                s = summary if lev is None else summary[summary[hue] == lev]
                dodge = (i - (nlev - 1) / 2) * 0.012 * span
                sx = s["x"].to_numpy(float) + dodge
                color = GREY_DARK if lev is None else colors[lev]
                mcolor = "black" if lev is None else colors[lev]
                err = np.vstack([s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]])
                ax.errorbar(sx, s["mean"], yerr=np.nan_to_num(err), fmt="none", ecolor=color,
                            elinewidth=0.9, capsize=1.8, capthick=0.9, zorder=4, gid="mean-ci")
                ax.plot(sx, s["mean"], color=mcolor, lw=1.4, marker="o", ms=3.5, mfc=mcolor,
                        mec="white", mew=0.5, zorder=5, gid="mean")
            handles.append(Line2D([], [], color="black", lw=1.4, marker="o", ms=3.5,
                                  label=f"Mean ({level:.0%} CI)"))
        if hue is not None:
            handles += [
                Patch(color=colors[lev],
                      label=f"{hue_label(hue, lev)} (n = {rows.loc[rows[hue] == lev, PATIENT].nunique()})")
                for lev in levels
            ]

        if y != SCORE:
            ax.axhline(0, color=GREY, lw=0.6, zorder=0.5, gid="zero")
            thr = D.resolve_threshold(measure, threshold) if y == CHANGE else threshold
            if thr:
                ax.axhline(thr, color=GREY_DARK, lw=0.7, ls=(0, (2, 2)), zorder=0.6, gid="threshold")
                handles.append(Line2D([], [], color=GREY_DARK, lw=0.7, ls=(0, (2, 2)),
                                      label=f"Meaningful change (+{thr:g})"))
        ax.autoscale_view()
        time_axis(ax, xlo, xhi, time)
        ax.set_ylabel(D.axis_label(measure, change=(y == CHANGE), percent=(y == PCT_CHANGE)))
        title_and_legend(fig, ax, title, handles if legend else [], own=own, ncol=2,
                         handlelength=2.0, axes_handlelength=2.0)
        finish(fig, own=own)
    return fig
