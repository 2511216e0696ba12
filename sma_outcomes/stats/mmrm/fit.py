"""Fit a mixed model for repeated measures (MMRM) by REML or ML.

The model is ``y_ij = x_ij' beta + e_ij`` with the residuals of patient ``i``
across visits ``j`` multivariate normal with covariance ``Sigma`` of a chosen
structure; patients contribute the visits they have (missing at random).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from ...exceptions import ConvergenceWarning, DataWarning, ModelWarning, SingularFitWarning
from .covariance import LONG_NAMES, Structure, get_structure
from .ddf import (
    DfContext,
    between_within_df,
    kr_adjusted,
    method_name,
)
from .design import Design, prepare
from .likelihood import (
    Evaluation,
    Patterns,
    evaluate,
    hessian,
    p_matrices,
    q_matrices,
    r_matrices,
)
from .result import MMRMResult, _clean

#: Structures tried, in order, when the requested one does not converge.
FALLBACK_CHAIN: tuple[str, ...] = ("us", "toeph", "ar1h", "csh", "cs")


@dataclass
class _StructureFit:
    structure: Structure
    theta: np.ndarray
    phi: np.ndarray
    Sigma: np.ndarray
    ev: Evaluation
    hessian: np.ndarray | None
    converged: bool
    message: str
    n_iter: int


def _aliased_columns(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Columns linearly dependent on earlier ones (R's lm convention)."""
    if X.shape[1] == 0:
        return np.zeros(0, dtype=bool)
    R = linalg.qr(X, mode="r", check_finite=False)[0]
    norms = np.linalg.norm(X, axis=0)
    diag = np.abs(np.diag(R))
    return diag <= tol * np.maximum(norms, 1e-300)


def _start_cov(pats: Patterns, X: np.ndarray, y: np.ndarray, subj, vis, n_sub: int) -> np.ndarray:
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ beta
    wide = np.full((n_sub, pats.d), np.nan)
    wide[subj, vis] = r
    S = pd.DataFrame(wide).cov(min_periods=2).to_numpy().copy()
    overall = float(np.var(r)) if r.size > 1 else 1.0
    overall = overall if overall > 0 else 1.0
    diag = np.diag(S).copy()
    diag[~np.isfinite(diag) | (diag <= 0)] = overall
    S[~np.isfinite(S)] = 0.0
    S[np.diag_indices_from(S)] = diag
    return S


def _fit_structure(pats: Patterns, st: Structure, S0: np.ndarray, reml: bool) -> _StructureFit:
    def fun(theta):
        ev = evaluate(pats, st.sigma(theta), st.dsigma(theta), reml=reml)
        if not ev.ok or not np.isfinite(ev.m2ll):
            return np.inf, np.zeros_like(theta)
        return ev.m2ll, ev.grad

    theta0 = st.start(S0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = optimize.minimize(
            fun, theta0, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 1000}
        )
        if not np.isfinite(res.fun) or np.max(np.abs(res.jac)) > 1e-3:
            res2 = optimize.minimize(
                fun, res.x if np.isfinite(res.fun) else theta0, jac=True, method="L-BFGS-B",
                options={"maxiter": 5000, "ftol": 1e-14, "gtol": 1e-8},
            )
            if res2.fun <= res.fun:
                res = res2
    theta = np.asarray(res.x, dtype=float)
    Sigma = st.sigma(theta).real
    phi = st.phi_from_sigma(Sigma)
    H = None
    msg = ""

    def at(ph):
        S = st.sigma_nat(ph).real
        e = evaluate(pats, S, st.dsigma_nat(ph), reml=reml, tensors=True)
        if not e.ok:
            return S, e, None
        d2 = None if st.linear else st.d2sigma_nat(ph)
        return S, e, hessian(pats, e, st.dsigma_nat(ph), d2, reml=reml)

    Sigma, ev, H = at(phi)
    try:
        # Newton polish in the natural parameters (analytic observed Hessian)
        for _ in range(4):
            if H is None or np.max(np.abs(ev.grad)) < 1e-9:
                break
            new_phi = phi - np.linalg.solve(H, ev.grad)
            S_new, ev_new, H_new = at(new_phi)
            if not ev_new.ok or H_new is None or ev_new.m2ll > ev.m2ll + 1e-10:
                break
            phi, Sigma, ev, H = new_phi, S_new, ev_new, H_new
    except (np.linalg.LinAlgError, ValueError):
        pass
    w = np.linalg.eigvalsh(Sigma) if np.all(np.isfinite(Sigma)) else np.array([0.0, 1.0])
    singular = not ev.ok or w.min() <= 1e-8 * max(abs(w.max()), 1e-300)
    if singular:
        msg = (
            "the covariance estimate became singular (not positive definite): the values "
            "at some visit are (nearly) an exact linear function of those at other visits, "
            "or there are too few patients for the number of covariance parameters"
        )
    elif H is None:
        msg = "the Hessian of the log-likelihood could not be computed at the estimate"
    gmax = float(np.max(np.abs(ev.grad))) if ev.ok and ev.grad is not None else np.inf
    # Newton decrement g'H^-1 g: the predicted further decrease of -2 log-likelihood
    # (invariant to the scale of the outcome and to the parameterization)
    try:
        decrement = float(ev.grad @ np.linalg.solve(H, ev.grad)) if H is not None else np.inf
    except (np.linalg.LinAlgError, TypeError):
        decrement = np.inf
    converged = bool(
        not singular
        and np.isfinite(ev.m2ll)
        and (abs(decrement) < 1e-6 or gmax < 1e-6)
    )
    if not converged and not msg:
        msg = (
            f"the optimiser stopped ({res.message}) with a gradient of {gmax:.2g} "
            f"(Newton decrement {decrement:.2g}), not at a verified optimum"
        )
    if converged and H is not None:
        try:
            np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            converged = False
            msg = (
                "the log-likelihood is not curved in every direction at the estimate (its "
                "Hessian is not positive definite): a variance or correlation is on the edge "
                "of its range or is not identified by the data (e.g. two visits that no "
                "patient has in common)"
            )
    return _StructureFit(st, theta, phi, Sigma, ev, H, converged, msg, int(res.nit))


