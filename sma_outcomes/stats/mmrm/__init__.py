"""Mixed model for repeated measures (MMRM): :func:`fit_mmrm` and :class:`MMRMResult`.

Modules: ``covariance`` (structures), ``likelihood`` (REML/ML per missing-data
pattern), ``design`` (analysis rows, formula, reference grid), ``ddf``
(Satterthwaite, Kenward-Roger, residual, between-within), ``fit`` and ``result``.

Examples
--------
>>> from sma_outcomes.stats.mmrm import fit_mmrm, MMRMResult
>>> callable(fit_mmrm)
True
"""

from __future__ import annotations

from .fit import FALLBACK_CHAIN, fit_mmrm
from .result import MMRMResult

__all__ = ["fit_mmrm", "MMRMResult", "FALLBACK_CHAIN"]
