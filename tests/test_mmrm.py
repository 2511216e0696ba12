"""fit_mmrm behaviour: the changes table, LS means, df methods, messages, result API."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sma_outcomes import (
    ColumnError,
    ConvergenceWarning,
    DataError,
    DataWarning,
    MeasureError,
    ModelWarning,
)
from sma_outcomes.stats.mmrm import FALLBACK_CHAIN, MMRMResult, fit_mmrm
from sma_outcomes.stats.mmrm import fit as fit_module

TIMEPOINTS = ["Baseline", "Loading", "Month 6", "Month 10", "Month 14", "Month 18"]


def _changes(n=80, seed=3, measures=("HFMSE", "RULM")) -> pd.DataFrame:
    """A changes table as change_from_baseline returns it (timeline columns included)."""
    rng = np.random.default_rng(seed)
    post = ["Month 6", "Month 10", "Month 14"]
    rows = []
    for i in range(n):
        pid = f"P{i:03d}"
        arm = "Nusinersen" if i % 2 else "Risdiplam"
        sma_type = "2" if i % 3 == 0 else "3"
        for measure in measures:
            base = float(rng.integers(10, 50))
            e = rng.multivariate_normal(np.zeros(3), [[4, 2, 1.5], [2, 5, 3], [1.5, 3, 6]])
            rows.append(dict(patient_id=pid, measure=measure, timepoint="Baseline", score=base,
                             baseline=base, change=0.0, analysed=True, is_baseline=True,
                             arm=arm, sma_type=sma_type))
            last = 3 if rng.random() > 0.3 else int(rng.integers(0, 3))
            for k, tp in enumerate(post):
                if k >= last:
                    break
                chg = 0.5 * (k + 1) + (arm == "Nusinersen") * 0.8 * (k + 1) - 0.04 * (base - 30)
                chg += e[k]
                rows.append(dict(patient_id=pid, measure=measure, timepoint=tp,
                                 score=base + chg, baseline=base, change=chg, analysed=True,
                                 is_baseline=False, arm=arm, sma_type=sma_type))
    d = pd.DataFrame(rows)
    # an unscheduled, not-analysed duplicate that must be ignored
    extra = d.iloc[[3]].copy()
    extra["analysed"] = False
    extra["change"] = 99.0
    d = pd.concat([d, extra], ignore_index=True)
    d["timepoint"] = pd.Categorical(d["timepoint"], categories=TIMEPOINTS, ordered=True)
    return d


@pytest.fixture(scope="module")
def changes() -> pd.DataFrame:
    return _changes()


def _quiet(*args, **kw) -> MMRMResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_mmrm(*args, **kw)


@pytest.fixture(scope="module")
def fit(changes) -> MMRMResult:
    return _quiet(changes, "HFMSE", arm="arm")


# -------------------------------------------------------------- data selection
def test_rows_selected_from_changes_table(changes, fit):
    used = changes.query("measure == 'HFMSE' and analysed and not is_baseline")
    assert fit.n_obs == len(used)
    assert fit.visits == ["Month 6", "Month 10", "Month 14"]  # order kept, unused dropped
    with_post = used["patient_id"].nunique()
    assert fit.n_patients == with_post
    assert fit.design.n_baseline_only == 80 - with_post > 0
    assert f"Patients with baseline only (not in the model): {80 - with_post}" in fit.summary()
    assert f"{fit.n_obs} observations from {fit.n_patients} patients, maximum 3 visits" in (
        fit.summary()
    )


def test_baseline_only_patients_warned(changes):
    with pytest.warns(DataWarning, match="baseline but no post-baseline value"):
        fit_mmrm(changes, "HFMSE")


def test_several_measures_need_measure(changes):
    with pytest.raises(MeasureError, match=r"data have 2: pass `measure=` one of \['HFMSE', 'RULM'\]"):
        fit_mmrm(changes)
    with pytest.raises(MeasureError, match="`measure` 'MFM32' is not in the data"):
        fit_mmrm(changes, "MFM32")
    assert issubclass(MeasureError, DataError)


def test_duplicate_visit_is_an_error(changes):
    d = changes.query("measure == 'HFMSE' and analysed")
    dup = pd.concat([d, d.query("not is_baseline").iloc[[0]]])
    with pytest.raises(DataError, match="share a patient and visit"):
        fit_mmrm(dup, "HFMSE")


def test_bad_names_are_explained(changes):
    with pytest.raises(ValueError, match="'us' \\(unstructured\\), 'cs'"):
        fit_mmrm(changes, "HFMSE", covariance="spherical")
    with pytest.raises(ValueError, match="satterthwaite"):
        fit_mmrm(changes, "HFMSE", df="containment")
    with pytest.raises(ValueError, match="REML"):
        fit_mmrm(changes, "HFMSE", df="kr", reml=False)
    with pytest.raises(ColumnError, match="fit_mmrm\\(\\) needs the column 'site'"):
        fit_mmrm(changes, "HFMSE", covariates=("baseline", "site"))


def test_missing_covariate_rows_dropped_with_note(changes):
    d = changes.copy()
    idx = d.index[(d.measure == "HFMSE") & ~d.is_baseline][:3]
    d.loc[idx, "baseline"] = np.nan
    fit = _quiet(d, "HFMSE")
    assert fit.n_obs == _quiet(changes, "HFMSE").n_obs - 3
    assert any("3 observation(s)" in n for n in fit.notes)


# ------------------------------------------------------------------- LS means
def test_lsmeans_table_shape(fit):
    ls = fit.lsmeans
    assert list(ls.columns) == ["visit", "arm", "kind", "estimate", "se", "df", "t", "p_value",
                                "ci_low", "ci_high"]
    assert len(ls) == 9
    diff = fit.differences
    assert diff["arm"].unique().tolist() == ["Risdiplam - Nusinersen"]
    for v in fit.visits:
        cell = ls.loc[(ls.visit == v) & (ls.kind == "lsmean")].set_index("arm")["estimate"]
        d = diff.loc[diff.visit == v, "estimate"].iloc[0]
        assert d == pytest.approx(cell["Risdiplam"] - cell["Nusinersen"], rel=1e-12)


def test_numeric_covariate_at_mean_of_analysis_rows(changes):
    fit = _quiet(changes, "HFMSE")
    beta = dict(zip(fit.coef_names, fit.beta, strict=True))
    mean_base = fit.design.data["baseline"].mean()
    ls = fit.lsmeans.set_index("visit")["estimate"]
    assert ls["Month 6"] == pytest.approx(beta["Intercept"] + beta["baseline"] * mean_base)
    expected = beta["Intercept"] + beta["timepoint[T.Month 10]"] + beta["baseline"] * mean_base
    assert ls["Month 10"] == pytest.approx(expected)


def test_factor_covariate_averaged_equally(changes):
    fit = _quiet(changes, "HFMSE", covariates=("baseline", "sma_type"))
    b = dict(zip(fit.coef_names, fit.beta, strict=True))
    m = fit.design.data["baseline"].mean()
    ls = fit.lsmeans.set_index("visit")["estimate"]
    assert ls["Month 6"] == pytest.approx(b["Intercept"] + b["baseline"] * m + 0.5 * b["sma_type[T.3]"])


def test_baseline_by_visit_interaction(changes):
    fit = _quiet(changes, "HFMSE", interactions=("baseline",))
    assert "baseline:timepoint[T.Month 14]" in fit.coef_names
    assert len(fit.lsmeans) == 3


def test_formula_interface_equals_default(changes, fit):
    d = changes.query("measure == 'HFMSE'")
    f2 = _quiet(d, formula="change ~ baseline + arm * timepoint", arm="arm")
    np.testing.assert_allclose(f2.m2ll, fit.m2ll, rtol=1e-10)
    np.testing.assert_allclose(
        f2.lsmeans["estimate"].to_numpy(), fit.lsmeans["estimate"].to_numpy(), rtol=1e-6
    )


# --------------------------------------------------------- df and contrasts
def test_contrast_forms_agree_with_fixed(fit):
    name = "arm[T.Risdiplam]"
    row = fit.fixed.set_index("term").loc[name]
    c1 = fit.contrast({"arm": {name: 1.0}}).iloc[0]
    v = np.zeros(len(fit.coef_names))
    v[fit.coef_names.index(name)] = 1.0
    c2 = fit.contrast(v, names=["arm"]).iloc[0]
    for c in (c1, c2):
        assert c["estimate"] == pytest.approx(row["estimate"])
        assert c["se"] == pytest.approx(row["se"])
        assert c["df"] == pytest.approx(row["df"])
    F = fit.test(v[None, :])
    assert F["f_stat"] == pytest.approx(row["t"] ** 2, rel=1e-10)
    assert F["p_value"] == pytest.approx(row["p_value"], rel=1e-8)


def test_residual_and_between_within_df(changes):
    res = _quiet(changes, "HFMSE", arm="arm", df="residual")
    rank = len(res.coef_names)
    assert (res.fixed["df"] == res.n_obs - rank).all()
    bw = _quiet(changes, "HFMSE", arm="arm", df="between-within").fixed.set_index("term")["df"]
    n, N = res.n_patients, res.n_obs
    # between columns: baseline, arm -> n - 2 - 1; within: 2 visit + 2 arm x visit columns
    assert bw["arm[T.Risdiplam]"] == n - 2 - 1
    assert bw["baseline"] == n - 2 - 1
    assert bw["timepoint[T.Month 10]"] == N - n - 4


def test_kenward_roger_adjusts_se(changes):
    sat = _quiet(changes, "HFMSE", arm="arm")
    kr = _quiet(changes, "HFMSE", arm="arm", df="kr")
    assert (kr.fixed["se"] >= sat.fixed["se"] - 1e-12).all()
    assert kr.fixed["estimate"].to_numpy() == pytest.approx(sat.fixed["estimate"].to_numpy())


def test_model_quantities(fit):
    assert fit.loglik == pytest.approx(-fit.m2ll / 2)
    assert fit.aic == pytest.approx(fit.m2ll + 2 * 6)
    assert fit.bic == pytest.approx(fit.m2ll + 6 * np.log(fit.n_patients))
    np.testing.assert_allclose(fit.covariance.to_numpy(), fit.covariance.to_numpy().T)
    np.testing.assert_allclose(np.diag(fit.correlation), 1.0)
    assert list(fit.covariance_parameters["parameter"])[:2] == ["UN(1,1)", "UN(2,1)"]
    assert fit.vcov.shape == (len(fit.coef_names),) * 2


# ------------------------------------------------------------ structures
@pytest.mark.parametrize("code", ["cs", "csh", "ar1", "ar1h", "adh", "toep", "toeph"])
def test_structures_fit(changes, code):
    f = _quiet(changes, "HFMSE", covariance=code, fallback=False)
    assert f.converged and f.structure.code == code
    assert f.m2ll >= _quiet(changes, "HFMSE").m2ll - 1e-6  # us is the most general


# ------------------------------------------------------------------ messages
def test_fallback_chain_is_stated(changes, monkeypatch):
    original = fit_module._fit_structure

    def failing_us(pats, st, S0, reml):
        out = original(pats, st, S0, reml)
        if st.code == "us":
            out.converged = False
            out.message = "simulated failure"
        return out

    monkeypatch.setattr(fit_module, "_fit_structure", failing_us)
    with pytest.warns(ConvergenceWarning, match="fallback chain us -> toeph"):
        f = fit_mmrm(changes, "HFMSE")
    assert FALLBACK_CHAIN[:2] == ("us", "toeph")
    assert f.structure.code == "toeph" and f.requested == "us"
    assert "fallback from unstructured" in f.summary()
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        f2 = fit_mmrm(changes, "HFMSE", fallback=False)
    assert f2.structure.code == "us" and not f2.converged


def test_few_patients_at_a_visit_warned(changes):
    d = changes.query("measure == 'HFMSE'").copy()
    late = d.index[d.timepoint == "Month 14"]
    d.loc[late[3:], "analysed"] = False
    with pytest.warns(DataWarning, match="few patients have a value at visit\\(s\\) Month 14 \\(3\\)"):
        fit_mmrm(d, "HFMSE", covariance="ar1")


def test_inestimable_cell_reported(changes):
    d = changes.query("measure == 'HFMSE'").copy()
    d = d.loc[~((d.arm == "Risdiplam") & (d.timepoint == "Month 14"))]
    with pytest.warns(ModelWarning, match="cannot be estimated"):
        f = fit_mmrm(d, "HFMSE", arm="arm", covariance="ar1")
    fixed = f.fixed.set_index("term")
    assert np.isnan(fixed.loc["arm[T.Risdiplam]:timepoint[T.Month 14]", "estimate"])
    cell = f.lsmeans.query("visit == 'Month 14' and arm == 'Risdiplam'")
    assert cell["estimate"].isna().all()
    assert f.lsmeans.query("visit == 'Month 6'")["estimate"].notna().all()


@pytest.mark.parametrize("empty_arm", ["Nusinersen", "Risdiplam"])
def test_inestimable_cell_warning_names_the_empty_cell(changes, empty_arm):
    """Issue 10: with the first arm's cell empty, the warning named the other arm's cell.

    Either way the aliased coefficient is arm[T.Risdiplam]:timepoint[T.Month 14]
    (the later of two identical columns); the warning must name the arm x visit
    cell that has no patient.
    """
    d = changes.query("measure == 'HFMSE'").copy()
    d = d.loc[~((d.arm == empty_arm) & (d.timepoint == "Month 14"))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = fit_mmrm(d, "HFMSE", arm="arm", covariance="ar1")
    msgs = [str(w.message) for w in caught if "cannot be estimated" in str(w.message)]
    assert len(msgs) == 1
    assert f"no patient has a value in arm '{empty_arm}' at timepoint 'Month 14'" in msgs[0]
    other = {"Nusinersen": "Risdiplam", "Risdiplam": "Nusinersen"}[empty_arm]
    assert f"'{other}'" not in msgs[0]
    assert msgs[0] in f.notes
    cell = f.lsmeans.query("visit == 'Month 14' and arm == @empty_arm")
    assert cell["estimate"].isna().all()


# -------------------------------------------------------------------- display
def test_repr_and_html(fit):
    assert "observations" in repr(fit)
    html = fit._repr_html_()
    assert "<table" in html and "unstructured" in html


def test_plot_draws_lsmeans(fit):
    from matplotlib.figure import Figure

    fig = fit.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    ls = fit.lsmeans.query("kind == 'lsmean'")
    lines = [c.lines[0] for c in ax.containers]
    assert len(lines) == 2
    drawn = np.sort(np.concatenate([ln.get_ydata() for ln in lines]))
    np.testing.assert_allclose(drawn, np.sort(ls["estimate"].to_numpy()))
    assert [t.get_text() for t in ax.get_xticklabels()] == fit.visits


def _wide_sim(n=60, k=3, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"patient_id": np.repeat(np.arange(n), k),
                         "visit": np.tile(np.arange(1, k + 1) * 6, n),
                         "change": rng.normal(size=n * k)})


def test_singular_covariance_falls_back_with_plain_message():
    d = _wide_sim()
    d.loc[d.visit == 12, "change"] = d.loc[d.visit == 6, "change"].to_numpy() + 1.0
    with pytest.warns(ConvergenceWarning, match="became singular") as rec:
        f = fit_mmrm(d, visit="visit", covariates=())
    assert "exact linear function" in str(rec[0].message)
    assert f.structure.code != "us" and f.converged


def test_unidentified_covariance_falls_back():
    d = _wide_sim()
    d = d.loc[~((d.patient_id % 2 == 0) & (d.visit == 6))
              & ~((d.patient_id % 2 == 1) & (d.visit == 12))]
    with pytest.warns(DataWarning, match="no patient has values at both of the visits 12 & 6"):
        with pytest.warns(ConvergenceWarning, match="not curved in every direction"):
            f = fit_mmrm(d, visit="visit", covariates=())
    assert f.structure.code == "toeph"


def test_single_visit_and_numeric_visits():
    d = _wide_sim(k=1)
    f = _quiet(d, visit="visit", covariates=(), covariance="cs")
    assert f.structure.code == "us" and f.visits == [6]
    # one variance: the LS mean is the sample mean, its SE the standard error of the mean
    assert f.lsmeans["estimate"].iloc[0] == pytest.approx(d["change"].mean())
    assert f.lsmeans["se"].iloc[0] == pytest.approx(d["change"].std() / np.sqrt(len(d)))
    assert f.lsmeans["df"].iloc[0] == pytest.approx(len(d) - 1, rel=1e-6)


def test_analytic_hessian_matches_richardson(changes):
    from sma_outcomes.stats._numderiv import jacobian
    from sma_outcomes.stats.mmrm.covariance import get_structure
    from sma_outcomes.stats.mmrm.likelihood import Patterns, evaluate, hessian

    f = _quiet(changes, "HFMSE", arm="arm")
    d = f.design
    subj, _ = pd.factorize(d.data[d.group])
    pats = Patterns.build(d.data[d.y].to_numpy(float), d.X, subj,
                          d.data[d.visit].cat.codes.to_numpy(), 3)
    for code in ("us", "csh", "adh", "toeph"):
        st = get_structure(code, 3)
        for reml in (True, False):
            S = st.sigma(st.start(f.Sigma * 1.3)).real  # away from the optimum
            phi = st.phi_from_sigma(S)
            ev = evaluate(pats, S, tensors=True, reml=reml)
            d2 = None if st.linear else st.d2sigma_nat(phi)
            Ha = hessian(pats, ev, st.dsigma_nat(phi), d2, reml=reml)
            Hn = jacobian(lambda p, st=st, reml=reml: evaluate(
                pats, st.sigma_nat(p), st.dsigma_nat(p), reml=reml).grad, phi)
            np.testing.assert_allclose(Ha, Hn, rtol=1e-6, atol=1e-8 * np.abs(Hn).max())


def test_on_the_sample_cohort_pipeline():
    import sma_outcomes as so

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ch = so.change_from_baseline(so.load_example("cohort"))
        f = so.fit_mmrm(ch, "RULM", arm="sma_type", covariance="ar1h")
    used = ch.query("measure == 'RULM' and analysed and not is_baseline").dropna(
        subset=["change", "baseline"]
    )
    assert f.n_obs == len(used)
    assert f.visits == [v for v in ch["timepoint"].cat.categories
                        if v in set(used["timepoint"]) and v != "Baseline"]
    assert f.plot().axes[0].get_ylabel() == "Change in RULM total (points), LS mean (95% CI)"
    assert set(f.differences["arm"]) == {"3 - 2"}


def test_patients_without_baseline_are_told_apart(changes):
    d = changes.copy()
    pid = d.loc[(d.measure == "HFMSE") & ~d.is_baseline, "patient_id"].iloc[0]
    mine = (d.patient_id == pid) & (d.measure == "HFMSE")
    d = d.loc[~(mine & d.is_baseline)]
    d.loc[mine & ~d.is_baseline, "change"] = np.nan
    with pytest.warns(DataWarning, match=f"1 patient\\(s\\) had no usable value .*{pid}"):
        f = fit_mmrm(d, "HFMSE")
    assert f.design.no_value == [pid]
    assert "Patients without any usable value (not in the model): 1" in f.summary()
    assert f.design.n_baseline_only == _quiet(changes, "HFMSE").design.n_baseline_only


def test_too_few_patients_for_unstructured():
    d = _wide_sim(n=5, k=6)
    with pytest.warns(DataWarning, match="5 patients for the 21 parameters .* cannot be estimated"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            f = fit_mmrm(d, visit="visit", covariates=())
    assert f.structure.code != "us"


@pytest.mark.parametrize("code", ["us", "csh"])
def test_invariant_to_the_scale_of_the_outcome(code):
    from pathlib import Path

    fev = pd.read_csv(Path(__file__).parent / "reference" / "mmrm" / "fev_data.csv")
    out = []
    for scale in (1e-3, 1.0, 1e3):
        f = _quiet(fev.assign(FEV1=fev.FEV1 * scale), y="FEV1", visit="AVISIT",
                   group="USUBJID", arm="ARMCD", formula="FEV1 ~ ARMCD * AVISIT",
                   covariance=code, df="kr", fallback=False)
        assert f.converged
        dd = f.differences
        out.append(np.r_[dd.estimate / scale, dd.se / scale, dd.df])
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)
    np.testing.assert_allclose(out[2], out[1], rtol=1e-6)
