"""Authentication: session login with CSRF on writes, and API tokens sent in the
Authorization header only (never the query string), stored as hashes, revocable."""

import hashlib

import pytest
from rest_framework.test import APIClient

from labelapp.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def browser() -> APIClient:
    """A client that enforces CSRF like a browser session does."""
    return APIClient(enforce_csrf_checks=True, HTTP_HOST="localhost")


def anonymous() -> APIClient:
    return APIClient(HTTP_HOST="localhost")


def login(client: APIClient, username: str, password: str, **extra):
    """As the browser app does: fetch the CSRF cookie, then send it back as X-CSRFToken."""
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    return client.post(
        "/api/auth/login", {"username": username, "password": password}, format="json", HTTP_X_CSRFTOKEN=token, **extra
    )


def create_token(users, username: str = "annotator", name: str = "cli") -> str:
    client = anonymous()
    client.force_authenticate(users[username])
    response = client.post("/api/auth/tokens", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["key"]


# --- session login --------------------------------------------------------------------------


def test_login_with_the_right_password_starts_a_session(users):
    client = browser()
    response = login(client, "annotator", "pw-annotator")

    assert response.status_code == 200
    assert response.json()["username"] == "annotator"
    assert "password" not in response.json()
    assert client.get("/api/auth/me").json()["username"] == "annotator"


@pytest.mark.parametrize("username, password", [("annotator", "wrong-password"), ("no-such-user", "pw-annotator")])
def test_wrong_credentials_give_400_with_a_message_and_no_session(users, username, password):
    client = browser()
    response = login(client, username, password)

    assert response.status_code == 400
    assert response.json() == {"detail": "Wrong username or password.", "code": "bad_credentials"}
    assert password.encode() not in response.content
    assert client.get("/api/auth/me").status_code == 401


def test_login_without_a_csrf_token_is_refused(users):
    """Login CSRF: another site must not be able to sign a browser into some account."""
    client = browser()
    response = client.post("/api/auth/login", {"username": "annotator", "password": "pw-annotator"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert client.get("/api/auth/me").status_code == 401


def test_login_needs_both_fields(users):
    client = browser()
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    response = client.post("/api/auth/login", {"username": "annotator"}, format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 400
    assert "password" in response.json()


def test_inactive_user_cannot_log_in(users):
    users["annotator"].is_active = False
    users["annotator"].save()

    assert login(browser(), "annotator", "pw-annotator").status_code == 400


def test_logout_ends_the_session(users):
    client = browser()
    login(client, "annotator", "pw-annotator")
    token = client.get("/api/auth/csrf").json()["csrf_token"]

    assert client.post("/api/auth/logout", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


# --- CSRF on session-authenticated writes -------------------------------------------------------


def test_session_write_without_csrf_token_is_403(users):
    client = browser()
    assert login(client, "annotator", "pw-annotator").status_code == 200

    response = client.post("/api/auth/tokens", {"name": "cli"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_session_write_with_a_wrong_csrf_token_is_403(users):
    client = browser()
    login(client, "annotator", "pw-annotator")
    client.get("/api/auth/csrf")

    response = client.post("/api/auth/tokens", {"name": "cli"}, format="json", HTTP_X_CSRFTOKEN="x" * 64)

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_session_write_with_the_csrf_token_succeeds(users, detection_project):
    client = browser()
    login(client, "admin", "pw-admin")
    csrf = client.get("/api/auth/csrf")
    token = csrf.json()["csrf_token"]
    assert "csrftoken" in csrf.cookies

    created = client.post("/api/auth/tokens", {"name": "cli"}, format="json", HTTP_X_CSRFTOKEN=token)
    granted = client.post(
        f"/api/projects/{detection_project.pk}/credits/grant", {"amount": 3}, format="json", HTTP_X_CSRFTOKEN=token
    )
    without = client.post(f"/api/projects/{detection_project.pk}/credits/grant", {"amount": 3}, format="json")

    assert created.status_code == 201
    assert granted.status_code == 201 and granted.json()["granted"] == 3
    assert without.status_code == 403


def test_session_reads_need_no_csrf_token(users):
    client = browser()
    login(client, "annotator", "pw-annotator")

    assert client.get("/api/projects").status_code == 200


def test_token_authenticated_writes_need_no_csrf_token(users):
    """CSRF protects cookies a browser sends on its own; a header token is never sent that way."""
    key = create_token(users)
    client = browser()

    response = client.post("/api/auth/tokens", {"name": "second"}, format="json", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 201


# --- API tokens -----------------------------------------------------------------------------


def test_token_key_is_returned_once_and_only_its_hash_is_stored(users):
    key = create_token(users, name="laptop")

    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8] and token.name == "laptop" and token.user == users["annotator"]
    stored = [str(v) for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.concrete_fields]).get()]
    assert all(key not in value for value in stored)
    assert len(key) >= 40


def test_token_list_never_shows_a_key(users):
    key = create_token(users)
    client = anonymous()
    client.force_authenticate(users["annotator"])

    response = client.get("/api/auth/tokens")

    assert response.status_code == 200
    [item] = response.json()
    assert set(item) == {"id", "name", "prefix", "created_at", "last_used_at"}
    assert key.encode() not in response.content


def test_token_list_shows_only_my_tokens(users):
    create_token(users, "annotator", "mine")
    create_token(users, "admin", "theirs")
    client = anonymous()
    client.force_authenticate(users["annotator"])

    assert [t["name"] for t in client.get("/api/auth/tokens").json()] == ["mine"]


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "token"])
def test_token_in_the_authorization_header_authenticates(users, keyword):
    key = create_token(users)

    response = anonymous().get("/api/auth/me", HTTP_AUTHORIZATION=f"{keyword} {key}")

    assert response.status_code == 200
    assert response.json()["username"] == "annotator"
    assert ApiToken.objects.get().last_used_at is not None


def test_token_reaches_project_endpoints_with_the_users_role(users, detection_project):
    key = create_token(users, "verifier")
    client = anonymous()

    assert client.get(f"/api/projects/{detection_project.pk}", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert (
        client.post(f"/api/projects/{detection_project.pk}/queue/next", HTTP_AUTHORIZATION=f"Token {key}").status_code
        == 403
    )


@pytest.mark.parametrize("param", ["token", "auth_token", "key", "api_key", "access_token"])
def test_token_in_the_query_string_is_not_accepted(users, param):
    key = create_token(users)

    response = anonymous().get(f"/api/auth/me?{param}={key}")

    assert response.status_code == 401
    assert key.encode() not in response.content


def test_revoked_token_stops_working_at_once(users):
    key = create_token(users)
    token_id = ApiToken.objects.get().pk
    client = anonymous()
    assert client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    revoked = client.delete(f"/api/auth/tokens/{token_id}", HTTP_AUTHORIZATION=f"Token {key}")
    after = client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {key}")

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert after["WWW-Authenticate"] == "Token"
    assert after.json() == {"detail": "Invalid or revoked token.", "code": "authentication_failed"}
    assert key.encode() not in after.content
    assert not ApiToken.objects.exists()


def test_a_user_cannot_revoke_another_users_token(users):
    key = create_token(users, "annotator")
    token_id = ApiToken.objects.get().pk
    other = anonymous()
    other.force_authenticate(users["admin"])

    response = other.delete(f"/api/auth/tokens/{token_id}")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token_id).exists()
    assert anonymous().get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Token {key}x", "Token {key} extra", "Token", "Bearer {key}{key}", "Token \u00e9{key}"],
    ids=["wrong-key", "three-parts", "no-key", "doubled", "non-ascii"],
)
def test_failed_token_auth_is_401_and_never_echoes_the_key(users, header):
    key = create_token(users)
    value = header.format(key=key)

    response = anonymous().get("/api/auth/me", HTTP_AUTHORIZATION=value.encode().decode("latin-1"))

    assert response.status_code == 401
    assert key.encode() not in response.content
    assert set(response.json()) == {"detail", "code"}


def test_token_of_an_inactive_user_is_refused(users):
    key = create_token(users)
    users["annotator"].is_active = False
    users["annotator"].save()

    response = anonymous().get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 401
    assert key.encode() not in response.content


def test_anonymous_api_call_gets_401_with_a_challenge(users):
    response = anonymous().get("/api/projects")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_issued_token_can_follow_a_command_line_option(users):
    """A key starting with "-" made `labelapp --token KEY` fail ("expected one argument"):
    a bare urlsafe key does that one time in 64."""
    from labelapp.client.cli import build_parser

    keys = [ApiToken.issue(user=users["admin"], name=f"t{i}")[1] for i in range(200)]
    assert not [key for key in keys if key.startswith("-")]
    assert build_parser().parse_args(["--token", keys[0], "token", "list"]).token == keys[0]
