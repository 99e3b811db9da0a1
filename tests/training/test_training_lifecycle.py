"""The training loop's edges (issue 14): refusing a training with nothing to train on,
tasks of a deleted project ending quietly, a strategy change re-ranking the pool at once,
and trainings and rescores that meet a locked SQLite database."""

import logging
import sqlite3

import pytest
from django.db import connection

from labelapp.core.jobs import JobStatus
from labelapp.demo.data import demo_project, demo_users
from labelapp.images.models import Image, Status
from labelapp.projects.services import project_delete
from labelapp.training.models import ModelVersion, Prediction, RescoreJob, TrainingRun
from labelapp.training.runs import training_request, training_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    """Tasks queued by the services run at once, in this process."""
    from labelapp.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=previous[0], task_eager_propagates=previous[1])


def _porch(count=24, free=16, **settings):
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    users = demo_users()
    project = demo_project(
        name="Porch lifecycle",
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=count,
        free_labels=free,
        credits=10,
        seed=5,
        users=users,
        settings={"max_epochs": 1, "auto_retrain_every": 0, "input_size": 64, **settings},
    )
    return project, users


def _trained(project, users) -> ModelVersion:
    run = training_request(project=project, user=users["admin"])
    version = training_run(run_id=run.pk)
    assert version is not None, TrainingRun.objects.get(pk=run.pk).error
    return version


# --- item 12: zero labels -----------------------------------------------------------------


def test_item12_training_with_zero_labels_is_refused_with_a_reason(classification_project, client_for):
    """Issue 14 item 12: POST training with no label at all was accepted (201) and failed later."""
    response = client_for("admin").post(f"/api/projects/{classification_project.pk}/training-runs")
    assert response.status_code == 400
    assert response.json()["code"] == "no_training_data"
    assert "train" in response.json()["detail"]
    assert not TrainingRun.objects.filter(project=classification_project).exists()


# --- item 12: a deleted project's queued tasks ----------------------------------------------


