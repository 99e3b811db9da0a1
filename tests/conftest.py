import io

import numpy as np
import pytest
from PIL import Image as PilImage
from rest_framework.test import APIClient

from labelapp.accounts.models import User
from labelapp.credits.services import credit_grant
from labelapp.images.services import images_ingest
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create


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
    return {name: make_user(name) for name in ("admin", "annotator", "verifier", "outsider_admin", "nobody")}


@pytest.fixture
def detection_project(users):
    project = project_create(name="Porch", task_type="detection", created_by=users["admin"],
                             class_names=["brown_box", "white_envelope", "yellow_box"])
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["verifier"], role=Role.VERIFIER)
    project_create(name="Elsewhere", task_type="detection", created_by=users["outsider_admin"], class_names=["x"])
    return project


@pytest.fixture
def classification_project(users):
    project = project_create(name="Cats", task_type="classification", created_by=users["admin"], class_names=["cat", "dog"])
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    return project


@pytest.fixture
def pool(detection_project):
    """Five unlabeled images with priorities 0.5, 0.4, ... and 10 credits."""
    result = images_ingest(project=detection_project, files=[(f"img{i}.jpg", jpeg_bytes(i), "image/jpeg") for i in range(5)])
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
