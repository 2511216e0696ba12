"""Paths shared by the tests (the backend and hypothesis profile: ../conftest.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
REFERENCE = Path(__file__).resolve().parent / "reference"
