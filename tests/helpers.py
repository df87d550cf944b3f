"""Paths the tests share (the repository and the hand-made fixtures)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
