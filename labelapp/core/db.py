"""Retrying a database write that met a transient lock.

On the default SQLite database one writer holds the file at a time; a long write elsewhere
(an import, a big upload) can outlast the busy timeout. A worker's write then fails with
"database is locked", which is no reason to throw away a training or a rescore chunk."""

import logging
import time

from django.db import OperationalError

logger = logging.getLogger(__name__)

LOCK_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)


def is_transient_lock(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def retry_when_locked(write, *, what: str, delays=LOCK_RETRY_DELAYS):
    """`write()` (a function that opens its own transaction, if any), retried with growing
    pauses while it fails on a transient lock; any other error, or the last lock error,
    propagates. The transaction must be opened inside `write`: a failed one is rolled back
    as a whole, so retrying it never writes twice."""
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return write()
        except OperationalError as exc:
            if delay is None or not is_transient_lock(exc):
                raise
            logger.warning(
                "%s: database is locked; retrying in %.0f s (attempt %d of %d)", what, delay, attempt, len(delays) + 1
            )
            time.sleep(delay)