def test_item12_queued_tasks_of_a_deleted_project_end_quietly(eager_celery, caplog):
    """Issue 14 item 12: deleting a project left its queued preprocess, training and rescore
    tasks failing with tracebacks in the worker log; they end with one info line each."""
    from labelapp.training.tasks import (
        preprocess_backlog_task,
        rescore_chunk_task,
        rescore_finish_task,
        train_model_task,
    )

    project, users = _porch()
    version = _trained(project, users)
    pool = list(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
    job = RescoreJob.objects.create(project=project, model_version=version, status=JobStatus.RUNNING, chunks_total=1)
    project.settings = {**project.settings, "max_epochs": 1}
    project.save(update_fields=["settings"])
    run = TrainingRun.objects.create(project=project, trigger="manual")
    project_id, run_id, job_id = project.pk, run.pk, job.pk
    project_delete(project=project)

    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert preprocess_backlog_task(project_id) == 0
        assert train_model_task(run_id) is None
        assert rescore_chunk_task(job_id, pool) == 0
        rescore_finish_task(job_id)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not [r for r in caplog.records if r.exc_info]
    assert len([r for r in caplog.records if r.name.startswith("labelapp.training")]) == 4


# --- item 12: a strategy change re-ranks the pool at once ------------------------------------


def test_item12_a_strategy_change_rescores_the_pool_at_once_with_the_active_model(
    eager_celery, client_for, django_capture_on_commit_callbacks
):
    """Issue 14 item 12: the admin page said "saved" but the queue kept the old order until
    the next training. Saving a new strategy rescores the pool with the active model now."""
    project, users = _porch(strategy="detection_mean")
    with django_capture_on_commit_callbacks(execute=True):
        version = _trained(project, users)
    pool = set(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
    assert set(Image.objects.filter(pk__in=pool).values_list("score_reason", flat=True)) == {"detection_mean"}

    client = client_for(None)
    client.force_authenticate(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/projects/{project.pk}", {"settings": {"strategy": "random"}}, format="json")
    assert response.status_code == 200, response.content
    assert set(Image.objects.filter(pk__in=pool).values_list("score_reason", flat=True)) == {"random"}
    # The queue's order is the active model's new scores (random needs no diversity permutation
    # check: batch diversity only permutes them).
    scores = sorted(Prediction.objects.filter(model_version=version, image_id__in=pool).values_list("score", flat=True))
    assert sorted(Image.objects.filter(pk__in=pool).values_list("priority", flat=True)) == pytest.approx(scores)
    assert RescoreJob.objects.filter(model_version=version, status=JobStatus.SUCCEEDED).count() == 2


def test_item12_a_setting_that_does_not_change_scores_queues_no_rescore(
    eager_celery, client_for, django_capture_on_commit_callbacks
):
    """Issue 14 item 12 (its converse): the lease length changes no score, so no rescore."""
    project, users = _porch()
    with django_capture_on_commit_callbacks(execute=True):
        version = _trained(project, users)
    client = client_for(None)
    client.force_authenticate(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.patch(f"/api/projects/{project.pk}", {"settings": {"lease_minutes": 30}}, format="json").status_code
            == 200
        )
    assert RescoreJob.objects.filter(model_version=version).count() == 1


# --- item 3: a locked SQLite database ---------------------------------------------------------


class _ReleaseOnRetry(logging.Handler):
    """Holds the database's write lock from another connection and lets go when the code
    under test says it will retry: the lock is real and the order is fixed, no timing."""

    def __init__(self, path: str):
        super().__init__(logging.WARNING)
        self.other = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.other.execute("BEGIN IMMEDIATE")
        self.retries = 0

    def emit(self, record):
        if "database is locked" in record.getMessage() and self.other.in_transaction:
            self.retries += 1
            self.other.execute("COMMIT")


@pytest.fixture
def locked_database(transactional_db, settings):
    """A real second writer holding the SQLite file; the busy timeout made short so a write
    meets the lock at once."""
    if connection.vendor != "sqlite":
        pytest.skip("the transient lock is SQLite's")
    connection.close()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    previous = options.get("timeout")
    options["timeout"] = 0.05
    handler = None

    def lock() -> _ReleaseOnRetry:
        nonlocal handler
        handler = _ReleaseOnRetry(connection.settings_dict["NAME"])
        logging.getLogger("labelapp.core.db").addHandler(handler)
        return handler

    yield lock
    if handler is not None:
        logging.getLogger("labelapp.core.db").removeHandler(handler)
        if handler.other.in_transaction:
            handler.other.execute("ROLLBACK")
        handler.other.close()
    options["timeout"] = previous
    connection.close()


def test_item3_a_training_that_meets_a_locked_database_retries_and_succeeds(locked_database):
    """Issue 14 item 3: a training running beside a long SQLite write failed with "database
    is locked" instead of waiting its turn."""
    project, users = _porch()
    run = training_request(project=project, user=users["admin"])
    lock = locked_database()
    version = training_run(run_id=run.pk)
    run.refresh_from_db()
    assert lock.retries >= 1
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert version is not None and ModelVersion.objects.get(pk=version.pk).is_active


def test_item3_a_rescore_chunk_that_meets_a_locked_database_retries_and_scores_it(locked_database):
    """Issue 14 item 3: the rescore side of the same lock."""
    from labelapp.training.rescoring import rescore_chunk

    project, users = _porch()
    version = _trained(project, users)
    pool = list(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
    job = RescoreJob.objects.create(project=project, model_version=version, status=JobStatus.RUNNING, chunks_total=1)
    lock = locked_database()
    assert rescore_chunk(job_id=job.pk, image_ids=pool) == len(pool)
    assert lock.retries >= 1
    assert Prediction.objects.filter(model_version=version, image_id__in=pool).count() == len(pool)
    assert RescoreJob.objects.get(pk=job.pk).chunks_done == 1


# --- item 1: owners, heartbeats, recovery, resume ---------------------------------------------


def _running(project, *, owner, heartbeat_age_seconds: float) -> TrainingRun:
    from datetime import timedelta

    from django.utils import timezone

    return TrainingRun.objects.create(
        project=project,
        status=JobStatus.RUNNING,
        owner_host=owner.host,
        owner_pid=owner.pid,
        owner_started=owner.started,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_seconds),
    )


def _dead_process_owner():
    import subprocess
    import sys

    from labelapp.core.liveness import Owner, current_owner

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Owner(host=current_owner().host, pid=child.pid, started=None)


def test_item1_a_live_heartbeating_run_is_neither_recovered_nor_claimed_twice(classification_project, settings):
    """Issue 14 item 1: two claims of the same run → only one trains; a run whose owner is
    alive and beating is not recovered."""
    from labelapp.core.liveness import Owner, current_owner
    from labelapp.training.runs import recover_stale_work, training_claim

    run = TrainingRun.objects.create(project=classification_project)
    first, second = current_owner(), Owner(host="other-worker", pid=4242, started=None)
    assert training_claim(run_id=run.pk, owner=first)
    assert not training_claim(run_id=run.pk, owner=second)
    assert recover_stale_work()["trainings"] == []
    run.refresh_from_db()
    assert (run.owner_host, run.owner_pid) == (first.host, first.pid)


def test_item1_a_run_whose_process_ended_on_this_host_is_recovered_without_waiting(classification_project):
    """Issue 14 item 1: the owner is gone (same host, process ended): recovery need not wait
    for the stale limit, and a new worker can claim the run."""
    from labelapp.core.liveness import current_owner
    from labelapp.training.runs import recover_stale_work, training_claim

    run = _running(classification_project, owner=_dead_process_owner(), heartbeat_age_seconds=0)
    assert recover_stale_work()["trainings"] == [run.pk]
    assert training_claim(run_id=run.pk, owner=current_owner())


def test_item1_a_silent_run_of_another_host_is_recovered_only_past_the_stale_limit(classification_project, settings):
    """Issue 14 item 1: another host's worker is judged by its heartbeat alone."""
    from labelapp.core.liveness import Owner, current_owner
    from labelapp.training.runs import recover_stale_work, training_claim

    settings.LABELAPP_TRAINING_STALE_SECONDS = 60
    elsewhere = Owner(host="another-host", pid=1, started=None)
    beating = _running(classification_project, owner=elsewhere, heartbeat_age_seconds=30)
    assert recover_stale_work()["trainings"] == []
    assert not training_claim(run_id=beating.pk, owner=current_owner())
    TrainingRun.objects.filter(pk=beating.pk).update(
        heartbeat_at=beating.heartbeat_at - __import__("datetime").timedelta(seconds=60)
    )
    assert recover_stale_work()["trainings"] == [beating.pk]
    assert training_claim(run_id=beating.pk, owner=current_owner())
