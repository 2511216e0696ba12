"""The walkthrough notebooks run top to bottom in a fresh kernel and are stored stripped.

Each notebook is executed with nbclient in the ``python3`` kernel (which
``.ci/run`` installs into the test virtual environment) with ``notebooks/`` as
the working directory, the way a user opens it. The repository root is put
first on the kernel's ``PYTHONPATH`` so that the notebooks exercise this
checkout's code even if another copy of the package is installed. A failing
cell raises :class:`nbclient.exceptions.CellExecutionError` with the cell's
source and traceback.

The committed files must carry no outputs, no execution counts, no widget
state and only minimal metadata, so that diffs stay readable and no result
(or patient identifier) is ever committed by accident.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = [
    "case_series.ipynb",
    "cohort_mixed_models.ipynb",
    "patient_benefit.ipynb",
    "estimand_analysis.ipynb",
]
CELL_TIMEOUT = 300  # seconds per cell; each notebook runs in well under a minute


def _read(name: str) -> nbformat.NotebookNode:
    path = NOTEBOOK_DIR / name
    assert path.is_file(), f"missing notebook {path}"
    return nbformat.read(path, as_version=4)


def _kernel_env() -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    # as in Jupyter (tests/conftest.py sets Agg for the test process itself)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name: str) -> None:
    nb = _read(name)
    client = NotebookClient(
        copy.deepcopy(nb),
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    executed = client.execute(env=_kernel_env())

    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert code_cells, f"{name} has no code cells"
    errors = [
        (c.get("id"), o.get("ename"), o.get("evalue"))
        for c in code_cells
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"{name}: cells raised {errors}"
    # every code cell ran (nothing skipped by a silent early stop)
    assert all(c.execution_count is not None for c in code_cells)
    # the figures were drawn: at least one image per notebook
    images = [
        o
        for c in code_cells
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result") and "image/png" in o.data
    ]
    assert images, f"{name} displayed no figure"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_stripped(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, dict(nb.metadata)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        assert not {"widgets", "execution", "collapsed", "scrolled"} & set(cell.metadata), (
            cell.get("id"),
            dict(cell.metadata),
        )
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: cell {cell.get('id')} has stored outputs"
            assert cell.execution_count is None, f"{name}: cell {cell.get('id')} has a count"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_finds_data_relative_to_itself(name: str) -> None:
    source = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert '"data" / "sample"' in source
    assert "/work/" not in source and "C:\\" not in source, "absolute path in a notebook"
