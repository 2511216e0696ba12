"""Per-patient verdict figure: a forest plot of each patient's change of slope.

:func:`plot_slope_change` draws, one row per patient, the change of slope at the
first dose (slope on treatment minus slope before it) with its interval, from
the table of :meth:`LMMResult.patient_coefficients()
<sma_outcomes.stats.lmm.LMMResult.patient_coefficients>` (``random="piecewise"``)
or of :func:`sma_outcomes.patient_verdicts`.

Examples
--------
>>> from sma_outcomes.plot.verdict import plot_slope_change
"""

from __future__ import annotations

import textwrap
import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .._shared import check_level, natural_key
from ..exceptions import ColumnError, DataError, DataWarning, OptionError
from ..registry import SCALES, plain_name, unit_label
from .change import _label_size
from .style import (
    GREY,
    GREY_DARK,
    MIN_FONT,
    OKABE_ITO,
    SINGLE_COLUMN,
    finish,
    house_style,
    new_figure,
    wrap_label,
)

__all__ = ["plot_slope_change", "slope_change_label"]

#: Colours of the three slope verdicts (as ``patient_verdicts``' ``slope_verdict``).
VERDICT_COLORS: dict[str, str] = {
    "better on treatment": OKABE_ITO["blue"],
    "no clear difference": GREY,
    "worse on treatment": OKABE_ITO["vermillion"],
}

_PER = {"days": "day", "weeks": "week", "months": "month", "years": "year"}


def slope_change_label(measure: str | None, time: str = "months") -> str:
    """x-axis label of :func:`plot_slope_change`: measure, unit and time unit.

    Examples
    --------
    >>> slope_change_label("HFMSE")
    'Change in HFMSE slope (points per month)'
    >>> slope_change_label("PP_PREF", "years")
    'Change in Purdue Pegboard, preferred hand slope (pins in 30 s per year)'
    >>> slope_change_label(None)
    'Change in slope (per month)'
    """
    per = _PER.get(time, time)
    if measure is None:
        return f"Change in slope (per {per})"
    unit = unit_label(measure)
    return f"Change in {plain_name(measure)} slope ({unit + ' ' if unit else ''}per {per})"


def _fit_texts(fig: Figure, ax: Axes) -> bool:
    """Wrap the x label and the title where they are wider than the axes (they would be cut).

    Returns whether a text changed.
    """
    changed = False
    renderer = fig._get_renderer()
    room = ax.get_window_extent(renderer).width
    for text, wrap in ((ax.xaxis.label, wrap_label),
                       (ax._left_title if ax.get_title("left") else ax.title,
                        lambda s, w: "\n".join(textwrap.wrap(s, max(w, 8))))):
        label = text.get_text()
        if not label or room <= 0:
            continue
        length = text.get_window_extent(renderer).width
        if length <= room:
            continue
        longest = max(len(line) for line in label.split("\n"))
        per_char = length / max(longest, 1)
        text.set_text(wrap(" ".join(label.split()), max(8, int(0.97 * room / per_char))))
        changed = True
    return changed


def _interval(table: pd.DataFrame, level: float) -> tuple[np.ndarray, np.ndarray, str]:
    """Lower and upper ends of each patient's interval, and where they come from."""
    if {"slope_change_low", "slope_change_high"} <= set(table.columns):
        return (pd.to_numeric(table["slope_change_low"], errors="coerce").to_numpy(float),
                pd.to_numeric(table["slope_change_high"], errors="coerce").to_numpy(float),
                "slope_change_low/_high")
    for col in ("se_slope_change", "slope_change_se"):
        if col in table.columns:
            z = NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0)
            est = pd.to_numeric(table["slope_change"], errors="coerce").to_numpy(float)
            se = pd.to_numeric(table[col], errors="coerce").to_numpy(float)
            return est - z * se, est + z * se, col
    raise ColumnError(
        "plot_slope_change: the table needs the interval of slope_change: columns "
        "slope_change_low and slope_change_high (patient_verdicts()), or its standard error "
        "se_slope_change (LMMResult.patient_coefficients() of a random='piecewise' fit) or "
        f"slope_change_se; the table has {list(map(str, table.columns))}")


