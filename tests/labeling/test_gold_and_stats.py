"""Gold items in the queue (no credit, scored answers) and annotator statistics."""

import csv
import io

import pytest

from labelapp.credits.models import CreditBalance
from labelapp.credits.services import credit_grant
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Annotation, GoldAnswer
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.projects.models import Membership, Role
from labelapp.review.services import review_decide
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def cats(classification_project, users, make_user):
    """Four images: the first labeled `cat` by the annotator and marked gold by the admin."""
    project = classification_project
    Membership.objects.create(project=project, user=users["reviewer"], role=Role.REVIEWER)
    images = images_ingest(
        project=project, files=[(f"g{i}.jpg", jpeg_bytes(500 + i), "image/jpeg") for i in range(4)]
    ).created
    credit_grant(project=project, amount=10)
    cat, dog = project.label_classes.order_by("id")
    item = image_reserve_next(project=project, user=users["annotator"])
    annotation_submit(
        project=project, user=users["annotator"], image_id=item.image.pk, label_class=cat.pk, seconds_spent=5
    )
    second = make_user("second")
    Membership.objects.create(project=project, user=second, role=Role.ANNOTATOR)
    return {"project": project, "gold_image": item.image, "cat": cat, "dog": dog, "second": second, "images": images}


def _set(project, **settings):
    project.settings = {**project.settings, **settings}
    project.save()


def test_gold_items_are_handed_out_like_any_image_spend_no_credit_and_are_scored(cats, client_for, users):
    project, gold_image = cats["project"], cats["gold_image"]
    response = client_for("admin").post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    assert response.status_code == 200, response.content
    assert response.json()["gold"] is True
    # Rate 1 hands out every unseen gold item first (a lower rate draws at random, which a test cannot wait on).
    _set(project, gold_rate=1.0)
    second = cats["second"]
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(second)
    balance_before = CreditBalance.objects.get(project=project)
    body = client.post(f"/api/projects/{project.pk}/queue/next").json()
    assert body["image"]["id"] == gold_image.pk
    assert set(body) == {"reservation", "image", "prediction", "reason", "balance"}
    response = client.post(
        f"/api/projects/{project.pk}/annotations",
        {"image": gold_image.pk, "label_class": cats["dog"].pk, "seconds_spent": 7},
        format="json",
    )
    assert response.status_code == 201, response.content
    answer = GoldAnswer.objects.get(annotator=second)
    assert (answer.score, answer.label_class, answer.seconds_spent) == (0.0, cats["dog"], 7)
    # The gold label is untouched and no credit moved for it.
    assert Annotation.objects.get(image=gold_image).label_class == cats["cat"]
    after = CreditBalance.objects.get(project=project)
    assert after.spent == balance_before.spent
    # Each annotator sees each gold item once.
    for _ in range(10):
        body = client.post(f"/api/projects/{project.pk}/queue/next")
        if body.status_code != 201 and body.status_code != 200:
            break
        assert body.json()["image"]["id"] != gold_image.pk
        client.post(f"/api/projects/{project.pk}/queue/skip", {"image": body.json()["image"]["id"]}, format="json")


def test_a_gold_answer_with_a_bad_label_is_refused_and_nothing_is_scored(cats, client_for):
    project, gold_image, second = cats["project"], cats["gold_image"], cats["second"]
    client_for("admin").post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    _set(project, gold_rate=0.5)
    from labelapp.labeling.models import GoldItem

    GoldAnswer.objects.create(project=project, gold=GoldItem.objects.get(image=gold_image), annotator=second)
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(second)
    assert client.post(f"/api/projects/{project.pk}/queue/next").json()["image"]["id"] == gold_image.pk
    response = client.post(
        f"/api/projects/{project.pk}/annotations", {"image": gold_image.pk, "label_class": 999}, format="json"
    )
    assert response.status_code == 400
    assert GoldAnswer.objects.get(annotator=second).answered_at is None


def _client(user):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(user)
    return client


