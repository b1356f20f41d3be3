"""Fixtures for transcript tests: where the shared corpus of real caption files lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS_BESIDE_CHECKOUT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "transcripts"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real caption files; the corpus is never copied into the repository."""
    for candidate in (CORPUS_BESIDE_CHECKOUT, Path(os.environ.get("EA_CORPUS_DIR", ""))):
        if str(candidate) not in ("", ".") and candidate.is_dir():
            return candidate
    pytest.skip("caption corpus not found (set EA_CORPUS_DIR to its folder)")
