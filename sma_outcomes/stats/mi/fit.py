"""fit_mi: reference-based multiple imputation, from the long table to pooled estimates."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ... import schema
from ..._shared import check_choice, check_level
from ...exceptions import ConvergenceWarning, DataError, OptionError
from ..flow import visits_due
from .analysis import Analysis
from .bayes import BURN_IN, THIN, gibbs
from .data import MIData, prepare_data, restrict_due, select_rows
from .impute import groups, impute
from .model import (
    ImputationDesign,
    ModelFit,
    build_design,
    default_formula,
    fit_reml,
    model_columns,
)
from .result import Imputations, MIResult, _delta_notes
from .strategies import patient_strategies, strategy_means

#: Completed data sets drawn by ``method="bootstrap"`` when ``n_imputations`` is not given.
DEFAULT_IMPUTATIONS = 100


def _formula(formula: str | None, y: str, visit: str, arm: str | None,
             covariates: Sequence[str]) -> tuple[str, str]:
    if formula is None:
        return default_formula(y, visit, arm, covariates), y
    if "~" in formula:
        lhs, rhs = formula.split("~", 1)
        lhs = lhs.strip()
        m = re.fullmatch(r'Q\(\s*["\'](.+)["\']\s*\)', lhs)
        y = m.group(1) if m else lhs
        return f'Q("{y}") ~ {rhs.strip()}', y
    return f'Q("{y}") ~ {formula.strip()}', y


def _due_mask(data: pd.DataFrame, md: MIData, *, cutoff: object, due: str | None,
              schedule: object, windows: object) -> tuple[np.ndarray | None, str]:
    """(n, d) visits due for each patient (None: all), and what made them so, for the note."""
    if due is not None:
        rows, _ = select_rows(data, md.measure, func="fit_mi")
        if due not in rows.columns:
            raise DataError(f"fit_mi(): due={due!r} is not a column of the table; it should "
                            "say (True/False) whether each row's visit was due")
        flag = rows[due]
        if not (pd.api.types.is_bool_dtype(flag) or flag.isin([True, False]).all()):
            raise DataError(f"fit_mi(): column {due!r} (due=) must hold True or False only")
        keys = pd.MultiIndex.from_arrays([rows[md.group].astype(str),
                                          rows[md.visit].astype(str)])
        by = pd.Series(flag.astype(bool).to_numpy(), index=keys)
        by = by[~by.index.duplicated()]
        why = f"(column {due!r})"
    elif cutoff is not None:
        need = [c for c in (schema.PATIENT, schema.TIMEPOINT, schema.DAY) if c not in data.columns]
        if need or md.group != schema.PATIENT or md.visit != schema.TIMEPOINT:
            raise OptionError(
                "fit_mi(): cutoff= needs the timeline table (patient_id, timepoint and day "
                "columns, with group='patient_id' and visit='timepoint'); on another table "
                "give a column of True/False with due="
            )
        vd = visits_due(data, cutoff, schedule=schedule, windows=windows)
        by = pd.Series(vd["due"].to_numpy(bool), index=pd.MultiIndex.from_arrays(
            [vd[schema.PATIENT].astype(str), vd[schema.TIMEPOINT].astype(str)]))
        why = "at the data cut-off"
    else:
        return None, ""
    cells = pd.MultiIndex.from_product([[str(i) for i in md.ids], [str(v) for v in md.visits]])
    mask = by.reindex(cells).fillna(True).to_numpy(bool).reshape(md.n, md.d)
    return mask, why


def _imputer(md: MIData, design: ImputationDesign, first: np.ndarray, strategy: np.ndarray,
             condition: np.ndarray):
    grouped = groups(md.missing, condition)

    def run(fit: ModelFit, rng: np.random.Generator | None = None) -> np.ndarray:
        own = design.X_own @ fit.beta
        ref = design.X_ref @ fit.beta
        mu = strategy_means(own, ref, first, strategy)
        return impute(md.Y, mu, fit.Sigma, condition, rng, grouped)

    return run


def fit_mi(
    data: pd.DataFrame,
    measure: str | None = None,
    *,
    arm: str | None = None,
    covariates: Sequence[str] = ("baseline",),
    y: str = "change",
    visit: str = "timepoint",
    group: str = "patient_id",
    ice: pd.DataFrame | None = None,
    strategies: str | Mapping[str, str] | None = None,
    references: Mapping[object, object] | None = None,
    formula: str | None = None,
    method: str = "condmean",
    delta: object = None,
    n_imputations: int | None = None,
    seed: int | None = None,
    analysis: str = "ancova",
    level: float = 0.95,
    cutoff: object = None,
    due: str | None = None,
    schedule: object = "nusinersen",
    windows: object = None,
) -> MIResult:
    """Reference-based multiple imputation of missing outcomes, as R's rbmi.

    Missing values are imputed from an MMRM (unstructured covariance, REML)
    fitted to the observed values, under a strategy per patient from the first
    visit affected by an intercurrent event; each completed data set is analysed
    (ANCOVA at each visit by default) and the results are pooled.

    Parameters
    ----------
    data : DataFrame
        The changes table (from ``change_from_baseline``) or any long table,
        one row per patient and visit (visits without a row are added and
        imputed). With the timeline columns, rows with ``analysed == True`` and
        ``is_baseline == False`` are used.
    measure : str, optional
        Measure to analyse, when the table holds several.
    arm : str, optional
        Treatment arm column. Differences are each arm minus the first arm
        (categorical order, else sorted).
    covariates : sequence of str
        Covariates of the analysis model (default ``("baseline",)``); the default
        imputation model has each of them and the arm interacting with visit.
    y, visit, group : str
        Outcome, visit and patient columns.
    ice : DataFrame, optional
        Intercurrent events, rbmi's ``data_ice``: one row per patient with the
        group and visit columns (the first visit affected) and ``strategy``
        (``"MAR"``, ``"JR"``, ``"CR"``, ``"CIR"`` or ``"LMCF"``).
    strategies : str or mapping, optional
        One strategy for every row of ``ice``, or a mapping from the values of
        its ``strategy`` (or ``event``) column to strategies.
    references : mapping, optional
        Reference arm of each arm, e.g. ``{"DRUG": "PLACEBO"}`` (arms not named
        are their own reference). Needed for JR, CR and CIR.
    formula : str, optional
        Imputation model, e.g. ``"baseline*timepoint + arm*timepoint"`` (patsy;
        the visit and arm columns enter as factors; an outcome on the left of
        ``~`` replaces ``y``). Default: each covariate and the arm interacting
        with visit, as in rbmi's examples.
    method : str
        ``"condmean"`` (default): conditional mean imputation with jackknife
        standard errors (Wolbers et al. 2022), deterministic. ``"bootstrap"``:
        approximate Bayesian imputation, one bootstrapped MMRM fit per draw, and
        Rubin's rules. ``"bayes"``: draws from the posterior of the MMRM by a
        Gibbs sampler (see :mod:`sma_outcomes.stats.mi.bayes`), and Rubin's rules.
    delta : number, mapping or DataFrame, optional
        Shift added to imputed values (see :func:`~sma_outcomes.stats.mi.delta.delta_matrix`):
        a number, ``{arm: value}``, ``{arm: {visit: value}}``, or a table with the
        group and visit columns and ``delta`` (rbmi's ``delta_template``).
    n_imputations : int, optional
        Completed data sets for ``"bootstrap"`` and ``"bayes"`` (default 100). Not used by
        ``"condmean"``, which analyses the full data and one jackknife sample per
        patient.
    seed : int, optional
        Seed of the bootstrap and of the draws; without one a seed is chosen and
        stated in the notes, so that the result can be reproduced.
    analysis : str
        ``"ancova"`` (default; ``y ~ arm + covariates`` at each visit) or
        ``"mmrm"`` (:func:`~sma_outcomes.fit_mmrm` on each completed set).
    level : float
        Confidence level.
    cutoff : date, number or mapping, optional
        The data cut-off (timeline tables only): visits not yet due at the
        cut-off (by the rule of :func:`~sma_outcomes.stats.flow.visits_due`,
        as in the patient flow) and without a value are not missing data and
        are left out: neither imputed nor analysed. A date, a study day (days
        since the first dose) for every patient, or a mapping patient -> date
        or day. Without it every visit is due.
    due : str, optional
        On any long table: a column of True/False saying whether each row's
        visit was due; rows with ``False`` and no outcome are left out as with
        ``cutoff``. Visits without a row are due.
    schedule, windows
        With ``cutoff``: the schedule and windows the timepoints were made with
        (as in :func:`~sma_outcomes.stats.flow.patient_flow`).

    Returns
    -------
    MIResult
        ``tidy()`` (pooled LS means and differences per visit), ``imputed``
        (completed data sets), ``with_delta()``, ``summary()``, ``notes``.

    Raises
    ------
    OptionError
        Unknown method, strategy or analysis; JR/CR/CIR without references.
    DataError
        Missing columns, unknown patients or visits in ``ice`` or ``delta``.

    Notes
    -----
    The imputation model uses the observed values up to each patient's event
    (all of them under MAR). Values observed after a JR, CR, CIR or LMCF event are
    left out of the model but, as in rbmi, kept in the analysis and used to
    condition the imputation of the patient's other missing values; set them to
    missing to have them imputed.
    One covariance matrix is shared by the arms (rbmi's ``same_cov = TRUE``).

    Conditional mean imputation with the ANCOVA: the estimate is the one on
    the full data; its standard error is the jackknife's (the imputation model
    is refitted without each patient in turn, starting from the full-data
    estimate); intervals are normal, as rbmi's. Bootstrap: patients are
    resampled within arm, the MMRM is refitted and the missing values are
    drawn from their conditional normal distribution; Rubin's rules with
    Barnard-Rubin df (the ANCOVA's residual df as complete-data df). Bayes: a
    Gibbs sampler with data augmentation (flat prior on the coefficients,
    Jeffreys' on the covariance) started at the REML estimate, 200 burn-in
    iterations, every 10th kept; split R-hat and effective sample size are
    stated in the notes (rbmi samples with Stan and its own priors, so the
    draws differ from rbmi's though the model is the same).

    A visit not yet due (``cutoff=`` or ``due=``) does not exist for the
    patient, as a visit absent from rbmi's data set: it is not imputed, the
    ANCOVA at that visit leaves the patient out, and a patient with no visit
    due is not analysed.

    Known differences from rbmi: rbmi's optimiser can stop slightly short of
    the REML optimum; estimates here agree with rbmi's to about 1% of a
    standard error on its antidepressant example (tests/test_mi_rbmi.py).
    A delta is added only to imputed values.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> n = 40
    >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(n), 3),
    ...                   "timepoint": np.tile(["M6", "M12", "M18"], n),
    ...                   "arm": np.repeat(np.where(np.arange(n) < 20, "placebo", "drug"), 3),
    ...                   "baseline": np.repeat(rng.normal(30, 5, n), 3)})
    >>> d["change"] = rng.normal(size=3 * n) + (d["arm"] == "drug") * 1.5
    >>> d.loc[(d["patient_id"] % 5 == 0) & (d["timepoint"] != "M6"), "change"] = np.nan
    >>> ice = pd.DataFrame({"patient_id": np.arange(0, n, 5), "timepoint": "M12",
    ...                     "strategy": "JR"})
    >>> fit = fit_mi(d, arm="arm", ice=ice, references={"drug": "placebo"})
    >>> fit.tidy().query("kind == 'difference'")["arm"].unique().tolist()
    ['placebo - drug']
    >>> fit.n_imputed
    16
    """
    check_choice("method", method, ("condmean", "bootstrap", "bayes"))
    check_choice("analysis", analysis, ("ancova", "mmrm"))
    level = check_level(level)
    if method == "condmean" and n_imputations is not None:
        raise OptionError(
            "n_imputations does not apply to method='condmean' (the full data and one "
            "jackknife sample per patient are analysed); use it with method='bootstrap'"
        )
    if isinstance(covariates, str):
        covariates = (covariates,)
    covariates = list(covariates)
    fq, y = _formula(formula, y, visit, arm, covariates)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"fit_mi() expects a pandas DataFrame, got {type(data).__name__}")
    extra = [c for c in model_columns(fq, list(data.columns)) if c not in (y, visit, group, arm)]
    md = prepare_data(data, measure, y=y, visit=visit, group=group, arm=arm,
                      columns=list(dict.fromkeys([*covariates, *extra])))
    mask, why = _due_mask(data, md, cutoff=cutoff, due=due, schedule=schedule, windows=windows)
    if mask is not None:
        md = restrict_due(md, mask, why)
    notes = list(md.notes)
    first, strategy, ref_code, snotes = patient_strategies(md, ice, strategies, references)
    notes += snotes
    j = np.arange(md.d)[None, :]
    mar_region = (j < first[:, None]) | (strategy == "MAR")[:, None]
    fit_mask = md.observed & mar_region
    kept = int((md.observed & ~mar_region).sum())
    if kept:
        notes.append(
            f"{kept} value(s) observed after a non-MAR intercurrent event are kept in the "
            "analysis (and condition the imputations) but are left out of the imputation model"
        )
    design = build_design(md, fq, ref_code, fit_mask)
    full = fit_reml(md.Y, design.X_own, fit_mask)
    if not full.converged:
        msg = ("the imputation model did not reach a verified REML optimum; estimates may be "
               "unreliable (check visits with few patients)")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        notes.append(msg)
    run = _imputer(md, design, first, strategy, md.observed)
    an = Analysis(md, analysis, covariates)
    all_idx = np.arange(md.n)
    if method == "condmean":
        sets, samples = [run(full)], [all_idx]
        failed = 0
        for i in range(md.n):
            rows = np.delete(all_idx, i)
            f = fit_reml(md.Y, design.X_own, fit_mask, rows=rows, start=full)
            failed += not f.converged
            sets.append(run(f))
            samples.append(rows)
        if failed:
            notes.append(f"{failed} jackknife refit(s) did not reach a verified optimum")
        used_seed = None
    else:
        m = DEFAULT_IMPUTATIONS if n_imputations is None else int(n_imputations)
        if m < 2:
            raise OptionError(f"`n_imputations` must be at least 2, not {n_imputations!r}")
        used_seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else int(seed)
        if seed is None:
            notes.append(f"no seed given; seed={used_seed} reproduces these imputations")
        rng = np.random.default_rng(used_seed)
    if method == "bayes":
        draws, diag = gibbs(md.Y, design.X_own, fit_mask, full, m, rng)
        sets = [run(f, rng) for f in draws]
        samples = [all_idx] * len(sets)
        notes.append(
            "Gibbs sampler (flat prior on the coefficients, Jeffreys prior on the covariance): "
            f"{BURN_IN} burn-in iterations, then every {THIN}th of {m * THIN} kept; split R-hat "
            f"at most {diag['rhat_max']:.3f}, effective sample size at least "
            f"{diag['ess_min']:.0f} of {m} draws"
        )
        if m < 20:
            notes.append("fewer than 20 draws: too few to judge the sampler's convergence")
        elif diag["rhat_max"] > 1.05 or diag["ess_min"] < m / 10:
            msg = ("the Gibbs sampler may not have converged (split R-hat above 1.05 or few "
                   "effective draws): use more imputations or method='bootstrap'")
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
            notes.append(msg)
    elif method == "bootstrap":
        strata = [np.flatnonzero(md.arm_code == a) for a in np.unique(md.arm_code)]
        sets, samples = [], []
        failed = 0
        while len(sets) < m:
            rows = np.concatenate([rng.choice(s, size=s.size, replace=True) for s in strata])
            try:
                f = fit_reml(md.Y, design.X_own, fit_mask, rows=rows, start=full, near=False)
            except (DataError, np.linalg.LinAlgError):
                f = None
            if f is None or not f.converged:
                failed += 1
                if failed > max(10, m):
                    raise DataError(
                        f"{failed} bootstrap samples gave no usable imputation model; too few "
                        "patients per visit for an unstructured covariance?"
                    )
                continue
            sets.append(run(f, rng))
            samples.append(all_idx)
        if failed:
            notes.append(f"{failed} bootstrap sample(s) gave no converged fit and were redrawn")
    notes.append(
        f"{int(md.missing.sum())} missing value(s) imputed; "
        + ("conditional means, jackknife over patients"
           if method == "condmean" else f"{len(sets)} imputations")
    )
    res = MIResult(md=md, design=design, imputation_fit=full, analysis=an,
                   imputations=Imputations(sets, samples), method=method, first=first,
                   strategy=strategy, fit_mask=fit_mask, delta=delta, level=level,
                   seed=used_seed, ref_code=ref_code, notes=notes)
    res.notes.extend(_delta_notes(res))
    res.tidy()
    if an.warnings:
        res.notes.append("the analysis model warned: " + " | ".join(an.warnings[:3]))
    return res
