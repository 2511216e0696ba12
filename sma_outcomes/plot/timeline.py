"""Swimmer plot: doses and assessments per patient on one time axis.

Examples
--------
>>> from sma_outcomes.plot.timeline import plot_timeline
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .._shared import check_choice, natural_key, require_columns
from ..exceptions import DataError
from ..load.events import event_code
from ..schema import DAY, MEASURE, PATIENT, SCORE
from . import _data as D
from ._draw import dose_label, time_axis, title_and_legend
from .style import (
    GREY,
    GREY_DARK,
    GREY_LIGHT,
    MIN_FONT,
    OKABE_ITO,
    SINGLE_COLUMN,
    finish,
    house_style,
    new_figure,
)

__all__ = ["plot_timeline", "assessment_table", "event_styles", "EVENT_STYLES"]

_DONE = OKABE_ITO["blue"]
_OI = OKABE_ITO
#: Colour and marker of each event type of :data:`~sma_outcomes.load.events.EVENT_TYPES`:
#: every type has its own marker shape (blue, circles, crosses and triangles pointing
#: down belong to assessments and doses), and related events share a colour.
EVENT_STYLES: dict[str, tuple[str, str]] = {
    "scoliosis_surgery": (_OI["vermillion"], "D"),
    "spinal_fusion": (_OI["vermillion"], "s"),
    "ventilation_start": (_OI["sky_blue"], "^"),
    "feeding_tube": (_OI["bluish_green"], "p"),
    "treatment_switch": (_OI["reddish_purple"], ">"),
    "add_on": (_OI["reddish_purple"], "P"),
    "regimen_change": (_OI["reddish_purple"], "d"),
    "discontinuation": (_OI["black"], "h"),
    "loss_of_ambulation": (_OI["orange"], "*"),
    "death": (_OI["black"], "X"),
    "other": (_OI["orange"], "<"),
}
#: Styles for event kinds outside the vocabulary, in order of first appearance.
_EXTRA_STYLES = tuple((c, m) for m in ("H", "8", "1", "2") for c in (
    _OI["vermillion"], _OI["sky_blue"], _OI["bluish_green"], _OI["reddish_purple"],
    _OI["orange"], _OI["black"]))
_SIZE = {"*": 5.0, "P": 4.0, "X": 4.0, "p": 3.9, "h": 3.8}


def event_styles(events: Sequence[object]) -> dict[str, tuple[str, str, str]]:
    """Label -> (colour, marker, event code) of each kind of event, in vocabulary order.

    Kinds outside the vocabulary follow, in order of first appearance, with
    markers of their own.

    Examples
    --------
    >>> event_styles(["death", "Scoliosis surgery", "hip surgery"])
    {'Scoliosis surgery': ('#D55E00', 'D', 'scoliosis_surgery'), 'Death': ('#000000', 'X', 'death'), 'Hip surgery': ('#D55E00', 'H', 'hip surgery')}
    """
    codes = {}
    for e in events:
        code = event_code(str(e)) or str(e)
        codes.setdefault(code, D.event_label(e))
    out: dict[str, tuple[str, str, str]] = {}
    for code in EVENT_STYLES:
        if code in codes:
            out[codes[code]] = (*EVENT_STYLES[code], code)
    extra = [c for c in codes if c not in EVENT_STYLES]
    for k, code in enumerate(extra):
        out[codes[code]] = (*_EXTRA_STYLES[k % len(_EXTRA_STYLES)], code)
    return out


def assessment_table(data: pd.DataFrame, measures: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per patient x assessment day: how many measures were scored.

    Returns
    -------
    DataFrame
        ``patient_id, day, n_measures, n_scored, status`` with status
        ``"complete"`` (every measure scored), ``"partial"`` or ``"missing"``
        (none scored).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": "a", "day": [0.0, 0, 90, 90],
    ...     "measure": ["HFMSE", "PP_PREF"] * 2, "score": [1.0, 2, float("nan"), float("nan")]})
    >>> assessment_table(df)["status"].tolist()
    ['complete', 'missing']
    """
    require_columns(data, [PATIENT, DAY, MEASURE, SCORE], func="plot_timeline")
    rows = data if measures is None else data[data[MEASURE].isin(list(measures))]
    rows = rows[rows[DAY].notna()]
    g = rows.assign(
        **{PATIENT: rows[PATIENT].astype(str), "_ok": rows[SCORE].notna()}
    ).groupby([PATIENT, DAY], sort=True)
    out = g.agg(n_measures=(MEASURE, "nunique"), n_scored=("_ok", "sum")).reset_index()
    out["n_scored"] = out["n_scored"].astype(int)
    out["status"] = np.where(
        out["n_scored"] == 0, "missing",
        np.where(out["n_scored"] >= g.size().to_numpy(), "complete", "partial"),
    )
    return out


