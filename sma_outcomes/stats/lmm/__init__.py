"""Linear mixed model: :func:`fit_lmm` and :class:`LMMResult`.

Modules: ``design`` (analysis rows, fixed and random design), ``core``
(penalised least squares and the profiled deviance, as lme4), ``fit``
(scaling, variance components, Satterthwaite df) and ``result``.

Examples
--------
>>> from sma_outcomes.stats.lmm import fit_lmm, LMMResult
>>> callable(fit_lmm)
True
"""

from __future__ import annotations

from .result import LMMResult, fit_lmm

__all__ = ["fit_lmm", "LMMResult"]
