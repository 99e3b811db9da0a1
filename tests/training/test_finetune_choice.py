"""Fine-tuning chosen by validation: tried only above the label floors, judged against the
embedding head on the random validation sample, both figures stored and shown, and a
fine-tuned version rescoring the pool from pixels."""

import io

import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.files.base import ContentFile

from labelapp.core.jobs import JobStatus
from labelapp.images.models import Image, Split, Status
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.learning.backbone import default_weights_path
from labelapp.learning.model_choice import FINETUNE_MIN_TRAIN_PER_CLASS, FINETUNE_MIN_VAL_IMAGES
from labelapp.learning.models import create_model
from labelapp.learning.training import TrainConfig
from labelapp.projects.services import project_update_settings
from labelapp.training import embeddings, engine, evaluation, rescoring, runs
from labelapp.training.models import ModelVersion, Prediction, RescoreJob
from labelapp.training.planning import plan_next_batch
from labelapp.training.selectors import prediction_for_labeling
from tests.training.conftest import BLUE, RED, ingest

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(default_weights_path() is None, reason="backbone weights package not installed"),
    pytest.mark.usefixtures("fresh_engine"),
]


def _labeled_project(project, *, train_per_class: int, val: int, pool: int = 6):
    """Red is cat, blue is dog: `train_per_class` of each in train, `val` in val, `pool` unlabeled."""
    cat, dog = (c.pk for c in project.label_classes.order_by("id"))
    total = 2 * train_per_class + val + pool
    images = ingest(project, [(seed, RED if seed % 2 else BLUE) for seed in range(total)])
    truth = {image.pk: cat if int(image.original_name[1:-4]) % 2 else dog for image in images}
    for position, image in enumerate(images[: total - pool]):
        split = Split.TRAIN if position < 2 * train_per_class else Split.VAL
        Annotation.objects.create(
            project=project, image=image, label_class_id=truth[image.pk], kind=AnnotationKind.IMPORTED, is_free=True
        )
        Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=split)
    return truth


def _train(project, user):
    run = runs.training_request(project=project, user=user)
    return ModelVersion.objects.get(pk=runs.training_run(run_id=run.pk).pk)


def test_with_enough_labels_a_fine_tune_is_judged_on_validation_and_both_figures_are_stored(
    classification_project, users, client_for
):
    project = classification_project
    _labeled_project(project, train_per_class=FINETUNE_MIN_TRAIN_PER_CLASS, val=FINETUNE_MIN_VAL_IMAGES)

    version = _train(project, users["admin"])

    choice = version.metrics["model_choice"]
    assert choice["tried"] is True
    assert choice["head"]["images"] == choice["finetuned"]["images"] == FINETUNE_MIN_VAL_IMAGES
    for figure in (choice["head"], choice["finetuned"]):
        low, high = figure["interval"]
        assert 0 <= low <= figure["accuracy"] <= high <= 1
    # The activated model is the one the rule picked from these very figures.
    head_right = round(choice["head"]["accuracy"] * FINETUNE_MIN_VAL_IMAGES)
    tuned_right = round(choice["finetuned"]["accuracy"] * FINETUNE_MIN_VAL_IMAGES)
    assert tuned_right - head_right == choice["wins"] - choice["losses"]
    assert version.model_name == choice["chosen"] and version.is_active
    status = client_for("annotator").get(f"/api/projects/{project.pk}/engine").json()
    assert status["finetune"] == "auto"
    assert status["classifier_choice"]["model_version"] == version.number
    assert status["classifier_choice"]["finetuned"] == choice["finetuned"]


def test_with_few_labels_or_the_setting_off_no_fine_tune_is_attempted(classification_project, users):
    project = classification_project
    _labeled_project(project, train_per_class=FINETUNE_MIN_TRAIN_PER_CLASS - 1, val=FINETUNE_MIN_VAL_IMAGES)

    version = _train(project, users["admin"])

    choice = version.metrics["model_choice"]
    assert (choice["tried"], choice["finetuned"], version.model_name) == (False, None, "embedding_classifier")
    assert "training labels" in choice["reason"]

    project = project_update_settings(project=project, changes={"finetune": "off"})
    choice = _train(project, users["admin"]).metrics["model_choice"]
    assert choice["tried"] is False and "off" in choice["reason"]


