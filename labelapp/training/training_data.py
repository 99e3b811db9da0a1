"""The labeled data a training reads: human labels per split, and stream-accepted images
with their model output as the label (`train_on_auto_labels`)."""

import numpy as np

from labelapp.images.models import Image, Status
from labelapp.labeling.models import Annotation
from labelapp.projects.models import TaskType

from . import engine
from .inference import model_inputs
from .models import Prediction
from .targets import LABEL_TARGETS

LABELED_STATUSES = [Status.LABELED]


def labeled_count(*, project) -> int:
    """Labeled images in every split: a new val or test label is a new label too."""
    return Image.objects.filter(project=project, status__in=LABELED_STATUSES).count()


def training_data(
    project, split: str, class_index: dict[int, int], size: int, model=None, only: list[int] | None = None
):
    """(inputs, targets, image ids) of the labeled images of a split, or of `only` those."""
    annotations = Annotation.objects.filter(project=project, image__split=split, image__status__in=LABELED_STATUSES)
    if only is not None:
        annotations = annotations.filter(image_id__in=only)
    annotations = list(annotations.select_related("image").order_by("image_id"))
    images = model_inputs(project, model, [a.image for a in annotations], size=size)
    targets = LABEL_TARGETS[project.task_type](annotations, class_index, size)
    return images, targets, [a.image_id for a in annotations]


def auto_labeled_training_data(
    project, class_index: dict[int, int], size: int, model=None, only: list[int] | None = None
):
    """Stream-accepted images with the model output they were accepted on as the label, for
    `train_on_auto_labels`. Only ever training data: evaluating a model on its own outputs
    would measure nothing. Detection keeps the boxes at or above the project's detection
    threshold (what the model counted); boxes of deleted classes are dropped."""
    latest: dict[int, Prediction] = {}
    predictions = Prediction.objects.filter(image__project=project, image__status=Status.AUTO_LABELED)
    if only is not None:
        predictions = predictions.filter(image_id__in=only)
    for prediction in predictions.select_related("image", "model_version").order_by("image_id", "-id"):
        latest.setdefault(prediction.image_id, prediction)
    predictions = list(latest.values())
    if project.task_type == TaskType.CLASSIFICATION:
        labeled = []
        for prediction in predictions:
            probs = prediction.probs or []
            class_id = prediction.model_version.classes[int(np.argmax(probs))] if probs else None
            if class_id in class_index:
                labeled.append((prediction, class_index[class_id]))
        images = model_inputs(project, model, [p.image for p, _ in labeled], size=size)
        return images, np.array([label for _, label in labeled], dtype=np.int64), [p.image_id for p, _ in labeled]
    threshold = project.config["detection_threshold"]
    images = model_inputs(project, model, [p.image for p in predictions], size=size)
    targets = [
        engine.detection_target(
            [b for b in p.boxes or [] if b.get("score", 1.0) >= threshold and b["label_class"] in class_index],
            class_index,
            engine.letterbox_for(p.image, size),
        )
        for p in predictions
    ]
    return images, targets, [p.image_id for p in predictions]
