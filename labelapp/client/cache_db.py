"""The offline cache's SQLite database: its tables, the upgrade of older caches, and how it
is opened (WAL, durable commits, explicit write transactions)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server      TEXT    NOT NULL,
    project     INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('upload', 'stream')),
    sha256      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    source_path TEXT    NOT NULL DEFAULT '',
    size        INTEGER NOT NULL,
    queued_at   REAL    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    UNIQUE (server, project, kind, sha256)
);
CREATE INDEX IF NOT EXISTS queue_sha256 ON queue (sha256);
CREATE TABLE IF NOT EXISTS rejected (
    project     INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    source_path TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    code        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    rejected_at REAL    NOT NULL,
    PRIMARY KEY (project, kind, sha256)
);
CREATE TABLE IF NOT EXISTS manifest (
    server       TEXT    NOT NULL,
    project      INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    image_id     INTEGER,
    name         TEXT    NOT NULL DEFAULT '',
    confirmed_at REAL    NOT NULL,
    PRIMARY KEY (server, project, sha256)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
# Version 1 queues did not record the server. Their items keep an empty server: no client
# sends them (they may belong to any server); `labelapp cache` lists them and `cache drop`
# discards them.
MIGRATE_V1 = (
    """
ALTER TABLE queue RENAME TO queue_v1;
"""
    + SCHEMA
    + """
INSERT INTO queue (id, server, project, kind, sha256, name, source_path, size, queued_at, attempts, last_error)
    SELECT id, '', project, kind, sha256, name, source_path, size, queued_at, attempts, last_error FROM queue_v1;
DROP TABLE queue_v1;
"""
)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating or upgrading) the cache database at `path`."""
    # isolation_level=None: autocommit; writes use explicit BEGIN IMMEDIATE so the
    # size check and the insert (or the re-check and the blob delete) are atomic.
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process; FULL also survives power loss.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(queue)")}
    if columns and "server" not in columns:
        conn.executescript("BEGIN IMMEDIATE;" + MIGRATE_V1 + "COMMIT;")
    conn.executescript(SCHEMA)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn
