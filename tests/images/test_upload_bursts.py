"""Issue 14 item 2: an upload burst costs worker time in proportion to its size. Each upload
batch queued its own preprocessing task, and each of those ranked the whole unscored pool
for cold start (3,000 images in batches of 16: 188 rankings). Now batches share one pending
preprocessing task and one debounced ranking per project."""

import pytest

from labelapp.images.models import Image, Status
from labelapp.images.services import images_ingest
from labelapp.training.models import PoolUpkeep, PreprocessBacklog
from labelapp.training.pool_upkeep import cold_start_delay, cold_start_request, cold_start_run, preprocess_backlog_run
from tests.conftest import jpeg_bytes, wait_for

pytestmark = pytest.mark.django_db


def upload_batches(project, batches: int, size: int = 4, seed: int = 0) -> None:
    for b in range(batches):
        files = [(f"b{b}_{i}.jpg", jpeg_bytes(seed + b * size + i, size=(32, 24)), "image/jpeg") for i in range(size)]
        images_ingest(project=project, files=files)


def test_upload_batches_share_one_preprocessing_task_and_one_cold_start_ranking(
    classification_project, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True) as queued:
        upload_batches(classification_project, batches=5)
    upkeep = PoolUpkeep.objects.get(project=classification_project)
    assert upkeep.preprocess_pending and PreprocessBacklog.objects.count() == 5
    # Each batch's commit ran images_added; only the first queued the task.
    assert len(queued) == 5 + 1

    with django_capture_on_commit_callbacks(execute=True) as queued:
        preprocess_backlog_run(project_id=classification_project.pk)  # the one queued task

    assert not PreprocessBacklog.objects.exists()
    assert len(queued) == 1  # one cold-start ranking asked for, not one per batch
    assert set(Image.objects.filter(project=classification_project).values_list("score_reason", flat=True)) == {""}
    upkeep.refresh_from_db()
    assert upkeep.cold_start_pending and upkeep.cold_start_runs == 0
    assert cold_start_request(project=classification_project) is False  # already pending

    cold_start_run(project_id=classification_project.pk)  # the queued ranking, after its countdown

    pool = Image.objects.filter(project=classification_project, status=Status.UNLABELED)
    assert pool.count() == 20
    assert "" not in set(pool.values_list("score_reason", flat=True))  # cold_start, or plan:… with a backbone
    upkeep.refresh_from_db()
    assert (upkeep.cold_start_pending, upkeep.cold_start_runs) == (False, 1)
    assert cold_start_request(project=classification_project) is True  # the next arrival asks again


def test_the_next_ranking_waits_in_proportion_to_the_last_ones_duration(classification_project, settings):
    settings.LABELAPP_COLD_START_DELAY_SECONDS = 10
    settings.LABELAPP_COLD_START_SPACING = 10
    upkeep = PoolUpkeep(project=classification_project, cold_start_seconds=0.5)
    assert cold_start_delay(upkeep) == 10
    upkeep.cold_start_seconds = 4.0
    assert cold_start_delay(upkeep) == 40


def test_a_pending_task_whose_message_was_lost_does_not_block_forever(classification_project, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.LABELAPP_TRAINING_STALE_SECONDS = 60
    PoolUpkeep.objects.create(
        project=classification_project,
        preprocess_pending=True,
        preprocess_queued_at=timezone.now() - timedelta(seconds=30),
    )
    from labelapp.training.pool_upkeep import preprocess_request

    assert preprocess_request(project_id=classification_project.pk, image_ids=[1]) is False
    PoolUpkeep.objects.filter(pk=classification_project.pk).update(
        preprocess_queued_at=timezone.now() - timedelta(seconds=300)
    )
    assert preprocess_request(project_id=classification_project.pk, image_ids=[2]) is True


@pytest.mark.worker
@pytest.mark.slow
def test_a_burst_on_a_real_worker_is_ranked_a_few_times_not_once_per_batch(
    celery_workers, classification_project, settings
):
    worker = celery_workers(concurrency=1, LABELAPP_COLD_START_DELAY_SECONDS=2, LABELAPP_PREPROCESS_DELAY_SECONDS=1)
    upload_batches(classification_project, batches=12, seed=100)

    pool = Image.objects.filter(project=classification_project, status=Status.UNLABELED)
    upkeep = PoolUpkeep.objects.filter(project=classification_project)
    wait_for(
        lambda: (
            not pool.filter(score_reason="").exists()
            and not upkeep.get().cold_start_pending
            and not PreprocessBacklog.objects.exists()
        ),
        workers=[worker],
    )
    assert 1 <= upkeep.get().cold_start_runs <= 3
    log = worker.output()
    assert 1 <= log.count("preprocess_backlog[") // 2 <= 6  # each task logs "received" and "succeeded"
