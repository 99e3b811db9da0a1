"""`train_on_auto_labels`: stream-accepted images train the next version with the model's
own output as their label, and only when the project says so."""

import numpy as np
import pytest

from labelapp.images.models import Image, Split, Status
from labelapp.production.stream import stream_image_ingest
from labelapp.training import engine
from labelapp.training.runs import training_request, training_run
from labelapp.training.training_data import auto_labeled_training_data, training_data
from tests.conftest import activate_model, class_probs, detections, script_model, set_settings, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    engine._LOADED.clear()
    yield
    engine._LOADED.clear()


def accept_all(project, users, seeds, script):
    version = activate_model(project)
    script_model(version, script)
    set_settings(project, stream_mode="threshold", stream_threshold=0.0)
    results = [stream_image_ingest(project=project, user=users["admin"], upload=upload(s)) for s in seeds]
    assert {r.decision for r in results} == {"accept"}
    return version, [r.image for r in results]


def test_classification_auto_labels_are_the_most_probable_class(classification_project, users):
    firsts = [0.8, 0.3, 0.6]
    accept_all(classification_project, users, [1, 2, 3], lambda i: class_probs(firsts[i])(i))
    class_index = {c.pk: i for i, c in enumerate(classification_project.label_classes.order_by("id"))}
    images, targets, _ = auto_labeled_training_data(classification_project, class_index, 64)
    assert images.shape == (3, 64, 64, 3) and images.dtype == np.uint8
    assert targets.tolist() == [0, 1, 0]


def test_detection_auto_labels_keep_the_boxes_the_model_counted(detection_project, users):
    # Scores 0.9 and 0.5 count (threshold 0.3), 0.1 does not; the third image found nothing countable.
    outputs = [[0.9, 0.1], [0.5, 0.9], [0.2]]
    _, images = accept_all(detection_project, users, [1, 2, 3], lambda i: detections(outputs[i]))
    assert {i.status for i in Image.objects.filter(pk__in=[i.pk for i in images])} == {Status.AUTO_LABELED}
    class_index = {c.pk: i for i, c in enumerate(detection_project.label_classes.order_by("id"))}
    arrays, targets, _ = auto_labeled_training_data(detection_project, class_index, 128)
    assert arrays.shape == (3, 128, 128, 3)
    assert [len(t["labels"]) for t in targets] == [1, 2, 0]
    for target in targets:
        assert target["boxes"].shape == (len(target["labels"]), 4)
        assert ((target["boxes"] >= 0) & (target["boxes"] <= 128)).all()


def test_auto_labels_never_enter_val_or_test(detection_project, users):
    accept_all(detection_project, users, [1, 2], lambda i: detections([0.9]))
    class_index = {c.pk: i for i, c in enumerate(detection_project.label_classes.order_by("id"))}
    for split in (Split.VAL, Split.TEST):
        images, targets, _ = training_data(detection_project, split, class_index, 128)
        assert len(images) == len(targets) == 0


@pytest.mark.slow
def test_the_next_version_trains_on_auto_labels_only_when_the_project_says_so(users):
    from labelapp.demo.data import demo_project, demo_users
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene
    from labelapp.training.models import ModelVersion

    demo = demo_users()
    project = demo_project(
        name="Porch packages",
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=24,
        free_labels=24,
        credits=10,
        seed=3,
        users=demo,
        settings={"max_epochs": 1, "auto_retrain_every": 0, "input_size": 64},
    )
    humans = Image.objects.filter(project=project, status=Status.LABELED, split=Split.TRAIN).count()

    def train() -> ModelVersion:
        run = training_request(project=project, user=demo["admin"])
        version = training_run(run_id=run.pk)
        assert version is not None, run.error
        return ModelVersion.objects.get(pk=version.pk)

    v1 = train()
    assert (v1.labels_seen, v1.auto_labels_seen) == (humans, 0)
    set_settings(project, stream_mode="threshold", stream_threshold=0.0)
    results = [stream_image_ingest(project=project, user=demo["admin"], upload=upload(700 + i)) for i in range(5)]
    assert [r.decision for r in results] == ["accept"] * 5
    assert train().auto_labels_seen == 0, "off by default"
    set_settings(project, train_on_auto_labels=True)
    v3 = train()
    assert (v3.labels_seen, v3.auto_labels_seen) == (humans, 5)
