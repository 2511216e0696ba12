"""The result of :func:`fit_mi`: pooled table, imputed data sets, notes, summary."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._tables import t_table
from .analysis import Analysis
from .data import MIData
from .delta import delta_matrix
from .model import ImputationDesign, ModelFit
from .pool import jackknife, rubin
from .strategies import STRATEGIES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

METHOD_NAMES = {
    "condmean": "conditional mean imputation, jackknife standard errors",
    "bootstrap": "approximate Bayesian multiple imputation (bootstrapped MMRM fits), "
                 "Rubin's rules",
    "bayes": "Bayesian multiple imputation (Gibbs sampler on the MMRM), Rubin's rules",
}


@dataclass
class Imputations:
    """Completed outcome matrices and the patients each analysis uses.

    ``sets[k]`` is (n, d) with the imputed values filled in (before any delta);
    ``samples[k]`` the patients analysed (all, or all but one for the jackknife).

    Examples
    --------
    >>> Imputations([np.zeros((2, 1))], [np.arange(2)]).n_sets
    1
    """

    sets: list[np.ndarray]
    samples: list[np.ndarray]

    @property
    def n_sets(self) -> int:
        """Number of completed data sets."""
        return len(self.sets)


@dataclass
class MIResult:
    """Reference-based multiple imputation: pooled estimates per visit.

    Attributes
    ----------
    method : str
        ``"condmean"``, ``"bootstrap"`` or ``"bayes"``.
    n_obs, n_patients : int
        Observed outcome values used by the imputation model, and patients.
    n_imputed : int
        Values imputed per completed data set.
    level : float
        Confidence level of the intervals.
    notes : list of str
        What was done and what deserves attention, in plain words.
    imputation_fit : ModelFit
        REML estimates of the imputation model on the full data.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sma_outcomes.stats.mi import fit_mi
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(30), 2),
    ...                   "timepoint": np.tile(["M6", "M12"], 30),
    ...                   "change": rng.normal(size=60)})
    >>> d.loc[d.index % 7 == 1, "change"] = np.nan
    >>> fit = fit_mi(d, covariates=())
    >>> fit.tidy().columns.tolist()[:4]
    ['visit', 'kind', 'estimate', 'se']
    """

    md: MIData
    design: ImputationDesign
    imputation_fit: ModelFit
    analysis: Analysis
    imputations: Imputations
    method: str
    first: np.ndarray
    strategy: np.ndarray
    fit_mask: np.ndarray
    delta: Any = None
    level: float = 0.95
    seed: int | None = None
    ref_code: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    _pooled: pd.DataFrame | None = field(default=None, repr=False)

    # ------------------------------------------------------------- facts
    @property
    def n_patients(self) -> int:
        """Patients analysed."""
        return self.md.n

    @property
    def n_obs(self) -> int:
        """Observed values used by the imputation model."""
        return int(self.fit_mask.sum())

    @property
    def n_imputed(self) -> int:
        """Values imputed in each completed data set."""
        return int(self.md.missing.sum())

    @property
    def n_imputations(self) -> int:
        """Completed data sets analysed (for condmean: 1 + one per left-out patient)."""
        return self.imputations.n_sets

    @property
    def visits(self) -> list:
        """Visit levels, in order."""
        return list(self.md.visits)

    @property
    def imputation_coef(self) -> pd.Series:
        """Coefficients of the imputation model (full data, REML)."""
        return pd.Series(self.imputation_fit.beta, index=self.design.columns, name="estimate")

    @property
    def imputation_covariance(self) -> pd.DataFrame:
        """Covariance over visits of the imputation model (full data, REML)."""
        v = [str(x) for x in self.visits]
        return pd.DataFrame(self.imputation_fit.Sigma, index=v, columns=v)

    # ------------------------------------------------------------ tables
    def _delta(self) -> np.ndarray:
        return delta_matrix(self.md, self.delta)

    def _estimates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        D = self._delta()
        est, var, dfc = self.analysis.run_many([Y + D for Y in self.imputations.sets],
                                               self.imputations.samples)
        if self.method == "condmean":
            return jackknife(est[0], est[1:])
        return rubin(est, var, dfc.mean(axis=0))

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """Pooled estimates per visit: LS means per arm and differences to the first arm.

        Returns
        -------
        DataFrame
            ``visit``, ``arm`` (with an arm; differences read ``"B - A"``),
            ``kind`` (``"lsmean"`` or ``"difference"``), ``estimate, se, df, t,
            p_value, ci_low, ci_high``. For condmean the df are infinite (normal
            intervals, as rbmi); for bootstrap they are Barnard-Rubin df.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sma_outcomes.stats.mi import fit_mi
        >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
        ...                   "timepoint": np.tile(["M6", "M12"], 20),
        ...                   "change": np.random.default_rng(0).normal(size=40)})
        >>> fit_mi(d, covariates=()).tidy()["kind"].unique().tolist()
        ['lsmean']
        """
        if self._pooled is None:
            self._pooled = pd.DataFrame(np.array(self._estimates()).T,
                                        columns=["estimate", "se", "df"])
        p = self._pooled
        tab = t_table([""] * len(p), p["estimate"].to_numpy(), p["se"].to_numpy(),
                      p["df"].to_numpy(), level=level or self.level).drop(columns="term")
        out = pd.concat([self.analysis.params.reset_index(drop=True), tab], axis=1)
        out["visit"] = pd.Categorical(out["visit"], categories=self.visits, ordered=True)
        return out

    @property
    def differences(self) -> pd.DataFrame:
        """The difference rows of :meth:`tidy`."""
        t = self.tidy()
        return t.loc[t["kind"] == "difference"].reset_index(drop=True)

    def glance(self) -> pd.DataFrame:
        """One row: method, analysis, patients, values observed and imputed, data sets.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sma_outcomes.stats.mi import fit_mi
        >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
        ...                   "timepoint": np.tile(["M6", "M12"], 20),
        ...                   "change": np.random.default_rng(0).normal(size=40)})
        >>> fit_mi(d, covariates=()).glance()["n_patients"].item()
        20
        """
        return pd.DataFrame([{
            "method": self.method,
            "analysis": self.analysis.kind,
            "n_patients": self.n_patients,
            "n_obs": self.n_obs,
            "n_imputed": self.n_imputed,
            "n_imputations": self.n_imputations,
            "level": self.level,
            "seed": self.seed,
        }])

    # ------------------------------------------------------- imputed data
    def _completed(self, Y: np.ndarray) -> pd.DataFrame:
        md = self.md
        g = md.grid.copy()
        g[md.y] = (Y + self._delta()).reshape(-1)
        j = np.tile(np.arange(md.d), md.n)
        first = np.repeat(self.first, md.d)
        strat = np.repeat(self.strategy, md.d).astype(object)
        g["strategy"] = np.where(j >= first, strat, "MAR")
        g["imputed"] = md.missing.reshape(-1)
        return g.loc[md.in_analysis.reshape(-1)].reset_index(drop=True)

    @property
    def imputed(self) -> list[pd.DataFrame]:
        """The completed data sets (delta applied): one per imputation.

        For condmean this is the one set of conditional means on the full data
        (the jackknife sets are in :meth:`jackknife_sets`). Columns: the group,
        visit, outcome and model columns, ``imputed`` (bool) and ``strategy``
        (the strategy in force at that visit).
        """
        sets = self.imputations.sets
        if self.method == "condmean":
            sets = sets[:1]
        return [self._completed(Y) for Y in sets]

    def jackknife_sets(self) -> list[pd.DataFrame]:
        """Condmean only: the completed data with each patient left out, in patient order.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sma_outcomes.stats.mi import fit_mi
        >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
        ...                   "timepoint": np.tile(["M6", "M12"], 20),
        ...                   "change": np.random.default_rng(0).normal(size=40)})
        >>> len(fit_mi(d, covariates=()).jackknife_sets())
        20
        """
        if self.method != "condmean":
            raise ValueError("jackknife_sets() applies to method='condmean'")
        out = []
        for Y, idx in zip(self.imputations.sets[1:], self.imputations.samples[1:], strict=True):
            keep = np.isin(self.md.grid[self.md.group].to_numpy(), self.md.ids[idx])
            keep = keep[self.md.in_analysis.reshape(-1)]
            out.append(self._completed(Y).loc[keep].reset_index(drop=True))
        return out

    def with_delta(self, delta: object) -> MIResult:
        """The same imputations re-analysed with another delta adjustment (no refits).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sma_outcomes.stats.mi import fit_mi
        >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
        ...                   "timepoint": np.tile(["M6", "M12"], 20),
        ...                   "change": np.random.default_rng(0).normal(size=40)})
        >>> d.loc[[1, 3, 5], "change"] = np.nan
        >>> fit = fit_mi(d, covariates=())
        >>> shift = fit.with_delta(3.0).tidy()["estimate"] - fit.tidy()["estimate"]
        >>> shift.round(6).tolist()  # 3 of 20 values imputed at the second visit
        [0.0, 0.45]
        """
        notes = [n for n in self.notes if not n.startswith("delta adjustment")]
        new = replace(self, delta=delta, _pooled=None, notes=notes)
        new.notes.extend(_delta_notes(new))
        return new

    # -------------------------------------------------------------- display
    def summary(self) -> str:
        """Plain-text summary: data, imputation model, strategies, pooled table, notes.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sma_outcomes.stats.mi import fit_mi
        >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
        ...                   "timepoint": np.tile(["M6", "M12"], 20),
        ...                   "change": np.random.default_rng(0).normal(size=40)})
        >>> print(fit_mi(d, covariates=()).summary().splitlines()[1])
        40 observed values from 20 patients, 2 visits; 0 values imputed
        """
        md = self.md
        lines = [
            f"Multiple imputation: {METHOD_NAMES[self.method]}",
            f"{self.n_obs} observed values from {self.n_patients} patients, {md.d} visits; "
            f"{self.n_imputed} values imputed",
            f"Imputation model: MMRM, unstructured covariance, REML: "
            f"{_plain(self.design.formula)}",
            f"Analysis model: {_analysis_text(self)}",
            f"Completed data sets analysed: {self.n_imputations}",
            "",
            "Strategies (patients, values imputed):",
            strategy_table(self).to_string(index=False),
            "",
            "Pooled estimates:",
            self.tidy().round(4).to_string(index=False),
        ]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<MIResult {self.method}, {self.n_patients} patients, {self.n_imputed} values "
                f"imputed, {self.n_imputations} data sets>")

    def _repr_html_(self) -> str:
        head = self.summary().split("\n\n")[0].splitlines()
        items = "".join(f"<li>{html.escape(x)}</li>" for x in head)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return ("<div class='sma-mi'><h4>Multiple imputation</h4>"
                f"<ul>{items}</ul><h5>Pooled estimates</h5>"
                f"{self.tidy().round(4).to_html(index=False)}"
                + (f"<h5>Notes</h5><ul>{notes}</ul>" if notes else "") + "</div>")

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Figure:
        """Pooled LS means per arm and treatment differences by visit, with confidence intervals.

        Delegates to :func:`sma_outcomes.plot.sensitivity.plot_mi` (keywords
        ``kind``, ``title``, ``width``, ``height``).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sma_outcomes.stats.mi import fit_mi
        >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
        ...                   "timepoint": np.tile(["M6", "M12"], 20),
        ...                   "change": np.random.default_rng(0).normal(size=40)})
        >>> len(fit_mi(d, covariates=()).plot().axes[0].lines) >= 1
        True
        """
        from ...plot.sensitivity import plot_mi

        return plot_mi(self, ax=ax, **kwargs)


def _plain(formula: str) -> str:
    return re.sub(r'Q\("([^"]*)"\)', r"\1", formula)


def _analysis_text(res: MIResult) -> str:
    md = res.md
    covs = res.analysis.covariates
    rhs = " + ".join(([md.arm] if md.arm else []) + covs) or "1"
    if res.analysis.kind == "ancova":
        return f"ANCOVA at each visit, {md.y} ~ {rhs}"
    return f"MMRM on each completed data set ({md.y} ~ {md.visit} * ({rhs}))"


def _delta_notes(res: MIResult) -> list[str]:
    if res.delta is None:
        return []
    D = res._delta()
    shifted = D != 0
    if not shifted.any():
        return ["delta adjustment: no imputed value is shifted"]
    lo, hi = D[shifted].min(), D[shifted].max()
    by = f"by {lo:+g}" if lo == hi else f"by {lo:+g} to {hi:+g}"
    return [f"delta adjustment: {int(shifted.sum())} imputed value(s) shifted {by}"]


def strategy_table(res: MIResult) -> pd.DataFrame:
    """Patients per strategy and arm, with the values imputed under it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sma_outcomes.stats.mi import fit_mi
    >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 2),
    ...                   "timepoint": np.tile(["M6", "M12"], 20),
    ...                   "change": np.random.default_rng(0).normal(size=40)})
    >>> strategy_table(fit_mi(d, covariates=()))["n_patients"].tolist()
    [20]
    """
    md = res.md
    has_event = res.first < md.d
    code = np.where(has_event, res.strategy, "MAR")
    frame = pd.DataFrame({
        "strategy": code,
        "name": [STRATEGIES[c] for c in code],
        "n_imputed": md.missing.sum(axis=1),
    })
    keys = ["strategy", "name"]
    if md.arm is not None:
        frame.insert(0, "arm", np.asarray(md.arms, dtype=object)[md.arm_code])
        keys = ["arm", *keys]
    return (frame.groupby(keys, sort=False)
            .agg(n_patients=("n_imputed", "size"), n_imputed=("n_imputed", "sum"))
            .reset_index())
