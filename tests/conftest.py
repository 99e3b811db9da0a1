import io
import threading
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import connections
from PIL import Image as PilImage
from PIL import ImageDraw
from rest_framework.test import APIClient

from labelapp.accounts.models import User
from labelapp.credits.services import credit_grant
from labelapp.images.services import images_ingest
from labelapp.learning.models import ClassificationOutput, Detections
from labelapp.production.collection import prediction_make
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create
from labelapp.training import embeddings, engine
from labelapp.training.models import ModelVersion


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (64, 48), fmt: str = "JPEG") -> bytes:
    """A small, unique, valid image."""
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_broker(settings, monkeypatch):
    """Unit tests do not need a worker: tasks queued by services run nowhere unless a test
    starts a worker. Celery's memory broker keeps them in-process and drops them."""
    settings.CELERY_BROKER_URL = "memory://"


@pytest.fixture
def make_user(db):
    def make(username: str) -> User:
        return User.objects.create_user(username=username, password="pw-" + username)

    return make


@pytest.fixture
def users(make_user):
    return {
        name: make_user(name) for name in ("admin", "annotator", "verifier", "reviewer", "outsider_admin", "nobody")
    }


# Queue-order tests need every hand-out to be the top of the queue: the random evaluation
# picks (tests/training/test_engine.py) are off in these fixtures.
NO_EVALUATION_PICKS = {"evaluation_share": 0}


@pytest.fixture
def detection_project(users):
    project = project_create(
        name="Porch",
        task_type="detection",
        created_by=users["admin"],
        class_names=["brown_box", "white_envelope", "yellow_box"],
        settings=NO_EVALUATION_PICKS,
    )
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["verifier"], role=Role.VERIFIER)
    project_create(name="Elsewhere", task_type="detection", created_by=users["outsider_admin"], class_names=["x"])
    return project


@pytest.fixture
def classification_project(users):
    project = project_create(
        name="Cats",
        task_type="classification",
        created_by=users["admin"],
        class_names=["cat", "dog"],
        settings=NO_EVALUATION_PICKS,
    )
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    return project


@pytest.fixture
def pool(detection_project):
    """Five unlabeled images with priorities 0.5, 0.4, ... and 10 credits."""
    result = images_ingest(
        project=detection_project, files=[(f"img{i}.jpg", jpeg_bytes(i), "image/jpeg") for i in range(5)]
    )
    for index, image in enumerate(result.created):
        image.priority = 0.5 - index * 0.1
        image.save(update_fields=["priority"])
    credit_grant(project=detection_project, amount=10, note="test")
    return result.created


@pytest.fixture
def client_for(users):
    def make(username: str | None) -> APIClient:
        client = APIClient(HTTP_HOST="localhost")
        if username:
            client.force_authenticate(users[username])
        return client

    return make


class WorkerProcess:
    """A real `celery worker` process on an embedded SQLite broker, sharing the test database
    and media folder through the environment."""

    def __init__(self, broker_url: str, env: dict, log_path):
        import subprocess
        import sys

        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - the worker writes to it until stop() closes it
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "labelapp.celery",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                env.pop("WORKER_CONCURRENCY", "2"),
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{id(self)}@%h",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash would."""
        import os
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Teardown: the test is over, so no graceful drain (a warm shutdown waits ~20 s)."""
        self.kill()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_workers(tmp_path, settings, transactional_db):
    """Start real worker processes: `start()` returns a WorkerProcess; the test process sends
    tasks through the same embedded broker. Everything is stopped at teardown."""
    import os

    from django.db import connection

    from labelapp.celery import app

    broker_url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    previous = app.conf.broker_url
    app.conf.broker_url = broker_url
    app._pool = None
    app.amqp._producer_pool = None
    settings.CELERY_BROKER_URL = broker_url
    # Declare the queue before any worker starts: kombu's SQLAlchemy transport creates it with a
    # check-then-insert, and a worker declaring it while the test publishes failed CI once
    # (UNIQUE constraint failed: kombu_queue.name).
    with app.connection_for_write() as conn:
        app.amqp.queues[app.conf.task_default_queue](conn.default_channel).declare()
    started: list[WorkerProcess] = []
    database = connection.settings_dict["NAME"]

    def start(concurrency: int = 2, **extra_env) -> WorkerProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "labelapp.settings.test",
            "DATABASE_URL": f"sqlite:///{database}",
            "CELERY_BROKER_URL": broker_url,
            "LABELAPP_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "LABELAPP_VAR_DIR": str(tmp_path / "var"),
            "WORKER_CONCURRENCY": str(concurrency),
            **{k: str(v) for k, v in extra_env.items()},
        }
        worker = WorkerProcess(broker_url, env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    app.conf.broker_url = previous
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(condition, *, timeout: float = 120.0, interval: float = 0.2, workers=()):
    """Poll until condition() is truthy. The timeout only bounds a hung test; it is not a
    performance assertion."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    logs = "\n".join(w.output()[-3000:] for w in workers)
    raise AssertionError(f"condition not met within {timeout}s\n{logs}")


def assert_priorities_are_scores(project, version) -> None:
    """After a rescore: the planned batch sits above every score (at most one batch, each pick
    with its reason), and every other pool image's priority is one of the new version's
    scores (batch diversity may permute them within the top of the queue, never invent them)."""
    from collections import Counter

    from labelapp.images.models import Image, Status
    from labelapp.training.models import Prediction
    from labelapp.training.planning import PLANNED_PRIORITY, batch_size

    pool = Image.objects.filter(project=project, status=Status.UNLABELED)
    planned = list(pool.filter(priority__gte=PLANNED_PRIORITY))
    assert len(planned) <= batch_size(project)
    assert all(image.score_reason.startswith("plan:") and image.pick_reason for image in planned)
    priorities = Counter(
        round(p, 9) for p in pool.filter(priority__lt=PLANNED_PRIORITY).values_list("priority", flat=True)
    )
    scores = Counter(
        round(s, 9) for s in Prediction.objects.filter(model_version=version).values_list("score", flat=True)
    )
    assert priorities - scores == Counter()


