"""Login throttling, and secrets never in logs or error responses."""

import logging

import pytest
from django.core.cache import cache

from labelapp.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_login_is_throttled_after_the_configured_rate(users, client_for, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    # DRF reads the rates once at import; patch them as LABELAPP_LOGIN_RATE=3/min would.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    cache.clear()
    client = client_for(None)
    codes = [client.post("/api/auth/login", {"username": "annotator", "password": "wrong"}, format="json").status_code
             for _ in range(5)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3:] == [429, 429]
    # Even the right password waits until the window passes.
    right = client.post("/api/auth/login", {"username": "annotator", "password": "pw-annotator"}, format="json")
    assert right.status_code == 429 and right.json()["code"] == "throttled"
    cache.clear()


def test_tokens_and_passwords_never_reach_logs_or_error_bodies(users, client_for, caplog):
    _, key = ApiToken.issue(user=users["annotator"], name="ci")
    client = client_for(None)
    with caplog.at_level(logging.DEBUG):
        ok = client.get("/api/projects", HTTP_AUTHORIZATION=f"Token {key}")
        bad = client.get("/api/projects", HTTP_AUTHORIZATION=f"Token {key}x")
        login = client.post("/api/auth/login", {"username": "annotator", "password": "s3cret-Passw0rd"}, format="json")
        in_query = client.get(f"/api/projects?token={key}")
    assert ok.status_code == 200
    assert bad.status_code == 401 and key not in bad.content.decode()
    assert login.status_code == 400 and "s3cret" not in login.content.decode()
    assert in_query.status_code == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert key not in logged and "s3cret-Passw0rd" not in logged


def test_no_endpoint_fetches_user_given_urls():
    """There is no import-by-URL: no view or service makes outbound HTTP requests (which
    would open server-side request forgery). If one is added, this test must be replaced by
    one that refuses private and loopback ranges."""
    from pathlib import Path

    server_code = [p for p in Path("labelapp").rglob("*.py") if "client" not in p.parts and "learning" not in p.parts]
    offenders = [str(p) for p in server_code if any(w in p.read_text() for w in ("requests.get(", "urlopen(", "httpx.", "urllib.request"))]
    assert offenders == []