def _shape(value):
    """What a response looks like, values aside: keys, and which are null."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return value is None


def test_a_gold_hand_out_cannot_be_told_from_a_queue_item(cats, users):
    project, gold_image, second = cats["project"], cats["gold_image"], cats["second"]
    client = _client(second)
    plain = client.post(f"/api/projects/{project.pk}/queue/next").json()
    client.post(f"/api/projects/{project.pk}/queue/skip", {"image": plain["image"]["id"]}, format="json")
    _client(users["admin"]).post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    _set(project, gold_rate=1.0)
    counters_before = CreditBalance.objects.get(project=project).as_dict()
    shown_before = client.get(f"/api/projects/{project.pk}/credits").json()

    response = client.post(f"/api/projects/{project.pk}/queue/next")
    assert response.status_code == 201
    gold = response.json()
    assert gold["image"]["id"] == gold_image.pk
    assert _shape(gold) == _shape(plain)
    assert (gold["image"]["status"], gold["image"]["split"], gold["image"]["labeled_at"]) == ("reserved", "pool", None)
    assert gold["prediction"] is None  # a model trained on the gold label would give the answer away
    # The annotator sees a credit reserved for it, as for any hand-out; none is.
    assert gold["balance"]["reserved"] == shown_before["reserved"] + 1
    assert client.get(f"/api/projects/{project.pk}/credits").json() == gold["balance"]
    assert client.get(f"/api/projects/{project.pk}").json()["balance"] == gold["balance"]
    (listed,) = [p for p in client.get("/api/projects").json()["results"] if p["id"] == project.pk]
    assert listed["balance"] == gold["balance"]
    assert CreditBalance.objects.get(project=project).as_dict() == counters_before
    # Asking again returns the same hand-out, as for any held image.
    again = client.post(f"/api/projects/{project.pk}/queue/next")
    assert again.status_code == 200 and again.json()["reservation"] == gold["reservation"]

    response = client.post(
        f"/api/projects/{project.pk}/annotations",
        {"image": gold_image.pk, "label_class": cats["cat"].pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["kind"], answer["is_free"], answer["annotator"]) == ("human", False, "second")
    assert None not in (answer["id"], answer["created_at"], answer["updated_at"])
    assert GoldAnswer.objects.get(annotator=second).score == 1.0
    assert CreditBalance.objects.get(project=project).as_dict() == counters_before
    assert client.get(f"/api/projects/{project.pk}/credits").json() == shown_before


def test_a_gold_item_is_not_handed_to_the_annotator_who_labeled_it(cats, users):
    project, gold_image = cats["project"], cats["gold_image"]
    _client(users["admin"]).post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    _set(project, gold_rate=1.0)
    body = _client(users["annotator"]).post(f"/api/projects/{project.pk}/queue/next").json()
    assert body["image"]["id"] != gold_image.pk
    assert not GoldAnswer.objects.filter(annotator=users["annotator"]).exists()


def test_a_gold_hand_out_follows_the_budget_and_its_lease_like_any_other(cats, users):
    from datetime import timedelta

    from django.utils import timezone

    from labelapp.labeling.models import Reservation
    from labelapp.labeling.services import reservations_release_expired

    project, gold_image, second = cats["project"], cats["gold_image"], cats["second"]
    _client(users["admin"]).post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    _set(project, gold_rate=1.0)
    client = _client(second)
    assert client.post(f"/api/projects/{project.pk}/queue/next").json()["image"]["id"] == gold_image.pk
    # Its lease runs out like any other; no credit moves, and it comes back unanswered.
    counters = CreditBalance.objects.get(project=project).as_dict()
    Reservation.objects.filter(user=second).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reservations_release_expired() == 1
    assert CreditBalance.objects.get(project=project).as_dict() == counters
    assert client.post(f"/api/projects/{project.pk}/queue/next").json()["image"]["id"] == gold_image.pk
    response = client.post(f"/api/projects/{project.pk}/queue/skip", {"image": gold_image.pk}, format="json")
    assert response.status_code == 200
    assert GoldAnswer.objects.get(annotator=second).score is None
    # With the budget spent, a gold item is no more to be had than any image.
    _set(project, gold_rate=0.0)
    balance = CreditBalance.objects.get(project=project)
    CreditBalance.objects.filter(pk=balance.pk).update(spent=balance.granted - balance.reserved)
    GoldAnswer.objects.all().delete()
    _set(project, gold_rate=1.0)
    response = client.post(f"/api/projects/{project.pk}/queue/next")
    assert (response.status_code, response.json()["code"]) == (409, "budget_exhausted")


def test_only_labeled_images_can_be_gold(cats, client_for):
    project = cats["project"]
    unlabeled = cats["images"][-1]
    response = client_for("admin").post(f"/api/projects/{project.pk}/data/{unlabeled.pk}/gold")
    assert (response.status_code, response.json()["code"]) == (409, "not_labeled")
    response = client_for("admin").delete(f"/api/projects/{project.pk}/data/{cats['gold_image'].pk}/gold")
    assert response.status_code == 200 and response.json()["gold"] is False


def test_annotator_statistics_and_csv(cats, client_for, users):
    project = cats["project"]
    annotator = users["annotator"]
    for seconds in (3, 9):
        item = image_reserve_next(project=project, user=annotator)
        annotation_submit(
            project=project, user=annotator, image_id=item.image.pk, label_class=cats["dog"].pk, seconds_spent=seconds
        )
    labeled = list(Annotation.objects.filter(project=project, annotator=annotator).order_by("id"))
    review_decide(project=project, image_id=labeled[0].image_id, reviewer=users["reviewer"], verdict="approve")
    review_decide(
        project=project, image_id=labeled[1].image_id, reviewer=users["reviewer"], verdict="reject", reason="wrong"
    )
    from labelapp.labeling.models import GoldItem

    gold = GoldItem.objects.create(project=project, image=labeled[2].image, label_class=cats["dog"])
    GoldAnswer.objects.create(project=project, gold=gold, annotator=annotator, score=1.0, answered_at=gold.created_at)

    stats = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats").json()
    (row,) = [r for r in stats["annotators"] if r["username"] == "annotator"]
    # Three labels given (one later rejected still counts as work), seconds 5, 3, 9 → the
    # rejected label's 3 s left with it: median of 5 and 9.
    assert row["labels"] == 3
    assert sum(d["labels"] for d in row["labels_per_day"]) == 3
    assert row["median_seconds"] == 7
    assert (row["reviewed"], row["rejection_rate"], row["agreement_with_reviewers"]) == (2, 0.5, 0.5)
    assert (row["gold_answers"], row["gold_score"]) == (1, 1.0)

    response = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["username"] == "annotator" and rows[0]["rejection_rate"] == "0.5"


def test_a_gold_items_label_cannot_be_rejected_from_under_it(cats, client_for):
    project, gold_image = cats["project"], cats["gold_image"]
    client_for("admin").post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    response = client_for("reviewer").post(
        f"/api/projects/{project.pk}/review",
        {"image": gold_image.pk, "verdict": "reject", "reason": "wrong"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "gold_item")
    assert Annotation.objects.filter(image=gold_image).exists()


def test_an_annotator_who_only_answered_gold_items_is_in_the_statistics(cats, client_for, users):
    project, gold_image, second = cats["project"], cats["gold_image"], cats["second"]
    client_for("admin").post(f"/api/projects/{project.pk}/data/{gold_image.pk}/gold")
    _set(project, gold_rate=1.0)
    client = _client(second)
    assert client.post(f"/api/projects/{project.pk}/queue/next").json()["image"]["id"] == gold_image.pk
    response = client.post(
        f"/api/projects/{project.pk}/annotations",
        {"image": gold_image.pk, "label_class": cats["dog"].pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    stats = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats").json()
    (row,) = [r for r in stats["annotators"] if r["username"] == "second"]
    assert (row["labels"], row["gold_answers"], row["gold_score"], row["median_seconds"]) == (0, 1, 0.0, None)
    csv_rows = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats/csv").content.decode()
    assert "\nsecond," in csv_rows
