"""An exclusive lock on a file between processes (flock; msvcrt on Windows). The kernel
releases it when the holder dies, so a killed process never blocks the next one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path, *, blocking: bool) -> Iterator[bool]:
    """Hold the lock on `path` (created if missing) for the block; yields whether it was taken
    (always True when `blocking`)."""
    handle = open(path, "a+b")  # noqa: SIM115 - the lock lives until the finally below
    try:
        acquired = _lock(handle, blocking=blocking)
        try:
            yield acquired
        finally:
            if acquired:
                _unlock(handle)
    finally:
        handle.close()


def _lock(handle, *, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _unlock(handle) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
