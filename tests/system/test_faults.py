"""Fault injection on real Celery worker processes: a worker is SIGKILLed in the middle of
a training or of a rescore chord, a new worker starts, and recovery finishes the work.

The embedded broker (kombu's SQLAlchemy transport) keeps a delivered message invisible and
does not redeliver it when the worker dies; `recover_stale_work` is what resumes the work.
Either way, the properties are the same: the previous model version serves until the new
one is complete, the work completes once, no Prediction is duplicated, every pool image
ends scored by the new version, and no credit moves.
"""

import re
import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from labelapp.core.jobs import JobStatus
from labelapp.credits.models import CreditEntry
from labelapp.credits.services import balance_get, ledger_totals
from labelapp.demo.data import demo_project, demo_users
from labelapp.images.models import Image, Status
from labelapp.labeling.services import image_reserve_next
from labelapp.training.models import ModelVersion, Prediction, RescoreJob, TrainingRun
from labelapp.training.runs import training_request
from labelapp.training.tasks import recover_stale_work_task
from tests.conftest import assert_priorities_are_scores, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]

STALE_SECONDS = 3
HANG_GUARD = 240.0  # seconds; bounds a hung test only, never a performance assertion


def _porch_project(*, count: int, free: int, epochs: int):
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    users = demo_users()
    project = demo_project(
        name="Porch faults",
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=count,
        free_labels=free,
        credits=20,
        seed=3,
        users=users,
        settings={"max_epochs": epochs, "auto_retrain_every": 0, "input_size": 64},
    )
    # One credit reserved, so a credit moving anywhere would show in the balance.
    image_reserve_next(project=project, user=users["annotator"])
    return project, users


def _credits(project) -> tuple:
    balance = balance_get(project=project).as_dict()
    entries = list(CreditEntry.objects.filter(project=project).order_by("id").values_list("id", "kind", "amount"))
    return balance, entries


def _received(worker, task: str) -> int:
    """How many `task` messages the worker has taken from the broker (its log says so)."""
    return len(re.findall(rf"Task labelapp\.training\.{task}\[[0-9a-f-]+\] received", worker.output()))


