"""The README's tour runs as written (on the bundled data)."""

from __future__ import annotations

import re
import warnings

import pytest

from .conftest import ROOT


def _tour() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A tour in Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_tour_runs(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _tour().replace('"data/sample/', f'"{ROOT}/data/sample/')
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "hfmse.png").stat().st_size > 0
    terms = namespace["lmm"].tidy()["term"].tolist()
    assert any(t.startswith("sma_type[") for t in terms), terms  # a category, not a number
    assert namespace["its"].patient_coefficients()["patient_id"].nunique() == 80
