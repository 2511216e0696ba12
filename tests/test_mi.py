"""fit_mi: hand-computed imputations for every strategy, delta, options, errors, bootstrap."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sma_outcomes import DataError, OptionError
from sma_outcomes.stats.mi import fit_mi, tipping_point
from sma_outcomes.stats.mi.result import strategy_table
from sma_outcomes.stats.mmrm import fit_mmrm

VISITS = ["M6", "M12", "M18"]
RBMI = Path(__file__).parent / "reference" / "rbmi"


def _trial(n_per_arm: int = 30, seed: int = 11) -> pd.DataFrame:
    """Two arms, three visits, complete data with correlated residuals."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    arm = np.repeat(["A", "B"], n_per_arm)
    means = {"A": [0.0, 0.5, 1.0], "B": [1.0, 2.5, 4.0]}
    L = np.linalg.cholesky(np.array([[4.0, 2.0, 1.5], [2.0, 5.0, 3.0], [1.5, 3.0, 6.0]]))
    y = np.array([means[a] for a in arm]) + rng.standard_normal((n, 3)) @ L.T
    d = pd.DataFrame({"patient_id": np.repeat([f"P{i:02d}" for i in range(n)], 3),
                      "timepoint": pd.Categorical(np.tile(VISITS, n), VISITS, ordered=True),
                      "arm": np.repeat(arm, 3), "change": y.reshape(-1)})
    return d


def _cell(d: pd.DataFrame, arm: str, visit: str) -> float:
    return float(d.loc[(d["arm"] == arm) & (d["timepoint"] == visit), "change"].mean())


def _imputed(fit, pid: str) -> pd.Series:
    s = fit.imputed[0]
    return s.loc[s["patient_id"] == pid].set_index("timepoint")["change"]


# ------------------------------------------------------------------ no conditioning


@pytest.mark.parametrize("strategy", ["MAR", "JR", "CR", "CIR"])
def test_patient_without_values_gets_the_strategy_mean(strategy):
    """A B patient with no value: imputed = completers' cell means (own or reference arm).

    With complete data otherwise and the saturated model arm * visit, the REML
    estimates of the means are the per-arm, per-visit sample means.
    """
    d = _trial()
    completers = d.copy()
    d = pd.concat([d, pd.DataFrame({"patient_id": "X", "timepoint": VISITS, "arm": "B",
                                    "change": np.nan})], ignore_index=True)
    d["timepoint"] = pd.Categorical(d["timepoint"], VISITS, ordered=True)
    ice = pd.DataFrame({"patient_id": ["X"], "timepoint": ["M6"], "strategy": [strategy]})
    fit = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
    got = _imputed(fit, "X")
    arm = "B" if strategy == "MAR" else "A"  # CIR at the first visit is the reference
    for v in VISITS:
        assert got[v] == pytest.approx(_cell(completers, arm, v), abs=1e-8)


def test_lmcf_needs_a_visit_before_the_event():
    d = _trial()
    d.loc[d["patient_id"] == "P40", "change"] = np.nan
    ice = pd.DataFrame({"patient_id": ["P40"], "timepoint": ["M6"], "strategy": ["LMCF"]})
    with pytest.raises(DataError, match="LMCF"):
        fit_mi(d, arm="arm", covariates=(), ice=ice)


# ------------------------------------------------------------------ with conditioning


@pytest.fixture(scope="module")
def dropouts():
    """Six B patients and two A patients drop out after M6 (ICE at M12)."""
    d = _trial(seed=3)
    out = ["P30", "P33", "P36", "P39", "P42", "P45", "P01", "P04"]
    d.loc[d["patient_id"].isin(out) & (d["timepoint"] != "M6"), "change"] = np.nan
    mm = fit_mmrm(d, arm="arm", covariates=(), fallback=False)
    ls = mm.lsmeans
    ls = ls.loc[ls["kind"] == "lsmean"]
    mu = {(a, str(v)): e for a, v, e in zip(ls["arm"], ls["visit"], ls["estimate"], strict=True)}
    S = mm.covariance.to_numpy()
    y1 = d.loc[(d["timepoint"] == "M6")].set_index("patient_id")["change"]
    return d, out, mu, S, y1


