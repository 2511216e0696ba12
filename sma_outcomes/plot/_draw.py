"""Drawing primitives shared by the figures (one axes at a time).

Every artist that carries data gets a ``gid`` so that tests (and users) can
find it: ``"scores"``, ``"missing"``, ``"baseline"``, ``"band"``,
``"doses"``, ``"dose-lines"``, ``"loading-phase"``.

Examples
--------
>>> from sma_outcomes.plot._draw import measure_color
>>> measure_color("PP_PREF")
'#D55E00'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, MultipleLocator
from matplotlib.transforms import blended_transform_factory

from ..registry import SCALES
from ._data import time_label
from .style import GREY, GREY_DARK, GREY_LIGHT, OKABE_ITO, PALETTE, SHADE

_TOTALS = [code for code, s in SCALES.items() if s.parent is None]
_FIXED = {
    "HFMSE": OKABE_ITO["blue"],
    "RULM": OKABE_ITO["orange"],
    "PP_PREF": OKABE_ITO["vermillion"],
    "PP_NONPREF": OKABE_ITO["bluish_green"],
    "PP_BOTH": OKABE_ITO["reddish_purple"],
    "PP_ASSEMBLY": OKABE_ITO["sky_blue"],
}


def measure_color(measure: str) -> str:
    """The colour a measure has in every figure.

    Examples
    --------
    >>> measure_color("HFMSE")
    '#0072B2'
    """
    if measure in _FIXED:
        return _FIXED[measure]
    scale = SCALES.get(measure)
    if scale is not None and scale.parent in _FIXED:
        return _FIXED[scale.parent]
    index = _TOTALS.index(measure) if measure in _TOTALS else sum(map(ord, measure))
    return PALETTE[index % 7]


def dose_label(phase: str) -> str:
    """Legend label of a dose by phase.

    Examples
    --------
    >>> dose_label("maintenance")
    'Maintenance dose'
    """
    return {"loading": "Loading dose", "maintenance": "Maintenance dose"}.get(phase, "Dose")


def _dose_face(phase: str) -> str:
    return "white" if phase == "maintenance" else GREY_DARK


def draw_dose_lines(ax: Axes, x: np.ndarray) -> LineCollection | None:
    """Faint vertical lines at the dose times, spanning the axes.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> len(draw_dose_lines(ax, np.array([0.0, 1.0])).get_segments())
    2
    """
    if len(x) == 0:
        return None
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    segs = [((xi, 0.0), (xi, 1.0)) for xi in x]
    lc = LineCollection(
        segs, transform=trans, colors=GREY_LIGHT, linewidths=0.6, zorder=0.6, gid="dose-lines"
    )
    ax.add_collection(lc, autolim=False)
    return lc


def stack_rows(xpts: Sequence[float], widths: Sequence[float], gap: float = 1.0) -> list[int]:
    """Row for each label so that labels in one row do not overlap (greedy).

    Examples
    --------
    >>> stack_rows([0, 2, 20], [4, 4, 4])
    [0, 1, 0]
    """
    ends: list[float] = []
    rows = []
    for xp, w in zip(xpts, widths, strict=True):
        left = xp - w / 2
        for r, end in enumerate(ends):
            if left >= end + gap:
                ends[r] = xp + w / 2
                rows.append(r)
                break
        else:
            ends.append(xp + w / 2)
            rows.append(len(ends) - 1)
    return rows


def number_rows(
    x: np.ndarray,
    texts: Sequence[str],
    xlim: tuple[float, float],
    axes_width_pt: float,
    fontsize: float = 5.5,
) -> list[int]:
    """Stacking row of each dose number above the axes so that none overlap.

    Examples
    --------
    >>> number_rows(np.array([0.0, 0.1, 5.0]), ["1", "2", "3"], (0, 10), 200)
    [0, 1, 0]
    """
    x0, x1 = xlim
    xpts = (np.asarray(x, float) - x0) / (x1 - x0) * axes_width_pt
    widths = [0.62 * fontsize * len(t) for t in texts]
    return stack_rows(list(xpts), widths, gap=0.8)


def draw_dose_markers(
    ax: Axes,
    x: np.ndarray,
    phases: Sequence[str],
    numbers: Sequence[int] | None,
    *,
    axes_width_pt: float,
    fontsize: float = 5.5,
    size: float = 16.0,
) -> list:
    """Triangles above the axes at the dose times, numbered without overlap.

    Loading doses are filled, maintenance doses open. ``numbers`` None draws no
    numbers. Returns the artists (the marker collection first).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> ax.set_xlim(0, 10)
    (0.0, 10.0)
    >>> arts = draw_dose_markers(ax, np.array([1.0, 5.0]), ["loading", "maintenance"],
    ...                          [1, 2], axes_width_pt=200)
    >>> arts[0].get_offsets()[:, 0].tolist()
    [1.0, 5.0]
    """
    if len(x) == 0:
        return []
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    faces = [_dose_face(p) for p in phases]
    coll = ax.scatter(
        x,
        np.ones(len(x)),
        s=size,
        marker="v",
        c=faces,
        edgecolors=GREY_DARK,
        linewidths=0.6,
        transform=trans,
        clip_on=False,
        zorder=5,
        gid="doses",
    )
    arts: list = [coll]
    if numbers is not None:
        texts = [str(int(n)) for n in numbers]
        rows = number_rows(x, texts, ax.get_xlim(), axes_width_pt, fontsize)
        for xi, t, r in zip(x, texts, rows, strict=True):
            arts.append(
                ax.annotate(
                    t,
                    xy=(xi, 1.0),
                    xycoords=trans,
                    xytext=(0, 4.0 + r * (fontsize + 0.5)),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=fontsize,
                    color=GREY_DARK,
                    annotation_clip=False,
                    gid="dose-number",
                )
            )
    return arts


def shade_loading(ax: Axes, x: np.ndarray, phases: Sequence[str]) -> Patch | None:
    """Shade the loading phase: from the first to the last loading dose.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> shade_loading(ax, np.array([0.0, 2.0, 6.0]), ["loading", "loading", "maintenance"]).get_gid()
    'loading-phase'
    """
    load = np.asarray(x, float)[np.asarray(phases) == "loading"]
    if len(load) < 2:
        return None
    return ax.axvspan(load.min(), load.max(), color=SHADE, lw=0, zorder=0.5, gid="loading-phase")


def draw_band(
    ax: Axes,
    baseline: float,
    threshold: float | None,
    limits: tuple[float, float],
    color: str,
) -> list:
    """Baseline reference line and the band baseline ± threshold (clipped to the scale).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> [a.get_gid() for a in draw_band(ax, 20.0, 3.0, (0, 66), "k")]
    ['band', 'baseline']
    """
    if not np.isfinite(baseline):
        return []
    arts = []
    if threshold:
        lo = max(limits[0], baseline - threshold)
        hi = min(limits[1], baseline + threshold)
        arts.append(ax.axhspan(lo, hi, color=color, alpha=0.12, lw=0, zorder=0.8, gid="band"))
    arts.append(
        ax.axhline(baseline, color=color, lw=0.7, ls=(0, (4, 2)), alpha=0.8, zorder=0.9, gid="baseline")
    )
    return arts


def draw_scores(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    color: str,
    *,
    analysed: np.ndarray | None = None,
    codes: Sequence[str] | None = None,
    show_missing: bool = True,
    markersize: float = 3.5,
    lw: float = 1.2,
) -> list:
    """One trajectory: a line through the scores in time order, broken at NaN.

    Assessments not chosen for analysis (``analysed`` False) get open markers.
    Missing scores are marked with a grey cross at the foot of the axes and
    their missing code (NT, UTA, ...) when ``show_missing``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> line = draw_scores(ax, np.array([0.0, 1, 2]), np.array([1.0, np.nan, 3]), "k")[0]
    >>> line.get_ydata().tolist()
    [1.0, nan, 3.0]
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    line = ax.plot(
        x, y, color=color, lw=lw, marker="o", ms=markersize, mew=0.6, mec=color,
        mfc=color, zorder=3, gid="scores", solid_capstyle="round",
    )[0]
    arts: list = [line]
    if analysed is not None and not np.all(analysed):
        sel = ~np.asarray(analysed, bool) & np.isfinite(y)
        if sel.any():
            (pts,) = ax.plot(
                x[sel], y[sel], ls="none", marker="o", ms=markersize, mew=0.6, mec=color,
                mfc="white", zorder=3.5, gid="not-analysed",
            )
            arts.append(pts)
    miss = ~np.isfinite(y)
    if show_missing and miss.any():
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        (cross,) = ax.plot(
            x[miss], np.full(int(miss.sum()), 0.04), ls="none", marker="x", ms=markersize,
            mew=0.8, color=GREY, transform=trans, zorder=3, gid="missing", clip_on=False,
        )
        arts.append(cross)
        if codes is not None:
            for xi, code in zip(x[miss], np.asarray(codes, object)[miss], strict=True):
                if isinstance(code, str) and code.strip():
                    arts.append(
                        ax.annotate(
                            code.strip(), xy=(xi, 0.04), xycoords=trans, xytext=(0, 3.5),
                            textcoords="offset points", ha="center", va="bottom",
                            fontsize=5.5, color=GREY, gid="missing-code",
                        )
                    )
    return arts


