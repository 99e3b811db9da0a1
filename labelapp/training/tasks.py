"""Celery tasks: thin, idempotent, ids only; the work is in services."""

import logging
import os
import signal

from celery import shared_task
from celery.signals import worker_shutting_down

logger = logging.getLogger(__name__)


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


@worker_shutting_down.connect
def stop_trainings_at_their_next_batch(**kwargs) -> None:
    """A warm shutdown (Ctrl-C, SIGTERM) waits for running tasks, and a training would hold
    it for minutes. Its pool process is asked to stop at its next batch instead (SIGTERM,
    handled by labelapp.core.liveness.stop_on_sigterm); the run goes back in the queue
    and resumes from its last epoch checkpoint. Other tasks finish as usual."""
    from celery.worker import state

    for request in list(state.active_requests):
        if request.task_name == train_model_task.name and request.worker_pid:
            logger.info("asking training task %s (pid %s) to stop at its next batch", request.id, request.worker_pid)
            try:
                os.kill(request.worker_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
