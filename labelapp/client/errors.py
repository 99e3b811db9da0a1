"""What the client raises. Every error a caller may want to tell apart has its own class;
all derive from `LabelappError`, so `except LabelappError` catches everything we raise."""

from __future__ import annotations


class LabelappError(Exception):
    """Base class of every error the client raises on purpose."""


class ApiError(LabelappError):
    """The server answered with an error status (4xx, or a 5xx that persisted after retries).

    `detail` and `code` are the server's own (`{"detail": ..., "code": ...}`); `errors` is the
    per-file list a rejected upload carries (`[{"file", "detail", "code"}]`), else `[]`.
    """

    def __init__(
        self, status: int, detail: str, code: str = "error", *, errors: list | None = None, payload: object = None
    ):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = list(errors or [])
        self.payload = payload


class AuthenticationError(ApiError):
    """401: no token, a wrong one, or a revoked one."""


class PermissionDeniedError(ApiError):
    """403: signed in, but this account's role may not do this in this project."""


class NotFoundError(ApiError):
    """404: no such project (or not one this account is a member of), image or token."""


class ConflictError(ApiError):
    """409: the request is valid but the project's state refuses it now (`no_active_model`,
    `budget_exhausted`, ...). It may succeed later."""


class ServerError(ApiError):
    """A 5xx that did not go away after the retries."""


class OfflineError(LabelappError):
    """The server could not be reached (connection refused or reset, DNS, timeout, or a
    gateway answering 502/503/504) after every retry."""


class CacheFullError(LabelappError):
    """Queuing this item would take the offline cache past its size limit."""

    def __init__(self, message: str, *, needed: int, used: int, limit: int):
        super().__init__(message)
        self.needed = needed
        self.used = used
        self.limit = limit


class UsageError(LabelappError):
    """The caller asked for something that cannot work (no URL, not logged in, a missing file)."""


_BY_STATUS = {401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError, 409: ConflictError}


def api_error_for(status: int, detail: str, code: str, *, errors=None, payload=None) -> ApiError:
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, detail, code, errors=errors, payload=payload)
