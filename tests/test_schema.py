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