def _expected(strategy, pid, mu, S, y1, arm="B", ref="A"):
    """Hand formulas (Carpenter et al. 2013), one shared covariance, y1 observed."""
    k = S[1:, 0] / S[0, 0]
    own = np.array([mu[(arm, v)] for v in VISITS])
    rf = np.array([mu[(ref, v)] for v in VISITS])
    if strategy == "MAR":
        m = own
    elif strategy == "JR":
        m = np.r_[own[0], rf[1:]]
    elif strategy == "CR":
        m = rf
    elif strategy == "CIR":
        m = np.r_[own[0], own[0] + rf[1:] - rf[0]]
    else:  # LMCF
        m = np.r_[own[0], own[0], own[0]]
    return m[1:] + k * (y1[pid] - m[0])


@pytest.mark.parametrize("strategy", ["MAR", "JR", "CR", "CIR", "LMCF"])
def test_imputed_values_follow_the_hand_formula(dropouts, strategy):
    d, out, mu, S, y1 = dropouts
    ice = pd.DataFrame({"patient_id": out, "timepoint": "M12", "strategy": strategy})
    fit = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
    # the imputation model is the MMRM of the observed values
    np.testing.assert_allclose(fit.imputation_fit.Sigma, S, rtol=1e-6)
    for pid in out:
        arm = "B" if pid >= "P30" else "A"
        got = _imputed(fit, pid)[["M12", "M18"]].to_numpy()
        exp = _expected(strategy, pid, mu, S, y1, arm=arm, ref="A")
        np.testing.assert_allclose(got, exp, atol=1e-6)
    # observed values are untouched
    s = fit.imputed[0]
    obs = d["change"].notna().to_numpy()
    np.testing.assert_allclose(s["change"].to_numpy()[obs], d["change"].to_numpy()[obs])
    assert s["imputed"].sum() == 16
    assert set(s.loc[s["imputed"], "strategy"]) == {strategy}


def test_strategies_per_patient_and_mapping(dropouts):
    d, out, mu, S, y1 = dropouts
    ice = pd.DataFrame({"patient_id": out[:3], "timepoint": "M12",
                        "event": ["death", "switch", "switch"]})
    fit = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"},
                 strategies={"death": "CR", "switch": "JR"})
    for pid, st in zip(out[:3], ["CR", "JR", "JR"], strict=True):
        got = _imputed(fit, pid)[["M12", "M18"]].to_numpy()
        np.testing.assert_allclose(got, _expected(st, pid, mu, S, y1), atol=1e-6)
    # patients without an event row are imputed under MAR
    got = _imputed(fit, out[3])[["M12", "M18"]].to_numpy()
    np.testing.assert_allclose(got, _expected("MAR", out[3], mu, S, y1), atol=1e-6)
    tab = strategy_table(fit)
    assert tab.set_index(["arm", "strategy"])["n_patients"].to_dict() == {
        ("A", "MAR"): 30, ("B", "CR"): 1, ("B", "JR"): 2, ("B", "MAR"): 27}


def test_post_event_values_are_kept_and_left_out_of_the_model(dropouts):
    d, out, mu, S, y1 = dropouts
    d = d.copy()
    keep = (d["patient_id"] == "P31") & (d["timepoint"] == "M18")
    ice = pd.DataFrame({"patient_id": ["P31"], "timepoint": ["M12"], "strategy": ["JR"]})
    d.loc[(d["patient_id"] == "P31") & (d["timepoint"] == "M12"), "change"] = np.nan
    fit = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
    s = fit.imputed[0]
    row = (s["patient_id"] == "P31") & (s["timepoint"] == "M18")
    assert s.loc[row, "change"].item() == d.loc[keep, "change"].item()
    assert fit.n_obs == int(d["change"].notna().sum()) - 1
    assert any("kept in the analysis" in n for n in fit.notes)


# ------------------------------------------------------------------ delta, analysis