# --- drawn scenes: near-duplicate checks need pictures a backbone tells apart ----------


def scene(background, shapes) -> PilImage.Image:
    picture = PilImage.new("RGB", (120, 90), background)
    draw = ImageDraw.Draw(picture)
    for kind, box, colour in shapes:
        (draw.ellipse if kind == "ellipse" else draw.rectangle)(box, fill=colour)
    return picture


def jpeg(picture: PilImage.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()


PORCH = scene(
    (120, 160, 200), [("ellipse", (20, 20, 60, 70), (200, 60, 40)), ("rect", (60, 10, 110, 40), (30, 120, 30))]
)
BEACH = scene(
    (230, 210, 150), [("rect", (0, 60, 120, 90), (40, 90, 200)), ("ellipse", (80, 5, 110, 35), (250, 220, 40))]
)


# --- models for the production loop: real, untrained, or scripted outputs ---------------


@pytest.fixture(autouse=True)
def fresh_model_cache():
    """engine caches loaded models by version pk, and pks repeat across test databases: every
    test starts with an empty cache (a model loaded by an earlier test once answered for a
    version of another project)."""
    engine._LOADED.clear()
    yield
    engine._LOADED.clear()


def activate_model(project, number: int = 1) -> ModelVersion:
    """An active ModelVersion holding a real, untrained built-in model (no training: fast)."""
    import torch

    from labelapp.learning.models import create_model

    classes = list(project.label_classes.order_by("id"))
    name, size = engine.default_model(project.task_type), engine.input_size_for(project)
    options = {"detection_threshold": project.config["detection_threshold"]} if project.task_type == "detection" else {}
    model = create_model(name, classes=[c.name for c in classes], input_size=size, **options)
    buffer = io.BytesIO()
    torch.save(model.checkpoint(), buffer)
    ModelVersion.objects.filter(project=project, is_active=True).update(is_active=False)
    version = ModelVersion(
        project=project,
        number=number,
        model_name=name,
        classes=[c.pk for c in classes],
        input_size=size,
        is_active=True,
    )
    version.checkpoint.save(f"project-{project.pk}/v{number}.pt", ContentFile(buffer.getvalue()), save=False)
    version.save()
    return version


class ScriptedModel:
    """Stands in for a loaded model: returns the outputs `script(i)` for the i-th call."""

    def __init__(self, script):
        self.script, self.calls = script, 0

    def predict(self, images, **kwargs):
        assert images.shape[0] == 1
        output = self.script(self.calls)
        self.calls += 1
        return output


def script_model(version, script) -> ScriptedModel:
    model = ScriptedModel(script)
    engine._LOADED[version.pk] = model
    return model


def class_probs(p_first: float):
    return lambda i: ClassificationOutput(probs=np.array([[p_first, 1 - p_first]], dtype=np.float32))


def detections(scores, labels=None, num_classes: int = 3):
    """A detector's output for one image: boxes of the given scores (model-input pixels)."""
    k = len(scores)
    boxes = np.array([[10 + 8 * i, 10, 18 + 8 * i, 20] for i in range(k)], dtype=np.float32).reshape(k, 4)
    labels = np.array(labels if labels is not None else [0] * k, dtype=np.int64)
    order = np.argsort(-np.array(scores, dtype=np.float32), kind="stable")
    return [Detections(boxes[order], np.array(scores, dtype=np.float32)[order], labels[order], num_classes, 0.3)]


def upload(seed: int, name: str | None = None):
    return (name or f"p{seed}.jpg", jpeg_bytes(seed), "image/jpeg")


def set_settings(project, **values):
    project.settings = {**project.settings, **values}
    project.save(update_fields=["settings"])


@pytest.fixture
def verification_items(detection_project):
    """Three pending verification items of version 1, each predicting 2 brown boxes."""
    version = activate_model(detection_project)
    script_model(version, lambda i: detections([0.9, 0.8, 0.1], labels=[0, 0, 1]))
    set_settings(detection_project, collection_rules=[{"kind": "verification_sample", "n": 1}])
    results = [prediction_make(project=detection_project, upload=upload(200 + i)) for i in range(3)]
    return [r.verification for r in results]


@pytest.fixture
def fresh_engine(fresh_model_cache, settings):
    """The backbone and loaded models are cached per process; settings change per test."""
    embeddings.reset()
    yield
    embeddings.reset()


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """A media folder of this test's own, so 'nothing stored' can be checked file by file."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def race(workers: int, target) -> list:
    """Run `target(i)` in `workers` threads released at the same instant; collect results."""
    barrier = threading.Barrier(workers)
    results = [None] * workers

    def run(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - recorded and asserted by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def small_porch_project(count=70, free=40, epochs=3):
    """The demo's porch project, small: `count` drawn images, `free` of them labeled."""
    from labelapp.demo.data import demo_project, demo_users
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    users = demo_users()
    return demo_project(
        name="Porch packages",
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=count,
        free_labels=free,
        credits=20,
        seed=1,
        users=users,
        settings={"max_epochs": epochs, "auto_retrain_every": 0, **NO_EVALUATION_PICKS},
    ), users
