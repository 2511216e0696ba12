"""Shared test set-up: a non-interactive matplotlib backend and paths."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
REFERENCE = Path(__file__).resolve().parent / "reference"
