"""Issue 14 item 10: every error is JSON `{detail, code}`; an unhandled one is a 500 with
code `server_error` and a request id that is also in the log."""

import logging

import pytest

from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def _is_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert body["detail"] and body["code"]
    if code:
        assert body["code"] == code, body
    return body


def test_item10_201_files_in_one_upload_is_a_json_400(client_for, detection_project, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = jpeg_bytes(1, size=(8, 8))
    files = [
        SimpleUploadedFile(f"f{i}.jpg", data, "image/jpeg") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    response = client_for("admin").post(
        f"/api/projects/{detection_project.pk}/images", {"files": files}, format="multipart"
    )
    body = _is_json_error(response, 400, "too_many_files")
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FILES) in body["detail"]


def test_item10_unhandled_error_in_an_api_view_is_json_with_a_logged_request_id(
    client_for, detection_project, monkeypatch, caplog
):
    from labelapp.api import projects as api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.Image.objects, "filter", broken)
    with caplog.at_level(logging.ERROR):
        response = client_for("admin").get(f"/api/projects/{detection_project.pk}/stats")
    body = _is_json_error(response, 500, "server_error")
    assert len(body["request_id"]) >= 16 and response["X-Request-ID"] == body["request_id"]
    assert "boom" not in response.content.decode()  # no internals leak
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_item10_unhandled_error_in_a_plain_django_view_is_json(client, settings, tmp_path):
    # The single-page app view (not DRF) fails reading an index.html that is a folder.
    (tmp_path / "index.html").mkdir()
    settings.FRONTEND_DIST = tmp_path
    response = client.get("/projects/1/label")
    body = _is_json_error(response, 500, "server_error")
    assert body["request_id"]


def test_item10_unknown_api_paths_and_methods_are_json(client_for):
    admin = client_for("admin")
    _is_json_error(admin.get("/api/no-such-endpoint"), 404, "not_found")
    _is_json_error(admin.get("/api/projects/1/nothing-here/"), 404, "not_found")
    _is_json_error(admin.put("/api/projects", {}, format="json"), 405)


def test_item10_malformed_bodies_are_json_400(client_for, detection_project):
    admin = client_for("admin")
    url = f"/api/projects/{detection_project.pk}/credits/grant"
    _is_json_error(admin.generic("POST", url, b"{not json", content_type="application/json"), 400)
    _is_json_error(admin.generic("POST", url, b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"), 415)
    upload = f"/api/projects/{detection_project.pk}/images"
    _is_json_error(admin.generic("POST", upload, b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"), 400)
    field = _is_json_error(admin.post(url, {"amount": "many"}, format="json"), 400, "invalid")
    assert field["detail"].startswith("amount:") and field["amount"]


@pytest.mark.parametrize("body", [b"[" * 2000, b'{"a":' * 5000, b"[" * 100000])
def test_item10_13_deeply_nested_json_is_a_400_not_a_recursion_error(client_for, detection_project, body):
    """A few KB of `[[[[` made every JSON endpoint, the anonymous login too, answer 500
    (RecursionError in the JSON decoder); found by the Schemathesis fuzz (items 10 and 13)."""
    login = client_for(None).generic("POST", "/api/auth/login", body, content_type="application/json")
    _is_json_error(login, 400, "json_too_deep")
    annotations = f"/api/projects/{detection_project.pk}/annotations"
    _is_json_error(client_for("admin").generic("POST", annotations, body, content_type="application/json"), 400)
    settings = f"/api/projects/{detection_project.pk}"
    _is_json_error(client_for("admin").generic("PATCH", settings, body, content_type="application/json"), 400)


def test_item10_a_csrf_failure_outside_drf_is_json(users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    response = client.post("/admin/logout/")
    _is_json_error(response, 403, "csrf_failed")
