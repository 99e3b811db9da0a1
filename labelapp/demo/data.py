"""Demo data, generated (no downloads): the porch-packages detection project and the pill
counter, with the true boxes of every image kept aside for simulations and benchmarks."""

import io
import logging

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from PIL import Image as PilImage

from labelapp.credits.services import credit_grant
from labelapp.images.models import KeptTruth, Source
from labelapp.images.services import image_store, storage_cleanup
from labelapp.images.validation import validate_image_bytes
from labelapp.labeling.models import AnnotationKind
from labelapp.labeling.services import image_label
from labelapp.projects.models import Membership, Project, Role, TaskType
from labelapp.projects.services import project_create

logger = logging.getLogger(__name__)

DEMO_USERS = {
    "admin": ("labelapp-admin", Role.ADMIN),
    "annotator": ("labelapp-annotator", Role.ANNOTATOR),
    "verifier": ("labelapp-verifier", Role.VERIFIER),
}
PORCH = "Porch packages"
PILLS = "Pill count"


def demo_users() -> dict:
    users = {}
    User = get_user_model()
    for username, (password, _) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.is_staff = username == "admin"
            user.is_superuser = username == "admin"
            user.save()
        users[username] = user
    return users


def _jpeg(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format="JPEG", quality=92)
    return out.getvalue()


def demo_project(
    *,
    name: str,
    description: str,
    scene,
    class_names: list[str],
    count: int,
    free_labels: int,
    credits: int,
    seed: int,
    users: dict,
    settings: dict | None = None,
    progress=None,
) -> Project:
    """Create one demo detection project: `count` scenes, the first `free_labels` imported."""
    rng = np.random.default_rng(seed)
    written: list[str] = []
    try:
        with transaction.atomic():
            project = project_create(
                name=name,
                description=description,
                task_type=TaskType.DETECTION,
                created_by=users["admin"],
                class_names=class_names,
                settings=settings or {},
            )
            for username in ("annotator", "verifier"):
                Membership.objects.create(project=project, user=users[username], role=DEMO_USERS[username][1])
            class_ids = [c.pk for c in project.label_classes.order_by("order")]
            for index in range(count):
                array, boxes, labels = scene(rng)
                item = validate_image_bytes(f"{name.split()[0].lower()}-{index:05d}.jpg", _jpeg(array))
                free = index < free_labels
                image, _ = image_store(
                    project=project, item=item, written=written, source=Source.IMPORT if free else Source.UPLOAD
                )
                truth = [
                    {
                        "x": float(x1),
                        "y": float(y1),
                        "w": float(x2 - x1),
                        "h": float(y2 - y1),
                        "label_class": class_ids[int(label)],
                    }
                    for (x1, y1, x2, y2), label in zip(boxes, labels)
                ]
                KeptTruth.objects.create(image=image, boxes=truth)
                if free:
                    # Not announced: the demo command preprocesses and trains itself (or not, --no-train).
                    image_label(project=project, image=image, kind=AnnotationKind.IMPORTED, boxes=truth, announce=False)
                if progress and (index + 1) % 250 == 0:
                    progress(f"{name}: {index + 1}/{count} images")
            credit_grant(project=project, amount=credits, actor=users["admin"], note="demo budget")
    except Exception:
        storage_cleanup(written)
        raise
    return project


def load_demo(*, progress=None, porch_images: int = 2000, pill_images: int = 300) -> list[Project]:
    from labelapp.learning.scenes import PILL_CLASSES, PORCH_CLASSES, pill_scene, porch_scene

    users = demo_users()
    created = []
    if not Project.objects.filter(name=PORCH).exists():
        created.append(
            demo_project(
                name=PORCH,
                scene=porch_scene,
                class_names=PORCH_CLASSES,
                count=porch_images,
                free_labels=100,
                credits=300,
                seed=2026,
                users=users,
                progress=progress,
                description="Doorbell-camera scenes: find brown boxes, white envelopes and yellow boxes, day and night.",
            )
        )
    if not Project.objects.filter(name=PILLS).exists():
        created.append(
            demo_project(
                name=PILLS,
                scene=pill_scene,
                class_names=PILL_CLASSES,
                count=pill_images,
                free_labels=100,
                credits=100,
                seed=7,
                users=users,
                progress=progress,
                description="Count the pills on a tray; end users confirm the count.",
                settings={"collection_rules": [{"kind": "verification_sample", "n": 1, "per_day": 500}]},
            )
        )
    return created


def demo_production_traffic(*, project_id: int, images: int, seed: int = 99) -> int:
    """Predict `images` new pill scenes through the production API's service, as an end
    user's app would; the project's verification_sample rule queues them for verifiers."""
    from labelapp.learning.scenes import pill_scene
    from labelapp.production.collection import prediction_make

    project = Project.objects.get(pk=project_id)
    rng = np.random.default_rng(seed)
    kept = 0
    for index in range(images):
        array, _, _ = pill_scene(rng)
        result = prediction_make(project=project, upload=(f"tray-{index:04d}.jpg", _jpeg(array), "image/jpeg"))
        kept += int(result.kept)
    return kept
