"""Issue 11 step 2: the events the lower apps send reach the training app's receivers, sent
for real through the services that change the state (a wiring test per event)."""

import pytest
from celery.signals import before_task_publish

from labelapp.images.services import images_ingest
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.projects.services import project_update_settings
from labelapp.training.models import PoolUpkeep, PreprocessBacklog, TrainingRun
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    """Names and arguments of the Celery tasks published (to the in-memory broker)."""
    sent = []

    def record(sender=None, body=None, **kwargs):
        sent.append((sender, list(body[0])))

    before_task_publish.connect(record, weak=False, dispatch_uid="test.published")
    yield sent
    before_task_publish.disconnect(dispatch_uid="test.published")


def test_images_added_asks_for_preprocessing(detection_project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = images_ingest(
            project=detection_project, files=[(f"{i}.jpg", jpeg_bytes(80 + i), "image/jpeg") for i in range(2)]
        ).created
    backlog = PreprocessBacklog.objects.get(project=detection_project)
    assert sorted(backlog.image_ids) == sorted(image.pk for image in created)
    assert PoolUpkeep.objects.get(project=detection_project).preprocess_pending


def test_images_added_is_not_sent_for_a_rolled_back_ingest(detection_project, django_capture_on_commit_callbacks):
    from django.db import transaction

    def ingest_then_fail():
        with transaction.atomic():
            images_ingest(project=detection_project, files=[("a.jpg", jpeg_bytes(90), "image/jpeg")])
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        ingest_then_fail()
    assert not PreprocessBacklog.objects.filter(project=detection_project).exists()


def test_labels_added_starts_an_auto_retrain(detection_project, pool, users, django_capture_on_commit_callbacks):
    project_update_settings(project=detection_project, changes={"auto_retrain_every": 1})
    item = image_reserve_next(project=detection_project, user=users["annotator"])
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(project=detection_project, user=users["annotator"], image_id=item.image.pk, boxes=[])
    assert TrainingRun.objects.get(project=detection_project).trigger == "auto"


def test_scoring_settings_changed_rescores_the_pool(detection_project, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        project_update_settings(project=detection_project, changes={"strategy": "random"})
    assert ("labelapp.training.rescore_project", [detection_project.pk]) in published
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        project_update_settings(project=detection_project, changes={"lease_minutes": 30})
    assert not [name for name, _ in published if name == "labelapp.training.rescore_project"]


def test_item12_a_burst_of_scoring_setting_changes_queues_one_rescore(
    detection_project, published, django_capture_on_commit_callbacks
):
    """Issue 14 item 12: each scoring-setting change queued a full rescore of the pool; five
    toggles meant five. While one is queued and not yet started, further changes reuse it."""
    from labelapp.core.jobs import JobStatus
    from labelapp.learning.models import available_models
    from labelapp.training.models import ModelVersion, RescoreJob
    from labelapp.training.rescoring import rescore_job_start

    ModelVersion.objects.create(
        project=detection_project,
        number=1,
        model_name=available_models()[0],
        checkpoint="checkpoints/x.pt",
        classes=[],
        input_size=64,
        is_active=True,
    )
    diversity = detection_project.config["batch_diversity"]
    for _ in range(5):
        diversity = not diversity
        with django_capture_on_commit_callbacks(execute=True):
            project_update_settings(project=detection_project, changes={"batch_diversity": diversity})
    job = RescoreJob.objects.get(project=detection_project)
    assert job.status == JobStatus.QUEUED
    assert [args for name, args in published if name == "labelapp.training.rescore_job_start"] == [[job.pk]]

    # Once it has started, the settings it read may be old: the next change queues a new one.
    assert rescore_job_start(job_id=job.pk).status == JobStatus.SUCCEEDED  # empty pool: done at once
    assert rescore_job_start(job_id=job.pk).status == JobStatus.SUCCEEDED  # a redelivered message: no-op
    with django_capture_on_commit_callbacks(execute=True):
        project_update_settings(project=detection_project, changes={"batch_diversity": not diversity})
    assert RescoreJob.objects.filter(project=detection_project, status=JobStatus.QUEUED).count() == 1
    assert RescoreJob.objects.filter(project=detection_project).count() == 2


def test_item12_a_queued_settings_rescore_whose_message_was_lost_is_started_by_recovery(detection_project):
    """The coalesced rescore waits as a queued job; if its message is lost, the stale-work
    beat job starts it (a queued job never started is begun, not "resumed" with nothing to do)."""
    from datetime import timedelta

    from django.utils import timezone

    from labelapp.core.jobs import JobStatus
    from labelapp.learning.models import available_models
    from labelapp.training.models import ModelVersion, RescoreJob
    from labelapp.training.rescoring import rescore_request
    from labelapp.training.runs import recover_stale_work

    ModelVersion.objects.create(
        project=detection_project,
        number=1,
        model_name=available_models()[0],
        checkpoint="checkpoints/x.pt",
        classes=[],
        input_size=64,
        is_active=True,
    )
    job = rescore_request(project_id=detection_project.pk)  # its start message never sent
    RescoreJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert recover_stale_work()["rescores"] == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.started_at is not None
