"""Issue 11 step 1: "an image gets a label" is written once (labeling.services.image_label).
Every path that labels an image — submit (and so a synthetic image's confirmation),
verification, affirmation, dataset import, the demo — leaves it labeled the same way:
annotation of its kind, status, split, labeled_at, and labels_added on commit."""

from datetime import timedelta

import pytest

from labelapp.credits.services import balance_get, credit_grant
from labelapp.demo.data import demo_project, demo_users
from labelapp.images.models import Image, Source, Split, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.events import labels_added
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.labeling.services import annotation_submit, image_reserve_next, label_split
from labelapp.production.models import VerificationItem
from labelapp.production.verification import verification_record, verifications_affirm
from tests.conftest import jpeg_bytes, set_settings
from tests.datasets.conftest import make_zip, run_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_model_cache")]


@pytest.fixture
def announced():
    """What labels_added carried, as its receivers get it."""
    sent = []

    def record(sender, *, project_id, image_ids, kind, **kwargs):
        sent.append({"project_id": project_id, "image_ids": sorted(image_ids), "kind": kind})

    labels_added.connect(record, dispatch_uid="test.announced", weak=False)
    yield sent
    labels_added.disconnect(dispatch_uid="test.announced")


def assert_labeled(image_id: int, kind: str, split: str | None = None) -> None:
    image = Image.objects.get(pk=image_id)
    assert image.status == Status.LABELED and image.labeled_at is not None
    assert image.split in (Split.TRAIN, Split.VAL, Split.TEST)
    if split is not None:
        assert image.split == split
    annotation = Annotation.objects.get(image_id=image_id)
    assert annotation.kind == kind and annotation.is_free == (kind != AnnotationKind.HUMAN)


def test_submit_spends_the_credit_and_announces_the_label(
    detection_project, pool, users, announced, django_capture_on_commit_callbacks
):
    item = image_reserve_next(project=detection_project, user=users["annotator"])
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(project=detection_project, user=users["annotator"], image_id=item.image.pk, boxes=[])
    assert_labeled(item.image.pk, AnnotationKind.HUMAN, Split.TRAIN)
    assert balance_get(project=detection_project).spent == 1
    assert announced == [{"project_id": detection_project.pk, "image_ids": [item.image.pk], "kind": "human"}]


def test_a_synthetic_image_confirmed_in_the_queue_trains(
    detection_project, users, announced, django_capture_on_commit_callbacks
):
    image = images_ingest(
        project=detection_project, files=[("s.jpg", jpeg_bytes(40), "image/jpeg")], source=Source.SYNTHETIC
    ).created[0]
    credit_grant(project=detection_project, amount=1)
    assert image_reserve_next(project=detection_project, user=users["annotator"]).image.pk == image.pk
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(project=detection_project, user=users["annotator"], image_id=image.pk, boxes=[])
    assert_labeled(image.pk, AnnotationKind.HUMAN, Split.TRAIN)
    assert announced == [{"project_id": detection_project.pk, "image_ids": [image.pk], "kind": "human"}]


def test_verification_and_affirmation_label_for_free(
    detection_project,
    verification_items,
    users,
    announced,
    django_capture_on_commit_callbacks,
):
    verified, affirmed = verification_items[0], verification_items[1]
    with django_capture_on_commit_callbacks(execute=True):
        verification_record(
            project=detection_project, user=users["verifier"], prediction_id=verified.prediction_id, verdict="correct"
        )
    assert_labeled(verified.image_id, AnnotationKind.VERIFIED, Split.TRAIN)
    set_settings(detection_project, affirmation_enabled=True, affirmation_window_hours=1)
    VerificationItem.objects.filter(pk=verification_items[2].pk).delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert verifications_affirm(now=affirmed.created_at + timedelta(hours=2)) == 1
    assert_labeled(affirmed.image_id, AnnotationKind.AFFIRMED, Split.TRAIN)
    assert announced == [
        {"project_id": detection_project.pk, "image_ids": [verified.image_id], "kind": "verified"},
        {"project_id": detection_project.pk, "image_ids": [affirmed.image_id], "kind": "affirmed"},
    ]
    assert balance_get(project=detection_project).spent == 0