def legend_handles(
    color: str,
    *,
    band: bool,
    phases: Sequence[str] = (),
    loading_shade: bool = False,
    missing: bool = False,
    not_analysed: bool = False,
) -> list:
    """Proxy artists for a trajectory legend.

    Examples
    --------
    >>> [h.get_label() for h in legend_handles("k", band=True, phases=["loading"])]
    ['Score', 'Baseline', 'Baseline ± meaningful change', 'Loading dose']
    """
    hs: list = [Line2D([], [], color=color, marker="o", ms=3.5, lw=1.2, label="Score")]
    if not_analysed:
        hs.append(Line2D([], [], color=color, marker="o", mfc="white", ms=3.5, ls="none",
                         label="Not analysed"))
    if missing:
        hs.append(Line2D([], [], color=GREY, marker="x", ms=3.5, ls="none", label="Not done"))
    hs.append(Line2D([], [], color=GREY_DARK, lw=0.7, ls=(0, (4, 2)), label="Baseline"))
    if band:
        hs.append(Patch(color=GREY_DARK, alpha=0.15, lw=0, label="Baseline ± meaningful change"))
    for phase in dict.fromkeys(phases):
        hs.append(Line2D([], [], ls="none", marker="v", ms=4.5, mfc=_dose_face(phase),
                         mec=GREY_DARK, mew=0.6, label=dose_label(phase)))
    if loading_shade:
        hs.append(Patch(color=SHADE, lw=0, label="Loading phase"))
    return hs


