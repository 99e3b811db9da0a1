"""Suspected label errors recomputed after a retrain, on a real trained model (labelapp.review.quality)."""

import io

import numpy as np
import pytest
from PIL import Image as PilImage

from labelapp.credits.services import credit_grant
from labelapp.images.services import images_ingest
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.review.models import LabelQuality
from labelapp.review.quality import label_quality_recompute
from labelapp.training.events import model_version_activated
from labelapp.training.runs import training_request, training_run

pytestmark = pytest.mark.django_db


def _colour_png(seed: int, red: bool) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.array([200, 40, 40] if red else [40, 40, 200], dtype=np.int16)
    array = np.clip(base + rng.integers(-30, 30, (48, 48, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_a_flipped_label_is_the_top_suspect_after_a_retrain(
    classification_project, users, django_capture_on_commit_callbacks
):
    project = classification_project
    project.settings = {
        **project.settings,
        "max_epochs": 2,
        "auto_retrain_every": 0,
        "val_fraction": 0,
        "test_fraction": 0,
    }
    project.save()
    cat, dog = project.label_classes.order_by("id")
    images_ingest(
        project=project, files=[(f"c{i}.png", _colour_png(i, red=i % 2 == 0), "image/png") for i in range(16)]
    )
    credit_grant(project=project, amount=16)
    flipped = None
    for _ in range(16):
        item = image_reserve_next(project=project, user=users["annotator"])
        red = int(item.image.original_name[1:-4]) % 2 == 0
        label = cat if red else dog
        if red and flipped is None:
            flipped, label = item.image, dog  # a hotkey slip: a red image labeled dog
        annotation_submit(project=project, user=users["annotator"], image_id=item.image.pk, label_class=label.pk)

    activated = []
    model_version_activated.connect(
        lambda sender, version_id, **kw: activated.append(version_id), weak=False, dispatch_uid="t"
    )
    try:
        run = training_request(project=project, user=users["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            version = training_run(run_id=run.pk)
    finally:
        model_version_activated.disconnect(dispatch_uid="t")
    assert version is not None
    assert activated == [version.pk], "training sends the event the review app listens to"

    assert label_quality_recompute(version_id=version.pk) == 16
    ranked = list(LabelQuality.objects.filter(project=project).order_by("-suspicion"))
    assert ranked[0].image_id == flipped.pk
    assert "nearest neighbours are `cat`" in ranked[0].reason
    assert ranked[0].suspicion >= project.config["suspect_threshold"]
    # Idempotent, and a review state survives the recompute.
    LabelQuality.objects.filter(image=flipped).update(review_state="approved")
    assert label_quality_recompute(version_id=version.pk) == 16
    assert LabelQuality.objects.filter(project=project).count() == 16
    assert LabelQuality.objects.get(image=flipped).review_state == "approved"


def _scene_png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    PilImage.fromarray(image).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_detection_suspects_of_train_images_come_from_detectors_that_did_not_train_on_them(
    detection_project, users, caplog, fresh_model_cache
):
    """Issue 13: out-of-fold detector output for the train split, the active model for the rest."""
    from labelapp.images.models import Image, Split, Status
    from labelapp.labeling.models import Annotation, AnnotationKind
    from labelapp.learning.scenes import make_detection_set, porch_scene
    from labelapp.review import quality

    project = detection_project
    project.settings = {**project.settings, "max_epochs": 1, "model": "centernet_detector"}
    project.save(update_fields=["settings"])
    class_ids = list(project.label_classes.order_by("id").values_list("pk", flat=True))
    pictures, targets = make_detection_set(porch_scene, quality.MIN_CROSS_FIT_IMAGES + 4, seed=5, size=96)
    images = images_ingest(
        project=project, files=[(f"s{i}.png", _scene_png(p), "image/png") for i, p in enumerate(pictures)]
    )
    for n, (image, target) in enumerate(zip(images.created, targets)):
        Annotation.objects.create(
            project=project,
            image=image,
            kind=AnnotationKind.IMPORTED,
            is_free=True,
            boxes=[
                {"x": float(x1), "y": float(y1), "w": float(x2 - x1), "h": float(y2 - y1), "label_class": class_ids[c]}
                for (x1, y1, x2, y2), c in zip(target["boxes"], target["labels"])
            ],
        )
        split = Split.VAL if n < 2 else Split.TRAIN
        Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=split)
    version = training_run(run_id=training_request(project=project, user=users["admin"]).pk)

    with caplog.at_level("INFO", logger="labelapp.review.quality"):
        assert label_quality_recompute(version_id=version.pk) == len(pictures)
    assert f"cross-fitted {len(pictures) - 2} train images in 2 folds" in caplog.text
    assert LabelQuality.objects.filter(project=project).count() == len(pictures)


def test_a_worker_shutdown_stops_label_scoring_at_its_next_batch_like_a_training():
    """Cross-fitting trains two detectors inside the label-scoring task: a warm worker
    shutdown must not wait for them (issue 14 item 1)."""
    from labelapp.core.liveness import STOP_ON_SHUTDOWN
    from labelapp.review.tasks import label_quality_recompute_task
    from labelapp.training.tasks import train_model_task

    assert {label_quality_recompute_task.name, train_model_task.name} <= STOP_ON_SHUTDOWN
