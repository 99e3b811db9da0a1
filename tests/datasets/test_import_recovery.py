"""Issue 14 item 3: nothing stays behind when an import's worker is killed. The stale-work
beat job sends the job again (or fails it with the reason), sweeps import archives no open
job names, and gives a stranded upload backlog its preprocessing task."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from labelapp.core import liveness
from labelapp.core.jobs import JobStatus
from labelapp.datasets.dataset_import import _set, import_run
from labelapp.datasets.models import ImportJob
from labelapp.datasets.recovery import MAX_ATTEMPTS
from labelapp.images.models import Image
from labelapp.training.models import PoolUpkeep, PreprocessBacklog
from labelapp.training.runs import recover_stale_work
from tests.conftest import jpeg_bytes
from tests.datasets.conftest import make_zip, post_import

pytestmark = pytest.mark.django_db


def _archive() -> bytes:
    return make_zip({"cat/1.jpg": jpeg_bytes(801), "dog/2.jpg": jpeg_bytes(802)})


def _dead_owner() -> liveness.Owner:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return liveness.Owner(host=liveness.current_owner().host, pid=child.pid, started=None)


def _started_job(client, project, *, owner: liveness.Owner, heartbeat_age: float = 0, attempts: int = 1) -> ImportJob:
    """An import a worker claimed and was running (as far as the row tells) when it stopped."""
    response = post_import(client, project, _archive())
    assert response.status_code == 202, response.json()
    ImportJob.objects.filter(pk=response.json()["id"]).update(
        status=JobStatus.RUNNING,
        phase="checking",
        total=2,
        attempts=attempts,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age),
        owner_host=owner.host,
        owner_pid=owner.pid,
        owner_started=owner.started,
    )
    return ImportJob.objects.get(pk=response.json()["id"])


def test_an_import_whose_worker_died_is_sent_again_and_then_completes(classification_project, client_for, media):
    """Issue 14 item 3: before, a killed import stayed `running` forever."""
    job = _started_job(client_for("admin"), classification_project, owner=_dead_owner())

    result = recover_stale_work()

    assert result["imports_requeued"] == [job.pk] and result["imports_failed"] == []
    job.refresh_from_db()
    assert (job.status, job.owner_pid) == (JobStatus.QUEUED, None)
    assert import_run(job_id=job.pk) == "succeeded"  # what the re-sent task does
    job.refresh_from_db()
    assert (job.status, job.done, job.images_created, job.attempts) == (JobStatus.SUCCEEDED, 2, 2, 2)
    assert not default_storage.exists(job.archive)


def test_a_silent_worker_on_another_host_loses_its_import_but_a_live_one_keeps_it(
    classification_project, client_for, media, settings
):
    """Issue 14 item 3: recovery judges an import's owner like a training's."""
    client = client_for("admin")
    live = _started_job(client, classification_project, owner=liveness.current_owner(), heartbeat_age=10)
    silent = _started_job(
        client,
        classification_project,
        owner=liveness.Owner(host="another-worker", pid=4242, started=None),
        heartbeat_age=settings.LABELAPP_TRAINING_STALE_SECONDS + 60,
    )

    result = recover_stale_work()

    assert result["imports_requeued"] == [silent.pk]
    live.refresh_from_db()
    assert live.status == JobStatus.RUNNING and live.owner_pid == os.getpid()


def test_an_import_whose_archive_is_gone_or_that_keeps_killing_its_worker_fails_with_the_reason(
    classification_project, client_for, media
):
    """Issue 14 item 3: a job that cannot or should not run again ends `failed`, saying why."""
    client = client_for("admin")
    no_archive = _started_job(client, classification_project, owner=_dead_owner())
    default_storage.delete(no_archive.archive)
    worn_out = _started_job(client, classification_project, owner=_dead_owner(), attempts=MAX_ATTEMPTS)

    result = recover_stale_work()

    assert sorted(result["imports_failed"]) == sorted([no_archive.pk, worn_out.pk])
    no_archive.refresh_from_db()
    worn_out.refresh_from_db()
    assert no_archive.status == JobStatus.FAILED and "its archive is gone" in no_archive.detail
    assert worn_out.status == JobStatus.FAILED
    assert f"stopped {MAX_ATTEMPTS} times" in worn_out.detail and "not tried again" in worn_out.detail
    assert not default_storage.exists(worn_out.archive)
    shown = client.get(f"/api/projects/{classification_project.pk}/imports/{worn_out.pk}").json()
    assert shown["status"] == "failed" and shown["finished_at"] is not None


def test_import_archives_no_open_job_names_are_swept_after_the_grace_period(
    classification_project, client_for, media, settings
):
    """Issue 14 item 3: before, an archive left by a killed worker or request stayed forever."""
    settings.LABELAPP_IMPORT_ARCHIVE_GRACE_SECONDS = 3600
    open_job = _started_job(client_for("admin"), classification_project, owner=liveness.current_owner())
    left_over = default_storage.save(f"imports/project-{classification_project.pk}/archive.zip", ContentFile(b"PK"))
    recent = default_storage.save(f"imports/project-{classification_project.pk}/archive.zip", ContentFile(b"PK"))
    two_hours_ago = time.time() - 7200
    for name in (open_job.archive, left_over):
        os.utime(default_storage.path(name), (two_hours_ago, two_hours_ago))

    result = recover_stale_work()

    assert result["import_archives_swept"] == [left_over]
    assert default_storage.exists(open_job.archive) and default_storage.exists(recent)
    assert not default_storage.exists(left_over)


def test_a_worker_that_lost_its_import_stops_without_writing(classification_project, client_for, media):
    """Issue 14 item 3: after a takeover, the first worker's progress write stops it
    (liveness.JobStopped) instead of writing over the new owner's progress."""
    job = _started_job(client_for("admin"), classification_project, owner=liveness.current_owner())
    job.owner = liveness.current_owner()
    ImportJob.objects.filter(pk=job.pk).update(owner_host="another-worker", owner_pid=4242, done=1)

    with pytest.raises(liveness.JobStopped):
        _set(job, done=2)

    assert ImportJob.objects.get(pk=job.pk).done == 1


def test_a_stranded_upload_backlog_gets_its_preprocessing_task(classification_project, settings):
    """Issue 14 item 3: a backlog whose task was lost was picked up only when the project's
    next upload arrived."""
    [image] = [Image.objects.create(project=classification_project, sha256="a" * 64, width=4, height=4)]
    PreprocessBacklog.objects.create(project=classification_project, image_ids=[image.pk])
    # The task that was to serve it died after clearing `pending` (a run clears it first).
    PoolUpkeep.objects.create(project=classification_project, preprocess_pending=False)
    long_ago = timezone.now() - timedelta(
        seconds=settings.LABELAPP_PREPROCESS_DELAY_SECONDS + settings.LABELAPP_TRAINING_STALE_SECONDS + 60
    )
    PreprocessBacklog.objects.update(created_at=long_ago)
    fresh = PreprocessBacklog.objects.create(project=classification_project, image_ids=[image.pk])

    assert recover_stale_work()["preprocess_backlogs"] == [classification_project.pk]
    assert PoolUpkeep.objects.get(project=classification_project).preprocess_pending
    # A task is now pending: the next beat does not queue another.
    assert recover_stale_work()["preprocess_backlogs"] == []
    assert PreprocessBacklog.objects.filter(pk=fresh.pk).exists()
