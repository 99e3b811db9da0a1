"""Sending an app's events once the change they report is committed."""

from django.db import transaction
from django.dispatch import Signal


def send_on_commit(signal: Signal, **kwargs) -> None:
    """Send `signal` when the current transaction commits (at once outside one): receivers
    start work, such as Celery tasks, that must see the committed rows and must not run for a
    change that rolled back."""
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))
