"""Patient-flow figure: per timepoint, who was expected, who was assessed, and why not.

:func:`plot_flow` draws the output of :func:`sma_outcomes.stats.flow.patient_flow`
as a CONSORT-style chart for one measure (or the visits): one row per
timepoint, first at the top. The left panel splits every patient of the cohort
into assessed, missing and not yet due; the right panel breaks the missing
down by reason (test not done, after an event, no visit recorded), on its own
scale so that a single patient still shows. Every segment carries its count.

Examples
--------
>>> from sma_outcomes.plot.flow import plot_flow, reason_label
>>> reason_label("not done: UTA")
'Test not done: unable to assess'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..exceptions import ColumnError, OptionError
from ..load.events import EVENT_TYPES
from ..registry import plain_name
from ..stats.flow import ALL, FlowResult
from ._data import event_label
from .style import (
    DOUBLE_COLUMN,
    GREY,
    GREY_LIGHT,
    OKABE_ITO,
    finish,
    house_style,
    new_figure,
)

__all__ = ["plot_flow", "reason_label", "reason_order"]

ASSESSED = OKABE_ITO["blue"]
MISSING = OKABE_ITO["vermillion"]
NOT_YET_DUE = GREY_LIGHT

#: Plain words for the missing-score codes of ``load.values.MISSING_CODES``.
_CODES = {"NT": "not tested", "UTA": "unable to assess", "CNT": "cannot test",
          "ND": "not done", "NA": "not available", "N/A": "not available"}
#: Colours of the reasons: tests not done (warm), events, no visit (grey).
_NOT_DONE = (OKABE_ITO["orange"], OKABE_ITO["yellow"], "#B07800", "#F5C860")
_EVENT = (OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"], OKABE_ITO["bluish_green"],
          OKABE_ITO["black"], "#7F4F9B", "#1F5F8B", "#8FD0B8", "#A0527A")
_EVENT_FIXED = {"death": OKABE_ITO["black"], "discontinuation": OKABE_ITO["reddish_purple"]}


def reason_label(reason: str) -> str:
    """Plain words for a reason of :func:`~sma_outcomes.stats.flow.patient_flow`.

    Examples
    --------
    >>> reason_label("event: loss_of_ambulation"), reason_label("event: death")
    ('After loss of ambulation', 'Died')
    >>> reason_label("no visit recorded"), reason_label("not done")
    ('No visit recorded', 'Test not done')
    """
    reason = str(reason)
    if reason.startswith("event: "):
        code = reason[len("event: "):]
        if code == "death":
            return "Died"
        if code == "discontinuation":
            return "Stopped treatment"
        return "After " + event_label(code, width=60).lower()
    if reason.startswith("not done"):
        code = reason.partition(": ")[2].strip()
        if not code:
            return "Test not done"
        return f"Test not done: {_CODES.get(code, code)}"
    return reason[:1].upper() + reason[1:]


def reason_order(reasons: list[str] | np.ndarray | pd.Series) -> list[str]:
    """Reasons in a fixed order: tests not done (by code), events (in the order of the
    event vocabulary), no visit recorded, others.

    Examples
    --------
    >>> reason_order(["no visit recorded", "event: death", "not done: UTA",
    ...               "event: spinal_fusion"])
    ['not done: UTA', 'event: spinal_fusion', 'event: death', 'no visit recorded']
    """
    vocab = list(EVENT_TYPES)

    def key(r: str) -> tuple:
        if r.startswith("not done"):
            return (0, 0, r)
        if r.startswith("event: "):
            code = r[len("event: "):]
            return (1, vocab.index(code) if code in vocab else len(vocab), r)
        if r == "no visit recorded":
            return (2, 0, r)
        return (3, 0, r)

    return sorted(dict.fromkeys(str(r) for r in reasons), key=key)


def _colors(order: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    n_done = n_event = 0
    for r in order:
        if r.startswith("not done"):
            out[r] = _NOT_DONE[n_done % len(_NOT_DONE)]
            n_done += 1
        elif r.startswith("event: ") and r[len("event: "):] in _EVENT_FIXED:
            out[r] = _EVENT_FIXED[r[len("event: "):]]
        elif r.startswith("event: "):
            free = [c for c in _EVENT if c not in _EVENT_FIXED.values()]
            out[r] = free[n_event % len(free)]
            n_event += 1
        else:
            out[r] = GREY
    return out


def _ink(color: str) -> str:
    """Black or white text, whichever reads on ``color``."""
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _tables(flow: FlowResult, measure: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    if not hasattr(flow, "summary") or not hasattr(flow, "reasons"):
        raise OptionError("plot_flow: pass the result of patient_flow() (summary, reasons, "
                          f"status), not {type(flow).__name__}")
    summary, reasons = flow.summary, flow.reasons
    need = ["measure", "timepoint", "n_patients", "not_yet_due", "expected", "assessed",
            "missing"]
    lacking = [c for c in need if c not in summary.columns]
    if lacking:
        raise ColumnError(f"plot_flow: the flow summary lacks {lacking}; pass the result of "
                          "patient_flow()")
    key = ALL if measure is None else str(measure)
    have = list(dict.fromkeys(summary["measure"].astype(str)))
    if key not in have:
        raise OptionError(f"plot_flow: `measure` must be one of {have[1:] or have} (or None for "
                          f"the visits), not {measure!r}")
    s = summary.loc[summary["measure"].astype(str) == key].reset_index(drop=True)
    r = reasons.loc[reasons["measure"].astype(str) == key]
    return s, r, key


def plot_flow(
    flow: FlowResult,
    *,
    measure: str | None = None,
    title: str | None = None,
    width: float = DOUBLE_COLUMN,
    height: float | None = None,
) -> Figure:
    """CONSORT-style patient flow: per timepoint, assessed, missing by reason, not yet due.

    One row per timepoint (first at the top), labelled with the number of
    patients expected there. The left panel splits the patients into assessed
    (with the percentage of those expected), missing, and not yet due at the
    data cut-off; the right panel breaks the missing down by reason, on its own
    scale: a test not done (by code), an intercurrent event (by type), or no
    visit recorded. Every segment is labelled with its count where the count
    fits inside it (a count wider than its segment is left to the table).

    Parameters
    ----------
    flow : FlowResult
        What :func:`~sma_outcomes.stats.flow.patient_flow` returns.
    measure : str, optional
        The measure's flow (e.g. ``"PP_PREF"``); default the visit-level flow
        (a visit counts as assessed when any measure was scored).
    title : str, optional
        Figure title; default "Patient flow: <measure>" (plain name).
    width, height : float, optional
        Size in inches; the height grows with the number of timepoints.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Every bar segment is a Rectangle with a ``gid``:
        ``"assessed"``, ``"missing"``, ``"not yet due"`` (left axes) and
        ``"reason:<reason>"`` (right axes, the reasons of
        ``flow.reasons``); its y is the timepoint's row (0 at the top), its
        width the count. Count labels have ``gid="count"``.

    Raises
    ------
    OptionError
        When ``flow`` is not a flow result or ``measure`` is not in it.

    Examples
    --------
    >>> import warnings
    >>> from sma_outcomes.load import example_path, load_example, read_events
    >>> from sma_outcomes.stats.flow import patient_flow
    >>> from sma_outcomes.timeline import change_from_baseline
    >>> events = read_events(example_path("cohort").with_name("events.csv"))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     changes = change_from_baseline(load_example("cohort"), events=events)
    >>> fig = plot_flow(patient_flow(changes, events, cutoff=700), measure="PP_PREF")
    >>> fig.axes[0].get_title(loc="left")
    'Patient flow: Purdue Pegboard, preferred hand'
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][-1]
    'Month 26 (0 expected)'
    >>> sorted({p.get_gid() for p in fig.axes[1].patches})[:2]
    ['reason:event: death', 'reason:event: discontinuation']
    """
    s, r, key = _tables(flow, measure)
    labels = [str(t) for t in s["timepoint"]]
    n_t = len(labels)
    if n_t == 0:
        raise OptionError("plot_flow: the flow has no timepoint")
    y = np.arange(n_t, dtype=float)
    order = reason_order(r["reason"].astype(str).tolist())
    colors = _colors(order)
    counts = pd.DataFrame(0, index=labels, columns=order, dtype=int)
    for (tp, reason), n in r.groupby([r["timepoint"].astype(str), r["reason"].astype(str)],
                                     sort=False)["n"].sum().items():
        counts.loc[tp, reason] = int(n)
    name = "the visits (any measure)" if key == ALL else plain_name(key)
    n_pat = int(s["n_patients"].max())
    max_missing = int(s["missing"].max())

    with house_style():
        h = height if height is not None else float(np.clip(1.35 + 0.27 * n_t, 2.2, 9.0))
        fig = new_figure(width, h, layout="constrained")
        fig.get_layout_engine().set(wspace=0.06)  # room between the panels' end ticks
        grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
        left = fig.add_subplot(grid[0, 0])
        right = fig.add_subplot(grid[0, 1], sharey=left)
        segments: list[tuple[Axes, float, float, float, int, str, str]] = []
        bar_h = 0.62

        def bar(ax, x0, yy, n, color, gid, text=None):
            if n <= 0:
                return
            ax.barh(yy, n, left=x0, height=bar_h, color=color, edgecolor="white",
                    linewidth=0.4, gid=gid)
            ax.patches[-1].set_gid(gid)
            segments.append((ax, x0, yy, n, n, color, text if text is not None else str(n)))

        for i, row in s.iterrows():
            yy = y[i]
            exp = int(row["expected"])
            a, m, nyd = int(row["assessed"]), int(row["missing"]), int(row["not_yet_due"])
            pct = f" ({100 * a / exp:.0f}%)" if exp else ""
            bar(left, 0, yy, a, ASSESSED, "assessed", f"{a}{pct}")
            bar(left, a, yy, m, MISSING, "missing")
            bar(left, a + m, yy, nyd, NOT_YET_DUE, "not yet due")
            x0 = 0
            for reason in order:
                n = int(counts.loc[labels[i], reason])
                bar(right, x0, yy, n, colors[reason], f"reason:{reason}")
                x0 += n
        left.set_xlim(0, max(n_pat, 1))
        right.set_xlim(0, max(max_missing, 1) * 1.02)
        left.set_ylim(n_t - 0.5, -0.5)
        left.set_yticks(y, [f"{t} ({int(e)} expected)" for t, e in zip(labels, s["expected"],
                                                                      strict=True)])
        right.tick_params(axis="y", left=False, labelleft=False)
        for ax in (left, right):
            ax.tick_params(axis="y", length=0)
            ax.spines["left"].set_visible(False)
            ax.xaxis.get_major_locator().set_params(integer=True)
        left.set_xlabel(f"Patients (n = {n_pat})")
        right.set_xlabel("Patients missing, by reason")
        left.set_title(title if title is not None else f"Patient flow: {name}", loc="left")
        if max_missing == 0:
            right.text(0.5, 0.5, "No value missing", transform=right.transAxes, ha="center",
                       va="center", color=GREY)
        handles = [Patch(color=ASSESSED, label="Assessed")]
        if int(s["missing"].sum()):
            handles.append(Patch(color=MISSING, label="Missing"))
        if int(s["not_yet_due"].sum()):
            handles.append(Patch(color=NOT_YET_DUE, label="Not yet due at the cut-off"))
        handles += [Patch(color=colors[x], label=reason_label(x)) for x in order]
        longest = max(len(hd.get_label()) for hd in handles)
        ncol = int(max(1, min(len(handles), (width * 72 - 20) // (3.6 * longest + 24))))
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol, handlelength=1.0,
                   columnspacing=1.0)
        fig.get_layout_engine().execute(fig)
        # counts inside their segments, where they fit
        renderer = fig._get_renderer()
        for ax, x0, yy, n, _, color, text in segments:
            t = ax.text(x0 + n / 2, yy, text, ha="center", va="center", fontsize=6,
                        color=_ink(color), gid="count")
            box = t.get_window_extent(renderer)
            seg = ax.transData.transform([(x0, yy), (x0 + n, yy)])
            if box.width + 2 > seg[1, 0] - seg[0, 0]:
                t.remove()
        finish(fig)
    return fig
