"""Reference-based multiple imputation: :func:`fit_mi`, :class:`MIResult`, :func:`tipping_point`.

Modules: ``data`` (long table -> patient x visit arrays), ``strategies`` (MAR,
JR, CR, CIR, LMCF), ``model`` (the imputation MMRM, fitted on the MMRM
likelihood), ``impute`` (conditional means and draws), ``delta``, ``analysis``
(ANCOVA per visit or MMRM), ``pool`` (Rubin's rules, jackknife), ``fit``,
``result`` and ``tipping``.

Examples
--------
>>> from sma_outcomes.stats.mi import fit_mi, MIResult, tipping_point
>>> callable(fit_mi) and callable(tipping_point)
True
"""

from __future__ import annotations

from .fit import fit_mi
from .result import MIResult
from .tipping import TippingPoint, tipping_point

__all__ = ["fit_mi", "MIResult", "tipping_point", "TippingPoint"]
