"""The loop on real Celery worker processes and the embedded broker (no server)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from labelapp.core.jobs import JobStatus
from labelapp.credits.services import balance_get, ledger_totals
from labelapp.images.models import Image, Status
from labelapp.labeling.models import Reservation, ReservationState
from labelapp.labeling.services import image_reserve_next
from labelapp.training.models import ModelVersion, Prediction, RescoreJob, TrainingRun
from labelapp.training.runs import training_request
from tests.conftest import assert_priorities_are_scores, small_porch_project, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_a_real_worker_runs_a_task_through_the_embedded_broker(celery_workers, pool, detection_project, users):
    from labelapp.labeling.tasks import release_expired_reservations_task

    image_reserve_next(project=detection_project, user=users["annotator"])
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    worker = celery_workers()
    release_expired_reservations_task.delay()
    wait_for(lambda: Reservation.objects.filter(state=ReservationState.EXPIRED).exists(), workers=[worker])
    assert balance_get(project=detection_project).reserved == 0
    assert ledger_totals(project=detection_project) == balance_get(project=detection_project).as_dict()


def test_retrain_activates_a_version_and_rescores_the_pool_in_chunks(celery_workers):
    project, users = small_porch_project()
    worker = celery_workers(LABELAPP_RESCORE_CHUNK_SIZE=8)
    run = training_request(project=project, user=users["admin"])
    wait_for(
        lambda: TrainingRun.objects.get(pk=run.pk).status in (JobStatus.SUCCEEDED, JobStatus.FAILED), workers=[worker]
    )
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.epoch >= 1 and len(run.history) == run.epoch
    version = ModelVersion.objects.get(project=project, is_active=True)
    assert version.labels_seen == Image.objects.filter(project=project, split="train").count()
    assert set(version.metrics) == {"val", "test"}
    assert set(version.metrics["val"]["per_class"]) == {"brown_box", "white_envelope", "yellow_box"}
    pool_ids = set(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
    job = wait_for(
        lambda: RescoreJob.objects.filter(model_version=version, status=JobStatus.SUCCEEDED).first(), workers=[worker]
    )
    assert job.chunks_total == job.chunks_done == int(np.ceil(len(pool_ids) / 8))
    assert set(Image.objects.filter(project=project, scored_by=version).values_list("pk", flat=True)) == pool_ids
    assert Prediction.objects.filter(model_version=version).count() == len(pool_ids)
    assert_priorities_are_scores(project, version)
    item = image_reserve_next(project=project, user=users["annotator"])
    best = Image.objects.filter(project=project, status=Status.UNLABELED).order_by("-priority").first()
    assert item.image.priority >= best.priority
    assert item.reservation.reason == item.image.score_reason
    assert item.reservation.reason.startswith("plan:") or item.reservation.reason == "detection_mean"


def test_a_second_training_request_while_one_is_open_is_refused(celery_workers):
    from labelapp.core.errors import ConflictError

    project, users = small_porch_project(count=10, free=10)
    training_request(project=project, user=users["admin"])
    with pytest.raises(ConflictError):
        training_request(project=project, user=users["admin"])
