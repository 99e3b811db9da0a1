"""The offline cache: an on-disk queue of uploads and stream items, the rejected list, and the
manifest of uploads the server has confirmed.

Layout of the cache directory::

    cache.sqlite3          queue, rejected, manifest, meta (SQLite in WAL mode)
    blobs/ab/abcdef...     the queued bytes, content-addressed by sha256
    blobs/tmp/             copies being written (renamed into place when their row commits)
    sync.lock              held (file_lock.py) by the one process sending the queue

The database's tables and how it is opened: cache_db.py.

Invariants, whatever process is killed at whatever moment:

- A queue row is only written after its blob is complete on disk (written to `tmp/`, fsynced,
  renamed), so a row always has its bytes.
- A row is only deleted after the server confirmed the item (201/200), or refused it for a
  reason that will never change (recorded in `rejected`). A crash between the server's answer
  and the delete leaves the row; the next sync sends it again, and the server answers
  "duplicate" because it dedups by content per project. Nothing is lost, nothing is stored twice.
- The queue holds each (server, project, kind, sha256) at most once (a UNIQUE constraint).
- Every queued item remembers the server (normalised URL) and project it was meant for, and
  is only ever sent there: a client pointed at another server leaves it queued.
- Blobs are deleted only under the database write lock, after re-checking that no row needs
  them, so a concurrent enqueue of the same content never loses its bytes. A blob orphaned by a
  crash is removed by `collect_garbage()`.
- The bytes held (the sum of distinct queued blobs) never exceed `max_bytes`: the check and the
  insert happen in one write transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .cache_db import open_database
from .errors import CacheFullError, UsageError
from .file_lock import file_lock

logger = logging.getLogger(__name__)

KINDS = ("upload", "stream")
DEFAULT_MAX_BYTES = 2 * 1024**3
CHUNK = 1024 * 1024
TMP_MAX_AGE_SECONDS = 3600


def default_cache_dir() -> Path:
    """`$LABELAPP_CACHE_DIR`, else `$XDG_CACHE_HOME/labelapp`, else `~/.cache/labelapp`."""
    if os.environ.get("LABELAPP_CACHE_DIR"):
        return Path(os.environ["LABELAPP_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "labelapp"


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a file, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class QueuedItem:
    id: int
    server: str
    project: int
    kind: str
    sha256: str
    name: str
    source_path: str
    size: int
    queued_at: float
    attempts: int
    last_error: str
    blob: Path

    def read(self) -> bytes:
        return self.blob.read_bytes()


@dataclass(frozen=True)
class RejectedItem:
    project: int
    kind: str
    sha256: str
    name: str
    source_path: str
    status: int
    code: str
    detail: str
    rejected_at: float


@dataclass
class CacheStatus:
    directory: str
    items: int
    bytes: int
    max_bytes: int
    by_kind: dict[str, int] = field(default_factory=dict)
    by_project: dict[int, int] = field(default_factory=dict)
    by_server: dict[str, int] = field(default_factory=dict)
    oldest_queued_at: float | None = None
    last_error: str = ""
    confirmed: int = 0
    rejected: list[RejectedItem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "directory": self.directory,
            "items": self.items,
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "by_kind": self.by_kind,
            "by_project": {str(k): v for k, v in self.by_project.items()},
            "by_server": self.by_server,
            "oldest_queued_at": self.oldest_queued_at,
            "last_error": self.last_error,
            "confirmed": self.confirmed,
            "rejected": [vars(r) for r in self.rejected],
        }


class OfflineCache:
    """One cache directory. Safe to use from several processes at once (SQLite locking for
    the tables, `flock` for the right to send the queue); not shared between threads."""

    def __init__(self, directory: str | os.PathLike | None = None, *, max_bytes: int | None = None):
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.max_bytes = int(max_bytes) if max_bytes is not None else DEFAULT_MAX_BYTES
        if self.max_bytes <= 0:
            raise UsageError("The cache size limit must be a positive number of bytes.")
        self._conn: sqlite3.Connection | None = None

    # --- connection -----------------------------------------------------------------------

    @property
    def blobs(self) -> Path:
        return self.directory / "blobs"

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            (self.blobs / "tmp").mkdir(parents=True, exist_ok=True)
            self._conn = open_database(self.directory / "cache.sqlite3")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256

    # --- the queue ------------------------------------------------------------------------

    def enqueue(
        self,
        *,
        server: str,
        project: int,
        kind: str,
        name: str,
        path: str | os.PathLike | None = None,
        data: bytes | None = None,
        source_path: str = "",
    ) -> tuple[str, bool]:
        """Copy `path` (or `data`) into the cache and queue it for `project` on `server` (a
        normalised URL). Returns (sha256, added); `added` is False when the same (server,
        project, kind, content) is already queued.
        Raises CacheFullError (and keeps nothing) if it would pass `max_bytes`."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if not server:
            raise ValueError("a queued item needs the server it is meant for")
        if (path is None) == (data is None):
            raise ValueError("pass exactly one of path or data")
        tmp = self.blobs / "tmp" / uuid.uuid4().hex
        self.conn  # noqa: B018 - the property creates the directories
        sha256, size = self._copy_in(path, data, tmp)
        try:
            with self._write() as conn:
                if conn.execute(
                    "SELECT 1 FROM queue WHERE server=? AND project=? AND kind=? AND sha256=?",
                    (server, project, kind, sha256),
                ).fetchone():
                    return sha256, False
                blob_shared = conn.execute("SELECT 1 FROM queue WHERE sha256=? LIMIT 1", (sha256,)).fetchone()
                final = self.blob_path(sha256)
                if not blob_shared:
                    used = self._bytes(conn)
                    if used + size > self.max_bytes:
                        raise CacheFullError(
                            f"The offline cache is full: {name} needs {size} bytes, {used} of "
                            f"{self.max_bytes} are used ({self.directory}). Run `labelapp sync` when "
                            "the server is reachable, or raise --cache-max-bytes / LABELAPP_CACHE_MAX_BYTES.",
                            needed=size,
                            used=used,
                            limit=self.max_bytes,
                        )
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp, final)
                conn.execute(
                    "INSERT INTO queue (server, project, kind, sha256, name, source_path, size, queued_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (server, project, kind, sha256, name, str(source_path), size, time.time()),
                )
            return sha256, True
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    @staticmethod
    def _copy_in(path, data, tmp: Path) -> tuple[str, int]:
        """Write the bytes to `tmp`, hashing as they go, and fsync: the hash is of what the
        cache holds, even if the original changes afterwards."""
        digest, size = hashlib.sha256(), 0
        with open(tmp, "wb") as out:
            if data is not None:
                digest.update(data)
                out.write(data)
                size = len(data)
            else:
                with open(path, "rb") as source:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), size

    @staticmethod
    def _bytes(conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(size) AS size FROM queue GROUP BY sha256)"
        ).fetchone()
        return int(row[0])

    def _item(self, row: sqlite3.Row) -> QueuedItem:
        return QueuedItem(**{key: row[key] for key in row.keys()}, blob=self.blob_path(row["sha256"]))  # noqa: SIM118 - a Row iterates values

    def count(self, *, kind: str | None = None, server: str | None = None) -> int:
        """Queued items (of one kind, for one server when given)."""
        where, args = [], []
        if kind:
            where.append("kind=?")
            args.append(kind)
        if server is not None:
            where.append("server=?")
            args.append(server)
        sql = "SELECT COUNT(*) FROM queue" + (" WHERE " + " AND ".join(where) if where else "")
        return self.conn.execute(sql, args).fetchone()[0]

    def queued_projects(self, kind: str, *, server: str) -> list[int]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT project FROM queue WHERE kind=? AND server=? ORDER BY project", (kind, server)
            )
        ]

    def pending(self, *, server: str, project: int, kind: str, limit: int, after_id: int = 0) -> list[QueuedItem]:
        """Up to `limit` queued items of one project of `server` and kind, oldest first, with
        distinct names (the server reports a rejected file by its name)."""
        rows = self.conn.execute(
            "SELECT * FROM queue WHERE server=? AND project=? AND kind=? AND id>? ORDER BY id LIMIT ?",
            (server, project, kind, after_id, limit * 4),
        ).fetchall()
        items, names = [], set()
        for row in rows:
            if row["name"] in names:
                continue
            names.add(row["name"])
            items.append(self._item(row))
            if len(items) == limit:
                break
        return items

    def items(self) -> list[QueuedItem]:
        return [self._item(r) for r in self.conn.execute("SELECT * FROM queue ORDER BY id")]

    def note_attempt(self, ids: list[int], error: str) -> None:
        if not ids:
            return
        with self._write() as conn:
            conn.executemany(
                "UPDATE queue SET attempts=attempts+1, last_error=? WHERE id=?", [(error[:500], i) for i in ids]
            )

    def confirm(
        self, items: list[QueuedItem], *, server: str | None = None, image_ids: dict[str, int] | None = None
    ) -> None:
        """The server holds these items: drop them from the queue (and, for uploads, record
        them in the manifest of `server`) in one transaction, then free their blobs."""
        if not items:
            return
        image_ids = image_ids or {}
        now = time.time()
        with self._write() as conn:
            for item in items:
                conn.execute("DELETE FROM queue WHERE id=?", (item.id,))
                if item.kind == "upload" and server:
                    conn.execute(
                        "INSERT OR REPLACE INTO manifest (server, project, sha256, image_id, name, confirmed_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (server, item.project, item.sha256, image_ids.get(item.sha256), item.name, now),
                    )
        self._free_blobs({item.sha256 for item in items})

    def drop(self, *, project: int | None = None) -> int:
        """Discard queued items (all, or one project's) without sending them."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT sha256 FROM queue" + (" WHERE project=?" if project is not None else ""),
                (() if project is None else (project,)),
            ).fetchall()
            conn.execute(
                "DELETE FROM queue" + (" WHERE project=?" if project is not None else ""),
                (() if project is None else (project,)),
            )
        self._free_blobs({r[0] for r in rows})
        return len(rows)

    def _free_blobs(self, shas: set[str]) -> None:
        """Delete the blobs no queue row needs any more; under the write lock, so an enqueue
        of the same content cannot slip in between the check and the delete."""
        if not shas:
            return
        with self._write() as conn:
            for sha in shas:
                if not conn.execute("SELECT 1 FROM queue WHERE sha256=? LIMIT 1", (sha,)).fetchone():
                    with contextlib.suppress(FileNotFoundError):
                        self.blob_path(sha).unlink()

    def collect_garbage(self) -> int:
        """Remove blobs left behind by a crash (no row needs them) and stale temp files."""
        removed = 0
        now = time.time()
        with self._write() as conn:
            wanted = {r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM queue")}
            for folder in self.blobs.iterdir() if self.blobs.exists() else ():
                if not folder.is_dir():
                    continue
                for blob in folder.iterdir():
                    if folder.name == "tmp":
                        stale = now - blob.stat().st_mtime > TMP_MAX_AGE_SECONDS
                    else:
                        stale = blob.name not in wanted
                    if stale:
                        with contextlib.suppress(FileNotFoundError):
                            blob.unlink()
                            removed += 1
        return removed

    # --- rejected ---------------------------------------------------------------------------

    def reject(
        self,
        *,
        project: int,
        kind: str,
        sha256: str,
        name: str,
        source_path: str = "",
        status: int,
        code: str,
        detail: str,
        queued: QueuedItem | None = None,
    ) -> None:
        """Record a refusal that will never succeed; drop the queued row if there is one."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO rejected (project, kind, sha256, name, source_path, status, code, detail, rejected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project, kind, sha256, name, str(source_path), status, code, detail, time.time()),
            )
            if queued is not None:
                conn.execute("DELETE FROM queue WHERE id=?", (queued.id,))
        if queued is not None:
            self._free_blobs({sha256})

    def is_rejected(self, *, project: int, kind: str, sha256: str) -> bool:
        return bool(
            self.conn.execute(
                "SELECT 1 FROM rejected WHERE project=? AND kind=? AND sha256=?", (project, kind, sha256)
            ).fetchone()
        )

    def rejected(self) -> list[RejectedItem]:
        return [RejectedItem(**dict(r)) for r in self.conn.execute("SELECT * FROM rejected ORDER BY rejected_at, name")]

    def clear_rejected(self) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM rejected").rowcount

    # --- manifest ---------------------------------------------------------------------------

    def is_confirmed(self, *, server: str, project: int, sha256: str) -> bool:
        return bool(
            self.conn.execute(
                "SELECT 1 FROM manifest WHERE server=? AND project=? AND sha256=?", (server, project, sha256)
            ).fetchone()
        )

    def record_confirmed(self, *, server: str, project: int, entries: list[tuple[str, int | None, str]]) -> None:
        """(sha256, image id, name) of uploads the server confirmed without the queue."""
        if not entries:
            return
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO manifest (server, project, sha256, image_id, name, confirmed_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(server, project, sha, image_id, name, now) for sha, image_id, name in entries],
            )

    # --- meta: when the next automatic sync may run -----------------------------------------

    def _meta(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, values: dict[str, str]) -> None:
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))

    def sync_due(self, now: float | None = None) -> bool:
        return (now or time.time()) >= float(self._meta("next_sync_at", "0"))

    def sync_failed(self, error: str, *, base: float = 5.0, cap: float = 600.0) -> float:
        """Push the next automatic sync back exponentially (5 s, 10 s, ... 10 min). Returns the delay."""
        failures = int(self._meta("sync_failures", "0")) + 1
        delay = min(cap, base * 2 ** (failures - 1))
        self._set_meta(
            {"sync_failures": str(failures), "next_sync_at": str(time.time() + delay), "last_error": error[:500]}
        )
        return delay

    def sync_succeeded(self) -> None:
        self._set_meta({"sync_failures": "0", "next_sync_at": "0", "last_error": ""})

    # --- the sender's lock ------------------------------------------------------------------

    @contextlib.contextmanager
    def sync_lock(self, *, blocking: bool) -> Iterator[bool]:
        """Only one process sends the queue at a time. Yields whether the lock was taken; the
        kernel releases it if the process dies, so a killed sync never blocks the next one."""
        self.conn  # noqa: B018 - the property creates the directory
        with file_lock(self.directory / "sync.lock", blocking=blocking) as acquired:
            yield acquired

    # --- status -----------------------------------------------------------------------------

    def status(self) -> CacheStatus:
        conn = self.conn
        by_kind = {r[0]: r[1] for r in conn.execute("SELECT kind, COUNT(*) FROM queue GROUP BY kind")}
        by_project = {r[0]: r[1] for r in conn.execute("SELECT project, COUNT(*) FROM queue GROUP BY project")}
        by_server = {r[0]: r[1] for r in conn.execute("SELECT server, COUNT(*) FROM queue GROUP BY server")}
        oldest = conn.execute("SELECT MIN(queued_at) FROM queue").fetchone()[0]
        return CacheStatus(
            directory=str(self.directory),
            items=sum(by_kind.values()),
            bytes=self._bytes(conn),
            max_bytes=self.max_bytes,
            by_kind=by_kind,
            by_project=by_project,
            by_server=by_server,
            oldest_queued_at=oldest,
            last_error=self._meta("last_error"),
            confirmed=conn.execute("SELECT COUNT(*) FROM manifest").fetchone()[0],
            rejected=self.rejected(),
        )
