"""Celery tasks: thin, idempotent; the work is in the modules they call."""

from celery import shared_task


@shared_task(name="labelapp.images.sweep_orphan_files")
def sweep_orphan_files_task() -> int:
    from .orphans import orphan_files_sweep

    return orphan_files_sweep()
