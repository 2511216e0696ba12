"""One vocabulary: the same argument names, the same exceptions, visible deprecations."""

from __future__ import annotations

import inspect
import warnings

import pandas as pd
import pytest

import sma_outcomes as sma
from sma_outcomes import ColumnError, DataError, MeasureError, OptionError

from .conftest import SAMPLE


@pytest.fixture(scope="module")
def changes() -> pd.DataFrame:
    return sma.change_from_baseline(sma.read_scores(SAMPLE / "case_series.csv"))


TABLE_FUNCTIONS = ["summarize", "paired_test", "responders"]


@pytest.mark.parametrize("name", TABLE_FUNCTIONS)
def test_first_argument_is_data(name: str) -> None:
    first = next(iter(inspect.signature(getattr(sma, name)).parameters))
    assert first == "data"


@pytest.mark.parametrize("name", ["paired_test", "responders"])
def test_old_keyword_works_with_a_future_warning(changes: pd.DataFrame, name: str) -> None:
    func = getattr(sma, name)
    changes = changes[changes["measure"] == "HFMSE"]
    with pytest.warns(FutureWarning, match=rf"{name}\(changes=...\) is deprecated; "
                                           rf"use {name}\(data=...\)"):
        old = func(changes=changes, timepoint="Month 18")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = func(changes, timepoint="Month 18")
    pd.testing.assert_frame_equal(old, new)


@pytest.mark.parametrize("name", ["paired_test", "responders"])
def test_no_study_specific_default_timepoint(changes: pd.DataFrame, name: str) -> None:
    assert inspect.signature(getattr(sma, name)).parameters["timepoint"].default is None
    changes = changes[changes["measure"] == "HFMSE"]
    # the case series ends at Month 18: the last timepoint most patients reached
    assert set(getattr(sma, name)(changes)["timepoint"]) == {"Month 18"}
    early = changes[~changes["timepoint"].astype(str).isin(["Month 18"])]
    assert set(getattr(sma, name)(early)["timepoint"]) != {"Month 18"}


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda d: sma.paired_test(d.drop(columns="change")), ColumnError),
        (lambda d: sma.summarize(d.drop(columns="change")), ColumnError),
        (lambda d: sma.change_from_baseline(d.drop(columns="score")), ColumnError),
        (lambda d: sma.to_adam(d.drop(columns="baseline")), ColumnError),
        (lambda d: sma.paired_test(d, measures=["RULM"]), MeasureError),
        (lambda d: sma.responders(d, measures="SMWT"), MeasureError),
        (lambda d: sma.fit_lmm(d), MeasureError),  # several measures: pick one
        (lambda d: sma.fit_lmm(d, "RULM"), MeasureError),
        (lambda d: sma.get_scale("HFMS"), MeasureError),
        (lambda d: sma.paired_test(d, level=95), OptionError),
        (lambda d: sma.paired_test(d, timepoint="Month 99"), OptionError),
    ],
)
def test_one_exception_type_per_mistake(changes: pd.DataFrame, call, kind) -> None:
    with pytest.raises(kind):
        call(changes)
    try:
        call(changes)
    except ValueError as err:  # one `except` catches every input mistake
        assert isinstance(err, (DataError, OptionError))


def test_errors_name_the_parameter_allowed_values_and_what_was_passed(changes) -> None:
    with pytest.raises(MeasureError, match=r"`measures`: 'RULM' not in the data; the data have "
                                           r"\['HFMSE', 'PP_PREF', 'PP_NONPREF'\]"):
        sma.paired_test(changes, measures=["RULM"])
    with pytest.raises(MeasureError, match=r"fit_lmm\(\) works on one measure and the data have "
                                           r"3: pass `measure=` one of"):
        sma.fit_lmm(changes)


def test_help_shows_real_parameters() -> None:
    """No public function hides its options behind **kwargs."""
    hidden = []
    for name in sma.__all__:
        obj = getattr(sma, name)
        if not callable(obj) or isinstance(obj, type):
            continue
        params = inspect.signature(obj).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            hidden.append(name)
    assert not hidden, f"functions with **kwargs: {hidden}"