def plot_timeline(
    data: pd.DataFrame,
    *,
    doses: pd.DataFrame | None = None,
    schedule: str | None = "nusinersen",
    measures: Sequence[str] | None = None,
    patient_ids: Sequence[str] | None = None,
    time: str = "months",
    sort: str = "follow-up",
    legend: bool = True,
    title: str | None = None,
    width: float = SINGLE_COLUMN,
    height: float | None = None,
    ax: Axes | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """Swimmer plot: each patient's follow-up, doses and assessments.

    One row per patient: a bar from the first event (dose or assessment) to
    the last, dose days as triangles (loading filled, maintenance open) and
    assessment days as circles: filled when every measure was scored, open
    when some were missing, a cross when none was.

    Parameters
    ----------
    data : DataFrame
        Tidy score table.
    doses : DataFrame, optional
        Dose table (patient_id, day, phase); default from ``schedule`` with
        :func:`sma_outcomes.timeline.dose_table`.
    schedule : str or None
        Schedule used when ``doses`` is None; None draws assessments only.
    measures : list of str, optional
        Measures that count as assessments (default all).
    patient_ids : list of str, optional
        Patients to show (default all).
    time : {"months", "days"}
        Time axis unit.
    sort : {"follow-up", "id"}
        Longest follow-up on top, or patient ids in natural order.
    legend : bool
        Draw a legend.
    title : str, optional
        Axes title.
    width, height : float, optional
        Figure size in inches; the height grows with the number of patients.
    ax : matplotlib Axes, optional
        Axes to draw into.
    events : DataFrame, optional
        Intercurrent events (patient_id, day, event, optionally detail): a
        marker on the patient's row per event, one colour and marker shape
        (:data:`EVENT_STYLES`: a shape of its own for every event type) and
        one legend entry per kind of event ("Scoliosis surgery", "Treatment
        switch", ...).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_timeline
    >>> scores = so.load_example("case_series")
    >>> events = pd.DataFrame({"patient_id": ["GK03"], "day": [100], "event": ["spinal fusion"]})
    >>> fig = plot_timeline(scores, events=events, sort="id")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['GK01', 'GK02', 'GK03', 'GK04', 'GK05']
    >>> [h.get_label() for h in fig.legends[0].legend_handles][-1]
    'Spinal fusion'
    """
    check_choice("time", time, D.TIME_UNITS)
    check_choice("sort", sort, ("follow-up", "id"))
    visits = assessment_table(data, measures)
    dose_tab = D.resolve_doses(data, doses, schedule, events)
    pids = (
        [str(p) for p in patient_ids]
        if patient_ids is not None
        else D.patient_order(list(visits[PATIENT]) + ([] if dose_tab is None else list(dose_tab[PATIENT])))
    )
    if not pids:
        raise DataError("no patient with a dated assessment or dose to draw")
    visits = visits[visits[PATIENT].isin(pids)]
    ev = D.resolve_events(events, "plot_timeline")
    if ev is not None:
        ev = ev[ev[PATIENT].isin(pids)]
    if dose_tab is not None:
        dose_tab = dose_tab[dose_tab[PATIENT].isin(pids)]
    spans = pd.concat([visits[[PATIENT, DAY]], dose_tab[[PATIENT, DAY]] if dose_tab is not None else None,
                       ev[[PATIENT, DAY]] if ev is not None else None])
    span = spans.groupby(PATIENT)[DAY].agg(["min", "max"]).reindex(pids)
    if sort == "follow-up":
        length = (span["max"] - span["min"]).fillna(-1)
        pids = sorted(pids, key=lambda p: (-length[p], natural_key(p)))
    row = {p: i for i, p in enumerate(pids)}
    n = len(pids)
    with house_style():
        own = ax is None
        if own:
            h = height or float(max(1.6, 0.75 + 0.15 * n))
            fig = new_figure(width, h, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
            h = ax.get_position().height * fig.get_figheight()
        segs = [
            [(D.to_time(span.loc[p, "min"], time), row[p]), (D.to_time(span.loc[p, "max"], time), row[p])]
            for p in pids if np.isfinite(span.loc[p, "min"])
        ]
        ax.add_collection(LineCollection(segs, colors=GREY_LIGHT, linewidths=3.2, capstyle="round",
                                         zorder=1, gid="follow-up"))
        handles = []
        if dose_tab is not None and len(dose_tab):
            dx = D.to_time(dose_tab[DAY].to_numpy(float), time)
            dy = dose_tab[PATIENT].map(row).to_numpy(float) - 0.3
            faces = np.where(dose_tab["phase"].to_numpy() == "maintenance", "white", GREY_DARK)
            ax.scatter(dx, dy, s=11, marker="v", c=list(faces), edgecolors=GREY_DARK,
                       linewidths=0.5, zorder=3, gid="doses")
            for phase in [p for p in ("loading", "maintenance", "") if p in set(dose_tab["phase"])]:
                handles.append(Line2D([], [], ls="none", marker="v", ms=4,
                                      mfc="white" if phase == "maintenance" else GREY_DARK,
                                      mec=GREY_DARK, mew=0.5, label=dose_label(phase)))
        vx = D.to_time(visits[DAY].to_numpy(float), time)
        vy = visits[PATIENT].map(row).to_numpy(float)
        status = visits["status"].to_numpy()
        styles = {
            "complete": dict(marker="o", mfc=_DONE, mec=_DONE, label="Assessed"),
            "partial": dict(marker="o", mfc="white", mec=_DONE, label="Partly assessed"),
            "missing": dict(marker="x", mfc=GREY, mec=GREY, label="Not done"),
        }
        for key, st in styles.items():
            sel = status == key
            if sel.any():
                ax.plot(vx[sel], vy[sel], ls="none", ms=3.2, mew=0.8, zorder=4,
                        gid=f"assessments-{key}", **{k: v for k, v in st.items() if k != "label"})
                handles.append(Line2D([], [], ls="none", ms=3.2, mew=0.8, **st))
        if ev is not None and len(ev):
            styles_ev = event_styles(list(ev["event"]))
            code_of = np.array([event_code(str(e)) or str(e) for e in ev["event"]], dtype=object)
            ex = D.to_time(ev[DAY].to_numpy(float), time)
            ey = ev[PATIENT].map(row).to_numpy(float) + 0.28
            for kind, (color, marker, code) in styles_ev.items():
                sel = code_of == code
                ms = _SIZE.get(marker, 3.4)
                mew = 1.0 if marker in ("1", "2") else 0.4
                mec = color if marker in ("1", "2") else "white"
                ax.plot(ex[sel], ey[sel], ls="none", marker=marker, ms=ms, mfc=color, mec=mec,
                        mew=mew, zorder=5, gid="events", label=kind)
                handles.append(Line2D([], [], ls="none", marker=marker, ms=ms, mfc=color,
                                      mec=mec, mew=mew, label=kind))
        ax.set_ylim(n - 0.4, -0.7)
        ax.set_yticks(np.arange(n), pids)
        row_pt = (h - 0.7) * 72 / max(n, 1)
        ax.tick_params(axis="y", length=0, labelsize=float(min(6.5, max(MIN_FONT, 0.8 * row_pt))))
        ax.spines["left"].set_visible(False)
        allx = D.to_time(spans[DAY].to_numpy(float), time)
        x0, x1 = float(np.nanmin(allx)), float(np.nanmax(allx))
        time_axis(ax, x0, x1, time)
        ax.axvline(0, color=GREY, lw=0.5, ls=(0, (2, 2)), zorder=0.5)
        title_and_legend(fig, ax, title, handles if legend else [], own=own, ncol=3,
                         handlelength=1.0)
        finish(fig, own=own)
    return fig
