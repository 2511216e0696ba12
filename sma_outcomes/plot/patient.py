"""Per-patient trajectories: one patient (:func:`plot_patient`) or many as
small multiples (:func:`plot_patients`).

Examples
--------
>>> from sma_outcomes.plot.patient import plot_patient, plot_patients
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .._shared import check_choice, require_columns
from ..exceptions import DataError
from ..registry import SCALES
from ..schema import ANALYSED, DAY, MEASURE, MISSING_CODE, PATIENT, SCORE
from . import _data as D
from ._draw import (
    draw_band,
    draw_dose_lines,
    draw_dose_markers,
    draw_event_labels,
    draw_event_lines,
    draw_scores,
    event_handle,
    event_label_rows,
    legend_handles,
    measure_color,
    number_rows,
    pad_time,
    shade_loading,
    time_locator,
)
from .style import DOUBLE_COLUMN, SINGLE_COLUMN, finish, house_style, new_figure, wrap_label

__all__ = ["plot_patient", "plot_patients"]

_REQUIRED = (PATIENT, DAY, MEASURE, SCORE)


# ---------------------------------------------------------------------------
# data preparation


def _prepare(data: pd.DataFrame, measures: Sequence[str] | str | None) -> tuple[pd.DataFrame, list[str]]:
    require_columns(data, _REQUIRED, func="plot_patient")
    if isinstance(measures, str):
        measures = [measures]
    measures = list(measures) if measures is not None else D.default_measures(data)
    present = set(data[MEASURE].astype(str))
    absent = [m for m in measures if m not in present]
    if absent:
        raise DataError(
            f"measure(s) {', '.join(absent)} not in the table; measures present: "
            f"{', '.join(sorted(present))}"
        )
    rows = data[data[MEASURE].isin(measures)]
    return rows, measures


def _patient_doses(doses: pd.DataFrame | None, pid: str) -> pd.DataFrame | None:
    if doses is None:
        return None
    return doses[doses[PATIENT] == pid]


def _x_range(days: np.ndarray, time: str) -> tuple[float, float]:
    days = days[np.isfinite(days)]
    if len(days) == 0:
        return (-1.0, 1.0)
    lo, hi = float(min(days.min(), 0.0)), float(days.max())
    x0, x1 = D.to_time(np.array([lo, hi]), time)
    return pad_time(x0, x1, time)


def _y_limits(measure: str, values: np.ndarray, baseline: float, thr: float | None) -> tuple[float, float]:
    smin, smax = D.scale_limits(measure)
    vals = [v for v in values if np.isfinite(v)]
    if np.isfinite(baseline):
        vals.append(baseline)
        if thr:
            vals += [baseline - thr, baseline + thr]
    if not vals:
        lo, hi = (smin, smax) if np.isfinite(smin) and np.isfinite(smax) else (0.0, 1.0)
        return lo, hi
    lo, hi = min(vals), max(vals)
    span = hi - lo
    pad = max(0.12 * span, 1.0 if span == 0 else 0.0)
    rng = (smax - smin) if np.isfinite(smax - smin) else max(span, 1.0)
    lo = max(lo - pad, smin - 0.03 * rng)
    hi = min(hi + pad, smax + 0.03 * rng)
    return float(lo), float(hi)


def _draw_measure(
    ax: Axes,
    rows: pd.DataFrame,
    measure: str,
    pdoses: pd.DataFrame | None,
    *,
    time: str,
    threshold: float | dict | None,
    show_missing: bool,
    codes: bool,
    xlim: tuple[float, float],
    dose_numbers: bool | None,
    axes_width_pt: float,
    markersize: float = 3.5,
    lw: float = 1.2,
    set_x: bool = True,
) -> dict:
    """Draw one patient's measure on ``ax``; returns what the legend needs.

    ``set_x=False`` leaves the x limits alone: in a grid with a shared x axis
    the first panel sets them for all (each call would update every panel).
    """
    rows = rows.sort_values(DAY, kind="mergesort")
    x = D.to_time(rows[DAY].to_numpy(float), time)
    y = rows[SCORE].to_numpy(float)
    color = measure_color(measure)
    thr = D.resolve_threshold(measure, threshold)
    base = D.patient_baseline(rows) if len(rows) else float("nan")
    draw_band(ax, base, thr, D.scale_limits(measure), color)
    analysed = rows[ANALYSED].fillna(False).to_numpy(bool) if ANALYSED in rows else None
    code_vals = rows[MISSING_CODE].fillna("").astype(str).to_numpy() if (codes and MISSING_CODE in rows) else None
    draw_scores(
        ax, x, y, color, analysed=analysed, codes=code_vals, show_missing=show_missing,
        markersize=markersize, lw=lw,
    )
    if set_x:
        ax.set_xlim(*xlim)
    ax.set_ylim(*_y_limits(measure, y, base, thr))
    scale = SCALES.get(measure)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=bool(scale and scale.integer)))
    phases: list[str] = []
    if pdoses is not None and len(pdoses):
        dx = D.to_time(pdoses[DAY].to_numpy(float), time)
        keep = (dx >= xlim[0]) & (dx <= xlim[1])
        dx = dx[keep]
        phases = list(pdoses["phase"].to_numpy()[keep])
        draw_dose_lines(ax, dx)
        shade_loading(ax, dx, phases)
        if dose_numbers is not None:
            nums = pdoses["dose_number"].to_numpy()[keep] if dose_numbers else None
            draw_dose_markers(ax, dx, phases, nums, axes_width_pt=axes_width_pt)
    return {
        "color": color,
        "band": bool(thr) and np.isfinite(base),
        "phases": phases,
        "loading_shade": sum(p == "loading" for p in phases) >= 2,
        "missing": show_missing and bool(np.isnan(y).any()),
        "not_analysed": analysed is not None and not bool(np.all(analysed[np.isfinite(y)])),
    }


def _merge_legend(infos: list[dict]) -> dict:
    phases = [p for info in infos for p in info["phases"]]
    order = [p for p in ("loading", "maintenance", "") if p in phases]
    return {
        "band": any(i["band"] for i in infos),
        "phases": order,
        "loading_shade": any(i["loading_shade"] for i in infos),
        "missing": any(i["missing"] for i in infos),
        "not_analysed": any(i["not_analysed"] for i in infos),
    }


def _event_offset(ax: Axes, pdoses: pd.DataFrame | None) -> float:
    """Points above the axes where event labels start: over the dose numbers."""
    numbers = [a for a in ax.texts if a.get_gid() == "dose-number"]
    if not numbers:
        return 4.0
    return 4.0 + max(a.xyann[1] for a in numbers) + 1.5


def _title(rows: pd.DataFrame, pid: str) -> str:
    bits = [f"Patient {pid}"]
    if "sma_type" in rows.columns:
        types = rows["sma_type"].dropna().astype(str).unique()
        if len(types) == 1:
            t = types[0]
            bits.append(t if t.lower().startswith("sma") or t.lower().startswith("type") else f"SMA type {t}")
    return " · ".join(bits)


# ---------------------------------------------------------------------------
# one patient


def plot_patient(
    data: pd.DataFrame,
    *,
    patient_id: str,
    measures: Sequence[str] | str | None = None,
    time: str = "months",
    doses: pd.DataFrame | None = None,
    schedule: str | None = "nusinersen",
    threshold: float | dict | None = None,
    show_missing: bool = True,
    legend: bool | None = None,
    title: str | None = None,
    width: float = SINGLE_COLUMN,
    panel_height: float = 1.3,
    ax: Axes | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """One patient's scores over treatment time, one panel per measure.

    Each panel shows the scores in time order (a missing score breaks the
    line: nothing is interpolated; a grey cross with the missing code marks the
    visit), the patient's baseline as a dashed line and around it the band of
    clinically meaningful change (baseline ± the registry's threshold), the
    dose days as faint vertical lines with numbered triangles above the top
    panel (loading filled, maintenance open) and the loading phase shaded.

    Parameters
    ----------
    data : DataFrame
        Tidy score table (columns patient_id, day, measure, score; optionally
        missing_code, baseline, analysed, sma_type).
    patient_id : str
        The patient to draw.
    measures : str or list of str, optional
        Measure codes, one panel each, in this order. Default: every total in
        the table (items left out), in registry order.
    time : {"months", "days"}
        Time axis: days since first dose, or months (day / 30.4375).
    doses : DataFrame, optional
        Dose table (patient_id, day, and optionally dose_number and phase),
        e.g. from :func:`sma_outcomes.timeline.dose_table`. When None the
        doses are derived from ``schedule`` with that function.
    schedule : str or None
        Treatment schedule used when ``doses`` is None; None draws no doses.
    threshold : float or dict, optional
        Clinically meaningful change (per measure when a dict); default the
        registry's threshold. Measures without one (Purdue) get no band.
    show_missing : bool
        Mark visits with a missing score and their missing code.
    legend : bool, optional
        Draw a legend below the panels (default: True unless ``ax`` is given).
    title : str, optional
        Figure title; default "Patient <id>" with the SMA type when known.
    width, panel_height : float
        Figure width and the height of each panel, in inches (3.5 in is a
        journal's single column).
    ax : matplotlib Axes, optional
        Draw a single measure into this axes instead of a new figure.
    events : DataFrame, optional
        Intercurrent events (columns patient_id, day, event, and optionally
        detail such as the new drug): the patient's events are drawn as
        dash-dotted lines across the panels, labelled above the top panel
        ("Treatment switch: risdiplam"). Planned doses (no ``doses``) follow
        them: after a switch the new drug's schedule, after a discontinuation
        none (:func:`~sma_outcomes.timeline.dose_table`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        Unknown patient, a requested measure not in the table, a missing column.

    Notes
    -----
    Baseline is the ``baseline`` column when the timeline added it, otherwise
    the last non-missing score on or before day 0. Assessments without a study
    day cannot be placed and are left out with a :class:`DataWarning`.
    Assessments the timeline did not choose for analysis (``analysed`` False)
    are drawn with open markers.

    Examples
    --------
    >>> import pandas as pd
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_patient, save_figure
    >>> changes = so.change_from_baseline(so.load_example("case_series"))
    >>> fig = plot_patient(changes, patient_id="GK01")
    >>> [" ".join(ax.get_ylabel().split()) for ax in fig.axes]  # doctest: +NORMALIZE_WHITESPACE
    ['HFMSE (points)', 'Purdue Pegboard, preferred hand (pins in 30 s)',
     'Purdue Pegboard, non-preferred hand (pins in 30 s)']
    >>> line = next(a for a in fig.axes[0].get_lines() if a.get_gid() == "scores")
    >>> line.get_ydata().tolist()
    [15.0, 16.0, 18.0, 20.0, 22.0, 23.0]

    Intercurrent events are labelled lines across the panels:

    >>> events = pd.DataFrame({"patient_id": ["GK01"], "day": [250],
    ...     "event": ["scoliosis surgery"]})
    >>> fig = plot_patient(changes, patient_id="GK01", measures="HFMSE", events=events)
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "event-label"]
    ['Scoliosis surgery']
    """
    check_choice("time", time, D.TIME_UNITS)
    rows, measures = _prepare(data, measures)
    pid = str(patient_id)
    rows = rows[rows[PATIENT].astype(str) == pid]
    if len(rows) == 0:
        known = D.patient_order(data[PATIENT])
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        raise DataError(f"patient {pid!r} has no scores for {', '.join(measures)}; patients: {shown}")
    rows = D.drop_unplaced(rows, f"patient {pid}")
    measures = [m for m in measures if (rows[MEASURE] == m).any()] or measures
    if doses is not None:
        doses = doses[doses[PATIENT].astype(str) == pid] if PATIENT in doses.columns else doses
    all_doses = D.resolve_doses(data[data[PATIENT].astype(str) == pid], doses, schedule, events)
    pdoses = _patient_doses(all_doses, pid)
    ev = D.resolve_events(events, "plot_patient")
    if ev is not None:
        ev = ev[ev[PATIENT] == pid]
    ev_days = ev[DAY].to_numpy(float) if ev is not None else np.empty(0)
    xlim = _x_range(np.r_[rows[DAY].to_numpy(float), ev_days], time)
    ev_x = D.to_time(ev_days, time)
    ev_labels = list(ev["label"]) if ev is not None else []
    by_measure = {m: g for m, g in rows.groupby(MEASURE, sort=False)}
    empty = rows.iloc[:0]

    if ax is not None:
        if len(measures) != 1:
            raise ValueError(f"`ax` takes a single measure; got {len(measures)}: {measures}")
        fig = ax.get_figure()
        with house_style():
            pos = ax.get_position()
            info = _draw_measure(
                ax, by_measure.get(measures[0], empty), measures[0], pdoses, time=time,
                threshold=threshold, show_missing=show_missing, codes=True, xlim=xlim,
                dose_numbers=True, axes_width_pt=pos.width * fig.get_figwidth() * 72,
            )
            ax.set_ylabel(D.axis_label(measures[0]))
            ax.set_xlabel(D.time_label(time))
            time_locator(ax, xlim[1] - xlim[0], time)
            width_pt = pos.width * fig.get_figwidth() * 72
            if len(ev_x):
                draw_event_lines(ax, ev_x)
                draw_event_labels(ax, ev_x, ev_labels, axes_width_pt=width_pt,
                                  offset_pt=_event_offset(ax, pdoses))
            if legend:
                hs = legend_handles(info["color"], **_merge_legend([info]))
                ax.legend(handles=hs + ([event_handle()] if len(ev_x) else []), loc="best")
            finish(fig, own=False)
        return fig

    legend = True if legend is None else legend
    n = len(measures)
    chars = max(12, int(panel_height * 72 / (0.58 * 7.0)))
    labels = [wrap_label(D.axis_label(m), chars) for m in measures]
    nlines = max(lab.count("\n") + 1 for lab in labels)
    left = 0.36 + 0.115 * nlines
    right = 0.12
    axw = width - left - right
    ndose_rows = 0
    if pdoses is not None and len(pdoses):
        dx = D.to_time(pdoses[DAY].to_numpy(float), time)
        keep = (dx >= xlim[0]) & (dx <= xlim[1])
        texts = [str(int(v)) for v in pdoses["dose_number"].to_numpy()[keep]]
        if texts:
            ndose_rows = max(number_rows(dx[keep], texts, xlim, axw * 72)) + 1
    # above the top panel: dose numbers, then event labels, then the title
    nev_rows = max(event_label_rows(ev_x, ev_labels, xlim, axw * 72)[0]) + 1 if len(ev_x) else 0
    ev_offset = (4.0 + 6.0 * ndose_rows + 1.5) if ndose_rows else 4.0
    dose_h = 0.06 + 0.085 * ndose_rows if ndose_rows else 0.0
    ev_h = (ev_offset + nev_rows * 7.0) / 72 + 0.02 if nev_rows else 0.0
    top = 0.3 + max(dose_h, ev_h)
    gap = 0.12
    bottom = 0.36
    ncol = 2 if width < 5 else 3
    body = top + n * panel_height + (n - 1) * gap + bottom

    with house_style():
        fig = new_figure(width, body)
        axes: list[Axes] = []
        infos = []
        for i, m in enumerate(measures):
            a = fig.add_axes((0, 0, 1, 1), sharex=axes[0] if axes else None)
            a.set_position((left / width, 0, axw / width, 1))  # width needed while drawing
            infos.append(
                _draw_measure(
                    a, by_measure.get(m, empty), m, pdoses, time=time, threshold=threshold,
                    show_missing=show_missing, codes=True, xlim=xlim,
                    dose_numbers=True if i == 0 else None, axes_width_pt=axw * 72,
                )
            )
            a.set_ylabel(labels[i])
            if len(ev_x):
                draw_event_lines(a, ev_x)
                if i == 0:
                    draw_event_labels(a, ev_x, ev_labels, axes_width_pt=axw * 72,
                                      offset_pt=ev_offset)
            if i < n - 1:
                a.tick_params(labelbottom=False)
            axes.append(a)
        axes[-1].set_xlabel(D.time_label(time))
        time_locator(axes[-1], xlim[1] - xlim[0], time)
        handles = []
        if legend:
            color = infos[0]["color"] if n == 1 else "#4D4D4D"
            handles = legend_handles(color, **_merge_legend(infos))
            if len(ev_x):
                handles.append(event_handle())
        # now that the legend's size is known, fix the figure height and positions
        leg_h = (0.135 * math.ceil(len(handles) / ncol) + 0.08) if handles else 0.0
        height = body + leg_h
        fig.set_size_inches(width, height)
        for i, a in enumerate(axes):
            y0 = height - top - (i + 1) * panel_height - i * gap
            a.set_position((left / width, y0 / height, axw / width, panel_height / height))
        fig.text(
            0.06 / width, 1 - 0.06 / height, title if title is not None else _title(rows, pid),
            ha="left", va="top", fontsize=8, fontweight="bold",
        )
        if handles:
            fig.legend(
                handles=handles, loc="lower left", ncol=ncol,
                bbox_to_anchor=(0.1 / width, 0.03 / height), handletextpad=0.5,
            )
        finish(fig)
    return fig


# ---------------------------------------------------------------------------
# small multiples


def plot_patients(
    data: pd.DataFrame,
    *,
    patient_ids: Sequence[str] | None = None,
    measures: Sequence[str] | str | None = None,
    time: str = "months",
    doses: pd.DataFrame | None = None,
    schedule: str | None = "nusinersen",
    threshold: float | dict | None = None,
    show_missing: bool = True,
    ncols: int | None = None,
    sharey: bool = True,
    legend: bool = True,
    width: float = DOUBLE_COLUMN,
    panel_height: float = 1.0,
    events: pd.DataFrame | None = None,
) -> Figure:
    """Small multiples: one panel per patient (and per measure).

    With one measure the patients fill a grid of ``ncols`` columns; with
    several, each patient is a row and each measure a column. Every panel
    shows the same elements as :func:`plot_patient` (missing scores break the
    line, baseline line and band, dose days, loading phase shaded), on a common
    time axis, and on a common y axis per measure when ``sharey``.

    Parameters
    ----------
    data : DataFrame
        Tidy score table.
    patient_ids : list of str, optional
        Patients in panel order; default all, in natural order (P2 before P10).
    measures : str or list of str, optional
        Default: every total in the table.
    time, doses, schedule, threshold, show_missing
        As in :func:`plot_patient`.
    ncols : int, optional
        Columns of the grid for a single measure (default up to 5).
    sharey : bool
        One y range per measure for all patients.
    legend : bool
        Figure legend below the panels.
    width, panel_height : float
        Figure width and the height of a panel in inches (7.2 in is a journal's
        full width).
    events : DataFrame, optional
        Intercurrent events (patient_id, day, event): a dash-dotted line in
        each of the patient's panels (labelled in :func:`plot_patient`);
        planned doses follow switches and discontinuations.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sma_outcomes as so
    >>> from sma_outcomes.plot import plot_patients
    >>> changes = so.change_from_baseline(so.load_example("case_series"))
    >>> fig = plot_patients(changes, measures=["HFMSE", "PP_PREF"], patient_ids=["GK01", "GK02"])
    >>> [ax.get_title("left") for ax in fig.axes if ax.get_visible()]
    ['GK01', 'GK01', 'GK02', 'GK02']
    >>> fig.axes[0].get_ylabel()
    'HFMSE (points)'
    """
    check_choice("time", time, D.TIME_UNITS)
    rows, measures = _prepare(data, measures)
    rows = D.drop_unplaced(rows, ", ".join(measures))
    pids = list(map(str, patient_ids)) if patient_ids is not None else D.patient_order(rows[PATIENT])
    if not pids:
        raise DataError("no patient to plot")
    rows = rows.assign(**{PATIENT: rows[PATIENT].astype(str)})
    unknown = [p for p in pids if not (rows[PATIENT] == p).any()]
    if unknown:
        raise DataError(f"no scores for patient(s) {', '.join(unknown)}")
    rows = rows[rows[PATIENT].isin(pids)]
    all_doses = D.resolve_doses(data[data[PATIENT].astype(str).isin(pids)], doses, schedule,
                                events)
    ev = D.resolve_events(events, "plot_patients")
    ev = ev[ev[PATIENT].isin(pids)] if ev is not None else None
    ev_days = ev[DAY].to_numpy(float) if ev is not None else np.empty(0)
    xlim = _x_range(np.r_[rows[DAY].to_numpy(float), ev_days], time)
    ev_by = {p: D.to_time(g[DAY].to_numpy(float), time) for p, g in ev.groupby(PATIENT)} \
        if ev is not None else {}
    groups = {k: g for k, g in rows.groupby([PATIENT, MEASURE], sort=False)}
    empty = rows.iloc[:0]

    single = len(measures) == 1
    if single:
        nc = ncols or min(len(pids), 5)
        nr = math.ceil(len(pids) / nc)
        cells = [(pid, measures[0]) for pid in pids]
    else:
        nc, nr = len(measures), len(pids)
        cells = [(pid, m) for pid in pids for m in measures]
    height = nr * panel_height + 0.55 + (0.35 if legend else 0.0)
    # y labels name measure and unit; wrapped to the panel height (6 pt characters)
    chars = max(12, int((panel_height - 0.3) * 72 / (0.55 * 6.0)))
    labels = {m: wrap_label(D.axis_label(m), chars) for m in measures}

    with house_style():
        fig = new_figure(width, height, layout="constrained")
        fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, hspace=0.03, wspace=0.03)
        grid = fig.subplots(nr, nc, sharex=True, squeeze=False)
        flat = grid.ravel()
        axw = (width / nc - 0.3) * 72
        infos = []
        ylims: dict[str, list[tuple[float, float]]] = {}
        for k, (pid, m) in enumerate(cells):
            a = flat[k]
            infos.append(
                _draw_measure(
                    a, groups.get((pid, m), empty), m, _patient_doses(all_doses, pid), time=time,
                    threshold=threshold, show_missing=show_missing, codes=False, xlim=xlim,
                    dose_numbers=False, axes_width_pt=axw, markersize=2.6, lw=1.0,
                    set_x=k == 0,
                )
            )
            if pid in ev_by:
                draw_event_lines(a, ev_by[pid])
            a.set_title(pid, fontsize=6.5, pad=6.0 if all_doses is not None else 3.0)
            if not single or k % nc == 0:  # one measure: the first panel of each row
                a.set_ylabel(labels[m], fontsize=6.0, labelpad=2.0)
            ylims.setdefault(m, []).append(a.get_ylim())
        for a in flat[len(cells):]:
            a.set_visible(False)
        if sharey:
            for k, (_pid, m) in enumerate(cells):
                flat[k].set_ylim(min(lo for lo, _ in ylims[m]), max(hi for _, hi in ylims[m]))
        # x tick labels on the lowest visible panel of each column
        for c in range(nc):
            col = [r for r in range(nr) if r * nc + c < len(cells)]
            for r in col:
                grid[r, c].tick_params(labelbottom=(r == col[-1]))
        time_locator(flat[0], xlim[1] - xlim[0], time)
        fig.supxlabel(D.time_label(time), fontsize=7)
        if legend:
            merged = _merge_legend(infos)
            color = infos[0]["color"] if single else "#4D4D4D"
            hs = legend_handles(color, **merged) + ([event_handle()] if ev_by else [])
            fig.legend(handles=hs, loc="outside upper center", ncol=4)
        finish(fig)
    return fig
