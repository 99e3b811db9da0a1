"""The OpenAPI schema is valid without warnings (CI runs the same command), and it and the
docs are served."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    text = out.read_text()
    assert text.startswith("openapi: 3")
    assert "/api/projects/{project_id}/queue/next" in text


def test_schema_and_docs_are_served(client_for):
    client = client_for(None)

    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"openapi:" in schema.content
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_load_their_assets_from_the_app_not_a_cdn(client_for, page):
    """Swagger UI came from a CDN at @latest: blank without internet, and a moving target."""
    import re

    from django.contrib.staticfiles import finders

    html = client_for(None).get(page).content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
    assert assets, html[:500]
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file of the app"


def _schema(client) -> dict:
    import yaml

    return yaml.safe_load(client.get("/api/schema/").content)


def test_item12_json_bodies_are_offered_only_as_json(client_for):
    """The schema offered form bodies for every operation, which cannot carry nested fields
    (settings, boxes): only the upload operations take multipart now."""
    schema = _schema(client_for(None))
    form_operations = sorted(
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for media in operation.get("requestBody", {}).get("content", {})
        if media != "application/json"
    )
    assert form_operations == [
        "POST /api/projects/{project_id}/images/",
        "POST /api/projects/{project_id}/import/",
        "POST /api/projects/{project_id}/predict/",
        "POST /api/projects/{project_id}/stream/",
    ], form_operations
    response = client_for("admin").post("/api/projects", {"name": "x", "task_type": "detection"}, format="multipart")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


def test_item12_learning_curve_created_at_matches_the_schema(client_for, detection_project):
    """`live.created_at` was null where the schema said string: the schema allows null
    (before any model version) and the answer is the newest version's time after one."""
    from labelapp.training.models import ModelVersion

    schema = _schema(client_for(None))
    live = schema["components"]["schemas"]["LiveLearningCurveOutput"]["properties"]["created_at"]
    assert live.get("nullable") is True or "null" in str(live.get("type"))
    url = f"/api/projects/{detection_project.pk}/learning-curve"
    assert client_for("admin").get(url).json()["live"]["created_at"] is None
    version = ModelVersion.objects.create(project=detection_project, number=1, classes=[], metrics={}, input_size=64)
    assert client_for("admin").get(url).json()["live"]["created_at"].startswith(str(version.created_at.year))


def test_item12_readme_says_what_happens_to_a_file_name_with_a_path():
    """The README promised a 400 for a file name with a path, which never happens over HTTP:
    Django's parser keeps only the base name (tests/images/test_uploads.py shows both behaviours)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "content type that does not match the content, and a file name with a path" not in readme
    assert "base name" in readme
