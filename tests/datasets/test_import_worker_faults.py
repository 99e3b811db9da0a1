"""Issue 14 item 3 on real worker processes: a worker SIGKILLed in the middle of an import
is replaced, the stale-work beat job sends the job again, and the import completes once."""

import pytest

from labelapp.core.jobs import JobStatus
from labelapp.datasets.models import ImportJob
from labelapp.images.models import Image
from labelapp.labeling.models import Annotation
from labelapp.training.tasks import recover_stale_work_task
from tests.conftest import jpeg_bytes, wait_for
from tests.datasets.conftest import make_zip, post_import

pytestmark = [pytest.mark.worker, pytest.mark.slow]

HANG_GUARD = 240.0  # seconds; bounds a hung test only, never a performance assertion
IMAGES = 1000


def test_an_import_whose_worker_is_killed_mid_import_is_recovered_and_completes_once(
    media, celery_workers, classification_project, client_for
):
    """Before, the job stayed `running` forever with part of its images stored, and its
    archive stayed on disk."""
    archive = make_zip(
        {f"{'cat' if i % 2 else 'dog'}/{i}.jpg": jpeg_bytes(20_000 + i, size=(24, 24)) for i in range(IMAGES)}
    )
    first = celery_workers(concurrency=1)
    response = post_import(client_for("admin"), classification_project, archive)
    assert response.status_code == 202
    job_id = response.json()["id"]

    # Killed after its first batch was committed and before its last.
    wait_for(
        lambda: ImportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, done__gte=1).exists(),
        timeout=HANG_GUARD,
        interval=0.02,
        workers=[first],
    )
    first.kill()
    killed = ImportJob.objects.get(pk=job_id)
    assert killed.status == JobStatus.RUNNING and 0 < killed.done < IMAGES, (killed.status, killed.done)

    # A stale limit far beyond the test: only the dead owner makes the job recoverable.
    second = celery_workers(concurrency=1, LABELAPP_TRAINING_STALE_SECONDS=3600)
    recover_stale_work_task.delay()
    job = wait_for(
        lambda: ImportJob.objects.filter(pk=job_id, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        timeout=HANG_GUARD,
        workers=[second],
    )

    assert job.status == JobStatus.SUCCEEDED, job.detail
    assert job.attempts == 2 and job.done == job.total == IMAGES
    assert job.duplicates == killed.done  # what the first worker stored is found again, not stored twice
    assert Image.objects.filter(project=classification_project).count() == IMAGES
    assert Annotation.objects.filter(project=classification_project).count() == IMAGES
    assert not list((media / "imports").rglob("*.zip"))
    second.kill()
