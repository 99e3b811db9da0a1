"""HTTP to a labelapp server: URLs, the token, retries and API errors.

Retries: connection errors, timeouts, 429 and 5xx are retried `retries` times with
exponential backoff and jitter (`backoff * 2**attempt`, half of it random, capped at
`max_backoff`; a `Retry-After` header is honoured). Retrying an upload or a stream item is
safe because the server dedups images by content per project. A server that stays
unreachable (or a gateway that stays unavailable) raises `OfflineError`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import requests

from .errors import ApiError, LabelappError, OfflineError, UsageError, api_error_for

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
GATEWAY_STATUSES = frozenset({502, 503, 504})
# Refusals that name the file (validation); anything else (401, 403, 404, 409, ...) is about
# the account or the project, may be fixed, and leaves queued items where they are.
FILE_REFUSAL_STATUSES = frozenset({400, 413, 415, 422})


def normalize_url(url: str) -> str:
    """`http://Host:8000/` → `http://host:8000`: the server's identity in the manifest."""
    if not url or "://" not in url:
        raise UsageError(f"{url!r} is not a server URL; use e.g. http://127.0.0.1:8000")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http(s) URL.")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", ""))


class HttpClient:
    """One server as one token sees it: every API call goes through `_request`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = normalize_url(base_url)
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "labelapp-client/0.1")
        self._sleep = sleep

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/{path.lstrip('/')}"

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after:
            try:
                delay = max(delay, min(self.max_backoff, float(retry_after)))
            except ValueError:
                pass
        return delay

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        files: Callable[[], list] | None = None,
        params: dict | None = None,
        stream: bool = False,
        headers: dict | None = None,
        session: requests.Session | None = None,
        auth: bool = True,
    ) -> requests.Response:
        """One API call with retries. `files` is a callable so each attempt re-reads them."""
        session = session or self.session
        url = self._url(path)
        send_headers = dict(headers or {})
        if auth and self.token:
            send_headers["Authorization"] = f"Token {self.token}"
        attempt = 0
        while True:
            try:
                response = session.request(
                    method,
                    url,
                    json=json,
                    files=files() if files else None,
                    params=params,
                    stream=stream,
                    headers=send_headers,
                    timeout=self.timeout,
                )
            except requests.exceptions.SSLError as exc:
                raise LabelappError(f"TLS error talking to {self.base_url}: {exc}") from exc
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
                raise UsageError(f"Bad server URL {self.base_url}: {exc}") from exc
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                if attempt >= self.retries:
                    raise OfflineError(f"Cannot reach {self.base_url} ({type(exc).__name__}).") from exc
                delay = self._delay(attempt, None)
                logger.info(
                    "%s %s failed (%s); retry %d in %.1fs", method, path, type(exc).__name__, attempt + 1, delay
                )
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status not in RETRY_STATUSES or attempt >= self.retries:
                    error = self._error(response)
                    if status in GATEWAY_STATUSES:
                        raise OfflineError(f"{self.base_url} is unavailable ({status}: {error.detail}).") from error
                    raise error
                delay = self._delay(attempt, response.headers.get("Retry-After"))
                response.close()
                logger.info("%s %s answered %d; retry %d in %.1fs", method, path, status, attempt + 1, delay)
            self._sleep(delay)
            attempt += 1

    @staticmethod
    def _error(response: requests.Response) -> ApiError:
        payload: object = None
        detail, code, errors = "", "", []
        try:
            payload = response.json()
        except ValueError:
            detail = (response.text or response.reason or "").strip()[:300]
        if isinstance(payload, dict):
            raw = payload.get("detail")
            if raw is None:  # a DRF field-validation body: {"field": ["message"]}
                detail = "; ".join(f"{k}: {v[0] if isinstance(v, list) and v else v}" for k, v in payload.items())
            else:
                detail = str(raw)
            code = str(payload.get("code") or "")
            errors = payload.get("errors") if isinstance(payload.get("errors"), list) else []
        return api_error_for(
            response.status_code,
            detail or response.reason or "error",
            code or f"http_{response.status_code}",
            errors=errors,
            payload=payload,
        )
