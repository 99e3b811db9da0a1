"""The production loop: predict with collection rules, stream sampling, verification."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labelapp.core.errors import ConflictError
from labelapp.credits.models import CreditEntry, EntryKind, HoldState, StreamHold
from labelapp.credits.services import balance_get, credit_grant, held_credits_release_expired, ledger_totals
from labelapp.images.models import PINNED_PRIORITY, Image, Source, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.production.collection import prediction_make
from labelapp.production.models import VerificationItem, VerificationState
from labelapp.production.stream import stream_image_ingest
from labelapp.production.verification import (
    VERIFICATION_LEASE,
    verification_next,
    verification_record,
    verifications_affirm,
)
from labelapp.training.models import ModelVersion, Prediction
from tests.conftest import (
    activate_model,
    class_probs,
    detections,
    jpeg_bytes,
    script_model,
    set_settings,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_model_cache")]


# --- helpers -----------------------------------------------------------------------------


def post_file(client, url, seed: int, data: bytes | None = None, name: str | None = None):
    content = jpeg_bytes(seed) if data is None else data
    return client.post(
        url,
        {"file": SimpleUploadedFile(name or f"f{seed}.jpg", content, content_type="image/jpeg")},
        format="multipart",
    )


def assert_ledger_consistent(project):
    balance = balance_get(project=project)
    assert ledger_totals(project=project) == balance.as_dict()
    assert balance.spent + balance.reserved <= balance.granted


# --- predict -----------------------------------------------------------------------------


def test_predict_without_an_active_model_is_409_and_stores_nothing(detection_project, client_for):
    set_settings(detection_project, collection_rules=[{"kind": "random_1_in_n", "n": 1}])
    response = post_file(client_for("admin"), f"/api/projects/{detection_project.pk}/predict", 1)
    assert response.status_code == 409
    assert response.json()["code"] == "no_active_model"
    assert "train" in response.json()["detail"]
    assert not Image.objects.filter(project=detection_project).exists()


def test_predict_detection_with_a_real_model_returns_boxes_counts_and_version(detection_project, client_for):
    activate_model(detection_project, number=3)
    response = post_file(client_for("verifier"), f"/api/projects/{detection_project.pk}/predict/", 2)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_version"] == 3 and body["task_type"] == "detection"
    assert body["probabilities"] is None and body["label_class"] is None
    names = set(detection_project.label_classes.values_list("name", flat=True))
    assert set(body["counts"]) <= names
    assert body["total_count"] == sum(body["counts"].values()) == sum(body["counts_by_id"].values())
    for box in body["boxes"]:
        assert box["x"] >= 0 and box["x"] + box["w"] <= 64.01 and box["y"] + box["h"] <= 48.01
        assert 0 <= box["score"] <= 1
    assert body["collection"] == {
        "kept": False,
        "kept_by": [],
        "image": None,
        "duplicate": False,
        "verification": False,
    }
    assert not Image.objects.filter(project=detection_project).exists()


def test_predict_classification_returns_class_probabilities(classification_project, client_for):
    activate_model(classification_project)
    body = post_file(client_for("annotator"), f"/api/projects/{classification_project.pk}/predict", 3).json()
    assert [p["name"] for p in body["probabilities"]] == ["cat", "dog"]
    assert sum(p["probability"] for p in body["probabilities"]) == pytest.approx(1, abs=1e-4)
    best = max(body["probabilities"], key=lambda p: p["probability"])
    assert body["label_class"] == best["label_class"] and body["counts"] == {best["name"]: 1}


@pytest.mark.parametrize(
    "data, name, code",
    [
        (b"not an image at all", "x.jpg", "not_an_image"),
        (jpeg_bytes(4, fmt="PNG"), "looks.jpg", "extension_mismatch"),
        (None, None, "no_file"),
    ],
)
def test_predict_bad_file_is_400_and_nothing_is_stored(detection_project, client_for, data, name, code):
    activate_model(detection_project)
    set_settings(detection_project, collection_rules=[{"kind": "random_1_in_n", "n": 1}])
    url = f"/api/projects/{detection_project.pk}/predict"
    if data is None:
        response = client_for("admin").post(url, {}, format="multipart")
    else:
        response = client_for("admin").post(
            url, {"file": SimpleUploadedFile(name, data, content_type="image/jpeg")}, format="multipart"
        )
    assert response.status_code == 400, response.content
    assert response.json()["code"] in (code, "upload_rejected")
    assert code in str(response.json())
    assert not Image.objects.filter(project=detection_project).exists()
    assert not Prediction.objects.exists()


# --- collection rules --------------------------------------------------------------------


def test_random_1_in_n_keeps_exactly_one_in_n(classification_project):
    version = activate_model(classification_project)
    script_model(version, class_probs(0.9))
    n = 4
    set_settings(classification_project, collection_rules=[{"kind": "random_1_in_n", "n": n}])
    kept = [prediction_make(project=classification_project, upload=upload(i)).kept for i in range(3 * n)]
    assert kept == [i % n == 0 for i in range(3 * n)]
    stored = Image.objects.filter(project=classification_project)
    assert stored.count() == 3
    assert set(stored.values_list("source", "status")) == {(Source.PRODUCTION, Status.UNLABELED)}
    assert Prediction.objects.filter(image__in=stored, model_version=version).count() == 3
    assert all(image.scored_by_id == version.pk for image in stored)


def test_low_confidence_rule_for_classification(classification_project):
    version = activate_model(classification_project)
    probs = iter([0.55, 0.95, 0.7])
    script_model(version, lambda i: class_probs(next(probs))(i))
    set_settings(classification_project, collection_rules=[{"kind": "low_confidence", "threshold": 0.75}])
    results = [prediction_make(project=classification_project, upload=upload(i)) for i in range(3)]
    assert [r.kept for r in results] == [True, False, True]
    assert results[0].kept_by[0]["kind"] == "low_confidence"


def test_low_confidence_rule_for_detection_is_near_the_threshold_or_nothing_found(detection_project):
    version = activate_model(detection_project)
    outputs = [detections([0.95, 0.9]), detections([0.95, 0.33]), detections([]), detections([0.1, 0.9])]
    script_model(version, lambda i: outputs[i])
    set_settings(
        detection_project, detection_threshold=0.3, collection_rules=[{"kind": "low_confidence", "epsilon": 0.05}]
    )
    kept = [prediction_make(project=detection_project, upload=upload(i)).kept for i in range(4)]
    assert kept == [False, True, True, False]


def test_quotas_per_hour_and_day_with_a_frozen_clock(classification_project):
    version = activate_model(classification_project)
    script_model(version, class_probs(0.9))
    set_settings(
        classification_project, collection_rules=[{"kind": "random_1_in_n", "n": 1, "per_hour": 2, "per_day": 3}]
    )
    t = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    seeds = iter(range(100))

    def keep(now):
        return prediction_make(project=classification_project, upload=upload(next(seeds)), now=now).kept

    assert [keep(t), keep(t + timedelta(minutes=20)), keep(t + timedelta(minutes=50))] == [True, True, False]
    assert [keep(t + timedelta(hours=1)), keep(t + timedelta(hours=1, minutes=1))] == [True, False]  # day quota: 3
    assert keep(t + timedelta(hours=14)) is True  # next UTC day
    assert Image.objects.filter(project=classification_project).count() == 4


def test_content_already_in_the_project_is_not_kept_again(classification_project):
    version = activate_model(classification_project)
    script_model(version, class_probs(0.9))
    set_settings(classification_project, collection_rules=[{"kind": "random_1_in_n", "n": 1}])
    first = prediction_make(project=classification_project, upload=upload(7))
    again = prediction_make(project=classification_project, upload=upload(7, name="again.jpg"))
    assert first.kept and not again.kept and again.duplicate and again.image.pk == first.image.pk
    assert Image.objects.filter(project=classification_project).count() == 1


def test_a_verification_sample_keep_creates_a_pending_item(detection_project, client_for):
    version = activate_model(detection_project)
    script_model(version, lambda i: detections([0.9, 0.8, 0.1], labels=[0, 0, 1]))
    set_settings(detection_project, collection_rules=[{"kind": "verification_sample", "n": 2}])
    url = f"/api/projects/{detection_project.pk}/predict"
    bodies = [post_file(client_for("admin"), url, i).json() for i in range(4)]
    assert [b["collection"]["verification"] for b in bodies] == [True, False, True, False]
    assert bodies[0]["collection"]["kept_by"] == [{"index": 0, "kind": "verification_sample"}]
    items = VerificationItem.objects.filter(project=detection_project)
    assert items.count() == 2 and {i.state for i in items} == {VerificationState.PENDING}
    assert {i.predicted_count for i in items} == {2}


# --- stream ------------------------------------------------------------------------------


def test_stream_threshold_mode_with_a_hard_cap(detection_project, client_for):
    version = activate_model(detection_project)
    confidences = [0.1, 0.9, 0.2, 0.3, 0.1]
    # A single box of score s has confidence |2s - 1|: s = (1 - c) / 2 gives confidence c.
    script_model(version, lambda i: detections([(1 - confidences[i % 5]) / 2]))
    credit_grant(project=detection_project, amount=10)
    set_settings(detection_project, stream_mode="threshold", stream_threshold=0.5, stream_hard_cap=2)
    url = f"/api/projects/{detection_project.pk}/stream"
    bodies = [post_file(client_for("annotator"), url, i).json() for i in range(5)]
    assert [b["decision"] for b in bodies] == ["query", "accept", "query", "accept", "accept"]
    assert [b["reason"] for b in bodies] == [
        "below_threshold",
        "above_threshold",
        "below_threshold",
        "hard_cap",
        "hard_cap",
    ]
    assert bodies[0]["confidence"] == pytest.approx(0.1, abs=1e-3) and bodies[0]["threshold"] == 0.5
    assert bodies[0]["credits_left"] == 9 and bodies[-1]["credits_left"] == 8
    assert bodies[-1]["stream"] == {"seen": 5, "queried": 2, "accepted": 3, "expected_remaining": 9995}
    queried = Image.objects.filter(pk__in=[bodies[0]["image"], bodies[2]["image"]])
    assert {(i.status, i.priority, i.score_reason, i.source) for i in queried} == {
        (Status.UNLABELED, PINNED_PRIORITY, "stream_query", Source.STREAM)
    }
    accepted = Image.objects.filter(pk__in=[bodies[i]["image"] for i in (1, 3, 4)])
    assert set(accepted.values_list("status", flat=True)) == {Status.AUTO_LABELED}
    assert not Annotation.objects.filter(image__in=accepted).exists(), "auto labels are not annotations"
    assert Prediction.objects.filter(image__in=accepted).count() == 3
    assert StreamHold.objects.filter(project=detection_project).count() == 2
    assert balance_get(project=detection_project).reserved == 2
    assert_ledger_consistent(detection_project)
    again = post_file(client_for("annotator"), url, 0)
    assert again.status_code == 200 and again.json()["decision"] == "duplicate"
    assert balance_get(project=detection_project).reserved == 2


def test_stream_pacing_never_exceeds_the_budget(classification_project, client_for):
    version = activate_model(classification_project)
    rng = np.random.default_rng(5)
    confidences = rng.uniform(0.5, 1.0, 60)
    script_model(version, lambda i: class_probs(float(confidences[i]))(i))
    credit_grant(project=classification_project, amount=5)
    set_settings(classification_project, stream_mode="pacing", stream_expected_items=40, stream_exploration=0.1)
    results = [stream_image_ingest(project=classification_project, user=None, upload=upload(i)) for i in range(60)]
    queried = [r for r in results if r.decision == "query"]
    assert 1 <= len(queried) <= 5
    assert results[-1].credits_left == 5 - len(queried)
    assert {r.reason for r in results if r.decision == "accept"} <= {"above_threshold", "no_credits"}
    assert_ledger_consistent(classification_project)


def test_a_stream_query_reaches_the_annotator_first_on_its_held_credit(detection_project, pool, users):
    version = activate_model(detection_project)
    script_model(version, lambda i: detections([0.5]))  # confidence 0: always below the threshold
    set_settings(detection_project, stream_mode="threshold", stream_threshold=0.5)
    result = stream_image_ingest(project=detection_project, user=users["admin"], upload=upload(50))
    assert result.decision == "query" and result.credits_left == 9
    reserves = CreditEntry.objects.filter(project=detection_project, kind=EntryKind.RESERVE).count()
    item = image_reserve_next(project=detection_project, user=users["annotator"])
    assert item.image.pk == result.image.pk, "above every pool image"
    hold = StreamHold.objects.get(image=result.image)
    assert hold.state == "claimed" and item.reservation.credit_entry_id == hold.credit_entry_id
    assert CreditEntry.objects.filter(project=detection_project, kind=EntryKind.RESERVE).count() == reserves
    assert balance_get(project=detection_project).reserved == 1
    annotation_submit(project=detection_project, user=users["annotator"], image_id=result.image.pk, boxes=[])
    assert balance_get(project=detection_project).as_dict() == {
        "granted": 10,
        "reserved": 0,
        "spent": 1,
        "available": 9,
    }
    assert_ledger_consistent(detection_project)


def test_a_held_stream_credit_is_handed_out_even_when_nothing_else_is_available(detection_project, users):
    version = activate_model(detection_project)
    script_model(version, lambda i: detections([0.5]))
    set_settings(detection_project, stream_mode="threshold", stream_threshold=0.5)
    credit_grant(project=detection_project, amount=1)
    images_ingest(project=detection_project, files=[upload(90)])
    result = stream_image_ingest(project=detection_project, user=users["admin"], upload=upload(91))
    assert result.decision == "query" and result.credits_left == 0
    refused = stream_image_ingest(project=detection_project, user=users["admin"], upload=upload(92))
    assert (refused.decision, refused.reason) == ("accept", "no_credits")
    item = image_reserve_next(project=detection_project, user=users["annotator"])
    assert item.image.pk == result.image.pk
    from labelapp.projects.models import Membership, Role

    Membership.objects.create(project=detection_project, user=users["nobody"], role=Role.ANNOTATOR)
    with pytest.raises(ConflictError) as exhausted:
        image_reserve_next(project=detection_project, user=users["nobody"])
    assert exhausted.value.code == "budget_exhausted"
    assert_ledger_consistent(detection_project)


def test_an_untaken_held_credit_expires_and_the_image_stays_first_in_the_queue(detection_project, users):
    from django.utils import timezone

    version = activate_model(detection_project)
    script_model(version, lambda i: detections([0.5]))  # confidence 0: always queried
    set_settings(detection_project, stream_mode="threshold", stream_threshold=0.5, held_credit_hours=24)
    credit_grant(project=detection_project, amount=3)
    images_ingest(project=detection_project, files=[upload(60)])
    taken = stream_image_ingest(project=detection_project, user=users["admin"], upload=upload(61))
    image_reserve_next(project=detection_project, user=users["annotator"])  # claims the first hold
    waiting = stream_image_ingest(project=detection_project, user=users["admin"], upload=upload(62))
    assert (taken.decision, waiting.decision) == ("query", "query")
    assert balance_get(project=detection_project).reserved == 2
    now = timezone.now()

    assert held_credits_release_expired(now=now + timedelta(hours=23)) == 0
    assert held_credits_release_expired(now=now + timedelta(hours=25)) == 1
    assert held_credits_release_expired(now=now + timedelta(hours=26)) == 0, "released once"
    hold = StreamHold.objects.get(image=waiting.image)
    assert hold.state == HoldState.RELEASED and hold.released_at == now + timedelta(hours=25)
    assert StreamHold.objects.get(image=taken.image).state == HoldState.CLAIMED, "an annotator's credit is theirs"
    assert balance_get(project=detection_project).as_dict() == {"granted": 3, "reserved": 1, "spent": 0, "available": 2}
    release = CreditEntry.objects.get(project=detection_project, kind=EntryKind.RELEASE)
    assert (release.image_id, release.note) == (waiting.image.pk, "held credit expired")
    assert_ledger_consistent(detection_project)

    # The queried image still comes first; its annotator now reserves a credit of their own.
    item = image_reserve_next(project=detection_project, user=users["admin"])
    assert item.image.pk == waiting.image.pk
    assert (
        item.reservation.credit_entry.kind == EntryKind.RESERVE
        and item.reservation.credit_entry_id != hold.credit_entry_id
    )
    annotation_submit(project=detection_project, user=users["admin"], image_id=waiting.image.pk, boxes=[])
    assert balance_get(project=detection_project).as_dict() == {"granted": 3, "reserved": 1, "spent": 1, "available": 1}
    assert_ledger_consistent(detection_project)


def test_the_held_credit_window_is_a_validated_setting(detection_project, client_for):
    url = f"/api/projects/{detection_project.pk}"
    response = client_for("admin").patch(url, {"settings": {"held_credit_hours": 0}}, format="json")
    assert response.status_code == 400 and "held_credit_hours" in response.content.decode()
    response = client_for("admin").patch(url, {"settings": {"held_credit_hours": 2.5}}, format="json")
    assert response.status_code == 200 and response.json()["settings"]["held_credit_hours"] == 2.5


# --- verification ------------------------------------------------------------------------


def test_verification_next_has_the_shape_the_verify_page_uses(detection_project, verification_items, client_for):
    response = client_for("verifier").get(f"/api/projects/{detection_project.pk}/verifications/next")
    assert response.status_code == 200
    prediction = response.json()["prediction"]
    first = verification_items[0]
    assert prediction["id"] == first.prediction_id
    assert prediction["image"] == {
        "id": first.image_id,
        "file_url": f"/api/projects/{detection_project.pk}/images/{first.image_id}/file",
        "width": 64,
        "height": 48,
    }
    assert (
        prediction["counts"] == {"brown_box": 2} and prediction["total_count"] == 2 and prediction["model_version"] == 1
    )
    assert {"x", "y", "w", "h", "label_class", "score"} <= set(prediction["boxes"][0])
    # Only the counted boxes are shown (the 0.1 box is below the detection threshold).
    assert sorted(b["score"] for b in prediction["boxes"]) == pytest.approx([0.8, 0.9], abs=1e-3)
    assert "lease_expires_at" in response.json()


def test_correct_makes_a_free_verified_label_and_moves_no_credit(detection_project, verification_items, client_for):
    credit_grant(project=detection_project, amount=3)
    item = verification_items[0]
    response = client_for("verifier").post(
        f"/api/projects/{detection_project.pk}/verifications",
        {"prediction": item.prediction_id, "verdict": "correct"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "correct" and response.json()["label_created"] is True
    annotation = Annotation.objects.get(image_id=item.image_id)
    assert annotation.kind == AnnotationKind.VERIFIED and annotation.is_free
    assert len(annotation.boxes) == 2 and "score" not in annotation.boxes[0]
    assert Image.objects.get(pk=item.image_id).status == Status.LABELED
    assert balance_get(project=detection_project).as_dict() == {"granted": 3, "reserved": 0, "spent": 0, "available": 3}
    again = client_for("admin").post(
        f"/api/projects/{detection_project.pk}/verifications",
        {"prediction": item.prediction_id, "verdict": "incorrect"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_verified"


def test_incorrect_sends_the_image_to_the_top_of_the_labeling_queue(
    detection_project, verification_items, pool, users, client_for
):
    item = verification_items[1]
    response = client_for("verifier").post(
        f"/api/projects/{detection_project.pk}/verifications",
        {"prediction": item.prediction_id, "verdict": "incorrect"},
        format="json",
    )
    assert response.json()["state"] == "incorrect" and response.json()["queued_for_labeling"] is True
    image = Image.objects.get(pk=item.image_id)
    assert (image.status, image.priority, image.score_reason) == (Status.UNLABELED, PINNED_PRIORITY, "flagged")
    assert image_reserve_next(project=detection_project, user=users["annotator"]).image.pk == image.pk


def test_a_corrected_count_is_stored_and_counts_as_incorrect(detection_project, verification_items, users):
    outcome = verification_record(
        project=detection_project,
        user=users["verifier"],
        prediction_id=verification_items[2].prediction_id,
        verdict="correct",
        true_count=3,
    )
    assert outcome.item.state == VerificationState.INCORRECT and outcome.item.true_count == 3 and outcome.queued
    same = verification_record(
        project=detection_project,
        user=users["verifier"],
        prediction_id=verification_items[1].prediction_id,
        verdict="correct",
        true_count=2,
    )
    assert same.item.state == VerificationState.CORRECT


def test_each_item_is_leased_to_one_verifier_at_a_time(detection_project, verification_items, users):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    mine = verification_next(project=detection_project, user=users["verifier"], now=now)
    assert verification_next(project=detection_project, user=users["verifier"], now=now).pk == mine.pk
    theirs = verification_next(project=detection_project, user=users["admin"], now=now)
    third = verification_next(project=detection_project, user=users["annotator"], now=now)
    assert len({mine.pk, theirs.pk, third.pk}) == 3
    with pytest.raises(ConflictError) as nothing:
        verification_next(project=detection_project, user=users["nobody"], now=now)
    assert nothing.value.code == "nothing_to_verify"
    with pytest.raises(ConflictError) as leased:
        verification_record(
            project=detection_project, user=users["admin"], prediction_id=mine.prediction_id, verdict="correct", now=now
        )
    assert leased.value.code == "leased_to_another"
    later = now + VERIFICATION_LEASE + timedelta(seconds=1)
    assert verification_next(project=detection_project, user=users["nobody"], now=later).pk == mine.pk


def test_nothing_to_verify_is_409(detection_project, client_for):
    response = client_for("verifier").get(f"/api/projects/{detection_project.pk}/verifications/next")
    assert response.status_code == 409 and response.json()["code"] == "nothing_to_verify"


def test_unflagged_predictions_are_affirmed_after_the_window(detection_project, verification_items, users):
    from labelapp.production.tasks import affirm_unflagged_task

    assert affirm_unflagged_task.name == "labelapp.production.affirm_unflagged"
    created = verification_items[0].created_at
    verification_record(
        project=detection_project,
        user=users["verifier"],
        prediction_id=verification_items[1].prediction_id,
        verdict="incorrect",
    )
    assert verifications_affirm(now=created + timedelta(hours=100)) == 0, "disabled by default"
    set_settings(detection_project, affirmation_enabled=True, affirmation_window_hours=24)
    assert verifications_affirm(now=created + timedelta(hours=23)) == 0
    assert verifications_affirm(now=created + timedelta(hours=25)) == 2
    assert verifications_affirm(now=created + timedelta(hours=26)) == 0, "idempotent"
    kinds = dict(Annotation.objects.filter(project=detection_project).values_list("image_id", "kind"))
    assert kinds == {verification_items[0].image_id: "affirmed", verification_items[2].image_id: "affirmed"}
    assert Image.objects.get(pk=verification_items[1].image_id).score_reason == "flagged"


def test_flag_rate_per_model_version(detection_project, verification_items, client_for, users):
    for item, verdict in zip(verification_items[:2], ["correct", "incorrect"]):
        verification_record(
            project=detection_project, user=users["verifier"], prediction_id=item.prediction_id, verdict=verdict
        )
    version2 = activate_model(detection_project, number=2)
    script_model(version2, lambda i: detections([0.9]))
    second = prediction_make(project=detection_project, upload=upload(300)).verification
    verification_record(
        project=detection_project,
        user=users["verifier"],
        prediction_id=second.prediction_id,
        verdict="correct",
        true_count=5,
    )
    body = client_for("admin").get(f"/api/projects/{detection_project.pk}/verifications/stats").json()
    assert body["versions"] == [
        {
            "model_version": 2,
            "pending": 0,
            "correct": 0,
            "incorrect": 1,
            "affirmed": 0,
            "corrected_counts": 1,
            "flag_rate": 1.0,
        },
        {
            "model_version": 1,
            "pending": 1,
            "correct": 1,
            "incorrect": 1,
            "affirmed": 0,
            "corrected_counts": 0,
            "flag_rate": 0.5,
        },
    ]


# --- permissions and query budgets ------------------------------------------------------


CALLERS = ["anonymous", "verifier", "annotator", "admin", "outsider_admin"]
EXPECTED = {
    ("POST", "predict"): [401, 200, 200, 200, 404],
    ("POST", "stream"): [401, 403, 201, 201, 404],
    ("GET", "verifications/next"): [401, 200, 403, 200, 404],
    ("POST", "verifications"): [401, 201, 403, 201, 404],
    ("GET", "verifications/stats"): [401, 200, 403, 200, 404],
}


@pytest.mark.parametrize("method, path", list(EXPECTED))
def test_permissions(detection_project, verification_items, client_for, method, path):
    credit_grant(project=detection_project, amount=10)
    base = f"/api/projects/{detection_project.pk}/{path}"
    actual = []
    for index, caller in enumerate(CALLERS):
        client = client_for(None if caller == "anonymous" else caller)
        if path in ("predict", "stream"):
            response = post_file(client, base, 400 + index)
        elif method == "POST":
            response = client.post(
                base, {"prediction": verification_items[index % 3].prediction_id, "verdict": "correct"}, format="json"
            )
        else:
            response = client.get(base)
        actual.append(response.status_code)
    assert actual == EXPECTED[(method, path)]


@pytest.mark.parametrize("extra", [0, 30])
def test_query_counts_do_not_grow_with_the_pool(
    detection_project, verification_items, client_for, django_assert_max_num_queries, extra
):
    if extra:
        images_ingest(
            project=detection_project,
            files=[(f"more{i}.png", jpeg_bytes(600 + i, size=(8, 8), fmt="PNG"), "image/png") for i in range(extra)],
        )
    credit_grant(project=detection_project, amount=5)
    base = f"/api/projects/{detection_project.pk}"
    with django_assert_max_num_queries(24):
        assert post_file(client_for("admin"), f"{base}/predict", 700).status_code == 200  # kept + verification item
    with django_assert_max_num_queries(21):
        assert post_file(client_for("admin"), f"{base}/stream", 701).status_code == 201
    with django_assert_max_num_queries(7):
        prediction = client_for("verifier").get(f"{base}/verifications/next").json()["prediction"]["id"]
    with django_assert_max_num_queries(12):
        response = client_for("verifier").post(
            f"{base}/verifications", {"prediction": prediction, "verdict": "correct"}, format="json"
        )
        assert response.status_code == 201
    with django_assert_max_num_queries(2):
        assert client_for("verifier").get(f"{base}/verifications/stats").status_code == 200


# --- with a trained model ----------------------------------------------------------------


@pytest.mark.slow
def test_predict_with_a_model_trained_in_process(client_for):
    from labelapp.training.runs import training_request, training_run
    from tests.conftest import small_porch_project

    project, users = small_porch_project(count=12, free=12, epochs=1)
    version = training_run(run_id=training_request(project=project, user=users["admin"]).pk)
    assert version is not None and ModelVersion.objects.get(pk=version.pk).is_active
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(users["verifier"])
    body = post_file(client, f"/api/projects/{project.pk}/predict", 800).json()
    assert body["model_version"] == version.number
    assert body["total_count"] == sum(body["counts"].values())