def test_delta_shifts_imputed_values_only(dropouts):
    d, out, *_ = dropouts
    ice = pd.DataFrame({"patient_id": out, "timepoint": "M12", "strategy": "JR"})
    base = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
    rule = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"},
                  delta={"B": {"M18": 2.0}})
    table = pd.DataFrame({"patient_id": out, "timepoint": "M18", "delta": 2.0})
    table.loc[~table["patient_id"].str.fullmatch(r"P(3|4)\d"), "delta"] = 0.0
    tab = base.with_delta(table)
    diff = rule.imputed[0]["change"] - base.imputed[0]["change"]
    b_m18 = (rule.imputed[0]["arm"] == "B") & (rule.imputed[0]["timepoint"] == "M18")
    expect = np.where(b_m18 & rule.imputed[0]["imputed"], 2.0, 0.0)
    np.testing.assert_allclose(diff, expect)
    np.testing.assert_allclose(tab.tidy()["estimate"], rule.tidy()["estimate"])
    # ANCOVA without covariates: the B mean at M18 rises by 2 x 6/30
    shift = rule.tidy()["estimate"] - base.tidy()["estimate"]
    sel = (rule.tidy()["visit"] == "M18") & (rule.tidy()["arm"] == "B")
    assert shift[sel].item() == pytest.approx(2.0 * 6 / 30)
    assert any(n.startswith("delta adjustment: 6 imputed") for n in rule.notes)


def test_ancova_table_matches_least_squares(dropouts):
    import statsmodels.formula.api as smf

    d, out, *_ = dropouts
    d = d.copy()
    base = pd.Series(np.random.default_rng(0).normal(20, 4, 60),
                     index=[f"P{i:02d}" for i in range(60)])
    d["baseline"] = d["patient_id"].map(base)
    ice = pd.DataFrame({"patient_id": out, "timepoint": "M12", "strategy": "CIR"})
    fit = fit_mi(d, arm="arm", ice=ice, references={"B": "A"})
    s = fit.imputed[0]
    s = s.loc[s["timepoint"] == "M18"]
    ols = smf.ols("change ~ C(arm) + baseline", data=s).fit()
    tab = fit.tidy()
    row = tab.loc[(tab["visit"] == "M18") & (tab["kind"] == "difference")].iloc[0]
    assert row["estimate"] == pytest.approx(ols.params["C(arm)[T.B]"], abs=1e-8)
    m = s["baseline"].mean()
    lsm_a = ols.params["Intercept"] + ols.params["baseline"] * m
    row_a = tab.loc[(tab["visit"] == "M18") & (tab["arm"] == "A")].iloc[0]
    assert row_a["estimate"] == pytest.approx(lsm_a, abs=1e-8)


