"""The embedding-first engine: vectors at ingest, a head on them as the classification
default, the from-scratch fallback (and why), and the unbiased evaluation sample."""

import io

import numpy as np
import pytest
import torch
from PIL import Image as PilImage
from PIL import ImageDraw

from labelapp.core.jobs import JobStatus
from labelapp.credits.services import credit_grant
from labelapp.images.models import PINNED_PRIORITY, Image, Split, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.labeling.services import EVALUATION_REASON, _claim_top_image, annotation_submit, image_reserve_next
from labelapp.learning.backbone import MobileNetV2
from labelapp.learning.models import create_model
from labelapp.learning.training import TrainConfig
from labelapp.training import embeddings, engine, rescoring, runs
from labelapp.training.models import ModelVersion, Prediction, RescoreJob
from labelapp.training.preprocess import cold_start_priorities, images_preprocess
from labelapp.training.selectors import prediction_for_labeling
from tests.training.conftest import BLUE, RED, ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_engine")]


def label_queue(project, user, truth: dict[int, int], count: int):
    """Play the annotator: take `count` images from the queue and give each its true class."""
    for _ in range(count):
        item = image_reserve_next(project=project, user=user)
        annotation_submit(project=project, user=user, image_id=item.image.pk, label_class=truth[item.image.pk])


def test_ingest_embeds_every_image_once_and_classification_trains_a_head_on_the_vectors(classification_project, users):
    project = classification_project
    cat, dog = (c.pk for c in project.label_classes.order_by("id"))
    images = ingest(project, [(seed, RED if seed % 2 else BLUE) for seed in range(24)])
    truth = {image.pk: cat if int(image.original_name[1:-4]) % 2 else dog for image in images}
    cache = embeddings.vector_cache(project, embeddings.backbone())
    assert set(cache.index()) == {image.pk for image in images}
    credit_grant(project=project, amount=100, actor=users["admin"])
    label_queue(project, users["annotator"], truth, 10)

    run = runs.training_request(project=project, user=users["admin"])
    version = runs.training_run(run_id=run.pk)

    assert version is not None and version.model_name == "embedding_classifier"
    job = RescoreJob.objects.create(project=project, model_version=version, chunks_total=1, status=JobStatus.RUNNING)
    pool = list(Image.objects.filter(project=project, status=Status.UNLABELED))
    rescoring.rescore_chunk(job_id=job.pk, image_ids=[image.pk for image in pool])

    # No Prediction rows for the pool (a head scores it from the cache); the label page's
    # pre-annotation is computed when the image is handed out.
    assert not Prediction.objects.filter(model_version=version).exists()
    pool = list(Image.objects.filter(project=project, status=Status.UNLABELED))
    assert len(pool) == 14 and all(image.scored_by_id == version.pk for image in pool)
    for image in pool:
        probs = prediction_for_labeling(image=image)["probs"]
        assert int(max(probs, key=probs.get)) == truth[image.pk]


def test_a_stored_head_predicts_from_pixels_like_from_its_cached_vectors(classification_project, users):
    project = classification_project
    images = ingest(project, [(seed, RED if seed % 2 else BLUE) for seed in range(6)])
    model = create_model("embedding_classifier", classes=["cat", "dog"], input_size=64)
    vectors = embeddings.embeddings_for(project, images)
    model.fit_vectors(vectors, np.array([i % 2 for i in range(6)]), vectors[:0], np.zeros(0, int), config=TrainConfig())

    from_pixels = model.predict(engine.prepared_images(project, images, size=64)).probs
    from_cache = model.predict_vectors(vectors).probs

    # The cache keeps float16 vectors of the image at the backbone's size; pixels at 64 px
    # are resized once more, so the two agree closely, not bit for bit.
    np.testing.assert_allclose(from_pixels, from_cache, atol=0.05)


def test_without_the_backbone_the_from_scratch_models_train_and_the_api_says_why(
    settings, classification_project, client_for
):
    settings.LABELAPP_BACKBONE = "none"

    ingest(classification_project, [(1, RED)])

    assert embeddings.backbone() is None
    assert engine.default_model("classification") == "cnn_classifier"
    status = client_for("annotator").get(f"/api/projects/{classification_project.pk}/engine").json()
    assert status["backbone"] == {"available": False, "name": None, "detail": "switched off (LABELAPP_BACKBONE=none)"}
    assert status["model"] == "cnn_classifier"