def test_an_import_labels_by_content_hash_and_announces_once(
    classification_project,
    client_for,
    media,
    announced,
    django_capture_on_commit_callbacks,
):
    archive = make_zip({f"{'cat' if i % 2 else 'dog'}/{i}.jpg": jpeg_bytes(700 + i, size=(16, 16)) for i in range(6)})
    with django_capture_on_commit_callbacks(execute=True):
        job = run_import(client_for("admin"), classification_project, archive)
    assert job["labels"] == 6
    ids = sorted(Image.objects.filter(project=classification_project).values_list("pk", flat=True))
    config = classification_project.config
    for image in Image.objects.filter(pk__in=ids):
        assert_labeled(
            image.pk, AnnotationKind.IMPORTED, label_split(image=image, kind=AnnotationKind.IMPORTED, config=config)
        )
    assert announced == [{"project_id": classification_project.pk, "image_ids": ids, "kind": "imported"}]


def test_demo_labels_get_labeled_at_and_are_not_announced(announced, django_capture_on_commit_callbacks):
    """The demo never set labeled_at. Its labels are not announced: the demo command
    preprocesses and starts the first training itself (or not, --no-train)."""
    from labelapp.learning.scenes import PILL_CLASSES, pill_scene

    with django_capture_on_commit_callbacks(execute=True):
        project = demo_project(
            name="Pills",
            description="",
            scene=pill_scene,
            class_names=PILL_CLASSES,
            count=3,
            free_labels=2,
            credits=1,
            seed=3,
            users=demo_users(),
        )
    labeled = Image.objects.filter(project=project, status=Status.LABELED)
    assert labeled.count() == 2
    for image in labeled:
        assert_labeled(image.pk, AnnotationKind.IMPORTED)
    assert announced == []


# --- where a label puts its image, hand-computed --------------------------------------------------


class _Image:
    def __init__(self, sha256: str, source: str = Source.UPLOAD, split: str = Split.POOL):
        self.sha256, self.source, self.split = sha256, source, split


CONFIG = {"val_fraction": 0.2, "test_fraction": 0.1}
LOW, MIDDLE, HIGH = "00000000" + "0" * 56, "26666666" + "0" * 56, "ffffffff" + "0" * 56  # u = 0, 0.15, 1


@pytest.mark.parametrize(
    "sha256, kind, evaluation_pick, split",
    [
        (LOW, AnnotationKind.IMPORTED, False, Split.TEST),  # u = 0 < test 0.1
        (MIDDLE, AnnotationKind.IMPORTED, False, Split.VAL),  # 0.1 <= 0.15 < 0.3
        (HIGH, AnnotationKind.IMPORTED, False, Split.TRAIN),
        (LOW, AnnotationKind.HUMAN, False, Split.TRAIN),  # a strategy pick always trains
        (LOW, AnnotationKind.HUMAN, True, Split.TEST),  # evaluation: u = 0 < 0.1 / 0.3
        (HIGH, AnnotationKind.HUMAN, True, Split.VAL),
        (LOW, AnnotationKind.VERIFIED, False, Split.TRAIN),
        (LOW, AnnotationKind.AFFIRMED, False, Split.TRAIN),
    ],
)
def test_label_split(sha256, kind, evaluation_pick, split):
    assert label_split(image=_Image(sha256), kind=kind, config=CONFIG, evaluation_pick=evaluation_pick) == split


@pytest.mark.parametrize(
    "split, evaluation_pick", [(Split.TEST, False), (Split.VAL, False), (Split.TRAIN, True), (Split.TEST, True)]
)
def test_an_image_labeled_again_after_a_rejection_keeps_its_split(split, evaluation_pick):
    """A rejected label leaves its image's split as it was: a strategy pick would send a test
    image to train, an evaluation pick a trained-on image (HIGH: u = 1 → val) to evaluation."""
    image = _Image(HIGH, split=split)
    assert label_split(image=image, kind=AnnotationKind.HUMAN, config=CONFIG, evaluation_pick=evaluation_pick) == split


@pytest.mark.parametrize("kind", [AnnotationKind.HUMAN, AnnotationKind.IMPORTED, AnnotationKind.VERIFIED])
def test_a_synthetic_image_always_trains(kind):
    """Only submit moved a synthetic image to train; an imported label of one went by hash."""
    image = _Image(LOW, source=Source.SYNTHETIC)
    assert label_split(image=image, kind=kind, config=CONFIG, evaluation_pick=True) == Split.TRAIN
