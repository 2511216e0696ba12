"""House style for every sma_outcomes figure.

The style is applied with :func:`matplotlib.rc_context` while a figure is
built and saved, so the user's global ``rcParams`` are never changed. Colours
come from the Okabe-Ito palette, which stays distinguishable for the common
forms of colour-vision deficiency.

Examples
--------
>>> from sma_outcomes.plot.style import PALETTE, house_style, new_figure
>>> PALETTE[0]
'#0072B2'
>>> with house_style():
...     fig = new_figure(3.5, 2.0)
>>> fig.get_size_inches().tolist()
[3.5, 2.0]
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from typing import Any

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "RC",
    "SINGLE_COLUMN",
    "MIN_FONT",
    "ONE_AND_HALF_COLUMN",
    "DOUBLE_COLUMN",
    "house_style",
    "new_figure",
    "color_for",
    "wrap_label",
]

#: The eight Okabe-Ito colours (Okabe & Ito 2008, "Color Universal Design").
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Order in which colours are given to lines (yellow last: too light for thin lines).
PALETTE: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)

#: Neutral tones used for context (individual patients, bands, shading).
GREY_DARK = "#4D4D4D"
GREY = "#8C8C8C"
GREY_LIGHT = "#D9D9D9"
SHADE = "#EFEFEF"

#: Common journal figure widths in inches (89 mm, 140 mm, 183 mm).
SINGLE_COLUMN = 3.5
ONE_AND_HALF_COLUMN = 5.5
DOUBLE_COLUMN = 7.2

#: Smallest text in any figure, in points at the figure's size: journals ask for
#: 5-7 pt at the printed size, and figures are drawn at a column's width.
MIN_FONT = 5.0

#: rcParams of the house style: 7 pt text legible at journal width, no top and
#: right spines, fonts embedded as TrueType/paths, fixed SVG hash salt.
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 7.0,
    "axes.titlesize": 7.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 4.0,
    "axes.labelsize": 7.0,
    "axes.labelcolor": "#222222",
    "axes.linewidth": 0.6,
    "axes.edgecolor": "#333333",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.axisbelow": True,
    "axes.grid": False,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.major.pad": 2.0,
    "ytick.major.pad": 2.0,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "patch.linewidth": 0.5,
    "legend.fontsize": 6.5,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.2,
    "legend.columnspacing": 1.2,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 300,
    "savefig.facecolor": "white",
    "savefig.bbox": None,
    "image.interpolation": "nearest",
    "svg.hashsalt": "sma_outcomes",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
if "svg.id" in mpl.rcParams:  # matplotlib >= 3.9
    RC["svg.id"] = "sma_outcomes"


@contextlib.contextmanager
def house_style(**overrides: Any) -> Iterator[None]:
    """Context in which figures are built in the house style.

    Parameters
    ----------
    **overrides
        rcParams to change on top of :data:`RC` (dots written as in matplotlib,
        passed as a dict: ``house_style(**{"font.size": 9})``).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> before = mpl.rcParams["font.size"]
    >>> with house_style():
    ...     mpl.rcParams["font.size"]
    7.0
    >>> mpl.rcParams["font.size"] == before
    True
    """
    rc = dict(RC)
    rc.update(overrides)
    with mpl.rc_context(rc):
        yield


def new_figure(width: float, height: float, *, layout: str | None = None) -> Figure:
    """A new :class:`~matplotlib.figure.Figure`, never registered with pyplot.

    Call it inside :func:`house_style` so that the figure takes the style.

    Parameters
    ----------
    width, height : float
        Size in inches.
    layout : {None, "constrained"}
        Layout engine. ``None`` leaves placement to the caller (faster).

    Examples
    --------
    >>> fig = new_figure(2, 1)
    >>> float(fig.get_figwidth())
    2.0
    """
    return Figure(figsize=(float(width), float(height)), layout=layout)


def color_for(index: int) -> str:
    """Palette colour number ``index`` (cycling).

    Examples
    --------
    >>> color_for(1) == OKABE_ITO["vermillion"]
    True
    """
    return PALETTE[index % len(PALETTE)]


def wrap_label(text: str, width: int) -> str:
    """Wrap a label at spaces, keeping the "(unit)" part on a line of its own.

    Examples
    --------
    >>> wrap_label("HFMSE (points)", 40)
    'HFMSE (points)'
    >>> print(wrap_label("Change in Purdue Pegboard, preferred hand (pins in 30 s)", 32))
    Change in Purdue Pegboard,
    preferred hand
    (pins in 30 s)
    """
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    head, sep, tail = text.partition(" (")
    lines = textwrap.wrap(head, width=max(width, 8), break_on_hyphens=False)
    if sep:
        tail = "(" + tail
        if len(lines[-1]) + 1 + len(tail) <= width:
            lines[-1] += " " + tail
        else:
            lines.append(tail)
    return "\n".join(lines)


def _fit_labels(fig: Figure, renderer) -> bool:
    """Wrap every y-axis label (and the figure's supylabel) longer than its axes.

    Returns whether a label changed (the layout must then run again).
    """
    changed = False
    labels = [(ax.yaxis.label, ax.get_window_extent(renderer).height)
              for ax in fig.axes if ax.get_visible()]
    if fig._supylabel is not None:
        labels.append((fig._supylabel, 0.92 * fig.bbox.height))
    for label, room in labels:
        text = label.get_text()
        if not text or not label.get_visible() or room <= 0:
            continue
        length = label.get_window_extent(renderer).height  # rotated: the text's length
        if length <= room:
            continue
        longest = max(len(line) for line in text.split("\n"))
        per_char = length / max(longest, 1)  # length of one character on the longest line
        wrapped = wrap_label(text, max(8, min(longest - 1, int(0.97 * room / per_char))))
        if wrapped != text:
            label.set_text(wrapped)
            changed = True
    return changed


def finish(fig: Figure, *, own: bool = True) -> None:
    """Make a figure independent of the rcParams in force when it is drawn.

    Creates the first tick of every axis (later ticks copy it) and, for a
    figure this package created (``own``), runs its constrained layout once
    now, under the house style, and keeps those positions (layout engine
    ``"none"``), so the figure looks the same when saved or shown later with
    other rcParams. Call ``fig.set_layout_engine("constrained")`` to have it
    laid out again after adding to it.

    Examples
    --------
    >>> with house_style():
    ...     fig = new_figure(2, 1, layout="constrained")
    ...     ax = fig.add_subplot()
    ...     finish(fig)
    >>> type(fig.get_layout_engine()).__name__
    'PlaceHolderLayoutEngine'
    """
    freeze_ticks(fig)
    engine = fig.get_layout_engine()
    if own and engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        engine.execute(fig)
        # a label longer than its axes would leave the canvas: wrap it, lay out again
        renderer = fig._get_renderer()
        for _ in range(3):
            if not _fit_labels(fig, renderer):
                break
            engine.execute(fig)
        fig.set_layout_engine("none")


def freeze_ticks(fig: Figure) -> None:
    """Fix every axis' tick style now, so it does not depend on the rcParams
    in force when the figure is later drawn (matplotlib creates ticks lazily,
    from rcParams, at draw time).

    Examples
    --------
    >>> with house_style():
    ...     fig = new_figure(1, 1)
    ...     ax = fig.add_subplot()
    ...     freeze_ticks(fig)
    >>> ax.xaxis.get_major_ticks()[0].label1.get_fontsize()
    6.5
    """
    keys = {"labelsize": "labelsize", "labelcolor": "label1.color", "length": "size",
            "width": "width", "pad": "pad", "color": "color"}
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            # major ticks only: minor ticks are not drawn unless a function asks for them,
            # and then it sets their style itself
            first = axis.get_major_ticks(1)[0]
            given = axis._major_tick_kw
            kw = {
                "labelsize": first.label1.get_fontsize(),
                "labelcolor": first.label1.get_color(),
                "length": mpl.rcParams[f"{name}tick.major.size"],
                "width": mpl.rcParams[f"{name}tick.major.width"],
                "pad": mpl.rcParams[f"{name}tick.major.pad"],
                "color": mpl.rcParams[f"{name}tick.color"],
            }
            kw = {k: v for k, v in kw.items() if k not in given and keys[k] not in given}
            if kw:
                axis.set_tick_params(which="major", **kw)
