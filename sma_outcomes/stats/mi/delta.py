"""Delta adjustment: a shift added to imputed values (rbmi's ``delta_template``).

``delta`` may be:

- a number: added to every imputed value;
- a mapping per arm, ``{"DRUG": 2}``, or per arm and visit,
  ``{"DRUG": {"Month 12": 1, "Month 24": 2}}``; without an arm, per visit;
- a table with the group and visit columns and ``delta`` (one value per patient
  and visit, as rbmi's ``delta_template``), or with the arm (or no patient
  column) and visit columns.

Only imputed values are shifted; a delta given for an observed value is ignored.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sma_outcomes.stats.mi.data import prepare_data
>>> d = pd.DataFrame({"id": list("aabb"), "v": [1, 2] * 2, "trt": list("TTCC"),
...                   "y": [1.0, None, 3.0, None]})
>>> md = prepare_data(d, y="y", visit="v", group="id", arm="trt", columns=[])
>>> delta_matrix(md, {"T": 2.0}).tolist()
[[0.0, 2.0], [0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...exceptions import DataError
from .data import MIData


def _lookup(levels: list, key: object, what: str) -> int:
    for j, v in enumerate(levels):
        if v == key or str(v) == str(key):
            return j
    raise DataError(f"`delta`: {key!r} is not {what} of the data ({levels})")


def delta_matrix(md: MIData, delta: object) -> np.ndarray:
    """The (n, d) shifts for the imputed values (zero where observed).

    Examples
    --------
    >>> import pandas as pd
    >>> from sma_outcomes.stats.mi.data import prepare_data
    >>> d = pd.DataFrame({"id": ["a", "a"], "v": [1, 2], "y": [1.0, None]})
    >>> md = prepare_data(d, y="y", visit="v", group="id", arm=None, columns=[])
    >>> delta_matrix(md, {2: -1.5}).tolist()
    [[0.0, -1.5]]
    """
    n, d = md.n, md.d
    D = np.zeros((n, d))
    if delta is None:
        return D
    if isinstance(delta, (int, float, np.floating, np.integer)) and not isinstance(delta, bool):
        D[:] = float(delta)
    elif isinstance(delta, pd.DataFrame):
        if "delta" not in delta.columns or md.visit not in delta.columns:
            raise DataError(
                f"a `delta` table needs the columns {md.visit!r} and 'delta', and either "
                f"{md.group!r} (one row per patient and visit) or {md.arm!r}"
            )
        vis = np.array([_lookup(md.visits, v, "a visit") for v in delta[md.visit]])
        val = delta["delta"].to_numpy(dtype=float)
        if md.group in delta.columns:
            pos = {k: i for i, k in enumerate(md.ids)}
            unknown = [p for p in delta[md.group] if p not in pos]
            if unknown:
                raise DataError(f"`delta` names patient(s) not in the data: {unknown[:10]}")
            D[[pos[p] for p in delta[md.group]], vis] = val
        elif md.arm is not None and md.arm in delta.columns:
            arm_j = np.array([_lookup(md.arms or [], a, "an arm") for a in delta[md.arm]])
            for a, j, x in zip(arm_j, vis, val, strict=True):
                D[md.arm_code == a, j] = x
        else:
            for j, x in zip(vis, val, strict=True):
                D[:, j] = x
    elif isinstance(delta, Mapping):
        if md.arm is not None:
            for a, rule in delta.items():
                rows = md.arm_code == _lookup(md.arms or [], a, "an arm")
                if isinstance(rule, Mapping):
                    for v, x in rule.items():
                        D[rows, _lookup(md.visits, v, "a visit")] = float(x)
                else:
                    D[rows] = float(rule)
        else:
            for v, x in delta.items():
                D[:, _lookup(md.visits, v, "a visit")] = float(x)
    else:
        raise DataError(
            f"`delta` must be a number, a mapping per arm (and visit) or a table, not "
            f"{type(delta).__name__}"
        )
    if not np.isfinite(D).all():
        raise DataError("`delta` has missing or infinite values")
    D[~md.missing] = 0.0
    return D
