"""labelapp.learning must stay importable without Django (the layering rule).

Each module is imported in its own fresh interpreter, so a Django import
anywhere in its import graph is caught even though this test session has
loaded Django.  Modules are discovered with pkgutil, so new ones are covered
automatically.  The interpreters run in parallel (``import torch`` takes
seconds each) one per core, and each module's result is reported as its own test.
"""

import os
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import labelapp.learning

ROOT = Path(__file__).resolve().parents[2]


def _modules() -> list[str]:
    names = ["labelapp.learning"]
    for info in pkgutil.walk_packages(labelapp.learning.__path__, prefix="labelapp.learning."):
        names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _import_alone(module: str) -> tuple[int, str]:
    code = f"import {module}, sys; assert 'django' not in sys.modules, 'django was imported'"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # A clean environment: no DJANGO_SETTINGS_MODULE, nothing inherited.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def import_results() -> dict[str, tuple[int, str]]:
    # One interpreter per core at a time: more only thrash the CPU.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(MODULES, pool.map(_import_alone, MODULES)))


def test_discovery_finds_known_modules():
    assert {"labelapp.learning.data", "labelapp.learning.training", "labelapp.learning.models"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_without_django(module, import_results):
    returncode, stderr = import_results[module]
    assert returncode == 0, stderr
