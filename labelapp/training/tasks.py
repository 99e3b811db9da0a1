"""Celery tasks: thin, idempotent, ids only; the work is in services."""

from celery import shared_task

from labelapp.core import liveness


@shared_task(name="labelapp.training.preprocess_backlog", acks_late=True)
def preprocess_backlog_task(project_id: int) -> int:
    from .pool_upkeep import preprocess_backlog_run

    return preprocess_backlog_run(project_id=project_id)


@shared_task(name="labelapp.training.cold_start", acks_late=True)
def cold_start_task(project_id: int) -> int:
    from .pool_upkeep import cold_start_run

    return cold_start_run(project_id=project_id)


@shared_task(name="labelapp.training.train_model", acks_late=True)
def train_model_task(run_id: int) -> int | None:
    from .runs import training_run

    version = training_run(run_id=run_id)
    return version.pk if version else None


@shared_task(name="labelapp.training.rescore_chunk", acks_late=True)
def rescore_chunk_task(job_id: int, image_ids: list[int]) -> int:
    from .rescoring import rescore_chunk

    return rescore_chunk(job_id=job_id, image_ids=image_ids)


@shared_task(name="labelapp.training.rescore_project", acks_late=True)
def rescore_project_task(project_id: int) -> int | None:
    from .rescoring import rescore_project

    job = rescore_project(project_id=project_id)
    return job.pk if job else None


@shared_task(name="labelapp.training.rescore_job_start", acks_late=True)
def rescore_job_start_task(job_id: int) -> None:
    from .rescoring import rescore_job_start

    rescore_job_start(job_id=job_id)


@shared_task(name="labelapp.training.rescore_finish", acks_late=True)
def rescore_finish_task(job_id: int) -> None:
    from .rescoring import rescore_finish

    rescore_finish(job_id=job_id)


@shared_task(name="labelapp.training.recover_stale_work")
def recover_stale_work_task() -> dict:
    from .runs import recover_stale_work

    return recover_stale_work()


liveness.STOP_ON_SHUTDOWN.add(train_model_task.name)
