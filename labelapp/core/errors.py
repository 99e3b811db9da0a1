"""One error type for the services and one JSON shape for every API error.

Services raise `ServiceError` (or a subclass) with a machine `code` and a human message;
the DRF exception handler turns it into `{"detail": ..., "code": ...}` with its status.
"""

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse, UnreadablePostError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ServiceError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}


class ConflictError(ServiceError):
    status_code = 409
    code = "conflict"


class ForbiddenError(ServiceError):
    status_code = 403
    code = "forbidden"


class NotFoundError(ServiceError):
    status_code = 404
    code = "not_found"


def json_error(status: int, detail: str, code: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, **extra}, status=status)


def _django_error(exc) -> tuple[int, str, str] | None:
    """(status, detail, code) for the exceptions Django raises while reading a request."""
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return 400, f"Too many files in one request: send at most {limit} per request.", "too_many_files"
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, f"Too many form fields in one request: at most {limit}.", "too_many_fields"
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, f"The request body is over the limit of {limit} bytes (files are not counted).", "request_too_large"
    if isinstance(exc, UnreadablePostError):
        return 400, "The request body could not be read (the upload was interrupted).", "unreadable_body"
    if isinstance(exc, (SuspiciousOperation, BadRequest)):
        return 400, f"Bad request: {exc}" if str(exc) else "Bad request.", "bad_request"
    if isinstance(exc, Http404):
        return 404, "Not found.", "not_found"
    if isinstance(exc, PermissionDenied):
        return 403, "You do not have permission to perform this action.", "permission_denied"
    return None


def response_for_django_exception(exc) -> JsonResponse | None:
    """The JSON answer for an exception Django knows the meaning of, or None for a bug."""
    known = _django_error(exc)
    return None if known is None else json_error(*known)


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message, "code": exc.code, **exc.extra}, status=exc.status_code)
    if isinstance(exc, (SuspiciousOperation, BadRequest, RequestDataTooBig, UnreadablePostError)):
        status, detail, code = _django_error(exc)
        return Response({"detail": detail, "code": code}, status=status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", "error"))
    elif isinstance(exc, exceptions.ValidationError):
        # Field errors keep their per-field lists and gain the one shape every error has.
        response.data = {
            "detail": "; ".join(_messages(response.data)) or "Invalid input.",
            "code": "invalid",
            **_as_dict(response.data),
        }
    return response


def _as_dict(data) -> dict:
    return data if isinstance(data, dict) else {"errors": data}


def _messages(data, path: str = "") -> list[str]:
    """Every `field: message` (or `field[2].key: message`) in a DRF error structure, for people."""
    if isinstance(data, dict):
        return [m for key, value in data.items() for m in _messages(value, f"{path}.{key}" if path else str(key))]
    if isinstance(data, list):
        if all(isinstance(item, str) for item in data):
            return [f"{path}: {item}" if path and path != "non_field_errors" else str(item) for item in data]
        return [m for index, item in enumerate(data) if item for m in _messages(item, f"{path}[{index}]")]
    return [f"{path}: {data}" if path else str(data)]
