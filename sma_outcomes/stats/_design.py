"""The one design-matrix builder of the model fits (:func:`fit_lmm`, :func:`fit_mmrm`).

Both models describe their mean model as a patsy formula right-hand side and
get the fixed-effects matrix from :func:`design_matrix`; new rows (predictions,
the LS-means reference grid) get the same columns from :func:`matrix_like`.
Nothing here knows about optimisers: the matrices are plain float arrays.
Column names are patsy's with the ``Q("...")`` quoting removed
(:func:`clean_name`): ``Intercept``, ``months``, ``sma_type[T.3]``,
``arm[T.B]:timepoint[T.Month 10]``.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"t": [0.0, 1, 2], "g": pd.Categorical(["a", "b", "a"])})
>>> X, spec = design_matrix(f"{quote('t')} + {quote('g')}", d, formula_order=True)
>>> X.tolist()
[[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 2.0, 0.0]]
>>> spec.names
['Intercept', 't', 'g[T.b]']
>>> matrix_like(spec, d.iloc[[1]]).tolist()
[[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from ..exceptions import OptionError


@dataclass
class ModelMatrix:
    """How a design matrix was built: patsy's description and the column order used."""

    info: patsy.DesignInfo
    order: np.ndarray  # column permutation applied to patsy's matrix

    @property
    def names(self) -> list[str]:
        """Clean column names, in the order of the matrix."""
        raw = self.info.column_names
        return [clean_name(raw[j]) for j in self.order]

    @property
    def raw_names(self) -> list[str]:
        """patsy's column names, in the order of the matrix."""
        raw = self.info.column_names
        return [raw[j] for j in self.order]


def quote(name: str) -> str:
    """A column name as a patsy variable (any characters allowed).

    Examples
    --------
    >>> quote("sma type")
    'Q("sma type")'
    """
    return f'Q("{name}")'


def clean_name(name: str) -> str:
    """A patsy column name without the ``Q("...")`` quoting.

    Examples
    --------
    >>> clean_name('Q("arm")[T.B]:Q("timepoint")[T.Month 10]')
    'arm[T.B]:timepoint[T.Month 10]'
    """
    return re.sub(r'Q\("([^"]*)"\)', r"\1", name)


def design_matrix(
    rhs: str, data: pd.DataFrame, *, formula_order: bool = False
) -> tuple[np.ndarray, ModelMatrix]:
    """Fixed-effects matrix of the right-hand side ``rhs`` on ``data``, and its description.

    Categorical (pandas ``Categorical``), boolean and text columns are
    treatment-coded against their first level (category order, or sorted);
    numeric columns enter as they are. patsy puts terms without numeric
    factors first; ``formula_order=True`` keeps the terms in the order written.

    Raises
    ------
    OptionError
        The formula cannot be built on these data (unknown name, bad syntax).

    Examples
    --------
    >>> import pandas as pd
    >>> design_matrix(quote("x"), pd.DataFrame({"x": [1.0, 2.0]}))[0].shape
    (2, 2)
    """
    try:
        dm = patsy.dmatrix(rhs, data, NA_action="raise", return_type="matrix")
    except patsy.PatsyError as err:
        raise OptionError(f"could not build the mean model {clean_name(rhs)!r}: {err}") from err
    info = dm.design_info
    order = np.arange(len(info.column_names))
    if formula_order:
        written = patsy.ModelDesc.from_formula(rhs).rhs_termlist
        pos = {t: i for i, t in enumerate(written)}
        slices = sorted(info.term_slices.items(), key=lambda kv: pos.get(kv[0], -1))
        order = np.concatenate([np.arange(len(info.column_names))[sl] for _, sl in slices])
    return np.asarray(dm, dtype=float)[:, order], ModelMatrix(info, order)


def matrix_like(spec: ModelMatrix, data: pd.DataFrame) -> np.ndarray:
    """The same columns as a fitted design, for new rows.

    Raises
    ------
    OptionError
        A row has a level the design was not built with, or a value is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> X, spec = design_matrix(quote("x"), pd.DataFrame({"x": [1.0, 2.0]}))
    >>> matrix_like(spec, pd.DataFrame({"x": [5.0]})).tolist()
    [[1.0, 5.0]]
    """
    try:
        out = patsy.build_design_matrices([spec.info], data, NA_action="raise")[0]
    except patsy.PatsyError as err:
        raise OptionError(f"new rows do not fit the model's design: {err}") from err
    return np.asarray(out, dtype=float)[:, spec.order]
