"""Celery tasks: thin, ids only; the work is in dataset_import."""

from celery import shared_task


@shared_task(name="labelapp.images.import_dataset", acks_late=True)
def import_dataset_task(job_id: int) -> str:
    from .dataset_import import import_run

    return import_run(job_id=job_id)
