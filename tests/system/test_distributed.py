"""The docker-compose topology without Docker: a real Redis broker, a real PostgreSQL and two
separate Celery worker processes. A rescore chord spreads over both workers, and the
priorities it writes equal those of the same rescore on one worker.

Run by `make test-postgres` (inside `.ci/with-postgres`); Redis comes from `REDIS_URL`
(`.ci/with-redis`) or is started here on a free loopback port.
"""

import os
import re
import shutil
import socket
import subprocess
from urllib.parse import quote

import pytest
from django.db import connection

from labelapp.core.jobs import JobStatus
from labelapp.demo.data import demo_project, demo_users
from labelapp.images.models import Image, Status
from labelapp.training.models import ModelVersion, Prediction, RescoreJob, TrainingRun
from labelapp.training.rescoring import rescore_start
from labelapp.training.runs import training_request
from tests.conftest import WorkerProcess, assert_priorities_are_scores, wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL") and not shutil.which("redis-server"),
        reason="needs redis-server (.ci/system-deps) or REDIS_URL",
    ),
]

HANG_GUARD = 240.0  # seconds; bounds a hung test only
CHUNK_SIZE = 3
RECEIVED = re.compile(r"Task labelapp\.training\.rescore_chunk\[[0-9a-f-]+\] received")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test-postgres`")
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    directory = tmp_path_factory.mktemp("redis")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pidfile = directory / "redis.pid"
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(directory / "redis.log"),
        ],
        check=True,
        timeout=30,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    wait_for(lambda: _pings(client), timeout=30)
    yield f"redis://127.0.0.1:{port}/0"
    try:
        client.shutdown(nosave=True)
    except redis.exceptions.ConnectionError:
        pass  # it closes the connection as it exits


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def redis_workers(redis_url, tmp_path, settings, transactional_db):
    """Like conftest's `celery_workers`, on the compose topology: Redis broker, PostgreSQL
    test database, and the media folder and pool cache shared as volumes would be."""
    import redis

    from labelapp.celery import app

    redis.Redis.from_url(redis_url).flushdb()
    previous = app.conf.broker_url
    app.conf.broker_url = redis_url
    app._pool = None
    app.amqp._producer_pool = None
    settings.CELERY_BROKER_URL = redis_url
    db = connection.settings_dict
    database_url = (
        f"postgres://{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    started: list[WorkerProcess] = []

    def start(**extra_env) -> WorkerProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "labelapp.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "LABELAPP_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "LABELAPP_VAR_DIR": str(tmp_path / "var"),
            "WORKER_CONCURRENCY": "1",
            **{k: str(v) for k, v in extra_env.items()},
        }
        worker = WorkerProcess(redis_url, env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()  # all work is done by now; a warm shutdown only costs time
        worker.log.close()
    app.conf.broker_url = previous
    app._pool = None
    app.amqp._producer_pool = None


def _chunks_received(worker) -> int:
    return len(RECEIVED.findall(worker.output()))


def _hostname(worker) -> str:
    match = re.search(r"(test-\d+@\S+) ready\.", worker.output())
    return match.group(1) if match else ""


def _priorities(project) -> dict[int, float]:
    return dict(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", "priority"))


def test_two_workers_share_a_rescore_chord_and_give_the_priorities_of_one(redis_workers):
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    users = demo_users()
    project = demo_project(
        name="Porch distributed",
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=48,
        free_labels=18,
        credits=5,
        seed=5,
        users=users,
        settings={"max_epochs": 1, "auto_retrain_every": 0, "input_size": 64},
    )
    pool = set(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
    chunks = -(-len(pool) // CHUNK_SIZE)
    workers = [redis_workers(LABELAPP_RESCORE_CHUNK_SIZE=CHUNK_SIZE) for _ in range(2)]
    wait_for(lambda: all(_hostname(w) for w in workers), timeout=HANG_GUARD, workers=workers)
    assert _hostname(workers[0]) != _hostname(workers[1])

    # A first tiny model; its activation starts the rescore chord, which both workers serve.
    run = training_request(project=project, user=users["admin"])
    run = wait_for(
        lambda: TrainingRun.objects.filter(pk=run.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        timeout=HANG_GUARD,
        workers=workers,
    )
    assert run.status == JobStatus.SUCCEEDED, run.error
    version = ModelVersion.objects.get(project=project, is_active=True)
    job = wait_for(
        lambda: RescoreJob.objects.filter(model_version=version, status=JobStatus.SUCCEEDED).first(),
        timeout=HANG_GUARD,
        workers=workers,
    )
    assert job.chunks_total == job.chunks_done == chunks
    received = [_chunks_received(w) for w in workers]
    assert sum(received) == chunks and all(n >= 1 for n in received), f"chunks per worker: {received}"
    assert set(Image.objects.filter(project=project, scored_by=version).values_list("pk", flat=True)) == pool
    assert Prediction.objects.filter(model_version=version).count() == len(pool)
    two_workers = _priorities(project)
    assert_priorities_are_scores(project, version)

    # The same rescore on one worker, from a clean slate.
    workers[1].kill()
    Prediction.objects.filter(model_version=version).delete()
    Image.objects.filter(pk__in=pool).update(priority=0.0, scored_by=None, score_reason="")
    alone = rescore_start(version_id=version.pk, chunk_size=CHUNK_SIZE)
    alone = wait_for(
        lambda: RescoreJob.objects.filter(pk=alone.pk, status=JobStatus.SUCCEEDED).first(),
        timeout=HANG_GUARD,
        workers=workers[:1],
    )
    assert alone.chunks_done == chunks
    assert _chunks_received(workers[0]) == received[0] + chunks
    assert set(Image.objects.filter(project=project, scored_by=version).values_list("pk", flat=True)) == pool
    one_worker = _priorities(project)
    assert one_worker.keys() == two_workers.keys() == pool
    assert one_worker == pytest.approx(two_workers, abs=1e-6)
    assert len(set(one_worker.values())) > 1  # real scores, not a constant
