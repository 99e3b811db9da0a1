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
