"""Schemathesis against the live OpenAPI schema, as each role: no 5xx, and every response
conforms to the schema. Bounded: a few generated examples per operation."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from labelapp.accounts.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
EXAMPLES_PER_OPERATION = 3
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
# Operations that would end the fuzzer's own session or token mid-run.
SKIPPED = {("POST", "/api/auth/logout/"), ("DELETE", "/api/auth/tokens/{token_id}/")}


@pytest.fixture
def wsgi_app(db, settings):
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    settings.ALLOWED_HOSTS = ["*"]
    # As Django's test client does: requests must not close the test transaction's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_never_errors_and_answers_per_schema(wsgi_app, pool, detection_project, users):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    tokens = {role: ApiToken.issue(user=users[role], name="fuzz")[1] for role in ("admin", "annotator", "verifier")}
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # Pin the project to a real one so requests get past 404 into the views.
            if case.path_parameters and "project_id" in case.path_parameters:
                case.path_parameters["project_id"] = detection_project.pk
            for role, token in tokens.items():
                response = case.call(headers={"Authorization": f"Token {token}"})
                if response.status_code >= 500:
                    failures.append(f"{role} {case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
                    continue
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # collected: one run reports every operation
                    failures.append(f"{role} {case.method} {case.formatted_path}: {str(exc)[:600]}")

        check()
    assert not failures, "\n\n".join(failures[:20])
