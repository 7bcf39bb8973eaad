"""The package type-checks with mypy --strict (configured in setup.cfg), as STYLE.md asks."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_mypy_strict_passes() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
