"""Tipping-point analysis: the delta at which the conclusion changes.

A shift ``delta`` is added to the imputed values of one arm (every visit) and
the same imputations are re-analysed (no refits) over a grid of deltas; the
tipping point is the delta at which the p-value of the chosen estimate crosses
``1 - level``, located on the grid and refined by root finding.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sma_outcomes.stats.mi import fit_mi
>>> rng = np.random.default_rng(5)
>>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(40), 2),
...                   "timepoint": np.tile(["M6", "M12"], 40),
...                   "change": rng.normal(1.0, 1.0, 80)})
>>> d.loc[(d.index % 4 == 1), "change"] = np.nan
>>> tp = tipping_point(fit_mi(d, covariates=()))
>>> bool(tp.table.loc[tp.table["delta"] == 0, "significant"].item())
True
>>> print(tp.sentence())
The change at M12 stays significant unless patients with missing scores had values at least 0.14 lower than the model assumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize

from ...exceptions import DataError, OptionError
from ...registry import SCALES, unit_label
from .result import MIResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass
class TippingPoint:
    """Estimates over a grid of deltas and the delta at which the conclusion changes.

    Attributes
    ----------
    table : DataFrame
        ``delta, estimate, se, df, p_value, ci_low, ci_high, significant``.
    tipping_delta : float
        Delta at which the p-value crosses ``alpha`` (NaN when it does not in the
        range searched).
    visit, term : object, str
        The visit and the estimate (``"B - A"`` or an arm's LS mean) examined.
    arm : str or None
        Arm whose imputed values are shifted (None: every patient).
    alpha : float
        Significance level, ``1 - level``.
    measure : str or None
        Measure analysed (its units and direction word the sentence).

    Examples
    --------
    >>> TippingPoint(pd.DataFrame(), float("nan"), "M12", "B - A", "B", 0.05).found
    False
    """

    table: pd.DataFrame
    tipping_delta: float
    visit: Any
    term: str
    arm: str | None
    alpha: float
    measure: str | None = None

    @property
    def found(self) -> bool:
        """Whether the conclusion changes within the deltas searched."""
        return bool(np.isfinite(self.tipping_delta))

    def _significant_at_zero(self) -> bool:
        t = self.table
        if not len(t) or "delta" not in t.columns or "p_value" not in t.columns:
            return True
        row = t.iloc[int(np.argmin(np.abs(t["delta"].to_numpy(float))))]
        return bool(row["p_value"] < self.alpha)

    def _estimate_at_zero(self) -> float:
        t = self.table
        if not len(t) or "estimate" not in t.columns:
            return float("nan")
        return float(t["estimate"].iloc[int(np.argmin(np.abs(t["delta"].to_numpy(float))))])

    def sentence(self) -> str:
        """One plain sentence on the robustness of the conclusion, for a clinician.

        The shift is told as how much worse (or better) the patients with
        missing scores would have to have done than the imputation model
        assumes, in the scale's units (``measure``) and direction.

        Examples
        --------
        >>> t = pd.DataFrame({"delta": [0.0, -3.0], "estimate": [2.0, 0.5],
        ...                   "p_value": [0.001, 0.2]})
        >>> TippingPoint(t, -2.31, "Month 18", "lsmean", None, 0.05, "HFMSE").sentence()
        'The improvement at Month 18 stays significant unless patients with missing scores did at least 2.3 points worse than the model assumes.'
        >>> TippingPoint(pd.DataFrame(), 1.5, 7, "PLACEBO - DRUG", "DRUG", 0.05).sentence()
        'The difference between PLACEBO and DRUG at visit 7 stays significant unless patients on DRUG with missing scores had values at least 1.5 higher than the model assumes.'
        """
        scale = SCALES.get(self.measure) if self.measure is not None else None
        unit = unit_label(self.measure) if scale is not None else ""
        at = f"visit {self.visit}" if isinstance(self.visit, (int, float, np.number)) else self.visit
        who = (f"patients on {self.arm} with missing scores" if self.arm is not None
               else "patients with missing scores")
        if " - " in self.term:
            a, b = self.term.split(" - ", 1)
            subject = f"The difference between {a} and {b}"
        else:
            est = self._estimate_at_zero()
            better = (est > 0) == scale.higher_is_better if scale is not None else None
            subject = ("The change" if better is None or not np.isfinite(est) or est == 0
                       else "The improvement" if better else "The decline")
        significant = self._significant_at_zero()
        if self.found:
            delta = self.tipping_delta
        else:
            deltas = self.table["delta"].to_numpy(float) if len(self.table) else np.array([0.0])
            delta = float(deltas[int(np.argmax(np.abs(deltas)))])

        size = f"{abs(delta):.1f}" if abs(delta) >= 1 else f"{abs(delta):.2g}"
        if scale is None:
            done = f"had values {{}}{size} {'higher' if delta > 0 else 'lower'}"
        else:
            word = "better" if (delta > 0) == scale.higher_is_better else "worse"
            done = f"did {{}}{size} {unit} {word}"
        least = f"{who} {done.format('at least ')} than the model assumes"
        upto = f"{who} {done.format('')} than the model assumes"
        if significant and self.found:
            return f"{subject} at {at} stays significant unless {least}."
        if significant:
            return f"{subject} at {at} stays significant even if {upto}."
        if self.found:
            return (f"{subject} at {at} is not significant, and would become significant only "
                    f"if {least}.")
        return f"{subject} at {at} is not significant, and stays so even if {upto}."

    def __repr__(self) -> str:
        return f"<TippingPoint {self.sentence()}>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Figure:
        """Estimate and confidence band against delta, the line of no effect and the
        tipping point marked and labelled.

        Delegates to :func:`sma_outcomes.plot.sensitivity.plot_tipping_point`
        (keywords ``measure`` for the units, ``y``, ``title``, ``width``,
        ``height``).

        Examples
        --------
        >>> t = pd.DataFrame({"delta": [0.0, 1.0], "estimate": [2.0, 1.0], "ci_low": [1.0, -0.1],
        ...                   "ci_high": [3.0, 2.1], "p_value": [0.01, 0.08]})
        >>> fig = TippingPoint(t, 0.9, "M12", "B - A", "B", 0.05).plot()
        >>> len(fig.axes[0].lines)
        3
        """
        from ...plot.sensitivity import plot_tipping_point

        return plot_tipping_point(self, ax=ax, **kwargs)


def _row(res: MIResult, visit_j: int, term: str) -> pd.Series:
    tab = res.tidy()
    sel = tab["visit"] == res.visits[visit_j]
    if "arm" in tab.columns:
        sel &= tab["arm"].astype(str) == term
    return tab.loc[sel].iloc[0]


def tipping_point(
    fit: MIResult,
    deltas: np.ndarray | list[float] | None = None,
    *,
    arm: str | None = None,
    visit: object = None,
    term: str | None = None,
    n_grid: int = 21,
) -> TippingPoint:
    """Find the delta, added to one arm's imputed values, that changes the conclusion.

    Parameters
    ----------
    fit : MIResult
        A result of :func:`fit_mi` (its imputations are re-analysed; any delta
        it had is replaced).
    deltas : array_like, optional
        Grid of deltas. By default from 0 to 1.2 times the delta at which the
        estimate reaches zero.
    arm : str, optional
        Arm whose imputed values are shifted; by default the arm(s) that have a
        different reference arm (a treatment arm), or every patient without an arm.
    visit : optional
        Visit examined (default the last).
    term : str, optional
        Estimate examined: ``"B - A"`` or an arm's LS mean; by default the
        difference (the LS mean without an arm).
    n_grid : int
        Points of the default grid.

    Returns
    -------
    TippingPoint
        ``table``, ``tipping_delta``, ``sentence()``, ``plot()``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sma_outcomes.stats.mi import fit_mi
    >>> rng = np.random.default_rng(5)
    >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(40), 2),
    ...                   "timepoint": np.tile(["M6", "M12"], 40),
    ...                   "change": rng.normal(1.0, 1.0, 80)})
    >>> d.loc[(d.index % 4 == 1), "change"] = np.nan
    >>> tp = tipping_point(fit_mi(d, covariates=()), visit="M12")
    >>> tp.table.columns.tolist()[:3]
    ['delta', 'estimate', 'se']
    """
    md = fit.md
    if visit is None:
        vj = md.d - 1
    else:
        match = [j for j, v in enumerate(md.visits) if v == visit or str(v) == str(visit)]
        if not match:
            raise OptionError(f"`visit` must be one of {md.visits}, not {visit!r}")
        vj = match[0]
    if md.arm is None:
        if arm is not None:
            raise OptionError("`arm` was given but the fit has no arm")
        shifted: str | None = None
        term = term or "lsmean"
    else:
        arms = [str(a) for a in md.arms or []]
        if arm is None:
            ref = fit.ref_code if fit.ref_code is not None else md.arm_code
            treated = sorted({int(c) for c, r in zip(md.arm_code, ref, strict=True) if c != r})
            if len(treated) != 1:
                raise OptionError(
                    "say which arm's imputed values to shift with `arm=` (one of "
                    f"{arms}); the fit has no single arm with a different reference"
                )
            arm = arms[treated[0]]
        if str(arm) not in arms:
            raise OptionError(f"`arm` must be one of {arms}, not {arm!r}")
        shifted = str(arm)
        if term is None:
            diffs = [f"{a} - {arms[0]}" for a in arms[1:]]
            term = next((t for t in diffs if shifted in t.split(" - ")), diffs[0])
        labels = set(fit.analysis.params["arm"].astype(str))
        if term not in labels:
            raise OptionError(f"`term` must be one of {sorted(labels)}, not {term!r}")

    def shifted_fit(delta: float) -> MIResult:
        if md.arm is None:
            return fit.with_delta(float(delta))
        return fit.with_delta({md.arms[[str(a) for a in md.arms].index(shifted)]: float(delta)})

    def row(delta: float) -> pd.Series:
        r = shifted_fit(delta)
        if md.arm is None:
            tab = r.tidy()
            return tab.loc[tab["visit"] == md.visits[vj]].iloc[0]
        return _row(r, vj, term)

    alpha = 1.0 - fit.level
    base = row(0.0)
    if deltas is None:
        slope = float(row(1.0)["estimate"] - base["estimate"])
        if abs(slope) < 1e-12:
            raise DataError(
                f"shifting the imputed values{' of ' + shifted if shifted else ''} does not "
                f"change {term} at {md.visits[vj]}: no value is imputed there"
            )
        to_zero = -float(base["estimate"]) / slope
        if abs(to_zero) < 1e-12:
            to_zero = 3.0 * float(base["se"]) / abs(slope)
        deltas = np.linspace(0.0, 1.2 * to_zero, int(n_grid))
    deltas = np.sort(np.asarray(deltas, dtype=float))
    rows = [row(x) for x in deltas]
    table = pd.DataFrame({
        "delta": deltas,
        "estimate": [r["estimate"] for r in rows],
        "se": [r["se"] for r in rows],
        "df": [r["df"] for r in rows],
        "p_value": [r["p_value"] for r in rows],
        "ci_low": [r["ci_low"] for r in rows],
        "ci_high": [r["ci_high"] for r in rows],
    })
    table["significant"] = table["p_value"] < alpha
    tip = np.nan
    g = table["p_value"].to_numpy() - alpha
    near = int(np.argmin(np.abs(deltas)))
    crossings = [i for i in range(len(g) - 1) if np.sign(g[i]) != np.sign(g[i + 1])]
    if crossings:
        i = min(crossings, key=lambda k: abs(deltas[k] - deltas[near]))
        tip = float(optimize.brentq(lambda x: float(row(x)["p_value"]) - alpha,
                                    deltas[i], deltas[i + 1], xtol=1e-6))
    return TippingPoint(table=table, tipping_delta=tip, visit=md.visits[vj], term=term,
                        arm=shifted, alpha=alpha, measure=md.measure)