def test_jackknife_se_by_refitting_without_each_patient():
    d = _trial(n_per_arm=6, seed=5)
    d = d.loc[d["timepoint"] != "M18"].copy()
    d["timepoint"] = d["timepoint"].cat.remove_unused_categories()
    d.loc[d["patient_id"].isin(["P07", "P09", "P02"]) & (d["timepoint"] == "M12"),
          "change"] = np.nan
    ice = pd.DataFrame({"patient_id": ["P07", "P09"], "timepoint": "M12", "strategy": "JR"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
        loo = []
        for pid in sorted(d["patient_id"].unique()):
            sub = d.loc[d["patient_id"] != pid]
            f = fit_mi(sub, arm="arm", covariates=(), ice=ice[ice["patient_id"] != pid],
                       references={"B": "A"})
            loo.append(f.tidy()["estimate"].to_numpy())
    loo = np.array(loo)
    n = len(loo)
    se = np.sqrt((n - 1) / n * ((loo - loo.mean(0)) ** 2).sum(0))
    np.testing.assert_allclose(fit.tidy()["se"], se, rtol=1e-5)  # refits stop at a decrement of 1e-9


def test_mmrm_analysis_close_to_ancova_under_mar():
    d = _trial(n_per_arm=12, seed=8)
    d.loc[d["patient_id"].isin(["P01", "P13", "P16"]) & (d["timepoint"] == "M18"),
          "change"] = np.nan
    a = fit_mi(d, arm="arm", covariates=())
    m = fit_mi(d, arm="arm", covariates=(), analysis="mmrm")
    ta, tm = a.tidy(), m.tidy()
    np.testing.assert_allclose(tm["estimate"], ta["estimate"], atol=0.05 * ta["se"].min())
    np.testing.assert_allclose(tm["se"], ta["se"], rtol=0.05)


# ------------------------------------------------------------------ bootstrap


def _seeded_and_near_the_mmrm(method, n_small, n_big, seed):
    """Same seed, same result; many imputations: the MMRM differences (MAR).

    Returns the pooled difference rows, one per MMRM visit.
    """
    data = pd.read_csv(RBMI / "antidepressant.csv")
    kw = dict(arm="THERAPY", covariates=["BASVAL"], y="CHANGE", visit="VISIT",
              group="PATIENT", formula="BASVAL*VISIT + THERAPY*VISIT", method=method)
    a = fit_mi(data, n_imputations=n_small, seed=1, **kw)
    b = fit_mi(data, n_imputations=n_small, seed=1, **kw)
    pd.testing.assert_frame_equal(a.tidy(), b.tidy())
    big = fit_mi(data, n_imputations=n_big, seed=seed, **kw)
    mm = fit_mmrm(data, y="CHANGE", visit="VISIT", group="PATIENT", arm="THERAPY",
                  formula="CHANGE ~ BASVAL*C(VISIT) + THERAPY*C(VISIT)").differences
    ours = big.differences
    rows = []
    # Monte Carlo error of the pooled estimate: sqrt(B / m), B the between variance
    for v, est, se in zip(mm["visit"], mm["estimate"], mm["se"], strict=True):
        row = ours.loc[ours["visit"] == v].iloc[0]
        assert row["estimate"] == pytest.approx(est, abs=0.1 * se)
        assert row["se"] == pytest.approx(se, rel=0.1)
        rows.append(row)
    return big, pd.DataFrame(rows)


def test_bootstrap_is_seeded_and_converges_to_the_mmrm_under_mar():
    _, rows = _seeded_and_near_the_mmrm("bootstrap", n_small=5, n_big=100, seed=7)
    assert np.isfinite(rows["df"]).all() and (rows["df"] < 169).all()


def test_bayes_is_seeded_and_converges_to_the_mmrm_under_mar():
    big, _ = _seeded_and_near_the_mmrm("bayes", n_small=4, n_big=150, seed=11)
    assert any("split R-hat at most" in n for n in big.notes)


def test_single_arm_mar_and_delta():
    d = _trial().query("arm == 'B'").drop(columns="arm")
    d.loc[d["patient_id"].isin(["P30", "P31"]) & (d["timepoint"] == "M18"), "change"] = np.nan
    fit = fit_mi(d, covariates=())
    assert "arm" not in fit.tidy().columns
    shifted = fit.with_delta(-3.0)
    change = shifted.tidy()["estimate"] - fit.tidy()["estimate"]
    np.testing.assert_allclose(change, [0.0, 0.0, -3.0 * 2 / 30], atol=1e-12)
    with pytest.raises(OptionError, match="single-arm"):
        fit_mi(d, covariates=(), ice=pd.DataFrame({"patient_id": ["P30"], "timepoint": ["M18"],
                                                   "strategy": ["JR"]}))


# ------------------------------------------------------------------ tipping point


def test_tipping_point_on_the_rbmi_example():
    data = pd.read_csv(RBMI / "antidepressant.csv")
    ice = pd.read_csv(RBMI / "ice.csv").rename(columns={"STRATEGY": "strategy"})
    fit = fit_mi(data, arm="THERAPY", covariates=["BASVAL"], y="CHANGE", visit="VISIT",
                 group="PATIENT", ice=ice, references={"DRUG": "PLACEBO"},
                 formula="BASVAL*VISIT + THERAPY*VISIT")
    tp = tipping_point(fit, deltas=[0.0, 1.0, 2.0, 3.0])
    assert tp.arm == "DRUG" and tp.visit == 7 and tp.term == "PLACEBO - DRUG"
    # rbmi, JR with +2 on imputed DRUG values: trt_7 1.63664132384144, se 0.885093275429749
    at2 = tp.table.set_index("delta").loc[2.0]
    assert at2["estimate"] == pytest.approx(1.63664132384144, abs=0.01 * 0.885)
    assert at2["se"] == pytest.approx(0.885093275429749, abs=0.01 * 0.885)
    assert 0.0 < tp.tipping_delta < 2.0
    at_tip = fit.with_delta({"DRUG": tp.tipping_delta}).differences
    assert at_tip.loc[at_tip["visit"] == 7, "p_value"].item() == pytest.approx(0.05, abs=1e-5)
    assert tp.sentence() == (
        "The difference between PLACEBO and DRUG at visit 7 stays significant unless patients "
        f"on DRUG with missing scores had values at least {tp.tipping_delta:.1f} higher than "
        "the model assumes.")
    fig = tp.plot()
    assert len(fig.axes[0].lines) == 3


# ------------------------------------------------------------------ options and errors


def test_options_and_errors(dropouts):
    d, out, *_ = dropouts
    ice = pd.DataFrame({"patient_id": out, "timepoint": "M12", "strategy": "JR"})
    with pytest.raises(OptionError, match="`method`"):
        fit_mi(d, arm="arm", covariates=(), method="mcmc")
    with pytest.raises(OptionError, match="references="):
        fit_mi(d, arm="arm", covariates=(), ice=ice)
    with pytest.raises(OptionError, match="unknown strategy"):
        fit_mi(d, arm="arm", covariates=(), ice=ice.assign(strategy="XX"),
               references={"B": "A"})
    with pytest.raises(OptionError, match="n_imputations"):
        fit_mi(d, arm="arm", covariates=(), n_imputations=5)
    with pytest.raises(DataError, match="not in the data"):
        fit_mi(d, arm="arm", covariates=(), ice=ice.assign(patient_id="nobody").head(1),
               references={"B": "A"})
    with pytest.raises(DataError, match="not a visit"):
        fit_mi(d, arm="arm", covariates=(), ice=ice.assign(timepoint="M99"),
               references={"B": "A"})
    with pytest.raises(DataError, match="an arm not in the data"):
        fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "C"})
    with pytest.raises(DataError, match="baseline"):
        fit_mi(d, arm="arm")


