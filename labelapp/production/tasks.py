"""Celery tasks: thin, idempotent, ids only; the work is in services."""

from celery import shared_task


@shared_task(name="labelapp.production.affirm_unflagged")
def affirm_unflagged_task() -> int:
    from .services import verifications_affirm

    return verifications_affirm()