def test_a_fine_tune_that_beats_the_head_on_validation_is_the_model_returned(classification_project):
    """The service's branch for a winning fine-tune, with a real but untrained head (uniform
    outputs: right on half the validation sample) against a fine-tune on the labels."""
    project = classification_project
    truth = _labeled_project(project, train_per_class=FINETUNE_MIN_TRAIN_PER_CLASS, val=FINETUNE_MIN_VAL_IMAGES)
    cat, dog = (c.pk for c in project.label_classes.order_by("id"))
    index = {cat: 0, dog: 1}

    def split(name):
        ids = list(
            Image.objects.filter(project=project, split=name, status=Status.LABELED)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        return ids, np.array([index[truth[pk]] for pk in ids])

    (train_ids, train_y), (val_ids, val_y) = split(Split.TRAIN), split(Split.VAL)
    head = create_model("embedding_classifier", classes=["cat", "dog"], input_size=64)
    val_vectors = embeddings.embeddings_for(project, list(Image.objects.filter(pk__in=val_ids).order_by("id")))
    metrics = {
        "val": evaluation.evaluate(
            head, val_vectors, val_y, task="classification", class_names=["cat", "dog"], threshold=0.5
        ),
        "test": {"images": 0},
    }

    model, name, stored = runs._classifier_choice(
        project,
        head,
        metrics,
        class_names=["cat", "dog"],
        size=64,
        seed=1,
        max_epochs=30,
        train=(train_ids, train_y),
        val=(val_ids, val_y, val_vectors),
        test=([], np.zeros(0, int)),
        between_batches=lambda: None,
    )

    choice = stored["model_choice"]
    assert choice["head"]["accuracy"] == 0.5
    assert (name, model.name, choice["chosen"]) == ("mobilenet_finetune",) * 3
    assert choice["wins"] > choice["losses"] and choice["p_value"] < 0.05
    assert stored["val"]["accuracy"] == choice["finetuned"]["accuracy"] > 0.5


def test_a_fine_tuned_version_rescores_the_pool_from_pixels_and_plans_on_its_predictions(classification_project, users):
    project = classification_project
    truth = _labeled_project(project, train_per_class=6, val=4, pool=10)
    cat, dog = (c.pk for c in project.label_classes.order_by("id"))
    labeled = list(Image.objects.filter(project=project, status=Status.LABELED).order_by("id"))
    model = create_model("mobilenet_finetune", classes=["cat", "dog"], input_size=64)
    head = create_model("embedding_classifier", classes=["cat", "dog"], input_size=64)
    head.fit_vectors(
        embeddings.embeddings_for(project, labeled),
        np.array([int(truth[i.pk] == dog) for i in labeled]),
        np.zeros((0, 1280), np.float32),
        np.zeros(0, int),
        config=TrainConfig(),
    )
    weights = head.get_weights()
    model.start_from_head(weights["weight"], weights["bias"], weights["mean"], weights["scale"])
    buffer = io.BytesIO()
    torch.save(model.checkpoint(), buffer)
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        model_name=model.name,
        classes=[cat, dog],
        input_size=64,
        labels_seen=len(labeled),
        metrics={},
        is_active=True,
        checkpoint=ContentFile(buffer.getvalue(), name="v1.pt"),
    )
    pool = list(Image.objects.filter(project=project, status=Status.UNLABELED).order_by("id"))
    job = RescoreJob.objects.create(project=project, model_version=version, chunks_total=1, status=JobStatus.RUNNING)

    assert rescoring._chunk_size(version) == settings.LABELAPP_RESCORE_CHUNK_SIZE
    rescoring.rescore_chunk(job_id=job.pk, image_ids=[image.pk for image in pool])

    # A network that reads pixels stores its predictions: the label page and the planner read them.
    assert Prediction.objects.filter(model_version=version).count() == len(pool)
    for image in Image.objects.filter(pk__in=[i.pk for i in pool]):
        assert image.scored_by_id == version.pk
        probs = prediction_for_labeling(image=image)["probs"]
        assert int(max(probs, key=probs.get)) == truth[image.pk]
    engine._LOADED.clear()
    planned = plan_next_batch(project=project, version=version)
    assert planned and set(planned) <= {image.pk for image in pool}
