"""Change at one timepoint: the waterfall and the paired slope chart.

Both read the analysed rows of one measure at one nominal timepoint, as
:func:`sma_outcomes.change_from_baseline` leaves them (columns baseline,
change, pct_change).

Examples
--------
>>> from sma_outcomes.plot.change import plot_waterfall, plot_slope
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .._shared import check_choice, last_common_timepoint, natural_key
from ..exceptions import DataError, DataWarning
from ..schema import BASELINE, CHANGE, PATIENT, PCT_CHANGE, SCORE
from . import _data as D
from ._draw import measure_color, title_and_legend
from .cohort import hue_label
from .style import (
    DOUBLE_COLUMN,
    GREY,
    GREY_DARK,
    MIN_FONT,
    OKABE_ITO,
    SINGLE_COLUMN,
    color_for,
    finish,
    house_style,
    new_figure,
)

__all__ = ["plot_waterfall", "plot_slope", "classify_change"]

IMPROVED = OKABE_ITO["blue"]
WORSENED = OKABE_ITO["vermillion"]
STABLE = GREY


def classify_change(change: np.ndarray, threshold: float | None) -> np.ndarray:
    """``"improved"`` (change >= threshold), ``"worsened"`` (<= -threshold) or ``"stable"``.

    Without a threshold every finite change is ``"change"``.

    Examples
    --------
    >>> classify_change(np.array([3.0, 1.0, -3.0]), 3.0).tolist()
    ['improved', 'stable', 'worsened']
    """
    change = np.asarray(change, float)
    if not threshold:
        return np.full(len(change), "change", dtype=object)
    out = np.full(len(change), "stable", dtype=object)
    out[change >= threshold] = "improved"
    out[change <= -threshold] = "worsened"
    return out


def _category_colors(cats: np.ndarray, measure_color: str) -> list[str]:
    table = {"improved": IMPROVED, "worsened": WORSENED, "stable": STABLE, "change": measure_color}
    return [table[c] for c in cats]


def _category_handles(cats: np.ndarray, threshold: float | None, unit: str) -> list:
    labels = {
        "improved": f"Improved (≥ +{threshold:g}{unit})" if threshold else "",
        "stable": "Stable",
        "worsened": f"Worsened (≤ −{threshold:g}{unit})" if threshold else "",
    }
    colors = {"improved": IMPROVED, "stable": STABLE, "worsened": WORSENED}
    return [Patch(color=colors[c], label=labels[c]) for c in ("improved", "stable", "worsened")
            if c in set(cats)]


def _finite(rows: pd.DataFrame, cols: list[str], what: str) -> pd.DataFrame:
    ok = np.ones(len(rows), bool)
    for c in cols:
        ok &= np.isfinite(pd.to_numeric(rows[c], errors="coerce").to_numpy(float))
    if not ok.all():
        warnings.warn(
            f"{int((~ok).sum())} patient(s) without {what} are left out: "
            f"{', '.join(D.patient_order(rows.loc[~ok, PATIENT]))}",
            DataWarning,
            stacklevel=3,
        )
    return rows[ok]


def _label_size(n: int, span_pt: float, largest: float = 6.5) -> float:
    """Font size that keeps ``n`` labels spread over ``span_pt`` points apart."""
    return float(min(largest, 0.8 * span_pt / max(n, 1)))


def _hue_colors(rows: pd.DataFrame, hue: str) -> tuple[list, dict, list[str]]:
    """Levels of ``hue`` in natural order, a colour per level, and each row's colour (grey if none).

    Examples
    --------
    >>> levels, cmap, colors = _hue_colors(pd.DataFrame({"arm": ["b", "a", None]}), "arm")
    >>> levels, colors[2] == GREY, colors[1] == cmap["a"]
    (['a', 'b'], True, True)
    """
    levels = sorted(rows[hue].dropna().unique(), key=natural_key)
    cmap = {lev: color_for(i) for i, lev in enumerate(levels)}
    return levels, cmap, [cmap.get(v, GREY) for v in rows[hue]]


#: Most bars drawn as separate ``Rectangle`` patches (``ax.bar``); above it the bars
#: are one :class:`~matplotlib.collections.PolyCollection` (gid ``"bars"``): one
#: artist instead of thousands, the same rectangles, colours and axis limits.
BARS_AS_PATCHES_MAX = 300

#: Width of a bar, in units of the distance between bars.
BAR_WIDTH = 0.78


def _draw_bars(ax: Axes, values: np.ndarray, colors: list) -> None:
    """Bars of height ``values`` at 0, 1, ..., as patches (few) or one collection (many).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> _draw_bars(ax, np.arange(400.0), ["k"] * 400)
    >>> len(ax.patches), [c.get_gid() for c in ax.collections], float(ax.get_ylim()[0])
    (0, ['bars'], 0.0)
    """
    n = len(values)
    if n <= BARS_AS_PATCHES_MAX:
        ax.bar(np.arange(n), values, width=BAR_WIDTH, color=colors, lw=0, zorder=2, gid="bars")
        return
    left = np.arange(n) - BAR_WIDTH / 2  # ax.bar's align="center"
    right = left + BAR_WIDTH
    zero = np.zeros(n)
    verts = np.stack([np.column_stack(c) for c in
                      ((left, zero), (left, values), (right, values), (right, zero))], axis=1)
    coll = PolyCollection(verts, facecolors=colors, edgecolors="none", linewidths=0,
                          zorder=2, gid="bars")
    coll.sticky_edges.y.append(0.0)  # as ax.bar: no margin below a zero baseline
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()


def plot_waterfall(
    data: pd.DataFrame,
    *,
    measure: str,
    timepoint: str | None = None,
    y: str = "change",
    threshold: float | None = None,
    hue: str | None = None,
    labels: bool | None = None,
    title: str | None = None,
    width: float | None = None,
    height: float = 2.4,
    ax: Axes | None = None,
) -> Figure:
    """Waterfall of each patient's change at a timepoint, sorted, with thresholds.

    One bar per patient, largest gain first. Bars are coloured by whether the
    change reaches the clinically meaningful threshold (improved, stable,
    worsened), or by a patient-level column with ``hue``; dashed lines mark
    ± the threshold. Up to :data:`BARS_AS_PATCHES_MAX` bars are ``Rectangle``
    patches (``ax.patches``); above it they are one ``PolyCollection`` with
    gid ``"bars"`` (the same rectangles, drawn far faster).

    Parameters
    ----------
    data : DataFrame
        Table from :func:`sma_outcomes.change_from_baseline`.
    measure : str
        Measure code.
    timepoint : str, optional
        Nominal timepoint, e.g. ``"Month 18"``. Default: the last timepoint at
        which at least half of the patients have a change from baseline.
    y : {"change", "pct_change"}
        Change in the scale's unit or percent of baseline.
    threshold : float, optional
        Meaningful change; default the registry's for ``y="change"``. For
        percent change there is no default (give one in percent).
    hue : str, optional
        Patient-level column to colour the bars by.
    labels : bool, optional
        Patient ids under the bars (default: when there are at most 60 bars);
        the font shrinks so that labels never overlap.
    title : str, optional
        Axes title.
    width, height : float, optional
        Figure size in inches; the default width grows with the number of
        patients from a single to a double journal column.
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_waterfall
    >>> changes = so.change_from_baseline(so.load_example("case_series"))
    >>> fig = plot_waterfall(changes, measure="HFMSE")  # the last common timepoint
    >>> fig.axes[0].get_title("left")
    'HFMSE at Month 18'
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [10.0, 8.0, 6.0, 5.0, 3.0]
    """
    check_choice("y", y, (CHANGE, PCT_CHANGE))
    if timepoint is None:
        timepoint = last_common_timepoint(data, [measure], func="plot_waterfall")
    rows = D.at_timepoint(data, measure, timepoint, [y] + ([hue] if hue else []))
    rows = _finite(rows, [y], f"a {y.replace('_', ' ')} at {timepoint}")
    if len(rows) == 0:
        raise DataError(f"no {measure} {y} at {timepoint} to draw")
    rows = rows.assign(_key=rows[PATIENT].map(natural_key))
    rows = rows.sort_values("_key", kind="mergesort")
    rows = rows.sort_values(y, ascending=False, kind="mergesort")
    values = rows[y].to_numpy(float)
    pids = rows[PATIENT].astype(str).tolist()
    n = len(values)
    thr = D.resolve_threshold(measure, threshold) if y == CHANGE else threshold
    unit = "%" if y == PCT_CHANGE else ""
    with house_style():
        own = ax is None
        if ax is None:
            w = width or float(np.clip(1.0 + 0.14 * n, SINGLE_COLUMN, DOUBLE_COLUMN))
            fig = new_figure(w, height, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        if hue is not None:
            levels, cmap, colors = _hue_colors(rows, hue)
            handles = [Patch(color=cmap[lev], label=hue_label(hue, lev)) for lev in levels]
        else:
            cats = classify_change(values, thr)
            colors = _category_colors(cats, measure_color(measure))
            handles = _category_handles(cats, thr, unit)
        _draw_bars(ax, values, colors)
        ax.axhline(0, color=GREY_DARK, lw=0.6, zorder=3)
        if thr:
            for v in (thr, -thr):
                ax.axhline(v, color=GREY_DARK, lw=0.7, ls=(0, (3, 2)), zorder=1, gid="threshold")
        ax.set_xlim(-0.7, n - 0.3)
        ax.set_ylabel(D.axis_label(measure, change=(y == CHANGE), percent=(y == PCT_CHANGE)))
        if own:
            axes_pt = (fig.get_figwidth() - 0.75) * 72  # minus the y-axis label and ticks
        else:
            axes_pt = ax.get_position().width * fig.get_figwidth() * 72
        show = labels if labels is not None else n <= 60
        size = _label_size(n, axes_pt)
        if show and size >= MIN_FONT:
            ax.set_xticks(np.arange(n), pids, rotation=90, fontsize=size)
            ax.tick_params(axis="x", length=0, pad=2)
            ax.set_xlabel(f"Patients, sorted by {'percent ' if y == PCT_CHANGE else ''}change")
        else:
            ax.set_xticks([])
            ax.set_xlabel(f"Patients (n = {n}), sorted by change")
        ax.spines["bottom"].set_visible(False)
        ax.set_title(title if title is not None else f"{D.title_name(measure)} at {timepoint}")
        if handles:
            ax.legend(handles=handles, loc="upper right", handlelength=1.0)
        finish(fig, own=own)
    return fig


def _spread(y: np.ndarray, min_gap: float, lo: float = -np.inf, hi: float = np.inf) -> np.ndarray:
    """Label positions near ``y``, at least ``min_gap`` apart, within [lo, hi], order kept.

    Examples
    --------
    >>> _spread(np.array([1.0, 1.0, 5.0]), 1.0).tolist()
    [0.5, 1.5, 5.0]
    """
    order = np.argsort(y, kind="mergesort")
    target = y[order].astype(float)
    pos = target.copy()
    for _ in range(50):  # push neighbours apart symmetrically until nothing overlaps
        moved = False
        for i in range(1, len(pos)):
            overlap = pos[i - 1] + min_gap - pos[i]
            if overlap > 1e-12:
                pos[i - 1] -= overlap / 2
                pos[i] += overlap / 2
                moved = True
        if not moved:
            break
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + min_gap)
    if len(pos) and pos[-1] > hi:
        pos[-1] = hi
        for i in range(len(pos) - 2, -1, -1):
            pos[i] = min(pos[i], pos[i + 1] - min_gap)
    if len(pos) and pos[0] < lo:
        pos[0] = lo
        for i in range(1, len(pos)):
            pos[i] = max(pos[i], pos[i - 1] + min_gap)
    out = np.empty_like(pos)
    out[order] = pos
    return out


def plot_slope(
    data: pd.DataFrame,
    *,
    measure: str,
    timepoint: str | None = None,
    threshold: float | None = None,
    hue: str | None = None,
    labels: bool | None = None,
    show_mean: bool = True,
    baseline_label: str = "Baseline",
    title: str | None = None,
    width: float = 2.6,
    height: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Paired slope chart: each patient's baseline joined to their score at a timepoint.

    The natural figure of a small case series. Lines are coloured by whether
    the change reaches the clinically meaningful threshold, or by ``hue``; the
    patient ids sit at the right end, spread so that they never overlap.

    Parameters
    ----------
    data : DataFrame
        Table from :func:`sma_outcomes.change_from_baseline` (baseline, score).
    measure : str
        Measure code.
    timepoint : str, optional
        Nominal timepoint for the right-hand end. Default: the last timepoint
        at which at least half of the patients have a change from baseline.
    threshold : float, optional
        Meaningful change; default the registry's.
    hue : str, optional
        Patient-level column to colour the lines by.
    labels : bool, optional
        Patient ids at the right (default: up to 40 patients).
    show_mean : bool
        Draw the mean baseline and mean score joined by a thick line.
    baseline_label : str
        Label of the left end.
    title : str, optional
        Axes title.
    width, height : float, optional
        Figure size in inches; the default height leaves room for a label
        per patient (2.8 in up to about 15 patients).
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_slope
    >>> changes = so.change_from_baseline(so.load_example("case_series"))
    >>> fig = plot_slope(changes, measure="PP_PREF", timepoint="Month 18")
    >>> fig.axes[0].collections[0].get_segments()[0].tolist()  # GK01: 4 -> 13 pins
    [[0.0, 4.0], [1.0, 13.0]]
    """
    if timepoint is None:
        timepoint = last_common_timepoint(data, [measure], func="plot_slope")
    rows = D.at_timepoint(data, measure, timepoint, [BASELINE, SCORE] + ([hue] if hue else []))
    rows = _finite(rows, [BASELINE, SCORE], f"both a baseline and a score at {timepoint}")
    if len(rows) == 0:
        raise DataError(f"no {measure} baseline and score pairs at {timepoint} to draw")
    rows = rows.assign(_key=rows[PATIENT].map(natural_key)).sort_values("_key", kind="mergesort")
    b = rows[BASELINE].to_numpy(float)
    s = rows[SCORE].to_numpy(float)
    pids = rows[PATIENT].astype(str).tolist()
    n = len(b)
    thr = D.resolve_threshold(measure, threshold)
    with house_style():
        own = ax is None
        if ax is None:
            h = height or float(max(2.8, 1.2 + n * 1.4 * 5.0 / 72))
            fig = new_figure(width, h, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        if hue is not None:
            levels, cmap, colors = _hue_colors(rows, hue)
            handles = [Line2D([], [], color=cmap[lev], lw=1.2, label=hue_label(hue, lev))
                       for lev in levels]
        else:
            cats = classify_change(s - b, thr)
            colors = _category_colors(cats, measure_color(measure))
            handles = [Line2D([], [], color=h.get_facecolor(), lw=1.2, label=h.get_label())
                       for h in _category_handles(cats, thr, "")]
        segs = [np.array([[0.0, bi], [1.0, si]]) for bi, si in zip(b, s, strict=True)]
        ax.add_collection(LineCollection(segs, colors=colors, linewidths=1.1, alpha=0.9,
                                         zorder=2, gid="slopes"))
        ax.scatter(np.r_[np.zeros(n), np.ones(n)], np.r_[b, s], s=9, c=colors + colors,
                   zorder=3, lw=0, gid="ends")
        if show_mean and n > 1:
            ax.plot([0, 1], [b.mean(), s.mean()], color="black", lw=2.2, marker="o", ms=4,
                    zorder=4, gid="mean", solid_capstyle="round")
            handles.append(Line2D([], [], color="black", lw=2.2, marker="o", ms=4,
                                  label=f"Mean (n = {n})"))
        lo, hi = float(min(b.min(), s.min())), float(max(b.max(), s.max()))
        pad = max(0.08 * (hi - lo), 0.5)
        smin, smax = D.scale_limits(measure)
        ax.set_ylim(max(lo - pad, smin - pad), min(hi + pad, smax + pad))
        show = labels if labels is not None else n <= 40
        right = 1.1 + 0.035 * max(len(p) for p in pids) if show else 1.12
        ax.set_xlim(-0.15, right)
        ax.set_xticks([0, 1], [baseline_label, str(timepoint)])
        ax.spines["bottom"].set_bounds(0, 1)
        ax.set_ylabel(D.axis_label(measure))
        title_and_legend(fig, ax, title, handles, own=own, ncol=2, handlelength=1.5)
        if show:
            if own:  # place the axes now, to know their height in points
                fig.get_layout_engine().execute(fig)
            ax_h_pt = ax.get_position().height * fig.get_figheight() * 72
            fs = float(min(5.5, ax_h_pt / (1.45 * n)))  # a text box is about 1.4 x its size
            show = fs >= MIN_FONT
        if show:
            y0, y1 = ax.get_ylim()
            gap = 1.45 * fs * (y1 - y0) / ax_h_pt
            ly = _spread(s, gap, y0 + gap / 2, y1 - gap / 2)
            leaders, leader_colors = [], []
            for pid, yi, si, c in zip(pids, ly, s, colors, strict=True):
                ax.text(1.1, yi, pid, fontsize=fs, color=c, va="center", ha="left",
                        gid="patient-label")
                if abs(yi - si) > gap * 0.3:  # moved: a thin leader back to its line end
                    leaders.append([(1.02, si), (1.09, yi)])
                    leader_colors.append(c)
            if leaders:
                ax.add_collection(LineCollection(leaders, colors=leader_colors, linewidths=0.4,
                                                 gid="label-leaders"), autolim=False)
        finish(fig, own=own)
    return fig
