"""docker-compose.yml and the Dockerfile, checked statically (there is no Docker engine in CI):
the compose file is valid, and every variable it gives the app is one the settings read."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")
# Read by Django, manage.py and labelapp/celery.py themselves, not by the settings module.
READ_OUTSIDE_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # resolves the `<<: *app` merge keys


def _environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def _settings_source() -> str:
    return "\n".join(path.read_text() for path in sorted((ROOT / "labelapp" / "settings").glob("*.py")))


def test_the_compose_file_validates_against_the_compose_spec():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stack_has_every_part(compose):
    services = compose["services"]
    assert {"postgres", "redis", "minio", "createbuckets", "web", "worker", "beat"} <= set(services)
    assert "migrate" in " ".join(map(str, services["web"]["command"]))
    assert "gunicorn" in " ".join(map(str, services["web"]["command"]))
    assert " worker" in " ".join(map(str, services["worker"]["command"]))
    assert "beat" in services["beat"]["command"]
    assert "mc mb" in " ".join(services["createbuckets"]["command"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_variable_given_to_the_app_is_read_by_the_settings(compose, name):
    env = _environment(compose["services"][name])
    source = _settings_source()
    assert env, f"{name} has no environment"
    unread = [var for var in env if var not in READ_OUTSIDE_SETTINGS and not re.search(rf"""["']{var}["']""", source)]
    assert unread == [], f"{name} sets variables no settings module reads: {unread}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_app_runs_the_production_settings_against_the_compose_services(compose, name):
    env = _environment(compose["services"][name])
    module = env["DJANGO_SETTINGS_MODULE"]
    assert module == "labelapp.settings.production"
    assert importlib.util.find_spec(module) is not None
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["LABELAPP_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "SECRET_KEY" in env and "LABELAPP_SSL_REDIRECT" in env
    for required in (
        "SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "LABELAPP_S3_BUCKET",
        "LABELAPP_S3_ACCESS_KEY",
        "LABELAPP_S3_SECRET_KEY",
        "CELERY_RESULT_BACKEND",
    ):
        assert env.get(required), f"{name}: {required} is empty"


def test_the_variables_the_production_settings_require_are_set(compose):
    """`env("NAME")` with no default fails at start-up: compose must set each one."""
    production = (ROOT / "labelapp" / "settings" / "production.py").read_text()
    required = set(re.findall(r"""env\(\s*["'](\w+)["']\s*\)""", production))
    assert "SECRET_KEY" in required
    for name in APP_SERVICES:
        assert required <= set(_environment(compose["services"][name])), name


def test_workers_scale(compose):
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "hostname" not in worker  # each replica is celery@<its own container id>
    assert "container_name" not in compose["services"]["beat"]


def test_the_dockerfile_builds_the_frontend_with_node_and_pins_cpu_torch():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.M)
    assert stages[0].startswith("node:20") and stages[-1] == "python:3.11-slim"
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "-r requirements.lock" in dockerfile
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "torch==2.13.0" in (ROOT / "requirements.lock").read_text()
    assert "collectstatic" in dockerfile
    # Everything the image copies exists, and .dockerignore does not exclude it.
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for source in re.findall(r"^COPY\s+(?!--from)(.+?)\s+\S+$", dockerfile, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
            assert path.rstrip("/") not in ignored, path
