"""What the client's calls return: upload, stream and sync reports, and refused files."""

from __future__ import annotations

from dataclasses import dataclass, field


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
