"""Item-level change heatmap (patients x items) for HFMSE or RULM.

Examples
--------
>>> from sma_outcomes.plot.items import item_matrix, plot_item_heatmap
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from .._shared import check_choice, last_common_timepoint, renamed, require_columns
from ..exceptions import DataError, MeasureError
from ..registry import get_scale, items_of, plain_name, unit_label
from ..schema import ANALYSED, CHANGE, MEASURE, PATIENT, SCORE, TIMEPOINT
from . import _data as D
from .style import DOUBLE_COLUMN, MIN_FONT, finish, house_style, new_figure

__all__ = ["item_matrix", "plot_item_heatmap"]

# ColorBrewer RdBu classes (colour-blind safe): red = loss, blue = gain, white = no change
_DIVERGING = {
    1: ("#EF8A62", "#FFFFFF", "#67A9CF"),
    2: ("#CA0020", "#F4A582", "#FFFFFF", "#92C5DE", "#0571B0"),
    3: ("#B2182B", "#EF8A62", "#FDDBC7", "#FFFFFF", "#D1E5F0", "#67A9CF", "#2166AC"),
}
_SEQUENTIAL = ("#FFFFFF", "#C6DBEF", "#6BAED6", "#2171B5", "#08306B")
_MISSING = "#BDBDBD"


@renamed(scale="measure")
def item_matrix(
    data: pd.DataFrame,
    *,
    measure: str,
    timepoint: str | None = None,
    y: str = "change",
    patient_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Patients x items table of an item-level value at one timepoint.

    Parameters
    ----------
    data : DataFrame
        Tidy table with item-level measures (HFMSE_01..HFMSE_33, RULM_B..RULM_T)
        and, for ``y="change"``, the columns of :func:`change_from_baseline`.
    measure : {"HFMSE", "RULM"}
        The total whose items are wanted (``scale=`` is its deprecated name).
    timepoint : str, optional
        Nominal timepoint; default the last one at which at least half of the
        patients have an item change.
    y : {"change", "score"}
        Value in the cells.
    patient_ids : list of str, optional
        Rows, in this order (default every patient with an item, natural order).

    Returns
    -------
    DataFrame
        Index patient ids, one column per item code (in the scale's order; NaN
        where an item was not scored).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": ["a", "a"], "measure": ["RULM_B", "RULM_C"],
    ...     "timepoint": "Month 6", "change": [1.0, -1.0]})
    >>> m = item_matrix(df, measure="RULM", timepoint="Month 6")
    >>> m.loc["a", ["RULM_B", "RULM_C", "RULM_D"]].tolist()
    [1.0, -1.0, nan]
    """
    check_choice("y", y, (CHANGE, SCORE))
    scale = measure
    items = list(items_of(get_scale(scale).code))
    if not items:
        raise MeasureError(f"`measure`: {scale} has no items; use a total with items such as "
                           "HFMSE or RULM")
    hint = "run sma_outcomes.change_from_baseline(data) first" if y == CHANGE else ""
    require_columns(data, [PATIENT, MEASURE, TIMEPOINT, y], func="plot_item_heatmap", hint=hint)
    rows = data[data[MEASURE].isin(items)]
    if len(rows) == 0:
        raise DataError(
            f"the table has no {scale} item scores ({items[0]}..{items[-1]}); the item "
            "heatmap needs item-level data"
        )
    if timepoint is None:
        timepoint = last_common_timepoint(rows, func="item_matrix")
    rows = rows[rows[TIMEPOINT].astype(object) == timepoint]
    if ANALYSED in rows.columns:
        rows = rows[rows[ANALYSED].fillna(False).astype(bool)]
    if len(rows) == 0:
        raise DataError(f"no analysed {scale} item scores at timepoint {timepoint!r}")
    rows = rows.assign(**{PATIENT: rows[PATIENT].astype(str)})
    if rows.duplicated([PATIENT, MEASURE]).any():
        raise DataError(f"several analysed rows per patient and item at {timepoint!r}")
    mat = rows.pivot(index=PATIENT, columns=MEASURE, values=y).reindex(columns=items)
    order = [str(p) for p in patient_ids] if patient_ids is not None else D.patient_order(mat.index)
    mat = mat.reindex(order).astype(float)
    mat.columns.name = None
    return mat


