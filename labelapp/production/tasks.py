"""Celery tasks: thin, idempotent, ids only; the work is in services."""

from celery import shared_task


@shared_task(name="labelapp.production.affirm_unflagged")
def affirm_unflagged_task() -> int:
    from .verification import verifications_affirm

    return verifications_affirm()


@shared_task(name="labelapp.production.recover_stale_synthesis")
def recover_stale_synthesis_task() -> list[int]:
    from .synthesis import synthesis_recover_stale

    return synthesis_recover_stale()


@shared_task(name="labelapp.production.run_synthesis", acks_late=True)
def synthesis_run_task(job_id: int) -> int | None:
    """Idempotent: the service claims the job with a conditional UPDATE, so a redelivered
    message finds nothing to do."""
    from .synthesis import synthesis_run

    job = synthesis_run(job_id=job_id)
    return job.images_made if job else None
