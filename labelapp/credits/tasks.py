"""Celery tasks: thin, idempotent, ids only; the work is in services."""

from celery import shared_task


@shared_task(name="labelapp.credits.release_expired_held_credits")
def release_expired_held_credits_task() -> int:
    from .services import held_credits_release_expired

    return held_credits_release_expired()
