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
At M12, lsmean changes significance at the 5% level when the imputed values are shifted by -0.144.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize

from ...exceptions import DataError, OptionError
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

    @property
    def found(self) -> bool:
        """Whether the conclusion changes within the deltas searched."""
        return bool(np.isfinite(self.tipping_delta))

    def sentence(self) -> str:
        """One plain sentence on the robustness of the conclusion.

        Examples
        --------
        >>> TippingPoint(pd.DataFrame(), 1.5, "M12", "B - A", "B", 0.05).sentence()
        'At M12, B - A changes significance at the 5% level when the imputed values of B are shifted by +1.5.'
        """
        who = f"the imputed values of {self.arm}" if self.arm is not None else "the imputed values"
        at = f"visit {self.visit}" if isinstance(self.visit, (int, float, np.number)) else self.visit
        if not self.found:
            lo = self.table["delta"].min() if len(self.table) else np.nan
            hi = self.table["delta"].max() if len(self.table) else np.nan
            return (f"At {at}, the conclusion on {self.term} does not change when "
                    f"{who} are shifted by {lo:+.3g} to {hi:+.3g}.")
        return (f"At {at}, {self.term} changes significance at the "
                f"{self.alpha * 100:g}% level when {who} are shifted by "
                f"{self.tipping_delta:+.3g}.")

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
                        arm=shifted, alpha=alpha)
