"""Every error leaves the server as JSON `{detail, code}` (issue 14 item 10).

DRF views already answer their own errors through `labelapp.core.errors.exception_handler`;
this middleware covers the rest: exceptions DRF does not handle (they would become Django's
HTML 500 page), request-parsing refusals raised before or outside a DRF view (too many files
or fields, a body over the size limit), and plain Django views. An unhandled error is logged
with a request id, and the same id goes back in the answer so a user's report finds the
traceback in the log.
"""

import logging
import uuid

from .errors import json_error, response_for_django_exception

logger = logging.getLogger("labelapp.errors")


class JsonErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        response = self.get_response(request)
        response.setdefault("X-Request-ID", request.request_id)
        return response

    def process_exception(self, request, exception):
        known = response_for_django_exception(exception)
        if known is not None:
            return known
        request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
        # Django calls process_exception inside its `except` block, so the traceback is there to log.
        logger.exception("unhandled error, request_id=%s %s %s", request_id, request.method, request.path)  # noqa: LOG004
        return server_error_response(request_id)


def server_error_response(request_id: str):
    return json_error(
        500,
        f"Internal server error; it was logged with request id {request_id}.",
        "server_error",
        request_id=request_id,
    )
