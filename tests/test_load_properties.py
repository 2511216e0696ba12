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
import pandas as pd
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


# --------------------------------------------------------------------------- workbooks
# One fixed profile for the workbook properties: derandomized (the same examples on
# every run), a per-example deadline that fails a hang, and few examples so CI stays fast.
settings.register_profile(
    "workbooks", max_examples=60, deadline=3000, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WORKBOOKS = settings.get_profile("workbooks")


def _workbook_parts():
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    from tests.files import make

    with tempfile.TemporaryDirectory() as tmp:
        data = make.workbook(Path(tmp) / "base.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    return data, parts


BOOK, PARTS = _workbook_parts()
XML_PARTS = tuple(sorted(k for k in PARTS if k.endswith(".xml") and k.startswith("xl/")))


def _book_scores(data: bytes, tmp_path) -> np.ndarray:
    path = tmp_path / "book.xlsx"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_scores(path)["score"].to_numpy()


def _zip(parts: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


@WORKBOOKS
@given(part=st.sampled_from(XML_PARTS), changes=st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(NOISE + "<>\"=0123456789 /"), st.booleans()),
    min_size=1, max_size=3))
def test_corrupted_workbook_xml_gives_same_scores_or_data_error(tmp_path, part, changes):
    """Characters inserted into or replacing those of a workbook's XML parts."""
    text = PARTS[part].decode("utf-8")
    chars = list(text)
    for pos, ch, insert in sorted(changes, reverse=True):
        pos %= len(chars)
        if insert:
            chars.insert(pos, ch)
        else:
            chars[pos] = ch
    data = _zip({**PARTS, part: "".join(chars).encode("utf-8")})
    expected = _book_scores(BOOK, tmp_path)
    try:
        got = _book_scores(data, tmp_path)
    except DataError:
        return
    # a changed digit in a value is a different score, not a corruption of the file
    if any(ch.isdigit() for _, ch, _ in changes) and len(got) == len(expected):
        return
    np.testing.assert_array_equal(got, expected)


@WORKBOOKS
@given(changes=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                        min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_corrupted_workbook_bytes_give_same_scores_or_data_error(tmp_path, changes, cut):
    """Bytes of the .xlsx file flipped, or the file cut short (an interrupted copy)."""
    data = bytearray(BOOK)
    for pos, byte in changes:
        data[pos % len(data)] = byte
    if cut is not None:
        data = data[: cut % len(data)]
    try:
        got = _book_scores(bytes(data), tmp_path)
    except DataError:
        return
    np.testing.assert_array_equal(got, _book_scores(BOOK, tmp_path))