#: Colour of intercurrent events (surgery, switch, ...) in every figure.
EVENT_COLOR = OKABE_ITO["reddish_purple"]
_EVENT_LS = (0, (4, 1.5, 1, 1.5))


def draw_event_lines(ax: Axes, x: np.ndarray) -> LineCollection | None:
    """Dash-dotted vertical lines at the event times, spanning the axes.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> draw_event_lines(ax, np.array([3.0])).get_gid()
    'events'
    """
    if len(x) == 0:
        return None
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    lc = LineCollection([((xi, 0.0), (xi, 1.0)) for xi in x], transform=trans,
                        colors=EVENT_COLOR, linewidths=0.9, linestyles=[_EVENT_LS], zorder=2.6,
                        gid="events")
    ax.add_collection(lc, autolim=False)
    return lc


def event_label_rows(
    x: np.ndarray, labels: Sequence[str], xlim: tuple[float, float], axes_width_pt: float,
    fontsize: float = 5.5,
) -> tuple[list[int], list[str], list[str]]:
    """Row, alignment and (if need be shortened) text of each event label above the axes.

    A label runs to the right of its line when it fits in the axes, else to
    the left; a label longer than the axes is shortened. Rows stack labels
    that would overlap.

    Examples
    --------
    >>> event_label_rows(np.array([1.0, 1.2, 9.5]), ["Surgery", "Ventilation", "Death"],
    ...                  (0, 10), 200)
    ([0, 1, 0], ['left', 'left', 'right'], ['Surgery', 'Ventilation', 'Death'])
    """
    x0, x1 = xlim
    per_char = 0.6 * fontsize
    rows_in, aligns, texts = [], [], []
    lefts, widths = [], []
    for xi, text in zip(np.asarray(x, float), labels, strict=True):
        xp = (xi - x0) / (x1 - x0) * axes_width_pt
        room = max(xp, axes_width_pt - xp) - 2
        if len(text) * per_char > room:
            text = text[: max(1, int(room / per_char) - 1)].rstrip() + "…"
        w = len(text) * per_char + 2
        if xp + w <= axes_width_pt:
            aligns.append("left")
            lefts.append(xp)
        else:
            aligns.append("right")
            lefts.append(xp - w)
        widths.append(w)
        texts.append(text)
    rows_in = stack_rows([left + w / 2 for left, w in zip(lefts, widths, strict=True)], widths,
                         gap=2.0)
    return rows_in, aligns, texts