def test_a_weights_file_with_the_wrong_digest_is_refused_and_reported(
    settings, tmp_path, classification_project, client_for
):
    altered = tmp_path / "mobilenet.pth"
    torch.save(MobileNetV2().state_dict(), altered)
    settings.LABELAPP_BACKBONE_WEIGHTS = str(altered)
    settings.LABELAPP_BACKBONE_SHA256 = "0" * 64

    status = client_for("admin").get(f"/api/projects/{classification_project.pk}/engine").json()

    assert status["backbone"]["available"] is False
    assert "sha256" in status["backbone"]["detail"] and status["model"] == "cnn_classifier"


def test_an_evaluation_pick_is_the_pool_image_with_the_smallest_key_and_pinned_images_still_come_first(
    classification_project,
):
    images = ingest(classification_project, [(seed, RED) for seed in range(5)])
    keys = [0.9, 0.2, 0.7, 0.05, 0.5]
    for image, key in zip(images, keys):
        Image.objects.filter(pk=image.pk).update(eval_key=key, priority=1 - key)

    assert _claim_top_image(project=classification_project, evaluation=True).pk == images[3].pk
    assert _claim_top_image(project=classification_project).pk == images[1].pk  # highest priority left
    Image.objects.filter(pk=images[0].pk).update(priority=PINNED_PRIORITY, score_reason="flagged")
    assert _claim_top_image(project=classification_project, evaluation=True).pk == images[0].pk


def test_evaluation_picks_go_to_val_and_test_and_every_strategy_pick_trains(classification_project, users):
    project = classification_project
    project.settings = {**project.settings, "evaluation_share": 0.5}
    project.save(update_fields=["settings"])
    cat = project.label_classes.order_by("id").first().pk
    ingest(project, [(seed, RED) for seed in range(80)])
    credit_grant(project=project, amount=100, actor=users["admin"])

    reasons = []
    for _ in range(60):
        item = image_reserve_next(project=project, user=users["annotator"])
        reasons.append(item.reservation.reason)
        annotation_submit(project=project, user=users["annotator"], image_id=item.image.pk, label_class=cat)

    labeled = list(Image.objects.filter(project=project, status=Status.LABELED).order_by("labeled_at", "id"))
    evaluation = [image for image, reason in zip(labeled, reasons) if reason == EVALUATION_REASON]
    # Half the hand-outs on average: 60 draws land in 15..45 but for a 1-in-10^4 chance.
    assert 15 <= len(evaluation) <= 45
    assert {image.split for image in evaluation} <= {Split.VAL, Split.TEST}
    assert {image.split for image, reason in zip(labeled, reasons) if reason != EVALUATION_REASON} == {Split.TRAIN}


def test_model_versions_report_the_evaluation_sample_size_and_interval(classification_project, users):
    project = classification_project
    cat, dog = (c.pk for c in project.label_classes.order_by("id"))
    images = ingest(project, [(seed, RED if seed % 2 else BLUE) for seed in range(16)])
    for image in images[:12]:
        split = Split.TRAIN if image.pk % 3 else Split.VAL
        label = cat if int(image.original_name[1:-4]) % 2 else dog
        Annotation.objects.create(
            project=project, image=image, label_class_id=label, kind=AnnotationKind.IMPORTED, is_free=True
        )
        Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=split)

    run = runs.training_request(project=project, user=users["admin"])
    version = ModelVersion.objects.get(pk=runs.training_run(run_id=run.pk).pk)

    val = version.metrics["val"]
    assert val["images"] == Image.objects.filter(project=project, split=Split.VAL).count() > 0
    low, high = val["interval"]
    assert 0 <= low <= val["accuracy"] <= high <= 1


