"""One result model for the model fits: :class:`ModelResult` and :class:`Summary`.

:class:`~sma_outcomes.stats.LMMResult` and :class:`~sma_outcomes.stats.MMRMResult`
share the same field names (``n_obs``, ``n_patients``, ``n_visits_max``,
``method``, ``level``, ``converged``, ``notes``, ``loglik``, ``aic``, ``bic``)
and the same methods, as R's broom does for model objects:

- ``tidy()``: the coefficient table ``term, estimate, se, df, t, p_value,
  ci_low, ci_high``;
- ``glance()``: a one-row table of fit statistics;
- ``summary()``: a :class:`Summary`, which prints as text and shows as HTML in
  Jupyter (as statsmodels' ``Summary``);
- ``predict()``: predictions with confidence intervals at ``level``.

Examples
--------
>>> import sma_outcomes as so
>>> fit = so.fit_lmm(so.load_example("cohort"), "HFMSE")
>>> isinstance(fit, ModelResult)
True
>>> fit.glance().loc[0, ["n_obs", "n_patients", "method", "level"]].astype(str).tolist()
['608', '80', 'REML', '0.95']
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._shared import check_level
from ._tables import T_TABLE_COLUMNS, t_table

#: The fields every model result has, in the order of :meth:`ModelResult.glance`.
COMMON_FIELDS = (
    "n_obs",
    "n_patients",
    "n_visits_max",
    "method",
    "level",
    "converged",
    "loglik",
    "aic",
    "bic",
)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


@dataclass
class Summary:
    """A model summary that prints as text and shows as HTML in Jupyter.

    Parameters
    ----------
    title : str
        First line (what was fitted).
    lines : sequence of str
        Facts, one per line (data used, model, fit statistics).
    tables : sequence of (str, DataFrame)
        Captioned tables (fixed effects, random effects, ...).
    notes : sequence of str
        Plain-language notes on the fit.
    footer : str
        A line after the tables (e.g. the fit statistics).

    Examples
    --------
    >>> import pandas as pd
    >>> s = Summary("A model", ["12 observations"], [("Fixed effects", pd.DataFrame({"a": [1.5]}))])
    >>> print(s)
    A model
    12 observations
    <BLANKLINE>
    Fixed effects:
      a
    1.5
    >>> "<table" in s._repr_html_()
    True
    """

    title: str
    lines: Sequence[str] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    notes: Sequence[str] = field(default_factory=list)
    footer: str = ""

    def as_text(self) -> str:
        """The summary as plain text (what ``print`` shows)."""
        out = [self.title, *self.lines]
        with pd.option_context("display.width", 120, "display.max_columns", 30):
            for caption, table in self.tables:
                out += [
                    "",
                    f"{caption}:",
                    table.to_string(index=False, float_format=_fmt, na_rep=""),
                ]
        if self.footer:
            out += ["", self.footer]
        if self.notes:
            out += ["", "Notes:", *[f"- {n}" for n in self.notes]]
        return "\n".join(out)

    def as_html(self) -> str:
        """The summary as an HTML fragment (what Jupyter shows)."""
        items = "".join(f"<li>{html.escape(x)}</li>" for x in self.lines)
        parts = [f"<div class='sma-summary'><p><b>{html.escape(self.title)}</b></p>"]
        if items:
            parts.append(f"<ul>{items}</ul>")
        for caption, table in self.tables:
            parts.append(f"<p>{html.escape(caption)}</p>")
            parts.append(table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""))
        if self.footer:
            parts.append(f"<p>{html.escape(self.footer)}</p>")
        if self.notes:
            notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
            parts.append(f"<p>Notes</p><ul>{notes}</ul>")
        parts.append("</div>")
        return "".join(parts)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()

    def __contains__(self, text: str) -> bool:
        return text in self.as_text()


class ModelResult:
    """Base of the fitted-model results; subclasses set the common fields.

    Attributes
    ----------
    n_obs, n_patients, n_visits_max : int
        Observations used, patients (groups) and the most observations of one patient.
    method : {"REML", "ML"}
    level : float
        Confidence level of every interval the result gives (tables, predictions,
        bands drawn from it).
    converged : bool
    notes : list of str
        Plain-language notes: excluded rows, boundary fits, fallbacks, convergence.
    loglik, aic, bic : float
    """

    n_obs: int
    n_patients: int
    n_visits_max: int
    method: str
    level: float
    converged: bool
    notes: list[str]
    loglik: float
    aic: float
    bic: float

    #: Name of the model in :meth:`glance` and the summary.
    model_name = "model"

    # ------------------------------------------------------------- to override
    def _coefficients(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Terms, estimates, standard errors and df of the coefficients."""
        raise NotImplementedError

    def _glance_extra(self) -> dict:
        return {}

    def _summary_parts(self) -> tuple[str, list[str], list[tuple[str, pd.DataFrame]]]:
        raise NotImplementedError

    def predict(self, *args, **kwargs) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------------------- shared
    def _level(self, level: float | None) -> float:
        return self.level if level is None else check_level(level)

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """The coefficient table.

        Parameters
        ----------
        level : float, optional
            Confidence level of ``ci_low``/``ci_high`` (default the fit's ``level``).

        Returns
        -------
        pandas.DataFrame
            ``term, estimate, se, df, t, p_value, ci_low, ci_high``, one row per
            coefficient.
        """
        terms, est, se, df = self._coefficients()
        out = t_table(terms, est, se, df, level=self._level(level))
        return out.loc[:, list(T_TABLE_COLUMNS)]

    def glance(self) -> pd.DataFrame:
        """One row of fit statistics.

        Returns
        -------
        pandas.DataFrame
            ``model, n_obs, n_patients, n_visits_max, method, level, converged,
            loglik, aic, bic, n_notes`` and the model's own statistics (LMM:
            ``sigma, singular, deviance, reml_criterion``; MMRM: ``covariance,
            df_method, n_cov_params``).
        """
        row = {"model": self.model_name}
        row.update({f: getattr(self, f) for f in COMMON_FIELDS})
        row["n_notes"] = len(self.notes)
        row.update(self._glance_extra())
        return pd.DataFrame([row])

    def summary(self) -> Summary:
        """Data used, model, coefficient tables, fit statistics and notes.

        Returns
        -------
        Summary
            Prints as text (``print(fit.summary())``, ``str(...)``) and shows as
            HTML in Jupyter.
        """
        title, lines, tables = self._summary_parts()
        return Summary(title, lines, tables, list(self.notes))

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def _what_was_used(self) -> str:
        return (
            f"{self.n_obs} observations from {self.n_patients} patients, "
            f"maximum {self.n_visits_max} visits"
        )
