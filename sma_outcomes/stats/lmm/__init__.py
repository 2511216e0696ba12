"""Linear mixed model: :func:`fit_lmm` and :class:`LMMResult`.

Random intercept, random slope, or piecewise-linear random effects
(``random="piecewise"``: intercept, slope and slope change at each knot, for
pre- vs on-treatment slopes). Modules: ``design`` (analysis rows, fixed and
random design; the fixed-effects matrix from the shared builder
``stats._design``), ``core`` (penalised least squares and the profiled
deviance for q random effects, as lme4), ``fit`` (scaling, variance
components, Satterthwaite df) and ``result`` (:class:`LMMResult` on the shared
``stats._result.ModelResult``).

Examples
--------
>>> from sma_outcomes.stats.lmm import fit_lmm, LMMResult
>>> callable(fit_lmm)
True
"""

from __future__ import annotations

from .result import LMMResult, fit_lmm

__all__ = ["fit_lmm", "LMMResult"]