def _finished(model, pk):
    return model.objects.filter(pk=pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first()


class _Recovery:
    """What beat does every 30 s, at test speed: send `recover_stale_work` to the workers
    while the watched row has had no heartbeat for longer than the stale limit (and, for a
    training, until a worker has claimed it again)."""

    def __init__(self, model, pk, *, reclaimed=lambda row: False):
        self.model, self.pk, self.reclaimed, self.last = model, pk, reclaimed, 0.0

    def poke(self) -> None:
        from labelapp.training.tasks import recover_stale_work_task

        row = self.model.objects.get(pk=self.pk)
        quiet_since = timezone.now() - timedelta(seconds=STALE_SECONDS + 0.5)
        if (
            row.status == JobStatus.RUNNING
            and row.heartbeat_at < quiet_since
            and not self.reclaimed(row)
            and time.monotonic() - self.last > STALE_SECONDS + 1
        ):
            recover_stale_work_task.delay()
            self.last = time.monotonic()


def _assert_pool_scored_once_by(project, version) -> None:
    pool = set(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
    assert pool
    assert (
        set(
            Image.objects.filter(project=project, status=Status.UNLABELED, scored_by=version).values_list(
                "pk", flat=True
            )
        )
        == pool
    )
    assert set(Prediction.objects.filter(model_version=version).values_list("image_id", flat=True)) == pool
    pairs = (
        Prediction.objects.filter(image__project=project).values("image_id", "model_version_id").annotate(n=Count("id"))
    )
    assert [p for p in pairs if p["n"] != 1] == []
    assert Prediction.objects.filter(image__project=project).count() == len(pairs)
    assert_priorities_are_scores(project, version)


def _assert_credits_unchanged(project, before) -> None:
    balance, entries = _credits(project)
    assert (balance, entries) == before
    assert ledger_totals(project=project) == balance


def test_a_worker_killed_during_training_is_replaced_and_the_old_version_serves_until_the_new_one_is_ready(
    celery_workers,
):
    """Also issue 14 item 1: the recovered run resumes after its last epoch checkpoint, and
    since its owner's process is gone from this host, recovery need not wait for silence."""
    project, users = _porch_project(count=56, free=32, epochs=1)
    credits_before = _credits(project)
    first = celery_workers(concurrency=1, LABELAPP_RESCORE_CHUNK_SIZE=16)
    run1 = training_request(project=project, user=users["admin"])
    assert (
        wait_for(lambda: _finished(TrainingRun, run1.pk), timeout=HANG_GUARD, workers=[first]).status
        == JobStatus.SUCCEEDED
    )
    v1 = ModelVersion.objects.get(project=project, is_active=True)
    wait_for(
        lambda: RescoreJob.objects.filter(model_version=v1, status=JobStatus.SUCCEEDED).exists(),
        timeout=HANG_GUARD,
        workers=[first],
    )

    # A longer second training (early stopping may still end it sooner), killed after its second epoch.
    project.settings = {**project.settings, "max_epochs": 6}
    project.save(update_fields=["settings"])
    run2 = training_request(project=project, user=users["admin"])
    wait_for(
        lambda: TrainingRun.objects.filter(pk=run2.pk, status=JobStatus.RUNNING, epoch__gte=2).exists(),
        timeout=HANG_GUARD,
        interval=0.05,
        workers=[first],
    )
    first.kill()
    killed = TrainingRun.objects.get(pk=run2.pk)
    assert killed.status == JobStatus.RUNNING and killed.epoch >= 2
    assert list(ModelVersion.objects.filter(project=project, is_active=True)) == [v1]

    # A stale limit far beyond the test: only the dead owner makes the run recoverable.
    second = celery_workers(concurrency=1, LABELAPP_TRAINING_STALE_SECONDS=3600, LABELAPP_RESCORE_CHUNK_SIZE=16)
    recover_stale_work_task.delay()
    seen = set()

    def resumed_and_finished():
        # Read the active version first: if the run is not finished *after* that read, it was
        # not finished before it either, so the old version must still have been the active one.
        active = list(ModelVersion.objects.filter(project=project, is_active=True).values_list("pk", flat=True))
        run = TrainingRun.objects.get(pk=run2.pk)
        seen.add(tuple(active))
        if run.status != JobStatus.SUCCEEDED:
            assert active == [v1.pk], "the previous version stopped serving before the new one was ready"
        return run.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    wait_for(resumed_and_finished, timeout=HANG_GUARD, interval=0.1, workers=[second])
    run2.refresh_from_db()
    assert run2.status == JobStatus.SUCCEEDED, run2.error
    assert run2.started_at > killed.started_at and run2.epochs_max == 6
    # Resumed, not retrained: the second worker never ran the epochs the first one saved.
    resumed_after = int(re.search(r"training run \d+ resumes after epoch (\d+)", second.output()).group(1))
    assert resumed_after >= killed.epoch
    assert not re.search(rf"epoch {resumed_after}/6 loss", second.output())
    assert [h["epoch"] for h in run2.history] == list(range(1, run2.epoch + 1))
    assert run2.history[: killed.epoch] == killed.history
    v2 = ModelVersion.objects.get(project=project, is_active=True)
    assert run2.model_version_id == v2.pk and v2.number == 2
    assert ModelVersion.objects.filter(project=project).count() == 2
    assert seen <= {(v1.pk,), (v2.pk,)}

    job = wait_for(
        lambda: _finished(RescoreJob, RescoreJob.objects.filter(model_version=v2).values_list("pk", flat=True).first()),
        timeout=HANG_GUARD,
        workers=[second],
    )
    assert job.status == JobStatus.SUCCEEDED
    _assert_pool_scored_once_by(project, v2)
    _assert_credits_unchanged(project, credits_before)
    second.kill()  # nothing left to do; skips a slow warm shutdown at teardown


def test_item1_a_live_training_whose_epochs_outlast_the_stale_limit_is_never_taken_over(celery_workers):
    """Issue 14 item 1: the heartbeat was written once per epoch, so an epoch longer than the
    stale limit had the run re-queued and a free worker slot trained it a second time. Now
    the heartbeat goes on during epochs, and recovery, sent all along, finds nothing to do."""
    project, users = _porch_project(count=160, free=140, epochs=3)
    # Heartbeats every second; a few seconds of silence would mean a dead worker (on a loaded
    # machine a lower limit would also take over runs whose heartbeat thread waited its turn).
    worker = celery_workers(concurrency=2, LABELAPP_TRAINING_STALE_SECONDS=6)
    run = training_request(project=project, user=users["admin"])
    beats_within_an_epoch = 0
    owners = set()
    last = None

    def finished():
        nonlocal beats_within_an_epoch, last
        recover_stale_work_task.delay()
        row = TrainingRun.objects.get(pk=run.pk)
        if row.status == JobStatus.RUNNING:
            owners.add((row.owner_host, row.owner_pid, row.started_at))
            if last is not None and row.epoch == last.epoch >= 1 and row.heartbeat_at > last.heartbeat_at:
                beats_within_an_epoch += 1
            last = row
        return row.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    wait_for(finished, timeout=HANG_GUARD, interval=0.3, workers=[worker])
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert beats_within_an_epoch >= 1, "no heartbeat was seen during an epoch"
    assert len(owners) == 1, owners
    assert [h["epoch"] for h in run.history] == list(range(1, run.epoch + 1))
    assert worker.output().count("epoch 1/3 loss") == 1, "the run was trained twice"
    assert ModelVersion.objects.filter(project=project).count() == 1
    worker.kill()


def test_item1_a_worker_shutdown_stops_training_at_its_next_batch_and_the_run_resumes_later(celery_workers):
    """Issue 14 item 1: Ctrl-C of `make run` waited for the training (the worker gave up only
    after SIGKILL, minutes later). The worker's warm shutdown (SIGTERM, what .ci/run-stack
    sends first) now stops the training at its next batch and puts the run back in the
    queue; the next worker resumes it from its last epoch checkpoint."""
    import signal

    project, users = _porch_project(count=56, free=32, epochs=200)
    first = celery_workers(concurrency=1)
    run = training_request(project=project, user=users["admin"])
    wait_for(
        lambda: TrainingRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING, epoch__gte=1).exists(),
        timeout=HANG_GUARD,
        interval=0.05,
        workers=[first],
    )
    first.process.send_signal(signal.SIGTERM)
    first.process.wait(timeout=HANG_GUARD)
    stopped = TrainingRun.objects.get(pk=run.pk)
    assert stopped.status == JobStatus.QUEUED and 1 <= stopped.epoch < 200
    assert "stopped by a worker shutdown" in first.output()
    assert list(ModelVersion.objects.filter(project=project)) == []

    project.settings = {**project.settings, "max_epochs": 1}  # the resumed run keeps the settings it started with
    project.save(update_fields=["settings"])
    second = celery_workers(concurrency=1, LABELAPP_TRAINING_STALE_SECONDS=3600)
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=2))  # queued long ago
    recover_stale_work_task.delay()
    wait_for(lambda: "resumes after epoch" in second.output(), timeout=HANG_GUARD, workers=[second])
    resumed = TrainingRun.objects.get(pk=run.pk)
    assert resumed.epochs_max == 200
    assert resumed.history[: stopped.epoch] == stopped.history
    second.kill()