def plot_slope_change(
    data: pd.DataFrame,
    *,
    measure: str | None = None,
    time: str = "months",
    level: float = 0.95,
    title: str | None = None,
    width: float = SINGLE_COLUMN,
    height: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Forest plot of each patient's change of slope at the first dose, with intervals.

    One row per patient, sorted from the largest change of slope (top) to the
    smallest: a dot at the estimate (slope on treatment minus slope before),
    a whisker for its interval and a line at 0 (no change of slope). Colours
    follow the verdict of :func:`~sma_outcomes.patient_verdicts`: the interval
    wholly on the good side of 0 (the scale's direction), wholly on the bad
    side, or across it. Patients with fewer than two assessments before the
    first dose (``n_pre`` < 2, when the table has it) get an open dot: their
    slope before treatment comes mostly from the model's other patients.

    Parameters
    ----------
    data : DataFrame
        One row per patient with ``patient_id`` and ``slope_change``, and
        either ``slope_change_low`` and ``slope_change_high`` (the table of
        :func:`~sma_outcomes.patient_verdicts`, whose level is then used) or
        a standard error ``se_slope_change`` (the table of
        ``LMMResult.patient_coefficients()`` from
        ``fit_lmm(..., random="piecewise")``) or ``slope_change_se``.
    measure : str, optional
        Measure code, for the axis label and the direction of "better"; default
        the table's ``measure`` column (``patient_verdicts``). The table of
        ``patient_coefficients()`` has none: pass it.
    time : str
        Time unit of the model's slopes, as ``fit_lmm(time=...)``
        (``"months"`` gives "points per month").
    level : float
        Level of the intervals computed from a standard error (normal
        quantile, as ``patient_verdicts``).
    title : str, optional
        Axes title; default "<measure>: change of slope at the first dose".
    width, height : float, optional
        Figure size in inches; the default height grows with the number of
        patients (the patient ids shrink, never below 5 pt, never overlapping).
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with ``gid``: ``"estimates"`` (one marker per patient, top
        row first), ``"intervals"`` (a LineCollection, one segment per
        patient, same order), ``"zero"``.

    Raises
    ------
    ColumnError
        Without ``patient_id``, ``slope_change`` or any interval column.
    OptionError
        Without ``measure`` in a table that has no ``measure`` column, with
        several measures, or with duplicated patients.
    DataError
        When no patient has a finite estimate and interval.

    Warns
    -----
    DataWarning
        Patients without a finite estimate or interval are left out, by name.

    Notes
    -----
    The intervals are conditional on the mixed model being right (a normal
    approximation with the prediction-error SE); with many patients some
    will miss 0 by chance (see ``VERDICT_NOTES``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.plot import plot_slope_change
    >>> pc = pd.DataFrame({"patient_id": ["A", "B", "C"], "n_pre": [3, 0, 1],
    ...                    "slope_change": [0.3, -0.1, 0.05],
    ...                    "se_slope_change": [0.1, 0.1, 0.02]})
    >>> fig = plot_slope_change(pc, measure="HFMSE")
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]  # bottom to top
    ['B', 'C', 'A']
    >>> ax.get_xlabel()
    'Change in HFMSE slope (points per month)'
    """
    level = check_level(level)
    for col in ("patient_id", "slope_change"):
        if col not in data.columns:
            raise ColumnError(
                f"plot_slope_change: the table has no {col!r} column; pass the table of "
                "LMMResult.patient_coefficients() (random='piecewise') or of patient_verdicts()")
    if measure is None and "measure" in data.columns:
        found = list(dict.fromkeys(data["measure"].dropna().astype(str)))
        if len(found) != 1:
            raise OptionError(f"plot_slope_change: the table has {len(found)} measures "
                              f"{found}; pass one measure's rows")
        measure = found[0]
    if measure is None:
        raise OptionError("plot_slope_change: pass measure= (e.g. measure='HFMSE'): the table "
                          "has no 'measure' column")
    if data["patient_id"].duplicated().any():
        dup = list(dict.fromkeys(data.loc[data["patient_id"].duplicated(), "patient_id"]))
        raise OptionError(f"plot_slope_change: one row per patient, and {dup[:5]} appear "
                          "more than once")
    low, high, source = _interval(data, level)
    est = pd.to_numeric(data["slope_change"], errors="coerce").to_numpy(float)
    pids = data["patient_id"].astype(str).to_numpy()
    ok = np.isfinite(est) & np.isfinite(low) & np.isfinite(high)
    if not ok.all():
        warnings.warn(
            f"plot_slope_change: {int((~ok).sum())} patient(s) without a slope change and "
            f"interval are left out: {', '.join(sorted(pids[~ok], key=natural_key))}",
            DataWarning, stacklevel=2)
    if not ok.any():
        raise DataError("plot_slope_change: no patient has a finite slope change and interval")
    n_pre = (pd.to_numeric(data["n_pre"], errors="coerce").to_numpy(float)
             if "n_pre" in data.columns else np.full(len(data), np.nan))
    t = pd.DataFrame({"pid": pids[ok], "est": est[ok], "low": low[ok], "high": high[ok],
                      "n_pre": n_pre[ok]})
    # bottom (y = 0) to top: smallest change first; ties in natural id order, first on top
    t["_key"] = t["pid"].map(natural_key)
    t = t.sort_values("_key", ascending=False, kind="mergesort")
    t = t.sort_values("est", kind="mergesort").reset_index(drop=True)
    n = len(t)
    scale = SCALES.get(measure)
    higher = True if scale is None else scale.higher_is_better
    good_lo, good_hi = (t["low"], t["high"]) if higher else (-t["high"], -t["low"])
    verdict = np.where(good_lo > 0, "better on treatment",
                       np.where(good_hi < 0, "worse on treatment", "no clear difference"))
    colors = [VERDICT_COLORS[v] for v in verdict]
    few = (t["n_pre"] < 2).to_numpy()  # NaN (unknown) counts as enough
    y = np.arange(n, dtype=float)

    with house_style():
        own = ax is None
        if own:
            h = height if height is not None else float(np.clip(1.5 + 0.1 * n, 2.4, 9.5))
            fig = new_figure(width, h, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        ax.axvline(0, color=GREY_DARK, lw=0.7, zorder=1, gid="zero")
        segs = [[(lo, yy), (hi, yy)] for lo, hi, yy in zip(t["low"], t["high"], y, strict=True)]
        ax.add_collection(LineCollection(segs, colors=colors, linewidths=0.9, zorder=2,
                                         gid="intervals"))
        faces = ["white" if f else c for f, c in zip(few, colors, strict=True)]
        ax.scatter(t["est"], y, s=11, c=faces, edgecolors=colors, linewidths=0.8, zorder=3,
                   gid="estimates")
        lo_x, hi_x = float(min(t["low"].min(), 0.0)), float(max(t["high"].max(), 0.0))
        pad = 0.04 * (hi_x - lo_x or 1.0)
        ax.set_xlim(lo_x - pad, hi_x + pad)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel(slope_change_label(measure, time))
        name = plain_name(measure)
        ax.set_title(title if title is not None else f"{name}: change of slope at the first dose")
        given = source == "slope_change_low/_high"  # the table's own level
        handles = [Line2D([], [], color=VERDICT_COLORS[v], marker="o", ms=3.5, lw=0.9,
                          label=v[0].upper() + v[1:]) for v in VERDICT_COLORS if v in set(verdict)]
        if few.any():
            handles.append(Line2D([], [], color=GREY_DARK, marker="o", mfc="white", ms=3.5,
                                  lw=0, label="< 2 assessments before dose 1"))
        if handles:
            legend = dict(handles=handles, handlelength=1.2, title_fontsize=6.5,
                          title=None if given else f"Lines: {level * 100:g}% intervals")
            if own:
                # two columns (filled column-wise) where they fit: about 3.5 pt a
                # character at 6.5 pt, 30 pt for a handle and the spacing
                sizes = [len(hd.get_label()) for hd in handles]
                half = (len(sizes) + 1) // 2
                wide = sum(max(part) for part in (sizes[:half], sizes[half:]) if part)
                ncol = 2 if 3.5 * wide + 60 <= fig.get_figwidth() * 72 - 10 else 1
                fig.legend(loc="outside lower center", ncol=ncol, **legend)
            else:
                ax.legend(loc="lower right", **legend)
        ax.tick_params(axis="y", length=0, pad=2)
        ax.spines["left"].set_visible(False)
        # patient ids at a size for the axes' height, which is known once the figure is laid
        # out (ids, wrapped labels and the legend change it: twice)
        rows_pt = max(fig.get_figheight() - 1.3, 0.3) * 72 if own else (
            ax.get_position().height * fig.get_figheight() * 72)
        for _ in range(2):
            size = _label_size(n, rows_pt)
            if size >= MIN_FONT:
                ax.set_yticks(y, t["pid"].tolist(), fontsize=size)
                ax.set_ylabel("Patient")
            else:
                ax.set_yticks([])
                ax.set_ylabel(f"Patients (n = {n})")
            if own:
                fig.get_layout_engine().execute(fig)
            if _fit_texts(fig, ax) and own:
                fig.get_layout_engine().execute(fig)
            rows_pt = ax.get_position().height * fig.get_figheight() * 72
        finish(fig, own=own)
    return fig
