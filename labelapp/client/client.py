"""`LabelappClient`: the REST API from Python, with retries and an offline cache.

Runs on users' machines with only `requests` and `tqdm`: nothing here imports Django.

Retries: connection errors, timeouts, 429 and 5xx are retried `retries` times with
exponential backoff and jitter (`backoff * 2**attempt`, half of it random, capped at
`max_backoff`; a `Retry-After` header is honoured). Retrying an upload or a stream item is
safe because the server dedups images by content per project.

Offline: when the server cannot be reached (after the retries), uploads and stream items go
to the on-disk queue of `OfflineCache` and are sent by `sync()`, which also runs at the
start of the next call that talks to the server.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from tqdm import tqdm

from .cache import OfflineCache, QueuedItem
from .errors import (
    ApiError,
    CacheFullError,
    LabelappError,
    OfflineError,
    UsageError,
    api_error_for,
)

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
DEFAULT_BATCH_SIZE = 16
MAX_BATCH_BYTES = 32 * 1024 * 1024
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


def iter_image_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named directly, plus the images (by extension) under each folder, recursively,
    in a stable order; hidden files and folders are skipped."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                        found.append(Path(root) / name)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder.")
    return found


def _content_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0]
    return guessed if guessed and guessed.startswith("image/") else "application/octet-stream"


@dataclass
class Rejection:
    """A file the server refused for a reason that will not change (kept in the cache's
    rejected list, never retried)."""

    path: str
    name: str
    sha256: str
    status: int
    code: str
    detail: str


@dataclass
class UploadReport:
    created: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    skipped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    not_queued: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    offline: bool = False
    cache_error: str = ""


@dataclass
class StreamResult:
    path: str
    sha256: str
    decision: dict | None = None
    queued: bool = False
    rejected: Rejection | None = None


@dataclass
class SyncReport:
    created: int = 0
    duplicates: int = 0
    streamed: list[dict] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    remaining: int = 0
    #: Items queued for other servers: left alone, sent only by a client pointed there.
    other_servers: int = 0
    offline: bool = False
    locked: bool = False

    @property
    def sent(self) -> int:
        return self.created + self.duplicates + len(self.streamed)


@dataclass
class _Outgoing:
    """One file on its way to the server: read from the user's disk or from the cache."""

    name: str
    sha256: str
    data: bytes
    path: str
    queued: QueuedItem | None = None


