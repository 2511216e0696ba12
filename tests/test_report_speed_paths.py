"""The report's fast paths give what the plain paths gave (issue 12).

Each speed-up of the report has a plain counterpart that it replaced; these
tests draw, format or compute both ways and compare: the waterfall as one
collection against one patch per bar (same pixels), ``save_figure`` without
the extra pre-draw (same bytes, one draw), the per-patient wide table against
a row-by-row formatter, and the MMRM's direct LAPACK calls against SciPy's.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from scipy import linalg

import sma_outcomes.plot.change as change_mod
from sma_outcomes._shared import natural_key, plain_number, signed
from sma_outcomes.plot import plot_patients, plot_waterfall, save_figure
from sma_outcomes.plot.change import IMPROVED, STABLE, WORSENED, classify_change
from sma_outcomes.report.tables import patient_wide, small_baseline_limit
from sma_outcomes.stats.mmrm.likelihood import _cho_factor, _cho_solve


def _cohort(n: int, seed: int = 0) -> pd.DataFrame:
    """Change at Month 18 for ``n`` patients (integer HFMSE changes, ties included)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(5, 50, n).astype(float)
    change = rng.integers(-8, 9, n).astype(float)
    pids = [f"Q{i}" for i in range(1, n + 1)]
    tps = pd.Categorical(["Baseline", "Month 18"], ["Baseline", "Month 18"], ordered=True)
    rows = pd.DataFrame({
        "patient_id": np.repeat(pids, 2), "measure": "HFMSE", "visit": np.tile(tps, n),
        "timepoint": pd.Categorical(np.tile(tps, n), tps.categories, ordered=True),
        "day": np.tile([0.0, 550.0], n), "is_baseline": np.tile([True, False], n),
        "analysed": True, "baseline": np.repeat(base, 2),
        "score": np.ravel(np.column_stack([base, base + change])),
        "change": np.ravel(np.column_stack([np.zeros(n), change])),
    })
    rows["pct_change"] = 100 * rows["change"] / rows["baseline"]
    return rows


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def test_waterfall_collection_has_the_bars_of_the_patches(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _cohort(340)
    fig = plot_waterfall(data, measure="HFMSE", timepoint="Month 18")
    ax = fig.axes[0]
    assert not ax.patches  # no Rectangle per bar (the legend keeps its own)
    (coll,) = [c for c in ax.collections if c.get_gid() == "bars"]
    assert isinstance(coll, PolyCollection)
    heights = np.array([p.vertices[1, 1] for p in coll.get_paths()])
    want = np.sort(data.loc[~data["is_baseline"], "change"].to_numpy())[::-1]
    np.testing.assert_array_equal(heights, want)
    lefts = np.array([p.vertices[0, 0] for p in coll.get_paths()])
    np.testing.assert_allclose(lefts, np.arange(340) - 0.39)
    cats = classify_change(heights, 3.0)
    colors = {"improved": IMPROVED, "stable": STABLE, "worsened": WORSENED}
    np.testing.assert_array_equal(coll.get_facecolors(), [to_rgba(colors[c]) for c in cats])
    # the same picture as one Rectangle per bar
    monkeypatch.setattr(change_mod, "BARS_AS_PATCHES_MAX", 10_000)
    patches = plot_waterfall(data, measure="HFMSE", timepoint="Month 18")
    assert len(patches.axes[0].patches) == 340
    assert patches.axes[0].get_ylim() == ax.get_ylim()
    assert _png(patches) == _png(fig)


def test_waterfall_few_bars_stay_patches() -> None:
    fig = plot_waterfall(_cohort(12), measure="HFMSE", timepoint="Month 18")
    assert len(fig.axes[0].patches) == 12
    assert not [c for c in fig.axes[0].collections if c.get_gid() == "bars"]


def test_save_figure_draws_a_finished_figure_once(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_plot_patient import make_table

    data, doses = make_table(3)
    fig = plot_patients(data, doses=doses)
    first = save_figure(fig, tmp_path / "a.png", dpi=80).read_bytes()
    draws = []
    real = Figure.draw

    def counting(self: Figure, renderer: object) -> None:
        draws.append(1)
        real(self, renderer)

    monkeypatch.setattr(Figure, "draw", counting)
    again = save_figure(fig, tmp_path / "b.png", dpi=80).read_bytes()
    assert len(draws) == 1
    assert again == first
    assert type(fig.get_layout_engine()).__name__ == "PlaceHolderLayoutEngine"
    # with the placeholder kept, matplotlib's own savefig draws twice: same bytes
    draws.clear()
    fig.savefig(tmp_path / "c.png", dpi=80, metadata={"Software": None})
    assert len(draws) == 2


def _wide_row_by_row(changes: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The per-patient table formatted one row at a time (the plain path)."""
    d = changes[(changes["measure"] == measure) & changes["timepoint"].notna()]
    d = d[d["analysed"].astype(bool)]
    tps = [t for t in changes["timepoint"].cat.categories if (d["timepoint"] == t).any()]
    pids = sorted(d["patient_id"].astype(str).unique(), key=natural_key)
    limit = small_baseline_limit(measure)
    cell = {}
    for r in d.to_dict("records"):
        key = (str(r["patient_id"]), str(r["timepoint"]))
        if pd.isna(r["score"]):
            code = r.get("missing_code", "")
            cell[key] = f"missing ({code})" if code else "missing"
            continue
        text = plain_number(r["score"])
        ch = r["change"]
        if not r["is_baseline"] and not pd.isna(ch):
            extra = signed(ch, digits=0 if float(ch) == round(ch) else 1)
            if not pd.isna(r["pct_change"]):
                extra += ", " + signed(r["pct_change"], "%")
                if not pd.isna(r["baseline"]) and float(r["baseline"]) <= limit:
                    extra += f" from {plain_number(r['baseline'])}"
            text += f" ({extra})"
        cell[key] = text
    rows = [[p, *[cell.get((p, t), "") for t in tps]] for p in pids]
    return pd.DataFrame(rows, columns=["patient", *tps])


def test_patient_wide_equals_row_by_row_formatting() -> None:
    data = _cohort(60, seed=3)
    post = ~data["is_baseline"]
    data.loc[data.index[post][:5], "score"] = np.nan  # missing, with and without a code
    data["missing_code"] = ""
    data.loc[data.index[post][:3], "missing_code"] = "NT"
    data.loc[data.index[post][5:9], "change"] = [0.5, -1.25, 2.45, -0.05]  # not whole
    data.loc[data.index[post][9:12], "pct_change"] = np.nan
    data.loc[data.index[10:20], "baseline"] = 1.0  # small baselines: "+300% from 1"
    got = patient_wide(data, "HFMSE")
    want = _wide_row_by_row(data, "HFMSE")
    pd.testing.assert_frame_equal(got, want)
    cells = set(got["Month 18"])
    assert "missing (NT)" in cells and "missing" in cells
    assert any(" from 1)" in c for c in cells)
    assert len(got) == 60


@pytest.mark.parametrize("k", [1, 2, 5, 8])
def test_mmrm_cholesky_calls_equal_scipy(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.normal(size=(k, k))
    s = a @ a.T + k * np.eye(k)
    c = _cho_factor(s)
    ref = linalg.cho_factor(s, lower=True, check_finite=False)
    np.testing.assert_array_equal(np.tril(c), np.tril(ref[0]))
    for b in (np.eye(k), rng.normal(size=k)):
        np.testing.assert_array_equal(_cho_solve(c, b),
                                      linalg.cho_solve(ref, b, check_finite=False))
    assert math.isclose(float(np.sum(np.log(np.diag(c)))),
                        0.5 * np.linalg.slogdet(s)[1], rel_tol=1e-12)


def test_mmrm_cholesky_of_a_singular_matrix_raises() -> None:
    with pytest.raises(linalg.LinAlgError):
        _cho_factor(np.array([[1.0, 1.0], [1.0, 1.0]]))
