"""Issue 14 item 2: an upload burst costs worker time in proportion to its size. Each upload
batch's preprocessing used to rank the whole unscored pool for cold start (3,000 images in
batches of 16: 188 rankings); now the batches share one debounced ranking per project."""

import pytest

from labelapp.images.models import Image, Status
from labelapp.images.services import images_ingest
from labelapp.training.cold_start import cold_start_request, cold_start_run
from labelapp.training.models import ColdStartSchedule
from labelapp.training.preprocess import images_preprocess
from tests.conftest import jpeg_bytes, wait_for

pytestmark = pytest.mark.django_db


def upload_batches(project, batches: int, size: int = 4, seed: int = 0) -> list[list[int]]:
    ids = []
    for b in range(batches):
        files = [(f"b{b}_{i}.jpg", jpeg_bytes(seed + b * size + i, size=(32, 24)), "image/jpeg") for i in range(size)]
        ids.append([image.pk for image in images_ingest(project=project, files=files).created])
    return ids


def test_upload_batches_share_one_pending_cold_start_ranking(classification_project, settings, tmp_path):
    """Preprocessing each batch (what each batch's task does) no longer ranks the pool;
    one ranking is pending, and running it ranks every image of the burst."""
    settings.VAR_DIR = tmp_path
    for ids in upload_batches(classification_project, batches=5):
        images_preprocess(project_id=classification_project.pk, image_ids=ids)

    assert not Image.objects.filter(project=classification_project, score_reason="cold_start").exists()
    schedule = ColdStartSchedule.objects.get(project=classification_project)
    assert schedule.pending and schedule.runs == 0
    assert cold_start_request(project=classification_project) is False  # already pending

    cold_start_run(project_id=classification_project.pk)  # the queued task, after its countdown

    pool = Image.objects.filter(project=classification_project, status=Status.UNLABELED)
    assert pool.count() == 20
    assert set(pool.values_list("score_reason", flat=True)) == {"cold_start"}
    schedule.refresh_from_db()
    assert (schedule.pending, schedule.runs) == (False, 1)
    assert cold_start_request(project=classification_project) is True  # the next arrival asks again


def test_the_next_ranking_waits_in_proportion_to_the_last_ones_duration(classification_project, settings):
    from labelapp.training.cold_start import cold_start_delay

    settings.LABELAPP_COLD_START_DELAY_SECONDS = 10
    settings.LABELAPP_COLD_START_SPACING = 10
    schedule = ColdStartSchedule(project=classification_project, last_seconds=0.5)
    assert cold_start_delay(schedule) == 10
    schedule.last_seconds = 4.0
    assert cold_start_delay(schedule) == 40


@pytest.mark.worker
@pytest.mark.slow
def test_a_burst_on_a_real_worker_is_ranked_a_few_times_not_once_per_batch(celery_workers, classification_project, settings):
    settings.LABELAPP_COLD_START_DELAY_SECONDS = 2
    worker = celery_workers(concurrency=1, LABELAPP_COLD_START_DELAY_SECONDS=2)
    upload_batches(classification_project, batches=12, seed=100)

    pool = Image.objects.filter(project=classification_project, status=Status.UNLABELED)
    wait_for(lambda: set(pool.values_list("score_reason", flat=True)) == {"cold_start"}
             and not ColdStartSchedule.objects.get(project=classification_project).pending, workers=[worker])
    runs = ColdStartSchedule.objects.get(project=classification_project).runs
    assert 1 <= runs <= 3, runs