def test_result_model(dropouts):
    d, out, *_ = dropouts
    ice = pd.DataFrame({"patient_id": out, "timepoint": "M12", "strategy": "JR"})
    fit = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
    assert (fit.n_obs, fit.n_patients, fit.n_imputed, fit.n_imputations) == (164, 60, 16, 61)
    assert fit.method == "condmean" and fit.level == 0.95
    tab = fit.tidy(level=0.9)
    assert tab.columns.tolist() == ["visit", "arm", "kind", "estimate", "se", "df", "t",
                                    "p_value", "ci_low", "ci_high"]
    assert tab["arm"].tolist()[:3] == ["A", "B", "B - A"]
    assert fit.glance()["n_imputed"].item() == 16
    text = fit.summary()
    assert "164 observed values from 60 patients, 3 visits; 16 values imputed" in text
    assert "jump to reference (JR) for 8 patient(s)" in text
    assert "<h4>Multiple imputation</h4>" in fit._repr_html_()
    assert len(fit.jackknife_sets()) == 60
    assert len(fit.plot().axes[0].lines) >= 2


def test_changes_table_input_and_top_level_names():
    import sma_outcomes

    d = _trial(n_per_arm=10).rename(columns={"change": "value"})
    d["change"] = d["value"]
    d["measure"] = "HFMSE"
    d["analysed"] = True
    d["is_baseline"] = False
    d["baseline"] = 30.0 + (d["patient_id"].str[1:].astype(int) % 7)
    other = d.assign(measure="RULM", change=d["change"] + 100.0)
    base = d.drop_duplicates("patient_id").assign(timepoint="Baseline", is_baseline=True,
                                                  change=np.nan)
    skipped = d.head(3).assign(analysed=False, change=1e6)
    table = pd.concat([d, other, base, skipped], ignore_index=True)
    table["timepoint"] = pd.Categorical(table["timepoint"], ["Baseline", *VISITS], ordered=True)
    table.loc[(table["patient_id"] == "P12") & (table["timepoint"] == "M18")
              & (table["measure"] == "HFMSE") & table["analysed"], "change"] = np.nan
    fit = sma_outcomes.fit_mi(table, "HFMSE", arm="arm")
    assert fit.visits == VISITS and fit.n_patients == 20 and fit.n_imputed == 1
    assert fit.md.measure == "HFMSE"
    with pytest.raises(DataError, match="measure"):
        sma_outcomes.fit_mi(table, arm="arm")
    assert sma_outcomes.MIResult is type(fit)
    assert callable(sma_outcomes.tipping_point)


