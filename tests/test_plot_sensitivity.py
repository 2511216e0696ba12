"""plot_mi and plot_tipping_point: the sensitivity figures of issue 13.

What was drawn (lines, interval segments and bands found by ``gid``) is read
back and compared with ``MIResult.tidy()`` and ``TippingPoint.table``; the
result objects' ``.plot()`` delegate to these functions.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sma_outcomes.exceptions import OptionError
from sma_outcomes.plot import plot_mi, plot_tipping_point
from sma_outcomes.plot.sensitivity import outcome_label
from sma_outcomes.stats.mi import TippingPoint, fit_mi, tipping_point
from tests.conftest import REFERENCE
from tests.test_plot_layout import drawn_texts

VISITS = ["Month 6", "Month 12", "Month 18"]


def simulated(n=40, seed=11, measure="HFMSE"):
    """Two arms, three visits, B improves more; a fifth of B drops out after Month 6."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["A", "B"], n // 2)
    rows = []
    for i in range(n):
        for j, v in enumerate(VISITS):
            gain = (j + 1) * (1.5 if arm[i] == "B" else 0.3)
            rows.append({"patient_id": f"P{i:02d}", "timepoint": v, "arm": arm[i],
                         "measure": measure, "change": gain + rng.normal(0, 1.5)})
    d = pd.DataFrame(rows)
    out = [f"P{i:02d}" for i in range(n // 2, n, 5)]
    d.loc[d["patient_id"].isin(out) & (d["timepoint"] != "Month 6"), "change"] = np.nan
    ice = pd.DataFrame({"patient_id": out, "timepoint": "Month 12", "strategy": "JR"})
    return d, ice


@cache
def fit():
    d, ice = simulated()
    return fit_mi(d, "HFMSE", arm="arm", covariates=(), ice=ice, references={"B": "A"})


@cache
def single_arm_fit():
    d, _ = simulated()
    return fit_mi(d[d["arm"] == "B"].drop(columns="arm"), "HFMSE", covariates=())


@cache
def tip():
    return tipping_point(fit())


def lines_by_gid(ax):
    return {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}


def collection(ax, gid):
    (c,) = [c for c in ax.collections if c.get_gid() == gid]
    return c


def test_mi_values_drawn_equal_the_pooled_table():
    res = fit()
    tab = res.tidy()
    fig = plot_mi(res)
    assert len(fig.axes) == 2
    for ax, kind in zip(fig.axes, ["lsmean", "difference"], strict=True):
        rows = tab[tab["kind"] == kind]
        names = list(dict.fromkeys(rows["arm"].astype(str)))
        got = lines_by_gid(ax)
        assert {g for g in got if g.startswith("estimate:")} == {f"estimate:{a}" for a in names}
        for a in names:
            t = rows[rows["arm"].astype(str) == a]
            x, y = got[f"estimate:{a}"].get_data()
            assert np.allclose(y, t["estimate"])
            # visits in order, arms side by side around each visit's position
            assert np.allclose(np.round(x), range(len(VISITS)))
            segs = collection(ax, f"ci:{a}").get_segments()
            assert np.allclose([s[0][1] for s in segs], t["ci_low"])
            assert np.allclose([s[1][1] for s in segs], t["ci_high"])
            assert np.allclose([s[0][0] for s in segs], x)
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            v.replace(" ", "\n", 1) if "\n" in ax.get_xticklabels()[0].get_text() else v
            for v in VISITS]
    assert "zero" in lines_by_gid(fig.axes[1])


def test_mi_labels_with_units():
    fig = plot_mi(fit())
    labels = [" ".join(a.get_ylabel().split()) for a in fig.axes]
    assert labels == ["Change in HFMSE (points)", "Difference in change in HFMSE (points)"]
    assert [a.get_xlabel() for a in fig.axes] == ["Visit", "Visit"]
    assert fig.axes[0].get_title(loc="left") == "Pooled LS means (95% CI)"
    (legend,) = fig.legends  # below the panels, titled with the method
    assert [t.get_text() for t in legend.get_texts()] == ["A", "B"]
    assert legend.get_title().get_text() == "Multiple imputation: conditional mean imputation"
    # one arm: LS means only, one panel
    fig = plot_mi(single_arm_fit())
    assert len(fig.axes) == 1 and lines_by_gid(fig.axes[0]).keys() == {"estimate:all", "zero"}
    assert not fig.legends and "conditional mean" in fig._supxlabel.get_text()
    # unknown measure: the outcome column's name
    assert outcome_label(None, "CHANGE") == "CHANGE"
    assert outcome_label("RULM", "score") == "RULM (points)"


def test_mi_kind_and_ax():
    res = fit()
    fig = plot_mi(res, kind="difference")
    assert len(fig.axes) == 1 and "estimate:B - A" in lines_by_gid(fig.axes[0])
    target = Figure().add_subplot()
    assert plot_mi(res, ax=target) is target.figure
    assert "estimate:A" in lines_by_gid(target)
    assert [t.get_text() for t in target.get_legend().get_texts()] == ["A", "B"]
    with pytest.raises(OptionError, match="`kind`"):
        plot_mi(res, kind="forest")
    with pytest.raises(OptionError, match="no arm"):
        plot_mi(single_arm_fit(), kind="difference")
    with pytest.raises(OptionError, match="two panels"):
        plot_mi(res, kind="both", ax=Figure().add_subplot())
    with pytest.raises(OptionError, match="fit_mi"):
        plot_mi(res.tidy())


def test_tipping_values_drawn_equal_the_table():
    tp = tip()
    assert tp.found
    fig = plot_tipping_point(tp, measure="HFMSE")
    ax = fig.axes[0]
    got = lines_by_gid(ax)
    x, y = got["estimate"].get_data()
    assert np.allclose(x, tp.table["delta"]) and np.allclose(y, tp.table["estimate"])
    band = collection(ax, "ci").get_paths()[0].vertices
    for d, lo, hi in zip(tp.table["delta"], tp.table["ci_low"], tp.table["ci_high"],
                         strict=True):
        at = band[np.isclose(band[:, 0], d)][:, 1]
        assert np.isclose(at.min(), lo) and np.isclose(at.max(), hi)
    dots = collection(ax, "significant")
    assert np.allclose(dots.get_offsets(), tp.table[["delta", "estimate"]].to_numpy())
    filled = [tuple(f[:3]) != (1.0, 1.0, 1.0) for f in dots.get_facecolors()]
    assert filled == tp.table["significant"].tolist()
    assert got["zero"].get_ydata()[0] == 0
    assert got["tipping"].get_xdata()[0] == pytest.approx(tp.tipping_delta)
    (label,) = [t for t in ax.texts if t.get_gid() == "tipping-label"]
    assert label.get_text() == (f"Conclusion changes\nat a shift of {tp.tipping_delta:+.3g} "
                                "points")
    assert ax.get_xlabel() == "Shift added to the imputed values of B (points)"
    assert " ".join(ax.get_ylabel().split()) == "B - A: change in HFMSE (points)"
    assert ax.get_title(loc="left") == "Tipping point: B - A at Month 18"


def test_tipping_not_found_and_unknown_measure():
    t = tip().table.iloc[:2]
    tp = TippingPoint(t, float("nan"), "Month 18", "B - A", "B", 0.05)
    fig = plot_tipping_point(tp)
    ax = fig.axes[0]
    assert "tipping" not in lines_by_gid(ax)
    (label,) = [t for t in ax.texts if t.get_gid() == "tipping-label"]
    assert "does not change" in label.get_text()
    assert ax.get_xlabel() == "Shift added to the imputed values of B"
    assert ax.get_ylabel() == "Difference B - A"
    with pytest.raises(OptionError, match="tipping_point"):
        plot_tipping_point(t)


def test_plot_methods_delegate():
    res, tp = fit(), tip()
    a, b = res.plot(), plot_mi(res)
    for x, y in zip(a.axes, b.axes, strict=True):
        la, lb = lines_by_gid(x), lines_by_gid(y)
        assert la.keys() == lb.keys()
        assert all(np.allclose(la[k].get_ydata(), lb[k].get_ydata()) for k in la)
    fig = tp.plot(measure="HFMSE")
    assert fig.axes[0].get_xlabel() == "Shift added to the imputed values of B (points)"
    assert len(tp.plot().axes[0].lines) == 3  # estimate, no effect, tipping point
    target = Figure().add_subplot()
    assert tp.plot(ax=target) is target.figure


@pytest.mark.parametrize("which", ["mi", "mi-one-arm", "tipping", "tipping-rbmi"])
def test_no_text_outside_the_canvas(which):
    if which == "tipping-rbmi":
        data = pd.read_csv(REFERENCE / "rbmi" / "antidepressant.csv")
        ice = pd.read_csv(REFERENCE / "rbmi" / "ice.csv").rename(
            columns={"STRATEGY": "strategy"})
        res = fit_mi(data, arm="THERAPY", covariates=["BASVAL"], y="CHANGE", visit="VISIT",
                     group="PATIENT", ice=ice, references={"DRUG": "PLACEBO"},
                     formula="BASVAL*VISIT + THERAPY*VISIT")
        fig = plot_tipping_point(tipping_point(res, deltas=np.linspace(0, 4, 9)))
    else:
        fig = {"mi": lambda: plot_mi(fit()), "mi-one-arm": lambda: plot_mi(single_arm_fit()),
               "tipping": lambda: plot_tipping_point(tip(), measure="HFMSE")}[which]()
    texts = drawn_texts(fig)
    w, h = fig.bbox.width, fig.bbox.height
    out = [t for t, b, _ in texts if b.x0 < -0.5 or b.y0 < -0.5 or b.x1 > w + 0.5
           or b.y1 > h + 0.5]
    assert texts and not out
