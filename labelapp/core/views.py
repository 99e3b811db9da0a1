import logging
import uuid

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie

from .errors import json_error, response_for_django_exception
from .middleware import server_error_response

logger = logging.getLogger("labelapp.errors")

FRONTEND_MISSING = """<!doctype html><html><head><title>labelapp</title></head><body>
<h1>labelapp</h1><p>The frontend is not built yet: run <code>make run</code> (or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>). The API is at
<a href="/api/docs/">/api/docs/</a>.</p></body></html>"""


@ensure_csrf_cookie
def spa_index(request, *args, **kwargs):
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(FRONTEND_MISSING)
    return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")


# Django's own error pages are HTML; every error of this server is JSON (issue 14 item 10).
def bad_request(request, exception=None):
    return response_for_django_exception(exception) or json_error(400, "Bad request.", "bad_request")


def permission_denied(request, exception=None):
    return json_error(403, "You do not have permission to perform this action.", "permission_denied")


def page_not_found(request, exception=None):
    return json_error(404, "Not found.", "not_found")


def server_error(request):
    """Reached only when an exception escapes the middleware that normally answers it (an
    error inside another middleware); Django has already logged the traceback."""
    request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
    logger.error("unhandled error, request_id=%s %s %s", request_id, request.method, request.path)
    return server_error_response(request_id)


def csrf_failure(request, reason=""):
    return json_error(
        403,
        f"CSRF check failed: {reason or 'missing or wrong token'}. Send the csrftoken cookie back as X-CSRFToken.",
        "csrf_failed",
    )
