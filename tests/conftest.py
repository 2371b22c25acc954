"""Shared fixtures: the real dance data beside the project, skipped with a reason where absent."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    """`../shared/data`, or a skip saying it is absent (as on a user's machine)."""
    if not DATA.is_dir():
        pytest.skip(f"real dance data not found at {DATA} (only developers and CI have it)")
    return DATA
