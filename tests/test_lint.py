"""ruff and mypy run as part of the suite, so CI (which runs only `make test`) enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_dev_tools

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {
    "ruff check": [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "editorial_assistant",
        "tests",
        "scripts",
    ],
    "ruff format": [
        sys.executable,
        "-m",
        "ruff",
        "format",
        "--check",
        "editorial_assistant",
        "tests",
        "scripts",
    ],
    "mypy": [sys.executable, "-m", "mypy", "editorial_assistant"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_the_code_passes(name: str) -> None:
    result = subprocess.run(
        CHECKS[name], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
