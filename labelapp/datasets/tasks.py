"""Celery tasks: thin, idempotent; the work is in the modules they call."""

from celery import shared_task


# The name is from when imports lived in the images app: messages queued before an upgrade still run.
@shared_task(name="labelapp.images.import_dataset", acks_late=True)
def import_dataset_task(job_id: int) -> str:
    from .dataset_import import import_run

    return import_run(job_id=job_id)
