"""Recompute every labeled image's suspicion under the active model (after each retrain).

Classification: out-of-fold probabilities from a logistic regression on embeddings (the
project's backbone embeddings, else the active from-scratch model's own features), so no
label vouches for itself, plus kNN disagreement on the same vectors.
Detection: for images of the train split, the output of detectors trained on the other half of
it (2-fold cross-fitting: the active detector reproduces the boxes it was trained on, mistakes
included); for validation and test images, which no model trained on, the active detector's.
Cross-fitting costs about one more training per recompute; with fewer than
MIN_CROSS_FIT_IMAGES train images the fold models would learn too little to judge anything,
and every image is scored by the active detector."""

import logging

import numpy as np
from django.utils import timezone

from labelapp.core import liveness
from labelapp.images.models import Image, Split, Status
from labelapp.labeling.models import Annotation
from labelapp.projects.models import TaskType
from labelapp.training import embeddings, engine
from labelapp.training.inference import model_inputs, model_outputs
from labelapp.training.models import ModelVersion
from labelapp.training.runs import batch_size_for
from labelapp.training.targets import LABEL_TARGETS

from .models import LabelQuality

logger = logging.getLogger(__name__)

#: Train-split images below which detection suspects come from the active model alone.
MIN_CROSS_FIT_IMAGES = 20


def _vectors(project, images: list[Image], model, size: int) -> np.ndarray:
    """The backbone embeddings (computed once at ingest) when the project has a backbone; the
    active from-scratch model's pooled features otherwise."""
    vectors = embeddings.embeddings_for(project, images)
    if vectors is not None:
        return np.asarray(vectors)
    return model.embed(engine.prepared_images(project, images, size=size))


def _detections(project, version, model, images: list[Image], targets: list[dict], class_names: list[str]):
    """Per image {boxes, labels, scores}: out of fold for the train split (see the module
    docstring), the active model's for the rest. A worker shutdown stops the cross-fitting at
    its next batch (liveness.JobStopped)."""
    inputs = model_inputs(project, model, images, size=version.input_size)
    outputs = [{"boxes": d.boxes, "labels": d.labels, "scores": d.scores} for d in model_outputs(model, inputs)]
    trained_on = [i for i, image in enumerate(images) if image.split == Split.TRAIN]
    if len(trained_on) < MIN_CROSS_FIT_IMAGES:
        return outputs
    fold_targets = [targets[i] for i in trained_on]
    stop = liveness.StopRequest()

    def between_batches():
        if stop.is_set():
            raise liveness.JobStopped(stop.reason)

    with liveness.stop_on_sigterm(stop):
        cross_fitted = _cross_fit(project, version, inputs, trained_on, fold_targets, class_names, between_batches)
    for i, found in zip(trained_on, cross_fitted):
        outputs[i] = found
    logger.info("project %s: cross-fitted %d train images in 2 folds", project.pk, len(trained_on))
    return outputs


def _cross_fit(project, version, inputs, trained_on: list[int], fold_targets, class_names, between_batches):
    from labelapp.learning import label_quality
    from labelapp.learning.models import create_model
    from labelapp.learning.training import TrainConfig

    return label_quality.out_of_fold_detections(
        lambda: create_model(
            version.model_name,
            classes=class_names,
            input_size=version.input_size,
            detection_threshold=project.config["detection_threshold"],
        ),
        inputs[trained_on],
        fold_targets,
        config=TrainConfig(
            seed=version.number,
            max_epochs=project.config["max_epochs"],
            patience=5,
            batch_size=batch_size_for(len(trained_on) // 2),
        ),
        seed=version.number,
        between_batches=between_batches,
    )


def label_quality_recompute(*, version_id: int) -> int:
    """Score the labels of the version's project; returns how many were scored. Idempotent:
    each image's row is upserted (its review state is kept). A version that is no longer
    active scores nothing: a newer one will."""
    from labelapp.learning import label_quality

    version = ModelVersion.objects.select_related("project").filter(pk=version_id, is_active=True).first()
    if version is None:
        logger.info("model version %s is not active; no label scoring", version_id)
        return 0
    project = version.project
    index = {class_id: i for i, class_id in enumerate(version.classes)}
    names = dict(project.label_classes.values_list("id", "name"))
    class_names = [names.get(class_id, f"class {class_id}") for class_id in version.classes]
    annotations = [
        a
        for a in Annotation.objects.filter(project=project, image__status=Status.LABELED)
        .select_related("image")
        .order_by("image_id")
        if (
            a.label_class_id in index
            if project.task_type == TaskType.CLASSIFICATION
            else all(b["label_class"] in index for b in a.boxes)
        )
    ]
    if len(annotations) < 2:
        return 0
    images = [a.image for a in annotations]
    model = engine.load_version(version)
    targets = LABEL_TARGETS[project.task_type](annotations, index, version.input_size)
    if project.task_type == TaskType.CLASSIFICATION:
        vectors = _vectors(project, images, model, version.input_size)
        probs = label_quality.out_of_fold_probs(vectors, targets, len(class_names))
        suspects = label_quality.classification_suspects(targets, probs, vectors, class_names)
    else:
        try:
            detections = _detections(project, version, model, images, targets, class_names)
        except liveness.JobStopped as stopped:
            logger.info(
                "label scoring of model version %s stopped (%s); the next activation scores", version_id, stopped.reason
            )
            return 0
        suspects = label_quality.detection_suspects(
            targets,
            detections,
            class_names,
            confident=project.config["detection_threshold"],
        )
    now = timezone.now()
    rows = [
        LabelQuality(
            project=project,
            image_id=image.pk,
            suspicion=s.score,
            reason=s.reason[:300],
            model_disagrees=s.model_disagrees,
            model_version=version,
            scored_at=now,
        )
        for image, s in zip(images, suspects)
    ]
    LabelQuality.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["image"],
        update_fields=["suspicion", "reason", "model_disagrees", "model_version", "scored_at"],
    )
    return len(rows)