def draw_event_labels(
    ax: Axes, x: np.ndarray, labels: Sequence[str], *, axes_width_pt: float,
    offset_pt: float, fontsize: float = 5.5,
) -> int:
    """Event labels above the axes, ``offset_pt`` over its top edge, in stacked rows.

    Returns the number of rows used.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> ax.set_xlim(0, 10)
    (0.0, 10.0)
    >>> draw_event_labels(ax, np.array([2.0]), ["Surgery"], axes_width_pt=200, offset_pt=3)
    1
    """
    if len(x) == 0:
        return 0
    rows, aligns, texts = event_label_rows(x, labels, ax.get_xlim(), axes_width_pt, fontsize)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for xi, text, row, ha in zip(x, texts, rows, aligns, strict=True):
        ax.annotate(
            text, xy=(xi, 1.0), xycoords=trans,
            xytext=(1.5 if ha == "left" else -1.5, offset_pt + row * (fontsize + 1.5)),
            textcoords="offset points", ha=ha, va="bottom", fontsize=fontsize,
            color=EVENT_COLOR, annotation_clip=False, gid="event-label",
            # a thin leader from the line's top to the label's near corner; lower rows are
            # drawn later on a white ground, so a leader never runs through a label
            arrowprops=dict(arrowstyle="-", color=EVENT_COLOR, lw=0.5, shrinkA=0, shrinkB=0,
                            relpos=(0.0, 0.0) if ha == "left" else (1.0, 0.0)),
            bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none"),
            zorder=6.0 - 0.01 * row,
        )
    return max(rows) + 1


def event_handle() -> Line2D:
    """Legend entry of the event lines.

    Examples
    --------
    >>> event_handle().get_label()
    'Event'
    """
    return Line2D([], [], color=EVENT_COLOR, lw=0.9, ls=_EVENT_LS, label="Event")


def title_and_legend(
    fig: Figure, ax: Axes, title: str | None, handles: Sequence, *, own: bool, ncol: int,
    handlelength: float, axes_handlelength: float | None = None,
) -> None:
    """Axes title (when given) and the legend of ``handles``, if there are any.

    On a figure of its own (``own``) the legend sits below the axes, centred,
    in ``ncol`` columns; in a caller's axes it goes where it fits best
    (``axes_handlelength`` there, default the style's).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> ax = fig.add_subplot()
    >>> title_and_legend(fig, ax, "Cohort", [event_handle()], own=False, ncol=2, handlelength=1.0)
    >>> ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('Cohort', ['Event'])
    """
    if title:
        ax.set_title(title)
    if not handles:
        return
    if own:
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol, handlelength=handlelength)
    else:
        ax.legend(handles=handles, loc="best", handlelength=axes_handlelength)


def pad_time(x0: float, x1: float, time: str) -> tuple[float, float]:
    """The time range ``x0``..``x1`` with a margin: 3 % of it, at least 0.2 months or 5 days.

    Examples
    --------
    >>> pad_time(0.0, 100.0, "days")
    (-5.0, 105.0)
    """
    pad = max(0.03 * (x1 - x0), 0.2 if time == "months" else 5.0)
    return float(x0 - pad), float(x1 + pad)


def time_locator(ax: Axes, span: float, time: str) -> None:
    """Ticks of a time axis ``span`` long: whole months in steps of 1 to 12, or days.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> time_locator(ax, 18.0, "months")
    >>> type(ax.xaxis.get_major_locator()).__name__
    'MultipleLocator'
    """
    if time == "months":
        step = 1 if span <= 5 else 2 if span <= 12 else 3 if span <= 24 else 6 if span <= 60 else 12
        ax.xaxis.set_major_locator(MultipleLocator(step))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))


def time_axis(ax: Axes, x0: float, x1: float, time: str) -> None:
    """A time axis over the data's ``x0``..``x1``: padded limits, ticks and label.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> time_axis(ax, 0.0, 100.0, "days")
    >>> [float(v) for v in ax.get_xlim()], ax.get_xlabel()
    ([-5.0, 105.0], 'Days since first dose')
    """
    ax.set_xlim(*pad_time(x0, x1, time))
    time_locator(ax, x1 - x0, time)
    ax.set_xlabel(time_label(time))
