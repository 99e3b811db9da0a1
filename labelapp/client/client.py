"""`LabelappClient`: the REST API from Python, with retries and an offline cache.

Runs on users' machines with only `requests` and `tqdm`: nothing here imports Django.

The endpoints live here; HTTP and retries in `http.py`, the offline queue and `sync()` in
`sync.py`: when the server cannot be reached (after the retries), uploads and stream items
go to the on-disk queue of `OfflineCache`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import requests
from tqdm import tqdm

from .cache import OfflineCache
from .errors import ApiError, CacheFullError, LabelappError, OfflineError, UsageError
from .files import Outgoing, content_type, iter_image_files, read_image_file
from .http import FILE_REFUSAL_STATUSES, HttpClient
from .reports import StreamResult, UploadReport
from .sync import OfflineSync

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 16
MAX_BATCH_BYTES = 32 * 1024 * 1024


class LabelappClient(OfflineSync, HttpClient):
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
        super().__init__(
            base_url,
            token,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            timeout=timeout,
            session=session,
            sleep=sleep,
        )
        self.cache = cache or OfflineCache(cache_dir, max_bytes=max_cache_bytes)
        if retries < 0 or backoff < 0 or batch_size < 1:
            raise UsageError("retries and backoff must be ≥ 0 and batch_size ≥ 1.")
        self.batch_size = batch_size
        self.auto_sync = auto_sync
        self._syncing = False

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
        data = read_image_file(path)
        self._auto_sync()
        return self._request(
            "POST",
            f"projects/{int(project_id)}/predict",
            files=lambda: [("file", (path.name, data, content_type(path.name)))],
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
        batch: list[Outgoing] = []
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
                    data = read_image_file(path)
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
                batch.append(Outgoing(name=path.name, sha256=sha, data=data, path=str(path)))
                batch_bytes += len(data)
            flush()
        except ApiError as exc:
            exc.report = report
            raise
        finally:
            bar.close()
        return report

    def _send_upload_batch(
        self, project_id: int, items: list[Outgoing]
    ) -> tuple[list[tuple[Outgoing, dict, bool]], list[tuple[Outgoing, int, str, str]], list[Outgoing]]:
        """POST one batch. The server stores all of a batch or nothing: when it refuses some
        files (400 with `errors` naming them), those are rejected and the rest is sent again.
        Returns (confirmed: item, image, created), (rejected: item, status, code, detail),
        and items the answer did not mention."""
        try:
            response = self._request(
                "POST",
                f"projects/{project_id}/images",
                files=lambda: [("files", (item.name, item.data, content_type(item.name))) for item in items],
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
        confirmed: list[tuple[Outgoing, dict, bool]] = []
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
            data = read_image_file(path)
            sha = hashlib.sha256(data).hexdigest()
            result = StreamResult(path=str(path), sha256=sha)
            item = Outgoing(name=path.name, sha256=sha, data=data, path=str(path))
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

    def _send_stream(self, project_id: int, item: Outgoing) -> dict:
        return self._request(
            "POST",
            f"projects/{project_id}/stream",
            files=lambda: [("file", (item.name, item.data, content_type(item.name)))],
        ).json()
