"""Property-based tests: corrupted files parse to the same scores or raise DataError.

The corruption model inserts or replaces characters anywhere in the file with
characters that cannot turn one valid cell into another valid one: no digits,
signs, points, exponents, whitespace, quotes, line breaks or separators, and no
letters of a missing-score code (NA, NT, UTA, CNT, ND) or of inf/nan. Such a file
must either read to exactly the same scores (the corruption hit a label or a
pass-through column) or be refused with a DataError, never another exception.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sma_outcomes import DataError, read_scores
from tests.conftest import SAMPLE

ORIGINAL = (SAMPLE / "case_series.csv").read_text()
NOISE = "bghjkmopqrsvwxyzBGHJKMOPQRSVWXYZ!#$%&'()*/:<=>?@[]^_`{|}~"
EXPECTED = read_scores(SAMPLE / "case_series.csv")["score"].to_numpy()

edits = st.lists(
    st.tuples(st.integers(0, len(ORIGINAL) - 1), st.sampled_from(NOISE), st.booleans()),
    min_size=1,
    max_size=3,
)


def corrupt(text: str, changes) -> str:
    chars = list(text)
    for pos, ch, insert in sorted(changes, reverse=True):
        if chars[pos] in "\n,":
            insert = True  # never remove a separator: that merges two valid numbers
        if insert:
            chars.insert(pos, ch)
        else:
            chars[pos] = ch
    return "".join(chars)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=edits)
def test_corruption_gives_same_scores_or_data_error(tmp_path, changes):
    path = tmp_path / "corrupt.csv"
    path.write_text(corrupt(ORIGINAL, changes))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = read_scores(path)
    except DataError:
        return
    scores = got["score"].to_numpy()
    assert len(scores) == len(EXPECTED)
    np.testing.assert_array_equal(scores, EXPECTED)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.integers(-5, 80), st.floats(allow_nan=False),
                                  st.text(NOISE, max_size=4)), min_size=1, max_size=8))
def test_any_cell_values_give_a_table_or_data_error(values):
    import pandas as pd

    frame = pd.DataFrame({"patient": [f"P{i}" for i in range(len(values))],
                          "HFMSE": pd.Series(values, dtype=object)})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = read_scores(frame)
    except DataError:
        return
    ok = got["score"].dropna()
    assert ((ok >= 0) & (ok <= 66) & (ok == ok.round())).all()
