import logging

from django.db.models import Count

from labelapp.projects.models import TaskType

from . import engine
from .models import ModelVersion, Prediction

logger = logging.getLogger(__name__)


def prediction_for_labeling(*, image) -> dict | None:
    """The pre-annotation shown to the annotator: the prediction of the model version that
    scored the image (else the active one), in the API's shape."""
    prediction = (
        Prediction.objects.filter(image=image, model_version_id=image.scored_by_id)
        .select_related("model_version")
        .first()
        if image.scored_by_id
        else None
    )
    if prediction is None:
        return _head_prediction(image) if image.scored_by_id else None
    version: ModelVersion = prediction.model_version
    probs = None
    if prediction.probs is not None:
        probs = {str(class_id): p for class_id, p in zip(version.classes, prediction.probs)}
    return {"model_version": version.number, "probs": probs, "boxes": prediction.boxes, "score": prediction.score}


def _head_prediction(image) -> dict | None:
    """A head on cached vectors stores no pool predictions (see rescore_chunk): its output for
    one image is computed here, in about a millisecond once the model is loaded."""
    from . import embeddings

    version = image.scored_by
    if version.model_name not in engine.VECTOR_MODELS:
        return None  # checked by name: loading a model means importing torch in the web process
    try:
        model = engine.load_version(version)
    except (OSError, ValueError) as exc:  # a checkpoint file gone from storage: no pre-annotation
        logger.warning("model version %s cannot be loaded: %s", version.pk, exc)
        return None
    if not engine.reads_vectors(model) or embeddings.backbone() is None:
        return None
    probs = model.predict_vectors(embeddings.vectors_by_ids(image.project, [image.pk])).probs[0]
    return {
        "model_version": version.number,
        "probs": {str(c): round(float(p), 6) for c, p in zip(version.classes, probs)},
        "boxes": None,
        "score": image.priority,
    }


def project_health(*, project) -> dict:
    """Class balance, box positions and sizes, brightness and recommendations over the
    human, imported and verified labels (learning.health does the statistics)."""
    import numpy as np

    from labelapp.labeling.models import Annotation
    from labelapp.learning.health import health_stats

    from . import engine

    classes = list(project.label_classes.order_by("id"))
    index = {c.pk: i for i, c in enumerate(classes)}
    annotations = list(Annotation.objects.filter(project=project).select_related("image").order_by("image_id"))
    if not classes:
        return {
            "task": project.task_type,
            "num_images": 0,
            "class_names": [],
            "class_counts": [],
            "recommendations": [],
        }
    images = [a.image for a in annotations]
    prepared = engine.prepared_images(project, images, size=engine.input_size_for(project))
    brightness = (
        prepared.reshape(len(prepared), -1).mean(axis=1) if len(prepared) else None
    )  # 0–255, as health_stats expects
    if project.task_type == TaskType.DETECTION:
        labels = [
            {
                "boxes": np.array(
                    [[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]] for b in a.boxes], dtype=np.float32
                ).reshape(-1, 4),
                "labels": np.array([index[b["label_class"]] for b in a.boxes], dtype=np.int64),
            }
            for a in annotations
        ]
        sizes = [(image.width, image.height) for image in images]
    else:
        labels = [index[a.label_class_id] for a in annotations]
        sizes = None
    stats = health_stats(
        labels,
        sizes,
        len(classes),
        task=project.task_type,
        brightness=brightness,
        class_names=[c.name for c in classes],
    )
    stats["class_ids"] = [c.pk for c in classes]
    stats["near_duplicates"] = near_duplicates_summary(project=project)
    if stats["near_duplicates"]["images"]:
        stats["recommendations"].append(
            {
                "code": "near_duplicates",
                "class": None,
                "class_name": None,
                "severity": "low",
                "message": (
                    f"{stats['near_duplicates']['images']} images are near-duplicates of earlier ones "
                    "(embedding similarity ≥ 0.95): the queue never hands out two of them in one batch"
                ),
            }
        )
    return engine.jsonable(stats)


def near_duplicates_summary(*, project, examples: int = 10) -> dict:
    """How many images are near-duplicates of an earlier one, and the closest pairs."""
    from labelapp.images.models import Image

    flagged = Image.objects.filter(project=project, near_duplicate_of__isnull=False)
    pairs = flagged.order_by("-near_duplicate_similarity", "id").values_list(
        "id", "near_duplicate_of_id", "near_duplicate_similarity"
    )
    return {
        "images": flagged.count(),
        "examples": [{"image": a, "duplicate_of": b, "similarity": sim} for a, b, sim in pairs[:examples]],
    }


def upload_duplicates_report(*, project, image_ids: list[int]) -> dict:
    """What the near-duplicate check (run by the worker after upload) found for these images:
    each flagged one with the earlier image it looks like, and the ones not checked yet."""
    from labelapp.images.models import Image
    from labelapp.learning.duplicates import NEAR_DUPLICATE_SIMILARITY

    from . import embeddings

    rows = list(
        Image.objects.filter(project=project, pk__in=image_ids).select_related("near_duplicate_of").order_by("id")
    )
    found = [
        {
            "image": image.pk,
            "name": image.original_name,
            "duplicate_of": image.near_duplicate_of_id,
            "duplicate_of_name": image.near_duplicate_of.original_name,
            "similarity": image.near_duplicate_similarity,
        }
        for image in rows
        if image.near_duplicate_of_id is not None
    ]
    return {
        "available": embeddings.backbone() is not None,
        "threshold": NEAR_DUPLICATE_SIMILARITY,
        "checked": sum(image.duplicates_checked_at is not None for image in rows),
        "pending": [image.pk for image in rows if image.duplicates_checked_at is None],
        "near_duplicates": found,
    }


def engine_status(*, project) -> dict:
    """Which models this project trains, whether the pretrained backbone is on (and if not,
    why), and what the unbiased evaluation sample holds and has cost."""
    from labelapp.images.models import Image, Split, Status
    from labelapp.labeling.models import Reservation, ReservationState
    from labelapp.labeling.services import EVALUATION_REASON

    from . import embeddings

    config = project.config
    counts = dict.fromkeys((Split.VAL, Split.TEST), 0)
    for row in (
        Image.objects.filter(project=project, status=Status.LABELED, split__in=list(counts))
        .values("split")
        .annotate(n=Count("id"))
    ):
        counts[row["split"]] = row["n"]
    active = (
        ModelVersion.objects.filter(project=project, is_active=True).values("number", "model_name", "metrics").first()
    )
    choice = (active["metrics"] or {}).get("model_choice") if active else None
    return {
        "backbone": embeddings.backbone_status(),
        "model": config.get("model") or engine.default_model(project.task_type),
        "finetune": config["finetune"],
        "classifier_choice": {**choice, "model_version": active["number"]} if choice else None,
        "evaluation": {
            "share": config["evaluation_share"],
            "val_images": counts[Split.VAL],
            "test_images": counts[Split.TEST],
            "credits_spent": Reservation.objects.filter(
                project=project, reason=EVALUATION_REASON, state=ReservationState.SUBMITTED
            ).count(),
        },
    }
