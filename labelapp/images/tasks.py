"""Celery tasks: thin, idempotent; the work is in the modules they call."""

from celery import shared_task


@shared_task(name="labelapp.images.import_dataset", acks_late=True)
def import_dataset_task(job_id: int) -> str:
    from .dataset_import import import_run

    return import_run(job_id=job_id)


@shared_task(name="labelapp.images.sweep_orphan_files")
def sweep_orphan_files_task() -> int:
    from .orphans import orphan_files_sweep

    return orphan_files_sweep()
