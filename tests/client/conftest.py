"""Fixtures shared by the client tests: a live server, a token, a config kept apart from the
real user's, and the CLI run in-process with quick retries."""

import pytest

from labelapp.accounts.models import ApiToken
from labelapp.client.cli import main


@pytest.fixture
def server(live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    return live_server.url


@pytest.fixture
def token(users):
    return ApiToken.issue(user=users["admin"], name="client tests")[1]


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """Never read or write the real ~/.config or ~/.cache of whoever runs the tests."""
    monkeypatch.setenv("LABELAPP_CONFIG", str(tmp_path / "config" / "config.json"))
    monkeypatch.setenv("LABELAPP_CACHE_DIR", str(tmp_path / "default-cache"))
    for name in ("LABELAPP_URL", "LABELAPP_TOKEN", "LABELAPP_CACHE_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)


def cli(*args, url=None, token=None, cache_dir=None):
    argv = []
    if url:
        argv += ["--url", url]
    if token:
        argv += ["--token", token]
    if cache_dir:
        argv += ["--cache-dir", str(cache_dir)]
    return main([*argv, "--retries", "1", "--backoff", "0.01", *map(str, args)])