@renamed(scale="measure")
def plot_item_heatmap(
    data: pd.DataFrame,
    *,
    measure: str,
    timepoint: str | None = None,
    y: str = "change",
    patient_ids: Sequence[str] | None = None,
    annotate: bool | None = None,
    title: str | None = None,
    width: float | None = None,
    height: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Heatmap of item-level change (patients x items) at a timepoint.

    Gains are blue, losses red, no change white, items not scored grey
    (ColorBrewer RdBu, safe for colour-vision deficiency). Columns are the
    scale's items in order (HFMSE 1..33, RULM B..T); the colour bar and
    labels come from the registry.

    Parameters
    ----------
    data : DataFrame
        Tidy table with item-level measures (see :func:`item_matrix`).
    measure : {"HFMSE", "RULM"}
        The total whose items are drawn. ``scale=`` still works, with a
        ``FutureWarning``: it is the deprecated name of ``measure=``.
    timepoint : str, optional
        Nominal timepoint, e.g. ``"Month 18"``; default the last one at which
        at least half of the patients have an item change.
    y : {"change", "score"}
        Change from baseline (diverging colours) or the item score itself.
    patient_ids : list of str, optional
        Rows in this order.
    annotate : bool, optional
        Write non-zero values in the cells (default when there are at most
        40 patients).
    title : str, optional
        Axes title.
    width, height : float, optional
        Figure size in inches (default grows with items and patients).
    ax : matplotlib Axes, optional
        Axes to draw into (no colour bar is added then).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_item_heatmap
    >>> changes = so.change_from_baseline(so.load_example("clinic_export"))  # item-level HFMSE
    >>> fig = plot_item_heatmap(changes, measure="HFMSE")
    >>> fig.axes[0].get_title("left")
    'HFMSE items at Month 10'
    >>> fig.axes[0].images[0].get_array().shape
    (3, 33)
    """
    item_rows = data[data[MEASURE].isin(items_of(get_scale(measure).code))]
    if timepoint is None and len(item_rows):
        timepoint = last_common_timepoint(item_rows, func="plot_item_heatmap")
    mat = item_matrix(data, measure=measure, timepoint=timepoint, y=y, patient_ids=patient_ids)
    sc = get_scale(measure)
    item_scales = [get_scale(c) for c in mat.columns]
    top = max(s.maximum for s in item_scales)
    if y == CHANGE:
        k = int(np.ceil(top))
        k = min(max(k, 1), 3)
        colors = list(_DIVERGING[k])
        bounds = np.arange(-k - 0.5, k + 1.0, 1.0)
        label = f"Change in item score ({unit_label(sc.code)})"
    else:
        k = min(max(int(np.ceil(top)), 1), 4)
        colors = list(_SEQUENTIAL[: k + 1])
        bounds = np.arange(-0.5, k + 1.0, 1.0)
        label = f"Item score ({unit_label(sc.code)})"
    cmap = ListedColormap(colors).with_extremes(bad=_MISSING)
    norm = BoundaryNorm(bounds, cmap.N)
    npat, nit = mat.shape
    short = [c.split("_", 1)[1].lstrip("0") for c in mat.columns]
    with house_style():
        own = ax is None
        if own:
            w = width or float(np.clip(1.3 + 0.16 * nit, 3.5, DOUBLE_COLUMN))
            h = height or float(max(1.8, 1.0 + 0.15 * npat))
            fig = new_figure(w, h, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        values = np.ma.masked_invalid(mat.to_numpy(float))
        im = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        im.set_gid("items")
        ax.set_xticks(np.arange(nit), short, fontsize=5.5 if nit > 20 else 6.5)
        ax.set_yticks(np.arange(npat), list(mat.index),
                      fontsize=float(min(6.5, max(MIN_FONT, 0.8 * (ax.get_position().height * fig.get_figheight() * 72) / max(npat, 1)))))
        ax.tick_params(length=0)
        ax.set_xticks(np.arange(nit + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(npat + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="#E6E6E6", lw=0.5)
        ax.tick_params(which="minor", length=0)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(f"{plain_name(sc.code)} item")
        ax.set_ylabel("Patient")
        ax.set_title(title if title is not None else f"{plain_name(sc.code)} items at {timepoint}")
        show = annotate if annotate is not None else npat <= 40
        if show:
            for (i, j), v in np.ndenumerate(mat.to_numpy(float)):
                if np.isfinite(v) and (v != 0 or y == SCORE):
                    txt = f"{v:+g}" if y == CHANGE else f"{v:g}"
                    dark = abs(v) >= 2 if y == CHANGE else v >= 2
                    ax.text(j, i, txt.replace("-", "\u2212"), ha="center", va="center", fontsize=MIN_FONT,
                            color="white" if dark else "#222222", gid="item-value")
        if own:
            cb = fig.colorbar(im, ax=ax, shrink=min(1.0, 1.6 / max(fig.get_figheight() - 0.6, 0.5)),
                              aspect=15, pad=0.02, ticks=np.arange(bounds[0] + 0.5, bounds[-1]))
            cb.set_label(label, fontsize=6.5)
            cb.ax.tick_params(labelsize=6, length=2)
            cb.outline.set_visible(False)
            if np.isnan(mat.to_numpy(float)).any():
                cb.ax.text(0.5, -0.04, "grey: not\nscored", transform=cb.ax.transAxes,
                           ha="center", va="top", fontsize=5.5, color="#555555")
        finish(fig, own=own)
    return fig
