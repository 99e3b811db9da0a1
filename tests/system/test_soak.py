"""A short soak (benchmarks/soak.py) so `make test` keeps it honest: annotators, an uploader,
a streaming client and a mid-run retrain + rescore against gunicorn and a real Celery
worker, then every invariant (no errors, no double hand-outs, ledger == balance, every
sent image stored exactly once, the retrain and its rescore finished).

The script runs in its own process with its own temp database, media, var folder and
broker (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, else SQLite + the embedded
broker), so nothing here touches the pytest database."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.worker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_short_soak_holds_every_invariant():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    argv = [
        sys.executable,
        str(ROOT / "benchmarks/soak.py"),
        "--seconds",
        "25",
        "--annotators",
        "6",
        "--epochs",
        "1",
        "--web-workers",
        "3",
        "--timeout",
        "240",
    ]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "SOAK OK: every invariant holds" in done.stdout, output[-6000:]
    assert "[FAIL]" not in done.stdout, output[-6000:]
    for name in (
        "zero errors",
        "zero double hand-outs",
        "ledger == balance",
        "spent + reserved <= granted",
        "every sent image stored exactly once",
        "mid-soak retrain and rescore succeeded",
    ):
        assert f"[ok] {name}" in done.stdout, output[-6000:]
    # The load really ran: labels were submitted and images uploaded and streamed.
    for kind in ("next", "submit", "upload", "stream", "train"):
        match = re.search(rf"^\s+{kind}\s+(\d+)", done.stdout, re.M)
        assert match and int(match.group(1)) > 0, f"no {kind} requests\n{done.stdout}"
