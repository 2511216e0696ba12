"""Sensitivity-analysis figures: pooled multiple-imputation estimates and the tipping point.

:func:`plot_mi` draws the pooled table of :class:`~sma_outcomes.stats.mi.MIResult`
(LS means per arm and visit, and the treatment differences, with their
confidence intervals); :func:`plot_tipping_point` draws a
:class:`~sma_outcomes.stats.mi.TippingPoint`: the estimate and its interval
against the shift (delta) added to the imputed values, the line of no effect,
and the delta at which the conclusion changes. ``MIResult.plot()`` and
``TippingPoint.plot()`` call them.

Examples
--------
>>> from sma_outcomes.plot.sensitivity import plot_mi, plot_tipping_point, outcome_label
>>> outcome_label("HFMSE", "change")
'Change in HFMSE (points)'
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .._shared import check_choice
from ..exceptions import OptionError
from ..registry import SCALES, axis_label, plain_name, unit_label
from ..stats.mi import MIResult, TippingPoint
from .style import (
    GREY,
    GREY_DARK,
    OKABE_ITO,
    ONE_AND_HALF_COLUMN,
    SINGLE_COLUMN,
    color_for,
    finish,
    house_style,
    new_figure,
    wrap_label,
)

__all__ = ["plot_mi", "plot_tipping_point", "outcome_label"]

_SHORT = {"condmean": "conditional mean imputation", "bootstrap": "bootstrap multiple imputation",
          "bayes": "Bayesian multiple imputation"}


def outcome_label(measure: str | None, y: str = "change") -> str:
    """Axis label of an analysed outcome: measure and unit when the measure is known.

    Examples
    --------
    >>> outcome_label("PP_PREF", "score")
    'Purdue Pegboard, preferred hand (pins in 30 s)'
    >>> outcome_label(None, "CHANGE"), outcome_label("HFMSE", "pct_change")
    ('CHANGE', 'Change in HFMSE (% of baseline)')
    """
    if measure is None or measure not in SCALES:
        return str(y) if measure is None else f"{measure}: {y}"
    if y == "score":
        return axis_label(measure)
    if y == "pct_change":
        return axis_label(measure, percent=True)
    if y == "change":
        return axis_label(measure, change=True)
    return f"{plain_name(measure)}: {y}"


def _unit(measure: str | None, y: str) -> str:
    if measure is None or measure not in SCALES:
        return ""
    return "% of baseline" if y == "pct_change" else unit_label(measure)


def _visit_name(visit: str) -> str:
    return "Visit" if visit.lower() in ("visit", "timepoint", "avisit") else visit


def _draw_ci(ax: Axes, x: np.ndarray, t: pd.DataFrame, color: str, name: str,
             label: str | None) -> None:
    """Estimates (markers joined by a line, gid ``estimate:<name>``) and their intervals
    (a LineCollection, gid ``ci:<name>``)."""
    segs = [[(xx, lo), (xx, hi)] for xx, lo, hi in
            zip(x, t["ci_low"], t["ci_high"], strict=True)]
    ax.add_collection(LineCollection(segs, colors=color, linewidths=1.0, gid=f"ci:{name}"))
    ax.plot(x, t["estimate"].to_numpy(float), marker="o", color=color, lw=1.0, ms=3.5,
            label=label, gid=f"estimate:{name}")


def plot_mi(
    result: MIResult,
    *,
    kind: str | None = None,
    title: str | None = None,
    width: float | None = None,
    height: float = 2.6,
    ax: Axes | None = None,
) -> Figure:
    """Pooled estimates per visit with confidence intervals, from :func:`~sma_outcomes.fit_mi`.

    The left panel shows the pooled LS mean of each arm at each visit (one
    colour per arm, arms side by side), the right panel the treatment
    differences (each arm minus the first) with the line of no difference.
    The y axes name the measure and its unit when the fit knows the measure.

    Parameters
    ----------
    result : MIResult
        A fitted multiple imputation.
    kind : {"lsmean", "difference", "both"}, optional
        Panels to draw; default both when the fit has arms (LS means only with
        ``ax=``), else the LS means.
    title : str, optional
        Title of the first panel; default names the method.
    width, height : float, optional
        Size in inches (width by default one and a half columns for two panels,
        one column for one).
    ax : matplotlib Axes, optional
        Axes to draw one panel into.

    Returns
    -------
    matplotlib.figure.Figure
        Per estimate line, a Line2D with ``gid="estimate:<arm>"`` (x = visit
        position, y = estimate; ``<arm>`` is ``"all"`` without an arm, or the
        difference's label such as ``"B - A"``) and a LineCollection
        ``gid="ci:<arm>"`` with one segment (ci_low to ci_high) per visit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sma_outcomes.stats.mi import fit_mi
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(40), 2),
    ...                   "timepoint": np.tile(["Month 6", "Month 12"], 40),
    ...                   "arm": np.repeat(["A", "B"], 40), "measure": "HFMSE",
    ...                   "change": rng.normal(1.0, 2.0, 80)})
    >>> d.loc[d.index % 5 == 1, "change"] = np.nan
    >>> fig = plot_mi(fit_mi(d, "HFMSE", arm="arm", covariates=()))
    >>> [" ".join(a.get_ylabel().split()) for a in fig.axes]  # wrapped where long
    ['Change in HFMSE (points)', 'Difference in change in HFMSE (points)']
    >>> sorted(l.get_gid() for l in fig.axes[1].lines if l.get_gid())
    ['estimate:B - A', 'zero']
    """
    if not isinstance(result, MIResult):
        raise OptionError(f"plot_mi: pass the result of fit_mi(), not {type(result).__name__}")
    md = result.md
    tab = result.tidy()
    has_diff = bool((tab["kind"] == "difference").any())
    if kind is None:
        kind = "both" if has_diff and ax is None else "lsmean"
    check_choice("kind", kind, ("lsmean", "difference", "both"))
    if kind != "lsmean" and not has_diff:
        raise OptionError("plot_mi: the fit has no arm, hence no difference: use kind='lsmean'")
    if kind == "both" and ax is not None:
        raise OptionError("plot_mi: kind='both' draws two panels; with ax= pass "
                          "kind='lsmean' or kind='difference'")
    visits = result.visits
    x_of = {v: i for i, v in enumerate(visits)}
    label = outcome_label(md.measure, md.y)
    level = f"{result.level * 100:g}% CI"
    kinds = ["lsmean", "difference"] if kind == "both" else [kind]

    with house_style():
        own = ax is None
        if own:
            w = width if width is not None else (ONE_AND_HALF_COLUMN if len(kinds) == 2
                                                 else SINGLE_COLUMN)
            fig = new_figure(w, height, layout="constrained")
            axes = list(fig.subplots(1, len(kinds), squeeze=False)[0])
        else:
            fig = ax.get_figure()
            axes = [ax]
        if own:  # place the axes, to know their width
            fig.get_layout_engine().execute(fig)
        handles: list[Line2D] = []
        for a, k in zip(axes, kinds, strict=True):
            rows = tab.loc[tab["kind"] == k]
            groups = (list(rows.groupby(rows["arm"].astype(str), sort=False))
                      if "arm" in rows.columns else [("all", rows)])
            n_g = len(groups)
            for g, (name, t) in enumerate(groups):
                off = (g - (n_g - 1) / 2) * min(0.12, 0.5 / max(n_g, 1))
                x = np.array([x_of[v] for v in t["visit"]], dtype=float) + off
                color = color_for(g) if k == "lsmean" else GREY_DARK
                show = name if (k == "lsmean" and name != "all") or n_g > 1 else None
                _draw_ci(a, x, t, color, name, show)
            if k == "difference" or md.y in ("change", "pct_change") or md.measure is None:
                a.axhline(0.0, color=GREY, lw=0.7, ls=":", zorder=0, gid="zero")
            room = a.get_position().width * fig.get_figwidth() * 72 / max(len(visits), 1)
            ticks = [str(v) for v in visits]
            if max(len(v) for v in ticks) * 3.7 > 0.9 * room:  # 6.5 pt text: 3.7 pt a character
                ticks = [v.replace(" ", "\n", 1) for v in ticks]
            a.set_xticks(range(len(visits)), ticks)
            a.set_xlim(-0.5, len(visits) - 0.5)
            a.set_xlabel(_visit_name(str(md.visit)))
            if k == "lsmean":
                a.set_ylabel(label)
                a.set_title("Pooled LS means" if title is None or a is not axes[0] else title)
            else:
                lab = (f"Difference in {label[:1].lower()}{label[1:]}"
                       if md.measure in SCALES else f"Difference in {label}")
                a.set_ylabel(lab)
                a.set_title("Treatment difference" if title is None or a is not axes[0]
                            else title)
            handles += [h for h in a.get_lines()
                        if h.get_label() and not h.get_label().startswith("_")]
        if own and title is None:
            axes[0].set_title(f"Pooled LS means ({level})" if kinds[0] == "lsmean"
                              else f"Treatment difference ({level})")
        method = f"Multiple imputation: {_SHORT.get(result.method, result.method)}"
        if own and handles:  # below the panels, clear of the intervals, under the method
            fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                       title=method, title_fontsize=6.5)
        elif own:
            fig.supxlabel(method, fontsize=6.5, color=GREY_DARK)
        elif handles:
            axes[0].legend(handles=handles, loc="best")
        finish(fig, own=own)
    return fig


def plot_tipping_point(
    tp: TippingPoint,
    *,
    measure: str | None = None,
    y: str = "change",
    title: str | None = None,
    width: float = SINGLE_COLUMN,
    height: float = 2.6,
    ax: Axes | None = None,
) -> Figure:
    """Tipping-point analysis: the estimate and its interval against the shift of the imputed values.

    The estimate (filled dots where it is significant, open where it is not)
    and its confidence band are drawn against delta, the shift added to the
    imputed values; a dotted line marks no effect, a dashed line the tipping
    delta, labelled in words ("conclusion changes at a shift of ...").

    Parameters
    ----------
    tp : TippingPoint
        What :func:`~sma_outcomes.stats.mi.tipping_point` returns.
    measure : str, optional
        Measure analysed, for the units of delta and of the estimate.
    y : str
        Outcome analysed (``"change"``, ``"score"`` or ``"pct_change"``).
    title : str, optional
        Axes title; default "Tipping point: <estimate> at <visit>".
    width, height : float
        Size in inches.
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with ``gid``: ``"estimate"`` (Line2D, x = delta, y = estimate),
        ``"significant"`` (the dots), ``"ci"`` (the band, ci_low to
        ci_high), ``"zero"`` (no effect), ``"tipping"`` (vertical line at the
        tipping delta) and ``"tipping-label"`` (its text).

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats.mi import TippingPoint
    >>> t = pd.DataFrame({"delta": [0.0, 1.0, 2.0], "estimate": [2.0, 1.0, 0.0],
    ...                   "p_value": [0.001, 0.04, 0.9], "ci_low": [1.0, 0.1, -1.0],
    ...                   "ci_high": [3.0, 2.0, 1.0]})
    >>> tp = TippingPoint(t, 1.1, "Month 12", "B - A", "B", 0.05)
    >>> fig = plot_tipping_point(tp, measure="HFMSE")
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel()
    'Shift added to the imputed values of B (points)'
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "tipping-label"]
    ['Conclusion changes\\nat a shift of +1.1 points']
    """
    if not isinstance(tp, TippingPoint):
        raise OptionError("plot_tipping_point: pass the result of tipping_point(), not "
                          f"{type(tp).__name__}")
    t = tp.table
    if len(t) == 0:
        raise OptionError("plot_tipping_point: the tipping-point table is empty")
    d = t["delta"].to_numpy(float)
    est = t["estimate"].to_numpy(float)
    unit = _unit(measure, y)
    sig = (t["p_value"].to_numpy(float) < tp.alpha if "p_value" in t.columns
           else np.ones(len(t), dtype=bool))
    who = f"the imputed values of {tp.arm}" if tp.arm is not None else "the imputed values"
    out = outcome_label(measure, y)
    if tp.term == "lsmean":
        ylabel = out
    elif " - " in str(tp.term):
        ylabel = (f"{tp.term}: {out[:1].lower()}{out[1:]}" if measure in SCALES
                  else f"Difference {tp.term}")
    else:
        ylabel = f"{tp.term}: {out[:1].lower()}{out[1:]}" if measure in SCALES else str(tp.term)
    level = f"{(1 - tp.alpha) * 100:g}% CI"

    with house_style():
        own = ax is None
        if own:
            fig = new_figure(width, height, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        blue = OKABE_ITO["blue"]
        ax.fill_between(d, t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float),
                        color=blue, alpha=0.18, lw=0, gid="ci", label=level)
        ax.plot(d, est, color=blue, lw=1.1, gid="estimate", label="Estimate")
        ax.scatter(d, est, s=12, zorder=3, gid="significant",
                   facecolors=[blue if s else "white" for s in sig], edgecolors=blue,
                   linewidths=0.8)
        ax.axhline(0.0, color=GREY_DARK, lw=0.7, ls=":", zorder=1, gid="zero")
        lo, hi = float(np.nanmin(d)), float(np.nanmax(d))
        pad = 0.03 * ((hi - lo) or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        handles = [Line2D([], [], color=blue, marker="o", ms=3.5, lw=1.1,
                          label=f"Significant (p < {tp.alpha:g})"),
                   Line2D([], [], color=blue, marker="o", mfc="white", ms=3.5, lw=1.1,
                          label="Not significant")]
        if tp.found:
            x = float(tp.tipping_delta)
            ax.axvline(x, color=OKABE_ITO["vermillion"], lw=1.0, ls="--", gid="tipping")
            amount = f"{x:+.3g}" + (f" {unit}" if unit else "")
            right = (x - lo) < 0.5 * (hi - lo)
            ax.text(x + (pad if right else -pad), 0.97, f"Conclusion changes\nat a shift of "
                    f"{amount}", transform=ax.get_xaxis_transform(), ha="left" if right
                    else "right", va="top", fontsize=6.5, color=OKABE_ITO["vermillion"],
                    gid="tipping-label")
        else:
            ax.text(0.98, 0.97, "The conclusion does not change\nin the range searched",
                    transform=ax.transAxes, ha="right", va="top", fontsize=6.5,
                    color=GREY_DARK, gid="tipping-label")
        ax.legend(handles=[*handles, ax.collections[0]], loc="lower left", fontsize=6)
        ax.set_xlabel(f"Shift added to {who}" + (f" ({unit})" if unit else ""))
        ax.set_ylabel(ylabel)
        at = tp.visit if not isinstance(tp.visit, (int, float, np.number)) else f"visit {tp.visit}"
        name = "LS mean" if tp.term == "lsmean" else tp.term
        text = title if title is not None else f"Tipping point: {name} at {at}"
        ax.set_title("\n".join(textwrap.wrap(text, max(20, int(width * 72 / 4.2)))))
        if own and len(ax.get_ylabel()) * 3.6 > height * 72 * 0.8:
            ax.set_ylabel(wrap_label(ax.get_ylabel(), int(height * 72 * 0.8 / 3.6)))
        finish(fig, own=own)
    return fig