def test_a_re_encoded_copy_is_flagged_as_a_near_duplicate_and_shows_in_the_health_check(
    classification_project, client_for
):
    scene = PilImage.new("RGB", (96, 96), (120, 160, 200))
    ImageDraw.Draw(scene).ellipse((20, 20, 60, 70), fill=(200, 60, 40))
    ImageDraw.Draw(scene).rectangle((50, 10, 90, 40), fill=(30, 120, 30))
    first, copy, other = io.BytesIO(), io.BytesIO(), io.BytesIO()
    scene.save(first, format="PNG")
    scene.save(copy, format="JPEG", quality=95)  # cosine 0.98 to the PNG
    PilImage.fromarray(np.full((96, 96, 3), 230, np.uint8)).save(other, format="PNG")
    created = images_ingest(
        project=classification_project,
        files=[
            ("a.png", first.getvalue(), "image/png"),
            ("b.jpg", copy.getvalue(), "image/jpeg"),
            ("c.png", other.getvalue(), "image/png"),
        ],
    ).created
    images_preprocess(project_id=classification_project.pk, image_ids=[image.pk for image in created])

    flagged = {image.pk: image.near_duplicate_of_id for image in Image.objects.filter(project=classification_project)}
    assert flagged == {created[0].pk: None, created[1].pk: created[0].pk, created[2].pk: None}
    health = client_for("admin").get(f"/api/projects/{classification_project.pk}/health").json()
    assert health["near_duplicates"]["images"] == 1
    assert health["near_duplicates"]["examples"][0]["duplicate_of"] == created[0].pk


GREEN = (40, 180, 40)


def test_before_any_model_the_queue_starts_with_covering_picks_and_says_why(classification_project, users, client_for):
    project = classification_project
    project.settings = {**project.settings, "auto_retrain_every": 2}  # batches of 4
    project.save(update_fields=["settings"])
    colours = {}
    for seed in range(30):
        colours[seed] = (RED, BLUE, GREEN)[seed % 3]
    images = ingest(project, colours.items())
    cold_start_priorities(project=project)  # a debounced worker task after uploads
    colour_of = {image.pk: colours[int(image.original_name[1:-4])] for image in images}
    credit_grant(project=project, amount=10, actor=users["admin"])

    planned = list(Image.objects.filter(project=project, score_reason="plan:cover").order_by("-priority")[:4])
    body = client_for("annotator").post(f"/api/projects/{project.pk}/queue/next").json()

    assert {colour_of[image.pk] for image in planned} == {RED, BLUE, GREEN}
    assert body["image"]["id"] == planned[0].pk
    assert body["reason"]["strategy"] == "plan:cover"
    assert body["reason"]["explanation"].startswith("typical")


def test_after_a_retrain_the_planned_batch_follows_the_model_and_switches_to_margins_with_enough_labels(
    classification_project, users
):
    project = classification_project
    project.settings = {**project.settings, "auto_retrain_every": 2}
    project.save(update_fields=["settings"])
    cat, dog = (c.pk for c in project.label_classes.order_by("id"))
    images = ingest(project, [(seed, RED if seed % 2 else BLUE) for seed in range(60)])
    truth = {image.pk: cat if int(image.original_name[1:-4]) % 2 else dog for image in images}
    credit_grant(project=project, amount=100, actor=users["admin"])

    def retrain_and_plan():
        version = runs.training_run(run_id=runs.training_request(project=project, user=users["admin"]).pk)
        job = RescoreJob.objects.create(
            project=project, model_version=version, chunks_total=1, status=JobStatus.RUNNING
        )
        rescoring.rescore_chunk(
            job_id=job.pk, image_ids=list(Image.objects.filter(project=project).values_list("pk", flat=True))
        )
        rescoring.rescore_finish(job_id=job.pk)
        return Image.objects.filter(project=project, status=Status.UNLABELED).order_by("-priority").first()

    label_queue(project, users["annotator"], truth, 2)
    assert retrain_and_plan().score_reason == "plan:cover"  # 1 label per class: the model is still weak
    label_queue(project, users["annotator"], truth, 4)
    top = retrain_and_plan()  # 3 labels per class
    assert top.score_reason == "plan:uncertainty" and top.pick_reason.startswith("margin")


def test_detection_trains_the_pretrained_detector_through_the_training_service(detection_project, users):
    project = detection_project
    project.settings = {**project.settings, "max_epochs": 2}
    project.save(update_fields=["settings"])
    brown = project.label_classes.order_by("id").first().pk
    images = ingest(project, [(seed, RED) for seed in range(6)])
    for image in images:
        Annotation.objects.create(
            project=project,
            image=image,
            kind=AnnotationKind.IMPORTED,
            is_free=True,
            boxes=[{"x": 8, "y": 8, "w": 20, "h": 20, "label_class": brown}],
        )
        Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=Split.TRAIN)

    version = runs.training_run(run_id=runs.training_request(project=project, user=users["admin"]).pk)

    assert version is not None and version.model_name == "centernet_mobilenet"
    assert engine.load_version(version).predict(engine.prepared_images(project, images[:1], size=version.input_size))
