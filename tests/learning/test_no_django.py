"""labelapp.learning must stay importable without Django (the layering rule).

Each module is imported in a fresh interpreter, so a Django import anywhere
in its import graph is caught even if the test session itself loaded Django.
Modules are discovered with pkgutil, so new ones are covered automatically.
"""

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import labelapp.learning

ROOT = Path(__file__).resolve().parents[2]


def _modules() -> list[str]:
    names = ["labelapp.learning"]
    for info in pkgutil.walk_packages(labelapp.learning.__path__, prefix="labelapp.learning."):
        names.append(info.name)
    return sorted(names)


def test_discovery_finds_known_modules():
    found = set(_modules())
    assert {"labelapp.learning.data", "labelapp.learning.training", "labelapp.learning.models"} <= found


@pytest.mark.parametrize("module", _modules())
def test_module_imports_without_django(module):
    code = f"import {module}, sys; assert 'django' not in sys.modules, 'django was imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