def test_a_worker_killed_during_a_rescore_chord_is_replaced_and_every_pool_image_is_scored_once(celery_workers):
    project, users = _porch_project(count=64, free=24, epochs=1)
    credits_before = _credits(project)
    first = celery_workers(concurrency=1, LABELAPP_RESCORE_CHUNK_SIZE=2)
    run = training_request(project=project, user=users["admin"])
    assert (
        wait_for(lambda: _finished(TrainingRun, run.pk), timeout=HANG_GUARD, workers=[first]).status
        == JobStatus.SUCCEEDED
    )
    version = ModelVersion.objects.get(project=project, is_active=True)
    pool_size = Image.objects.filter(project=project, status=Status.UNLABELED).count()

    # The chord of the new version's rescore (pool / 2 chunks) is under way: kill its worker
    # while it holds a chunk (received, not done), so that chunk's message dies with it.
    def midway():
        job = RescoreJob.objects.filter(model_version=version).first()
        if job is None or not 1 <= job.chunks_done < job.chunks_total - 2:  # more than the chunk in hand left
            return None
        return job if _received(first, "rescore_chunk") > job.chunks_done else None

    job = wait_for(midway, timeout=HANG_GUARD, interval=0.02, workers=[first])
    first.kill()
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.chunks_total == (pool_size + 1) // 2
    assert 1 <= job.chunks_done < job.chunks_total
    scored_at_kill = Image.objects.filter(project=project, status=Status.UNLABELED, scored_by=version).count()
    assert 0 < scored_at_kill < pool_size

    second = celery_workers(concurrency=1, LABELAPP_TRAINING_STALE_SECONDS=STALE_SECONDS, LABELAPP_RESCORE_CHUNK_SIZE=2)
    recovery = _Recovery(RescoreJob, job.pk)

    def finished():
        recovery.poke()
        return _finished(RescoreJob, job.pk)

    job = wait_for(finished, timeout=HANG_GUARD, interval=0.1, workers=[second])
    assert job.status == JobStatus.SUCCEEDED
    assert list(ModelVersion.objects.filter(project=project, is_active=True)) == [version]
    assert ModelVersion.objects.filter(project=project).count() == 1
    _assert_pool_scored_once_by(project, version)
    _assert_credits_unchanged(project, credits_before)
    second.kill()