def test_delta_table_per_arm_and_visit(dropouts):
    d, out, *_ = dropouts
    ice = pd.DataFrame({"patient_id": out, "timepoint": "M12", "strategy": "JR"})
    base = fit_mi(d, arm="arm", covariates=(), ice=ice, references={"B": "A"})
    by_arm = base.with_delta(pd.DataFrame({"arm": ["A", "B"], "timepoint": ["M12", "M12"],
                                           "delta": [1.0, -1.0]}))
    diff = by_arm.imputed[0]["change"] - base.imputed[0]["change"]
    s = base.imputed[0]
    at12 = s["imputed"] & (s["timepoint"] == "M12")
    expect = np.where(at12, np.where(s["arm"] == "A", 1.0, -1.0), 0.0)
    np.testing.assert_allclose(diff, expect)
    with pytest.raises(DataError, match="not an arm"):
        base.with_delta({"Z": 1.0}).tidy()


# --------------------------------------------------------------- not yet due
WINDOWS_3 = {"M6": (180, 100, 200), "M12": (360, 300, 400), "M18": (540, 500, 600)}
#: patient -> (cut-off day, change at M6, M12, M18); None: no row
NOT_DUE = {
    "P1": (1000, 1.0, 2.0, 3.0),
    "P2": (1000, 2.0, 3.5, 4.0),
    "P3": (1000, None, 1.0, 2.5),   # M6 missing though due: imputed
    "P4": (1000, 0.5, 1.5, 1.0),
    "P5": (1000, 1.5, 2.5, 3.5),
    "P6": (450, 1.0, 3.0, None),    # M18 ends day 600 > 450: not yet due
    "P7": (250, 2.5, None, None),   # M12 and M18 not yet due
}


def _not_due_table() -> tuple[pd.DataFrame, dict]:
    rows = []
    for pid, (_, *vals) in NOT_DUE.items():
        for (tp, (target, _lo, _hi)), v in zip(WINDOWS_3.items(), vals, strict=True):
            if v is not None:
                rows.append({"patient_id": pid, "timepoint": tp, "day": float(target),
                             "change": v})
    d = pd.DataFrame(rows)
    d["timepoint"] = pd.Categorical(d["timepoint"], categories=list(WINDOWS_3), ordered=True)
    return d, {pid: v[0] for pid, v in NOT_DUE.items()}


def test_visits_not_yet_due_are_neither_imputed_nor_analysed():
    d, cutoff = _not_due_table()
    fit = fit_mi(d, covariates=(), cutoff=cutoff, windows=WINDOWS_3)
    # only P3 at M6 is missing while due; P6 at M18 and P7 at M12, M18 are not yet due
    assert fit.n_imputed == 1
    assert fit.n_patients == 7
    assert any("3 visit(s) not yet due at the data cut-off are left out" in n for n in fit.notes)
    tab = fit.tidy().set_index("visit")["estimate"]
    # M12: P1-P6 observed, P7 not there: (2 + 3.5 + 1 + 1.5 + 2.5 + 3) / 6
    assert tab["M12"] == pytest.approx(13.5 / 6)
    # M18: P1-P5 observed only: (3 + 4 + 2.5 + 1 + 3.5) / 5
    assert tab["M18"] == pytest.approx(14.0 / 5)
    done = fit.imputed[0]
    assert len(done) == 21 - 3
    assert done["imputed"].sum() == 1
    assert done.loc[done["imputed"], ["patient_id", "timepoint"]].values.tolist() == [["P3", "M6"]]
    assert strategy_table(fit)["n_imputed"].tolist() == [1]
    assert all(len(s) in (18 - 3, 18 - 2, 18 - 1) for s in fit.jackknife_sets())
    # without the cut-off the three future visits would be imputed too
    assert fit_mi(d, covariates=()).n_imputed == 4
    # delta shifts only the imputed value: M6 moves by 2 / 7, the others not at all
    shift = (fit.with_delta(2.0).tidy()["estimate"] - fit.tidy()["estimate"]).to_numpy()
    assert shift == pytest.approx([2.0 / 7, 0.0, 0.0])


