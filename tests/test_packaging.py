"""Packaging: version, lazy imports, the package list in pyproject, bundled data."""

from __future__ import annotations

import re
import subprocess
import sys

import sma_outcomes
from sma_outcomes.load.examples import EXAMPLES, example_path
from tests.conftest import ROOT


def test_every_package_is_listed_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M).group(1)
    listed = set(re.findall(r'"([\w.]+)"', block))
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "sma_outcomes").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"
    assert "sma_outcomes.sample_data" in listed


def test_version_and_public_names():
    assert re.fullmatch(r"\d+\.\d+\.\d+", sma_outcomes.__version__)
    for name in sma_outcomes.__all__:
        assert getattr(sma_outcomes, name) is not None, name


def test_import_is_lazy():
    code = ("import sys, sma_outcomes, sma_outcomes.cli; "
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_examples_exist():
    for name in EXAMPLES:
        assert example_path(name).stat().st_size > 0


def test_hypothesis_runs_a_fixed_profile() -> None:
    from hypothesis import settings

    assert settings.default.derandomize and settings.default.deadline is None
