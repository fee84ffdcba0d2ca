"""Where things are: the repository root, for the tests that read its files or start processes in it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
