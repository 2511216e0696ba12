"""Totals from item-level HFMSE and RULM scores.

A total is computed only from a complete item set (33 HFMSE items; RULM items
B..T, the entry item A does not count). With any item missing the total is left
missing with ``missing_code`` "INCOMPLETE": no proration, as no official rule
exists (scales.md 1.4). A recorded total must equal the sum of its items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema as S
from ..registry import items_of
from .problems import Problems

INCOMPLETE = "INCOMPLETE"
_KEYS = [S.PATIENT, S.VISIT, S.DATE, S.DAY]


def _key_tuples(frame: pd.DataFrame) -> list[tuple]:
    date = frame[S.DATE].to_numpy(dtype="datetime64[ns]").view("int64")
    day = np.nan_to_num(frame[S.DAY].to_numpy(dtype=float), nan=-1e300)
    return list(zip(frame[S.PATIENT].to_numpy(), frame[S.VISIT].to_numpy(), date, day,
                    strict=True))


def item_totals(
    tidy: pd.DataFrame, row_no: np.ndarray, src_col: np.ndarray, problems: Problems
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Add computed totals (or fill blank recorded ones) and check recorded totals.

    Returns the table, the spreadsheet row of each row and its source column.
    """
    added_frames, added_rows, added_cols = [], [], []
    tidy = tidy.reset_index(drop=True)
    measure = tidy[S.MEASURE].to_numpy()
    for family in ("HFMSE", "RULM"):
        items = items_of(family)
        is_item = np.isin(measure, items)
        if not is_item.any():
            continue
        idx = np.flatnonzero(is_item)
        sub = tidy.iloc[idx]
        keys = _key_tuples(sub)
        group_of: dict[tuple, int] = {}
        g = np.fromiter((group_of.setdefault(k, len(group_of)) for k in keys), dtype=int,
                        count=len(keys))
        col = pd.Index(items).get_indexer(sub[S.MEASURE])
        present = np.zeros((len(group_of), len(items)), dtype=bool)
        values = np.full((len(group_of), len(items)), np.nan)
        present[g, col] = True
        values[g, col] = sub[S.SCORE].to_numpy(dtype=float)
        full = present.all(axis=1)
        complete = full & ~np.isnan(values).any(axis=1)
        total = np.where(complete, np.nansum(values, axis=1), np.nan)
        first_member = np.full(len(group_of), -1)
        first_member[g[::-1]] = idx[::-1]
        if (~full).any():
            problems.add(
                "items",
                f"{int((~full).sum())} assessment(s) have some {family} items but not all "
                f"{len(items)}; their {family} total was not computed from items",
                severity="warning",
            )
        recorded = np.flatnonzero(measure == family)
        has_recorded = np.zeros(len(group_of), dtype=bool)
        if len(recorded):
            rec_keys = _key_tuples(tidy.iloc[recorded])
            for pos, key in zip(recorded, rec_keys, strict=True):
                gi = group_of.get(key)
                if gi is None or not full[gi]:
                    continue
                has_recorded[gi] = True
                value = tidy.at[pos, S.SCORE]
                if np.isnan(value):
                    if tidy.at[pos, S.MISSING_CODE] == "" and complete[gi]:
                        tidy.at[pos, S.SCORE] = total[gi]
                    continue
                if complete[gi] and value != total[gi]:
                    problems.add(
                        "item_sum",
                        f"recorded {family} total {value:g} disagrees with the sum of its "
                        f"items, {total[gi]:g}",
                        row=int(row_no[pos]), column=str(src_col[pos]), value=value,
                    )
        new = full & ~has_recorded
        if new.any():
            template = tidy.iloc[first_member[new]].copy()
            template[S.MEASURE] = family
            template[S.SCORE] = total[new]
            template[S.MISSING_CODE] = np.where(complete[new], "", INCOMPLETE)
            added_frames.append(template)
            added_rows.append(row_no[first_member[new]])
            added_cols.append(np.full(int(new.sum()), f"(sum of {family} items)", dtype=object))
    if not added_frames:
        return tidy, row_no, src_col
    out = pd.concat([tidy, *added_frames], ignore_index=True)
    rows = np.concatenate([row_no, *added_rows])
    cols = np.concatenate([np.asarray(src_col, dtype=object), *added_cols])
    order = np.argsort(rows, kind="stable")
    return out.iloc[order].reset_index(drop=True), rows[order], cols[order]
