"""Shared test fixtures: paths to the reference data beside the repository."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``../shared/fixtures`` (reference values computed with the peers' own code)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"reference fixtures not found at {SHARED_FIXTURES}")
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """The synthetic ``tiny`` corpus (12 speakers), generated once per test session."""
    from labkit.data.synthetic import make_corpus

    return make_corpus(tmp_path_factory.getbasetemp() / "synthetic-tiny", preset="tiny", seed=0)


@pytest.fixture(scope="session")
def lab_corpus(tmp_path_factory) -> Path:
    """The synthetic ``lab`` corpus (what the demo and the quality targets use), generated once per session."""
    from labkit.data.synthetic import make_corpus

    started = time.perf_counter()
    root = make_corpus(tmp_path_factory.getbasetemp() / "synthetic-lab", preset="lab", seed=0)
    print(f"\nlab corpus generated in {time.perf_counter() - started:.1f} s")
    return root
