"""Image comparisons against small baseline PNGs (RMS tolerance).

Regenerate the baselines after an intended change of the figures with::

    SMA_OUTCOMES_UPDATE_BASELINES=1 python -m pytest tests/test_plot_images.py

and look at every changed image before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images

from sma_outcomes.plot import (
    plot_cohort,
    plot_item_heatmap,
    plot_patient,
    plot_patients,
    plot_slope,
    plot_timeline,
    plot_waterfall,
    save_figure,
)
from tests.test_plot_patient import make_table
from tests.test_plot_timeline_items import item_table

BASELINE = Path(__file__).resolve().parent / "baseline_images" / "plot"
UPDATE = os.environ.get("SMA_OUTCOMES_UPDATE_BASELINES") == "1"
DPI = 60
TOL = 6.0  # RMS of 0-255 pixel values; absorbs font hinting differences, not a moved element


EVENTS = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [250.0, 420, 100],
                       "event": ["scoliosis surgery", "treatment switch", "spinal fusion"],
                       "detail": [None, "risdiplam", None]})


def _figures():
    data, doses = make_table(8, seed=11)
    return {
        "patient": lambda: plot_patient(data, patient_id="P2", doses=doses),
        "cohort": lambda: plot_cohort(data, measure="HFMSE", hue="sma_type"),
        "waterfall": lambda: plot_waterfall(data, measure="HFMSE", timepoint="Month 18"),
        "slope": lambda: plot_slope(data, measure="PP_PREF", timepoint="Month 18"),
        "timeline": lambda: plot_timeline(data, doses=doses),
        "patients": lambda: plot_patients(data, patient_ids=["P1", "P2", "P3"],
                                          measures=["HFMSE", "PP_PREF"], doses=doses,
                                          events=EVENTS),
        "events": lambda: plot_patient(data, patient_id="P1", doses=doses, measures="HFMSE",
                                       events=EVENTS),
        "items": lambda: plot_item_heatmap(item_table(), measure="HFMSE", timepoint="Month 18"),
    }


FIGURES = _figures()


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_image(name, tmp_path):
    fig = FIGURES[name]()
    actual = save_figure(fig, tmp_path / f"{name}.png", dpi=DPI)
    expected = BASELINE / f"{name}.png"
    if UPDATE:
        BASELINE.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"no baseline {expected}; see the module docstring"
    result = compare_images(str(expected), str(actual), tol=TOL)
    assert result is None, result
