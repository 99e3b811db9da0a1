"""The offline queue: what the client could not send waits in `OfflineCache` and is sent by
`sync()`, which also runs at the start of the next call that talks to the server."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tqdm import tqdm

from .cache import OfflineCache, QueuedItem
from .errors import ApiError, CacheFullError, LabelappError, OfflineError
from .files import Outgoing
from .http import FILE_REFUSAL_STATUSES
from .reports import Rejection, SyncReport, UploadReport

logger = logging.getLogger(__name__)


class OfflineSync:
    """The queue half of `LabelappClient`: queuing, the rejected list and `sync()`. It sends
    through the client's `_send_upload_batch` and `_send_stream`, the same calls a direct
    upload or stream uses."""

    base_url: str
    cache: OfflineCache
    batch_size: int
    auto_sync: bool
    _syncing: bool

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

    def _reject(self, project_id: int, kind: str, item: Outgoing, status: int, code: str, detail: str) -> Rejection:
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

    def _outgoing(self, items: list[QueuedItem], report: SyncReport) -> list[Outgoing]:
        outgoing = []
        for queued in items:
            try:
                data = queued.read()
            except FileNotFoundError:
                item = Outgoing(
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
                Outgoing(name=queued.name, sha256=queued.sha256, data=data, path=queued.source_path, queued=queued)
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
