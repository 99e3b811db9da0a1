"""Celery tasks: thin, idempotent, ids only."""

from celery import shared_task

from labelapp.core import liveness


@shared_task(name="labelapp.review.label_quality_recompute", acks_late=True)
def label_quality_recompute_task(version_id: int) -> int:
    from .quality import label_quality_recompute

    return label_quality_recompute(version_id=version_id)


liveness.STOP_ON_SHUTDOWN.add(label_quality_recompute_task.name)
