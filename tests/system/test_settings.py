"""Settings safety: production refuses to start without a secret, passes Django's deploy
checks, DEBUG is off unless asked for, and every environment variable is documented."""

import atexit
import os
import re
import runpy
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_DIR = ROOT / "labelapp" / "settings"
ENV_READ = re.compile(
    r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']|os\.(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def _clean_env(tmp_path, **extra) -> dict:
    """The current environment without anything that configures labelapp, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELAPP_", "DJANGO_", "CELERY_"))}
    for name in ("SECRET_KEY", "DATABASE_URL"):
        env.pop(name, None)
    env.update(LABELAPP_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT), **extra)
    return env


def _dotenv_sets(name: str) -> bool:
    dotenv = ROOT / ".env"
    return dotenv.exists() and re.search(rf"^\s*{name}\s*=\s*\S", dotenv.read_text(), re.M) is not None


def test_production_refuses_to_start_without_secret_key(tmp_path):
    if _dotenv_sets("SECRET_KEY"):
        pytest.skip("a local .env sets SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "-c", "import labelapp.settings.production"],
        env=_clean_env(tmp_path, DJANGO_SETTINGS_MODULE="labelapp.settings.production"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _start_deploy_check() -> tuple[subprocess.Popen, str]:
    """`manage.py check --deploy` is a whole Django start-up (seconds): it starts when this
    module is collected and runs while the other tests do; its test collects the result."""
    key = secrets.token_urlsafe(64)
    var_dir = Path(tempfile.mkdtemp(prefix="labelapp-deploy-check-"))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_clean_env(
            var_dir,
            DJANGO_SETTINGS_MODULE="labelapp.settings.production",
            SECRET_KEY=key,
            DJANGO_ALLOWED_HOSTS="labels.example.com",
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    atexit.register(lambda: process.poll() is None and process.kill())
    return process, key


_DEPLOY_CHECK = _start_deploy_check()


def test_production_passes_the_deploy_checks():
    process, key = _DEPLOY_CHECK
    stdout, stderr = process.communicate(timeout=300)

    assert len(key) >= 50
    assert process.returncode == 0, stdout + stderr
    assert "no issues" in stdout
    assert key not in stdout + stderr


def test_debug_is_off_unless_asked_for(monkeypatch, tmp_path):
    if _dotenv_sets("DJANGO_DEBUG"):
        pytest.skip("a local .env sets DJANGO_DEBUG")
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    monkeypatch.setenv("LABELAPP_VAR_DIR", str(tmp_path / "var"))

    assert runpy.run_path(str(SETTINGS_DIR / "base.py"))["DEBUG"] is False

    monkeypatch.setenv("DJANGO_DEBUG", "true")
    assert runpy.run_path(str(SETTINGS_DIR / "base.py"))["DEBUG"] is True


def test_test_settings_do_not_run_with_debug(settings):
    assert settings.DEBUG is False


def _variables_read() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SETTINGS_DIR.glob("*.py")):
        for match in ENV_READ.finditer(path.read_text()):
            found.setdefault(match.group(1) or match.group(2), []).append(path.name)
    return found


def test_the_settings_read_the_variables_we_expect():
    """Guards the regular expression of the next test: it must see the variables we know of."""
    read = _variables_read()
    for name in ("SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "LABELAPP_MAX_UPLOAD_BYTES"):
        assert name in read


def test_every_environment_variable_is_documented_in_env_example():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    missing = {name: files for name, files in _variables_read().items() if name not in documented}
    assert not missing, f"document these in .env.example (read in labelapp/settings/): {missing}"


def test_env_example_holds_no_real_secret():
    example = (ROOT / ".env.example").read_text()
    secret = re.search(r"^SECRET_KEY=(.*)$", example, re.M)
    assert secret is not None
    value = secret.group(1).strip()
    # Empty or an obvious placeholder, and short enough that Django's deploy check refuses it.
    assert value == "" or ("change" in value.lower() and len(value) < 50)
    assert re.search(r"^DJANGO_DEBUG=(false|0|)$", example, re.M | re.I)


def test_every_beat_job_names_a_registered_task(settings):
    """Beat sends tasks by name: a task moved to another app must keep a name the schedule uses."""
    from labelapp.celery import app

    app.loader.import_default_modules()
    scheduled = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled and scheduled <= set(app.tasks), scheduled - set(app.tasks)


def test_make_run_reads_dotenv_as_django_does_and_the_shell_wins(tmp_path):
    """`.ci/run-stack` (make run) read LABELAPP_PORT and the process counts only from the
    shell, though the README says a .env works; now it reads .env, and a variable set in the
    shell wins over it, as in Django's settings (django-environ, overwrite=False)."""
    import shutil

    (tmp_path / ".ci").mkdir()
    for script in ("run-stack", "load-dotenv"):
        shutil.copy2(ROOT / ".ci" / script, tmp_path / ".ci" / script)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / ".env").write_text(
        "# a comment\n"
        "LABELAPP_PORT=8765\n"
        'LABELAPP_HOST="0.0.0.0"\n'
        "LABELAPP_WEB_WORKERS=5\n"
        "export LABELAPP_WORKER_CONCURRENCY=1\n"
        "LABELAPP_ODD_VALUE='a b; echo injected'\n"
    )
    env = _clean_env(tmp_path, LABELAPP_HOST="127.0.0.2")
    result = subprocess.run(
        [str(tmp_path / ".ci" / "run-stack"), "--dry-run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "would serve http://127.0.0.2:8765/ with 5 web processes and 1 worker processes"
    assert "injected" not in result.stdout + result.stderr