def test_due_column_on_a_generic_table():
    d, cutoff = _not_due_table()
    g = d.rename(columns={"patient_id": "id", "timepoint": "v", "change": "y"})
    extra = pd.DataFrame({"id": ["P6", "P7", "P7"], "v": ["M18", "M12", "M18"], "y": np.nan,
                          "day": np.nan, "due": False})
    g = pd.concat([g.assign(due=True), extra], ignore_index=True)
    fit = fit_mi(g, covariates=(), y="y", visit="v", group="id", due="due")
    assert fit.n_imputed == 1
    assert fit.tidy().set_index("visit").loc["M18", "estimate"] == pytest.approx(14.0 / 5)
    with pytest.raises(OptionError, match="cutoff= needs the timeline table"):
        fit_mi(g, covariates=(), y="y", visit="v", group="id", cutoff=cutoff)
    with pytest.raises(DataError, match="due='nope' is not a column"):
        fit_mi(g, covariates=(), y="y", visit="v", group="id", due="nope")


def test_patient_with_no_visit_due_is_left_out():
    d, cutoff = _not_due_table()
    d = pd.concat([d, pd.DataFrame({"patient_id": ["P8"], "timepoint": ["M6"], "day": [180.0],
                                    "change": [np.nan]})], ignore_index=True)
    d["timepoint"] = pd.Categorical(d["timepoint"], categories=list(WINDOWS_3), ordered=True)
    cutoff["P8"] = 90  # nothing due yet
    fit = fit_mi(d, covariates=(), cutoff=cutoff, windows=WINDOWS_3)
    assert fit.n_patients == 7 and fit.n_imputed == 1
    assert any("1 patient(s) with no visit due" in n for n in fit.notes)


def test_tipping_sentence_is_plain_with_units_and_direction():
    from sma_outcomes.stats.mi import TippingPoint

    up = pd.DataFrame({"delta": [0.0, -1.0, -3.0], "estimate": [2.0, 1.4, 0.2],
                       "p_value": [0.001, 0.01, 0.4]})
    tp = TippingPoint(up, -2.34, "Month 18", "lsmean", None, 0.05, "HFMSE")
    assert tp.sentence() == ("The improvement at Month 18 stays significant unless patients with "
                             "missing scores did at least 2.3 points worse than the model assumes.")
    # the search never crossed: say how far it went
    tp = TippingPoint(up.iloc[:2], float("nan"), "Month 18", "lsmean", None, 0.05, "HFMSE")
    assert tp.sentence() == ("The improvement at Month 18 stays significant even if patients with "
                             "missing scores did 1.0 points worse than the model assumes.")
    # a decline on a scale where higher is better; not significant to start with
    down = pd.DataFrame({"delta": [0.0, -2.0], "estimate": [-0.5, -1.5], "p_value": [0.3, 0.01]})
    tp = TippingPoint(down, -1.25, "Month 6", "lsmean", None, 0.05, "RULM")
    assert tp.sentence() == ("The decline at Month 6 is not significant, and would become "
                             "significant only if patients with missing scores did at least "
                             "1.2 points worse than the model assumes.")
    # Purdue units
    tp = TippingPoint(up, -0.5, "Month 6", "lsmean", None, 0.05, "PP_PREF")
    assert "did at least 0.5 pins in 30 s worse" in tp.sentence()
