"""Celery tasks: thin, idempotent, ids only; the work is in services."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="labelapp.training.preprocess_images", acks_late=True)
def preprocess_images_task(project_id: int, image_ids: list[int]) -> int:
    from .preprocess import images_preprocess

    return images_preprocess(project_id=project_id, image_ids=image_ids)


@shared_task(name="labelapp.training.train_model", acks_late=True)
def train_model_task(run_id: int) -> int | None:
    from .services import training_run

    version = training_run(run_id=run_id)
    return version.pk if version else None


@shared_task(name="labelapp.training.rescore_chunk", acks_late=True)
def rescore_chunk_task(job_id: int, image_ids: list[int]) -> int:
    from .services import rescore_chunk

    return rescore_chunk(job_id=job_id, image_ids=image_ids)


@shared_task(name="labelapp.training.rescore_project", acks_late=True)
def rescore_project_task(project_id: int) -> int | None:
    from .services import rescore_project

    job = rescore_project(project_id=project_id)
    return job.pk if job else None


@shared_task(name="labelapp.training.rescore_finish", acks_late=True)
def rescore_finish_task(job_id: int) -> None:
    from .services import rescore_finish

    rescore_finish(job_id=job_id)


@shared_task(name="labelapp.training.recover_stale_work")
def recover_stale_work_task() -> dict:
    from .services import recover_stale_work

    return recover_stale_work()