class LabelappClient:
    """A labelapp server, as one user (an API token) sees it.

    `cache` (or `cache_dir` / `max_cache_bytes`) is the offline queue; it is only touched when
    something must be queued, synced or skipped, so predict-only use creates nothing on disk
    until the server is unreachable."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        cache: OfflineCache | None = None,
        cache_dir: str | os.PathLike | None = None,
        max_cache_bytes: int | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 60.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        auto_sync: bool = True,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = normalize_url(base_url)
        self.token = token
        self.cache = cache or OfflineCache(cache_dir, max_bytes=max_cache_bytes)
        if retries < 0 or backoff < 0 or batch_size < 1:
            raise UsageError("retries and backoff must be ≥ 0 and batch_size ≥ 1.")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.batch_size = batch_size
        self.auto_sync = auto_sync
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "labelapp-client/0.1")
        self._sleep = sleep
        self._syncing = False

    # --- HTTP -------------------------------------------------------------------------------

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

    # --- accounts and tokens ----------------------------------------------------------------

    def login(self, username: str, password: str, *, token_name: str | None = None) -> dict:
        """Sign in with a session (CSRF cookie + header, as a browser does), create an API
        token, sign the session out, and use the token from now on. Returns the token
        (`{"id", "name", "prefix", "key", ...}`); the key is shown only this once."""
        session = requests.Session()
        session.headers.update(self.session.headers)
        try:
            csrf = self._request("GET", "auth/csrf", session=session, auth=False).json()["csrf_token"]
            headers = {"X-CSRFToken": csrf, "Referer": f"{self.base_url}/"}
            response = self._request(
                "POST",
                "auth/login",
                json={"username": username, "password": password},
                headers=headers,
                session=session,
                auth=False,
            )
            # Logging in rotates the CSRF token.
            headers["X-CSRFToken"] = response.cookies.get("csrftoken") or session.cookies.get("csrftoken") or csrf
            name = token_name or f"labelapp CLI on {socket.gethostname()}"
            token = self._request(
                "POST", "auth/tokens", json={"name": name}, headers=headers, session=session, auth=False
            ).json()
            try:
                self._request("POST", "auth/logout", headers=headers, session=session, auth=False)
            except LabelappError:
                logger.debug("logout after token creation failed; the session expires on its own")
        finally:
            session.close()
        self.token = token["key"]
        return token

    def me(self) -> dict:
        return self._request("GET", "auth/me").json()

    def create_token(self, name: str) -> dict:
        """A new token for this user; the answer's `key` is shown only this once."""
        return self._request("POST", "auth/tokens", json={"name": name}).json()

    def tokens(self) -> list[dict]:
        return self._request("GET", "auth/tokens").json()

    def revoke_token(self, token_id: int) -> None:
        self._request("DELETE", f"auth/tokens/{int(token_id)}")

    # --- projects and export ----------------------------------------------------------------

    def projects(self) -> list[dict]:
        """Every project this user is a member of (all pages)."""
        self._auto_sync()
        found: list[dict] = []
        page = 1
        while True:
            body = self._request("GET", "projects", params={"page": page, "page_size": 500}).json()
            if isinstance(body, list):
                return body
            found.extend(body.get("results", []))
            if not body.get("next"):
                return found
            page += 1

    def create_project(
        self, name: str, task_type: str, *, classes: list[dict] | None = None, budget: int = 0, description: str = ""
    ) -> dict:
        """Create a project (the caller becomes its admin) with its classes (`{name, color?,
        hotkey?}`) and a first budget; returns the project as the server stored it."""
        body = {
            "name": name,
            "task_type": task_type,
            "description": description,
            "classes": classes or [],
            "budget": budget,
        }
        return self._request("POST", "projects", json=body).json()

    def set_project_archived(self, project_id: int, archived: bool) -> dict:
        """Archive (hidden from the default list) or restore a project."""
        return self._request("PATCH", f"projects/{int(project_id)}", json={"archived": archived}).json()

    def export(self, project_id: int, fmt: str, dest: str | os.PathLike) -> Path:
        """Download the project's labels (`coco`, `yolo` or `csv`) to `dest`, atomically:
        a failed download never leaves a half-written file."""
        if fmt not in ("coco", "yolo", "csv"):
            raise UsageError("format must be one of coco, yolo, csv.")
        self._auto_sync()
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        response = self._request("GET", f"projects/{int(project_id)}/export", params={"format": fmt}, stream=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, response:
                for chunk in response.iter_content(chunk_size=1024 * 1024):
                    out.write(chunk)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest

    # --- predict ----------------------------------------------------------------------------

    def predict(self, project_id: int, path: str | os.PathLike) -> dict:
        """The active model's output on one image (and whether the project's collection rules
        kept it). Not queued when offline: an answer later is no answer."""
        path = Path(path)
        data = _read(path)
        self._auto_sync()
        return self._request(
            "POST",
            f"projects/{int(project_id)}/predict",
            files=lambda: [("file", (path.name, data, _content_type(path.name)))],
        ).json()

    # --- upload -----------------------------------------------------------------------------

    def upload(
        self,
        project_id: int,
        paths: Iterable[str | os.PathLike],
        *,
        batch_size: int | None = None,
        skip_confirmed: bool = True,
        queue_offline: bool = True,
        progress: bool = False,
    ) -> UploadReport:
        """Upload files and the images in folders, in batches; resumable.

        Files whose content this server already confirmed for this project (the manifest) or
        rejected (the rejected list) are skipped, so after Ctrl-C or a crash the same call
        continues where it stopped. When the server becomes unreachable, the current batch and
        every remaining file go to the offline queue (`report.offline`); a full cache stops the
        queuing (`report.not_queued`, `report.cache_error`).

        A refusal of the whole request (401, 403, 404, 409, 500) is raised as `ApiError` with
        the report so far in its `report` attribute."""
        project_id = int(project_id)
        files = iter_image_files(paths)
        size = batch_size or self.batch_size
        self._auto_sync()
        report = UploadReport()
        batch: list[_Outgoing] = []
        batch_bytes = 0
        seen: set[str] = set()
        bar = tqdm(
            total=len(files), unit="img", desc="upload", disable=not progress, file=sys.stderr, dynamic_ncols=True
        )

        def flush() -> None:
            nonlocal batch, batch_bytes
            if not batch:
                return
            outgoing, batch, batch_bytes = batch, [], 0
            try:
                confirmed, rejected, unmatched = self._send_upload_batch(project_id, outgoing)
            except OfflineError:
                if not queue_offline:
                    raise
                report.offline = True
                for item in outgoing:
                    self._queue(report, project_id, "upload", item.path, data=item.data, name=item.name)
                bar.update(len(outgoing))
                return
            self.cache.record_confirmed(
                server=self.base_url,
                project=project_id,
                entries=[(item.sha256, image.get("id"), item.name) for item, image, _ in confirmed],
            )
            for _item, image, created in confirmed:
                (report.created if created else report.duplicates).append(image)
            for item, status, code, detail in rejected:
                report.rejected.append(self._reject(project_id, "upload", item, status, code, detail))
            for item in unmatched:
                logger.warning("%s: the server's answer did not list it; it will be sent again next time", item.path)
            bar.update(len(outgoing))
            bar.set_postfix(
                new=len(report.created), dup=len(report.duplicates), skip=report.skipped, refused=len(report.rejected)
            )

        try:
            for path in files:
                try:
                    data = _read(path)
                except UsageError as exc:
                    logger.warning("%s", exc)
                    report.unreadable.append(str(path))
                    bar.update(1)
                    continue
                sha = hashlib.sha256(data).hexdigest()
                if sha in seen or (
                    skip_confirmed
                    and (
                        self.cache.is_confirmed(server=self.base_url, project=project_id, sha256=sha)
                        or self.cache.is_rejected(project=project_id, kind="upload", sha256=sha)
                    )
                ):
                    report.skipped += 1
                    bar.update(1)
                    continue
                seen.add(sha)
                if not report.offline and (
                    len(batch) >= size
                    or batch_bytes + len(data) > MAX_BATCH_BYTES
                    or any(o.name == path.name for o in batch)
                ):
                    flush()
                if report.offline:
                    if not queue_offline:
                        raise OfflineError(f"Cannot reach {self.base_url}.")
                    self._queue(report, project_id, "upload", str(path), data=data, name=path.name)
                    bar.update(1)
                    continue
                batch.append(_Outgoing(name=path.name, sha256=sha, data=data, path=str(path)))
                batch_bytes += len(data)
            flush()
        except ApiError as exc:
            exc.report = report
            raise
        finally:
            bar.close()
        return report

    def _send_upload_batch(
        self, project_id: int, items: list[_Outgoing]
    ) -> tuple[list[tuple[_Outgoing, dict, bool]], list[tuple[_Outgoing, int, str, str]], list[_Outgoing]]:
        """POST one batch. The server stores all of a batch or nothing: when it refuses some
        files (400 with `errors` naming them), those are rejected and the rest is sent again.
        Returns (confirmed: item, image, created), (rejected: item, status, code, detail),
        and items the answer did not mention."""
        try:
            response = self._request(
                "POST",
                f"projects/{project_id}/images",
                files=lambda: [("files", (item.name, item.data, _content_type(item.name))) for item in items],
            )
        except ApiError as exc:
            if exc.status not in FILE_REFUSAL_STATUSES:
                raise
            by_name = {item.name: item for item in items}
            named = {e["file"]: e for e in exc.errors if isinstance(e, dict) and e.get("file") in by_name}
            if named:
                rejected = [
                    (by_name[name], exc.status, str(e.get("code") or exc.code), str(e.get("detail") or exc.detail))
                    for name, e in named.items()
                ]
                rest = [item for item in items if item.name not in named]
            elif len(items) == 1:
                return [], [(items[0], exc.status, exc.code, exc.detail)], []
            else:  # a refusal that names no file (e.g. 413 from a proxy): send each alone
                confirmed, rejected, unmatched = [], [], []
                for item in items:
                    c, r, u = self._send_upload_batch(project_id, [item])
                    confirmed, rejected, unmatched = confirmed + c, rejected + r, unmatched + u
                return confirmed, rejected, unmatched
            if not rest:
                return [], rejected, []
            confirmed, more_rejected, unmatched = self._send_upload_batch(project_id, rest)
            return confirmed, rejected + more_rejected, unmatched
        body = response.json()
        by_sha = {item.sha256: item for item in items}
        confirmed: list[tuple[_Outgoing, dict, bool]] = []
        for key, created in (("created", True), ("duplicates", False)):
            for image in body.get(key, []):
                item = by_sha.pop(image.get("sha256"), None)
                if item is not None:
                    confirmed.append((item, image, created))
        return confirmed, [], list(by_sha.values())

    #: Image ids per near-duplicate report request (the server's limit).
    REPORT_IDS = 1000

    def near_duplicates(
        self, project_id: int, image_ids: Iterable[int], *, wait: float = 0.0, poll: float = 2.0
    ) -> dict:
        """Which of these uploaded images look like an earlier image of the project
        (`{"near_duplicates": [{"name", "duplicate_of_name", "similarity", ...}], "pending": [...],
        "checked": n, "available": bool}`). The server's worker checks new images shortly after
        an upload; with `wait` seconds this asks again every `poll` seconds until none is
        pending or the time is up."""
        ids = sorted({int(i) for i in image_ids})
        deadline = time.monotonic() + wait
        merged = {"available": True, "checked": 0, "pending": [], "near_duplicates": []}
        remaining = ids
        while True:
            merged["pending"] = []
            for start in range(0, len(remaining), self.REPORT_IDS):
                part = remaining[start : start + self.REPORT_IDS]
                body = self._request(
                    "GET",
                    f"/projects/{int(project_id)}/images/near-duplicates",
                    params={"ids": ",".join(map(str, part))},
                ).json()
                merged["available"] = body["available"]
                merged["threshold"] = body["threshold"]
                merged["checked"] += body["checked"]
                merged["pending"] += body["pending"]
                merged["near_duplicates"] += body["near_duplicates"]
            remaining = merged["pending"]
            if not remaining or not merged["available"] or time.monotonic() >= deadline:
                return merged
            self._sleep(min(poll, max(0.0, deadline - time.monotonic())))

    # --- stream -----------------------------------------------------------------------------

    def stream(self, project_id: int, path: str | os.PathLike, *, queue_offline: bool = True) -> StreamResult:
        """Send one image to the project's stream sampler. Returns the server's decision
        (`query`, `accept` or `duplicate`), or `queued=True` when the server is unreachable."""
        return self.stream_many(project_id, [path], queue_offline=queue_offline)[0]

    def stream_many(
        self, project_id: int, paths: Iterable[str | os.PathLike], *, queue_offline: bool = True, progress: bool = False
    ) -> list[StreamResult]:
        """`stream()` for several images, in order; once the server is unreachable the rest
        are queued without trying again. Raises `CacheFullError` if the queue is full."""
        project_id = int(project_id)
        files = [Path(p) for p in paths]
        for path in files:
            if not path.is_file():
                raise UsageError(f"{path}: no such file.")
        self._auto_sync()
        results: list[StreamResult] = []
        offline = False
        for path in tqdm(files, unit="img", desc="stream", disable=not progress, file=sys.stderr):
            data = _read(path)
            sha = hashlib.sha256(data).hexdigest()
            result = StreamResult(path=str(path), sha256=sha)
            item = _Outgoing(name=path.name, sha256=sha, data=data, path=str(path))
            if not offline:
                try:
                    result.decision = self._send_stream(project_id, item)
                except OfflineError:
                    if not queue_offline:
                        raise
                    offline = True
                except ApiError as exc:
                    if exc.status not in FILE_REFUSAL_STATUSES:
                        exc.results = results
                        raise
                    result.rejected = self._reject(project_id, "stream", item, exc.status, exc.code, exc.detail)
            if offline:
                try:
                    self.cache.enqueue(
                        server=self.base_url,
                        project=project_id,
                        kind="stream",
                        data=data,
                        name=path.name,
                        source_path=str(path),
                    )
                except CacheFullError as exc:
                    exc.results = results
                    raise
                result.queued = True
            results.append(result)
        return results

    def _send_stream(self, project_id: int, item: _Outgoing) -> dict:
        return self._request(
            "POST",
            f"projects/{project_id}/stream",
            files=lambda: [("file", (item.name, item.data, _content_type(item.name)))],
        ).json()

    # --- the offline queue ------------------------------------------------------------------

    def _queue(
        self,
        report: UploadReport,
        project_id: int,
        kind: str,
        source: str,
        *,
        name: str,
        path: Path | None = None,
        data: bytes | None = None,
    ) -> None:
        if report.cache_error:
            report.not_queued.append(source)
            return
        try:
            self.cache.enqueue(
                server=self.base_url, project=project_id, kind=kind, name=name, path=path, data=data, source_path=source
            )
            report.queued.append(source)
        except CacheFullError as exc:
            report.cache_error = str(exc)
            report.not_queued.append(source)
        except OSError as exc:
            logger.warning("%s: could not be queued (%s)", source, exc)
            report.unreadable.append(source)

    def _reject(self, project_id: int, kind: str, item: _Outgoing, status: int, code: str, detail: str) -> Rejection:
        self.cache.reject(
            project=project_id,
            kind=kind,
            sha256=item.sha256,
            name=item.name,
            source_path=item.path,
            status=status,
            code=code,
            detail=detail,
            queued=item.queued,
        )
        return Rejection(path=item.path, name=item.name, sha256=item.sha256, status=status, code=code, detail=detail)

    def _auto_sync(self) -> None:
        """Send what the queue holds before a new call, unless another process is sending it or
        the last attempt failed recently (the cache's backoff). Never raises."""
        if not self.auto_sync or self._syncing:
            return
        try:
            if not self.cache.count(server=self.base_url) or not self.cache.sync_due():
                return
            report = self.sync(blocking=False)
            if report.sent or report.rejected:
                logger.info("synced %d queued items (%d left)", report.sent, report.remaining)
        except LabelappError as exc:
            logger.warning("automatic sync skipped: %s", exc)

    def sync(self, *, progress: bool = False, blocking: bool = True, batch_size: int | None = None) -> SyncReport:
        """Send everything in the offline queue, oldest first, uploads in batches.

        Each item leaves the queue only once the server confirmed it (or refused it for a
        reason that will never change: then it goes to the rejected list). Errors about a
        project (401, 403, 404, 409, 500) leave its items queued and are listed in
        `report.errors`; an unreachable server stops the sync (`report.offline`) and pushes the
        next automatic sync back exponentially. Only one process syncs a cache at a time:
        with `blocking=False` a sync already running elsewhere makes this one return at once
        (`report.locked`)."""
        report = SyncReport()
        size = batch_size or self.batch_size
        self._syncing = True
        try:
            with self.cache.sync_lock(blocking=blocking) as acquired:
                if not acquired:
                    report.locked = True
                    report.remaining = self.cache.count(server=self.base_url)
                    return report
                self.cache.collect_garbage()
                bar = tqdm(
                    total=self.cache.count(server=self.base_url),
                    unit="img",
                    desc="sync",
                    disable=not progress,
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
                try:
                    for kind in ("upload", "stream"):
                        for project_id in self.cache.queued_projects(kind, server=self.base_url):
                            try:
                                if kind == "upload":
                                    self._sync_uploads(project_id, size, report, bar)
                                else:
                                    self._sync_stream(project_id, report, bar)
                            except ApiError as exc:
                                report.errors.append(
                                    f"project {project_id} ({kind}): {exc.detail} ({exc.code}, HTTP {exc.status})"
                                )
                except OfflineError as exc:
                    report.offline = True
                    report.errors.append(str(exc))
                finally:
                    bar.close()
                if report.offline or report.errors:
                    self.cache.sync_failed("; ".join(report.errors))
                else:
                    self.cache.sync_succeeded()
                report.remaining = self.cache.count(server=self.base_url)
                report.other_servers = self.cache.count() - report.remaining
                return report
        finally:
            self._syncing = False

    def _outgoing(self, items: list[QueuedItem], report: SyncReport) -> list[_Outgoing]:
        outgoing = []
        for queued in items:
            try:
                data = queued.read()
            except FileNotFoundError:
                item = _Outgoing(
                    name=queued.name, sha256=queued.sha256, data=b"", path=queued.source_path, queued=queued
                )
                report.rejected.append(
                    self._reject(
                        queued.project,
                        queued.kind,
                        item,
                        0,
                        "missing_from_cache",
                        f"The cached copy is gone from {self.cache.directory}.",
                    )
                )
                continue
            outgoing.append(
                _Outgoing(name=queued.name, sha256=queued.sha256, data=data, path=queued.source_path, queued=queued)
            )
        return outgoing

    def _sync_uploads(self, project_id: int, size: int, report: SyncReport, bar) -> None:
        while items := self.cache.pending(server=self.base_url, project=project_id, kind="upload", limit=size):
            outgoing = self._outgoing(items, report)
            if not outgoing:
                continue
            try:
                confirmed, rejected, unmatched = self._send_upload_batch(project_id, outgoing)
            except (OfflineError, ApiError) as exc:
                self.cache.note_attempt([item.queued.id for item in outgoing], str(exc))
                raise
            self.cache.confirm(
                [item.queued for item, _, _ in confirmed],
                server=self.base_url,
                image_ids={item.sha256: image.get("id") for item, image, _ in confirmed},
            )
            for _item, _, created in confirmed:
                if created:
                    report.created += 1
                else:
                    report.duplicates += 1
            for item, status, code, detail in rejected:
                report.rejected.append(self._reject(project_id, "upload", item, status, code, detail))
            bar.update(len(confirmed) + len(rejected))
            if unmatched:
                self.cache.note_attempt([item.queued.id for item in unmatched], "not listed in the server's answer")
                report.errors.append(
                    f"project {project_id}: {len(unmatched)} uploads were not listed in the server's answer"
                )
                return
            if not confirmed and not rejected and len(outgoing) == len(items):
                return

    def _sync_stream(self, project_id: int, report: SyncReport, bar) -> None:
        while items := self.cache.pending(
            server=self.base_url, project=project_id, kind="stream", limit=self.batch_size
        ):
            for item in self._outgoing(items, report):
                try:
                    decision = self._send_stream(project_id, item)
                except ApiError as exc:
                    if exc.status not in FILE_REFUSAL_STATUSES:
                        self.cache.note_attempt([item.queued.id], str(exc))
                        raise
                    report.rejected.append(self._reject(project_id, "stream", item, exc.status, exc.code, exc.detail))
                except OfflineError as exc:
                    self.cache.note_attempt([item.queued.id], str(exc))
                    raise
                else:
                    self.cache.confirm([item.queued])
                    report.streamed.append({"file": item.path or item.name, **decision})
                bar.update(1)


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder; upload takes folders, predict and stream take image files.") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror}).") from None