def fit_mmrm(
    changes: pd.DataFrame,
    measure: str | None = None,
    *,
    y: str = "change",
    visit: str = "timepoint",
    group: str = "patient_id",
    arm: str | None = None,
    covariates: Sequence[str] = ("baseline",),
    interactions: Sequence[str] = (),
    formula: str | None = None,
    covariance: str = "unstructured",
    df: str = "satterthwaite",
    reml: bool = True,
    fallback: bool | Sequence[str] = True,
    level: float = 0.95,
) -> MMRMResult:
    """Fit a mixed model for repeated measures (MMRM) to change scores by visit.

    The mean model has visit as a factor, the covariates, and with ``arm=`` the
    arm and arm x visit (or any patsy ``formula``); the residuals of a patient
    across visits have an unstructured (default) or structured covariance matrix.
    Patients contribute the visits at which they have a value; missing visits
    are handled by the likelihood (missing at random), nothing is imputed.

    Parameters
    ----------
    changes : pandas.DataFrame
        The changes table (one row per patient x visit x measure, from
        ``change_from_baseline``) or any long table. With the timeline columns,
        rows with ``analysed == True`` and ``is_baseline == False`` are used.
    measure : str, optional
        Measure code to analyse (needed when the table holds several).
    y : str
        Outcome column (default ``"change"``); taken from ``formula`` if given.
    visit : str
        Visit column, a factor; an ordered categorical keeps its order (unused
        levels dropped), other values are sorted. The first level is the reference.
    group : str
        Patient identifier; the covariance is over visits within it.
    arm : str, optional
        Treatment (or other) grouping column: adds arm + arm x visit, and LS
        means are given per visit x arm with the difference to the first arm.
    covariates : sequence of str
        Covariates of the mean model (numeric or categorical), default baseline.
    interactions : sequence of str
        Covariates to interact with visit (e.g. ``("baseline",)``); a string with
        ``":"`` is used as a patsy term as it stands.
    formula : str, optional
        Patsy formula of the mean model (e.g. ``"FEV1 ~ RACE + SEX + ARMCD * AVISIT"``);
        replaces ``covariates``/``interactions`` (``arm`` then only names the
        grouping of the LS means).
    covariance : str
        ``"us"`` (``"unstructured"``), ``"cs"``, ``"csh"``, ``"ar1"``, ``"ar1h"``,
        ``"adh"``, ``"toep"`` or ``"toeph"`` (R mmrm's codes; SAS's ``"un"``,
        ``"arh1"``, ``"ante1"`` are accepted).
    df : str
        ``"satterthwaite"`` (default), ``"kr"`` (Kenward-Roger, with the adjusted
        covariance of the estimates), ``"kr-linear"``, ``"residual"`` or
        ``"between-within"``.
    reml : bool
        REML (default) or maximum likelihood.
    fallback : bool or sequence of str
        When the requested structure does not converge, try the next ones of
        ``FALLBACK_CHAIN`` (``us -> toeph -> ar1h -> csh -> cs``; structures
        outside it fall back to ``cs``) or of the given sequence; the structure
        used is stated in the result and in a ``ConvergenceWarning``. ``False``
        keeps the requested structure.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    MMRMResult
        With ``fixed``, ``covariance``, ``correlation``, ``lsmeans``,
        ``contrast()``, ``loglik``, ``aic``, ``bic``, ``summary()``, ``plot()``.

    Notes
    -----
    The likelihood is evaluated once per pattern of observed visits (patients
    observed at the same visits share one Cholesky factor), and optimised by
    BFGS over a parameterization that keeps Sigma positive definite, then
    polished by Newton steps in SAS's parameterization. Degrees of freedom and
    the Kenward-Roger adjustment use SAS's parameterization, so that KR and
    KR-linear coincide for ``us``, ``cs`` and ``toep`` as in SAS. The inverse
    Hessian of the REML log-likelihood (Richardson-extrapolated derivatives of
    the analytic gradient) is the covariance of the covariance parameters.

    AIC and BIC follow SAS and R mmrm: with REML they count the covariance
    parameters only; BIC uses the log of the number of patients. The
    log-likelihood includes the 2 pi constant and, for REML, no ``log|X'X|``
    term, as SAS PROC MIXED and nlme (lme4 adds that term).

    Known differences: SAS stops its Newton-Raphson iterations when its relative
    Hessian criterion falls below 1e-8, typically 1e-6 to 1e-5 of -2
    log-likelihood short of the optimum reached here, so SAS's fourth decimals
    and Kenward-Roger df can differ by a few 1e-4 (relative); at SAS's stopping
    point the figures agree to 1e-5 (see tests/test_mmrm_sas.py). emmeans on an
    nlme fit takes its df from a coarse numerical Hessian; the df here use the
    exact (analytic) Hessian, as R mmrm and SAS do.

    Fallback: with ``fallback=True`` a structure counts as failed when the
    optimiser does not reach a point with a small gradient, when the covariance
    estimate is singular, or when the Hessian of the log-likelihood is not
    positive definite (a parameter not identified by the data); the next
    structure of the chain is then fitted. No fallback is silent.

    Examples
    --------
    >>> import sma_outcomes as so
    >>> changes = so.change_from_baseline(so.load_example("cohort"))
    >>> fit = so.fit_mmrm(changes, "HFMSE", arm="sma_type")
    >>> fit.lsmeans.columns[:5].tolist()
    ['visit', 'arm', 'kind', 'estimate', 'se']
    >>> print(str(fit.summary()).splitlines()[1])
    478 observations from 80 patients, maximum 7 visits
    """
    method = method_name(df)
    if method in ("kr", "kr-linear") and not reml:
        raise ValueError("Kenward-Roger degrees of freedom need REML (reml=True)")
    design = prepare(
        changes,
        measure,
        y=y,
        visit=visit,
        group=group,
        arm=arm,
        covariates=covariates,
        interactions=interactions,
        formula=formula,
    )
    requested = get_structure(covariance, len(design.visits)).code
    data = design.data
    yv = data[design.y].to_numpy(dtype=float)
    subj, subj_ids = pd.factorize(data[design.group])
    vis = data[design.visit].cat.codes.to_numpy().astype(np.int64)
    d = len(design.visits)
    n_sub = len(subj_ids)
    X_full = design.X
    aliased = _aliased_columns(X_full)
    X = X_full[:, ~aliased]
    notes = list(design.notes)
    if aliased.any():
        names = [design.coef_names[j] for j in np.flatnonzero(aliased)]
        empty = _empty_cells(design)
        where = (
            f"no patient has a value in {'; '.join(empty)}"
            if empty
            else "the model's columns are linearly dependent in these data"
        )
        msg = (
            f"{len(names)} coefficient(s) cannot be estimated from these data ({where}): "
            f"{', '.join(names)}; they are reported as NaN, as are the LS means involving "
            "them"
        )
        warnings.warn(msg, ModelWarning, stacklevel=2)
        notes.append(msg)
    if design.n_baseline_only:
        msg = (
            f"{design.n_baseline_only} patient(s) had a baseline but no post-baseline value "
            "and do not contribute to the model"
        )
        warnings.warn(msg, DataWarning, stacklevel=2)
        notes.append(msg)
    if design.n_no_value:
        listing = ", ".join(design.no_value[:10]) + (" ..." if design.n_no_value > 10 else "")
        msg = (
            f"{design.n_no_value} patient(s) had no usable value of {design.y!r} (e.g. no "
            f"baseline, so no change) and do not contribute to the model: {listing}"
        )
        warnings.warn(msg, DataWarning, stacklevel=2)
        notes.append(msg)
    _check_visits(design, vis, subj, d, requested, notes)

    pats = Patterns.build(yv, X, subj, vis, d)
    S0 = _start_cov(pats, X, yv, subj, vis, n_sub)
    if d == 1 and requested != "us":
        notes.append("only one visit: the covariance reduces to one variance ('us' used)")
        requested = "us"
    chain = [requested]
    if fallback:
        if fallback is True:
            seq = list(FALLBACK_CHAIN)
            # a structure outside the chain falls back to the simplest one
            seq = seq[seq.index(requested) + 1 :] if requested in seq else ["cs"]
        else:
            seq = [get_structure(s, d).code for s in fallback]
            if requested in seq:
                seq = seq[seq.index(requested) + 1 :]
        chain += [s for s in seq if s not in chain and d > 1]
    failures = []
    sfit = None
    for code in chain:
        st = get_structure(code, d)
        cand = _fit_structure(pats, st, S0, reml)
        if cand.converged:
            sfit = cand
            break
        failures.append((code, cand.message))
        if sfit is None:
            sfit = cand
        if not fallback:
            break
    assert sfit is not None
    if failures and sfit.converged:
        tried = "; ".join(f"{LONG_NAMES[c]} ({c}): {m}" for c, m in failures)
        msg = (
            f"the {LONG_NAMES[requested]} covariance did not converge; the fallback chain "
            f"{' -> '.join(chain[: len(failures) + 1])} was followed and the "
            f"{LONG_NAMES[sfit.structure.code]} ({sfit.structure.code}) structure is used. "
            f"Failed: {tried}"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        notes.append(msg)
    elif not sfit.converged:
        msg = (
            f"the model did not converge ({sfit.message}); estimates are unreliable. "
            "Check visits with few patients or use a simpler covariance structure"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        notes.append(msg)
    _check_sigma(sfit, design.visits, notes)

    st = sfit.structure
    m = st.n_theta
    W = None
    if sfit.hessian is not None:
        try:
            np.linalg.cholesky(sfit.hessian)
            W = 2.0 * np.linalg.inv(sfit.hessian)
        except np.linalg.LinAlgError:
            msg = (
                "the log-likelihood is not curved in every direction at the estimate (its "
                "Hessian is not positive definite): a variance or correlation is on the edge "
                "of its range or is not identified by the data; Satterthwaite and "
                "Kenward-Roger df are unreliable"
            )
            warnings.warn(msg, SingularFitWarning, stacklevel=2)
            notes.append(msg)
            W = 2.0 * np.linalg.pinv(sfit.hessian)
    need_p = method in ("satterthwaite", "kr", "kr-linear")
    ev = evaluate(pats, sfit.Sigma, reml=reml, tensors=need_p)
    C = ev.cov_beta
    P = None
    C_adj = None
    if need_p:
        dS = st.dsigma_nat(sfit.phi)
        P = p_matrices(pats, ev, dS)
        if W is None:
            W = np.full((m, m), np.nan)
        if method in ("kr", "kr-linear"):
            Q = q_matrices(pats, ev, dS)
            R = None
            if method == "kr" and not st.linear:
                R = r_matrices(pats, ev, st.d2sigma_nat(sfit.phi))
            C_adj = kr_adjusted(C, W, P, Q, R)
    bw = None
    if method == "between-within":
        bw = between_within_df(X, subj, n_sub, len(yv))
    ctx = DfContext(
        method=method, C=C, n_obs=len(yv), rank=X.shape[1], P=P, W=W, C_adj=C_adj, bw_df=bw
    )
    return MMRMResult(
        design=design,
        structure=st,
        requested=requested,
        chain_failures=failures,
        phi=sfit.phi,
        Sigma=sfit.Sigma,
        beta=ev.beta,
        aliased=aliased,
        df_context=ctx,
        m2ll=float(ev.m2ll),
        reml=reml,
        n_obs=len(yv),
        n_patients=n_sub,
        theta_vcov=W,
        converged=sfit.converged,
        n_iter=sfit.n_iter,
        notes=notes,
        level=level,
        visit_counts=np.bincount(vis, minlength=d),
    )


def _empty_cells(design: Design) -> list[str]:
    """The empty cells of every interaction of factors in the mean model, named.

    E.g. ``"arm 'A' at timepoint 'Month 10'"``: the cell that has no observation,
    which is not necessarily the one whose coefficient is aliased (with the
    first arm's cell empty, the aliased coefficient is the other arm's).
    """
    data = design.data
    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for term in design.design_info.terms:
        cols: list[str] = []
        for fac in term.factors:
            name = _clean(fac.name())
            if name not in design.factors:
                cols = []
                break
            cols.append(name)
        if len(cols) < 2 or tuple(sorted(cols)) in seen:
            continue
        seen.add(tuple(sorted(cols)))
        present = set(data[cols].astype(object).itertuples(index=False, name=None))
        for combo in itertools.product(*[design.factors[c] for c in cols]):
            if combo not in present:
                out.append(" at ".join(f"{c} {v!r}" for c, v in zip(cols, combo, strict=True)))
    return out


def _check_visits(design: Design, vis, subj, d: int, code: str, notes: list[str]) -> None:
    counts = np.bincount(vis, minlength=d)
    few = [(design.visits[j], int(counts[j])) for j in range(d) if counts[j] < 5]
    if few:
        listing = ", ".join(f"{v!s} ({n})" for v, n in few)
        msg = (
            f"few patients have a value at visit(s) {listing}: the variance at those visits "
            "is poorly estimated; consider dropping the visit or a structured covariance"
        )
        warnings.warn(msg, DataWarning, stacklevel=3)
        notes.append(msg)
    n_sub = int(subj.max()) + 1
    m_us = d * (d + 1) // 2
    if code == "us" and d > 1 and n_sub < m_us:
        msg = (
            f"{n_sub} patients for the {m_us} parameters of an unstructured covariance over "
            f"{d} visits: "
            + (
                "with no more patients than visits it cannot be estimated"
                if n_sub <= d
                else "its estimate will be imprecise"
            )
            + "; a structured covariance (e.g. 'toeph', 'ar1h', 'csh') needs fewer"
        )
        warnings.warn(msg, DataWarning, stacklevel=3)
        notes.append(msg)
    if code == "us" and d > 1:
        obs = np.zeros((n_sub, d))
        obs[subj, vis] = 1.0
        both = obs.T @ obs
        pairs = [
            (design.visits[i], design.visits[j])
            for i in range(d)
            for j in range(i)
            if both[i, j] == 0
        ]
        if pairs:
            listing = ", ".join(f"{a!s} & {b!s}" for a, b in pairs[:10])
            msg = (
                f"no patient has values at both of the visits {listing}: their covariance is "
                "not identified by the data, so an unstructured covariance may fail; "
                "a structured one (e.g. 'ar1h', 'toeph') is safer"
            )
            warnings.warn(msg, DataWarning, stacklevel=3)
            notes.append(msg)


def _check_sigma(sfit: _StructureFit, visits, notes: list[str]) -> None:
    S = sfit.Sigma
    w = np.linalg.eigvalsh(S)
    sd = np.sqrt(np.clip(np.diag(S), 0, None))
    R = S / np.outer(sd, sd)
    off = np.abs(R[np.tril_indices(len(sd), -1)])
    if w.min() <= 1e-8 * max(w.max(), 1e-300):
        msg = (
            "the estimated covariance matrix is singular (not positive definite): some visits "
            "carry no information beyond others; results may be unstable"
        )
        warnings.warn(msg, SingularFitWarning, stacklevel=3)
        notes.append(msg)
    elif off.size and off.max() > 0.9999:
        msg = (
            "an estimated correlation between visits is practically +-1: the covariance "
            "estimate is on the edge of its range"
        )
        warnings.warn(msg, SingularFitWarning, stacklevel=3)
        notes.append(msg)
