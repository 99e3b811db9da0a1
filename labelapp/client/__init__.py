"""The labelapp Python client and `labelapp` CLI: uploads with an offline cache, predictions,
stream items, exports. Needs only `requests` and `tqdm`; never imports Django."""

from .cache import OfflineCache
from .client import LabelappClient
from .errors import (
    ApiError,
    AuthenticationError,
    CacheFullError,
    ConflictError,
    LabelappError,
    NotFoundError,
    OfflineError,
    PermissionDeniedError,
    ServerError,
    UsageError,
)
from .reports import Rejection, StreamResult, SyncReport, UploadReport

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CacheFullError",
    "ConflictError",
    "LabelappClient",
    "LabelappError",
    "NotFoundError",
    "OfflineCache",
    "OfflineError",
    "PermissionDeniedError",
    "Rejection",
    "ServerError",
    "StreamResult",
    "SyncReport",
    "UploadReport",
    "UsageError",
]
