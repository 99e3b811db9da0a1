from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.credits.services import balance_get, ledger_totals
from labelapp.images.models import Image, Status
from labelapp.labeling.models import Reservation
from labelapp.labeling.services import reservations_release_expired

pytestmark = pytest.mark.django_db


def test_next_hands_out_highest_priority_and_reserves_a_credit(pool, detection_project, client_for):
    client = client_for("annotator")
    response = client.post(f"/api/projects/{detection_project.pk}/queue/next")
    assert response.status_code == 201
    body = response.json()
    assert body["image"]["id"] == pool[0].pk
    assert body["balance"] == {"granted": 10, "reserved": 1, "spent": 0, "available": 9}
    assert Image.objects.get(pk=pool[0].pk).status == Status.RESERVED


def test_asking_again_returns_the_same_image_without_a_second_credit(pool, detection_project, client_for):
    client = client_for("annotator")
    first = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()
    again = client.post(f"/api/projects/{detection_project.pk}/queue/next/")
    assert again.status_code == 200
    assert again.json()["image"]["id"] == first["image"]["id"]
    assert balance_get(project=detection_project).reserved == 1


def test_two_annotators_get_different_images(pool, detection_project, client_for):
    a = client_for("annotator").post(f"/api/projects/{detection_project.pk}/queue/next").json()
    b = client_for("admin").post(f"/api/projects/{detection_project.pk}/queue/next").json()
    assert a["image"]["id"] != b["image"]["id"]


def test_submit_spends_the_credit_and_moves_the_image_to_a_split(pool, detection_project, client_for):
    client = client_for("annotator")
    image = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()["image"]
    class_id = detection_project.label_classes.first().pk
    response = client.post(
        f"/api/projects/{detection_project.pk}/annotations",
        {
            "image": image["id"],
            "boxes": [{"x": 1, "y": 2, "w": 10, "h": 12, "label_class": class_id}],
            "seconds_spent": 4.5,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    stored = Image.objects.get(pk=image["id"])
    assert stored.status == Status.LABELED and stored.split in {"train", "val", "test"}
    assert balance_get(project=detection_project).as_dict() == {
        "granted": 10,
        "reserved": 0,
        "spent": 1,
        "available": 9,
    }
    assert ledger_totals(project=detection_project) == balance_get(project=detection_project).as_dict()


@pytest.mark.parametrize(
    "boxes, message",
    [
        ([{"x": 1, "y": 2, "w": 10}], "missing h"),
        ([{"x": 1, "y": 2, "w": -3, "h": 4, "label_class": "CLASS"}], "positive"),
        ([{"x": 60, "y": 2, "w": 10, "h": 4, "label_class": "CLASS"}], "outside"),
        ([{"x": 1, "y": 2, "w": 10, "h": 4, "label_class": 999999}], "not a class"),
        ("nope", "list"),
    ],
)
def test_bad_boxes_are_refused_with_the_reason_and_nothing_moves(pool, detection_project, client_for, boxes, message):
    client = client_for("annotator")
    image = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()["image"]
    class_id = detection_project.label_classes.first().pk
    if isinstance(boxes, list):
        boxes = [{k: (class_id if v == "CLASS" else v) for k, v in box.items()} for box in boxes]
    response = client.post(
        f"/api/projects/{detection_project.pk}/annotations", {"image": image["id"], "boxes": boxes}, format="json"
    )
    assert response.status_code == 400
    assert message in str(response.json())
    assert balance_get(project=detection_project).as_dict() == {
        "granted": 10,
        "reserved": 1,
        "spent": 0,
        "available": 9,
    }


def test_classification_needs_a_class_of_the_project(classification_project, client_for):
    from labelapp.credits.services import credit_grant
    from labelapp.images.services import images_ingest
    from tests.conftest import jpeg_bytes

    images_ingest(project=classification_project, files=[("a.png", jpeg_bytes(1, fmt="PNG"), "image/png")])
    credit_grant(project=classification_project, amount=1)
    client = client_for("annotator")
    image = client.post(f"/api/projects/{classification_project.pk}/queue/next").json()["image"]
    url = f"/api/projects/{classification_project.pk}/annotations"
    assert client.post(url, {"image": image["id"]}, format="json").status_code == 400
    assert client.post(url, {"image": image["id"], "label_class": 987654}, format="json").status_code == 400
    cat = classification_project.label_classes.get(name="cat")
    assert client.post(url, {"image": image["id"], "label_class": cat.pk}, format="json").status_code == 201


def test_skip_releases_the_credit_and_the_image_is_not_handed_out_again(pool, detection_project, client_for):
    client = client_for("annotator")
    image = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()["image"]
    response = client.post(f"/api/projects/{detection_project.pk}/queue/skip", {"image": image["id"]}, format="json")
    assert response.status_code == 200
    assert response.json()["reserved"] == 0
    assert Image.objects.get(pk=image["id"]).status == Status.SKIPPED
    following = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()
    assert following["image"]["id"] != image["id"]


def test_empty_pool_and_exhausted_budget_say_which(detection_project, client_for, pool):
    from labelapp.credits.models import CreditBalance

    client = client_for("annotator")
    CreditBalance.objects.filter(project=detection_project).update(granted=0)
    response = client.post(f"/api/projects/{detection_project.pk}/queue/next")
    assert response.status_code == 409 and response.json()["code"] == "budget_exhausted"
    assert "budget" in response.json()["detail"]
    CreditBalance.objects.filter(project=detection_project).update(granted=10)
    Image.objects.filter(project=detection_project).update(status=Status.LABELED)
    response = client.post(f"/api/projects/{detection_project.pk}/queue/next")
    assert response.status_code == 409 and response.json()["code"] == "pool_empty"


def test_expired_lease_releases_its_credit_and_returns_the_image(pool, detection_project, client_for):
    client = client_for("annotator")
    image = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()["image"]
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reservations_release_expired() == 1
    assert reservations_release_expired() == 0
    assert Image.objects.get(pk=image["id"]).status == Status.UNLABELED
    balance = balance_get(project=detection_project)
    assert balance.reserved == 0
    assert ledger_totals(project=detection_project) == balance.as_dict()
    # The expired holder cannot submit any more.
    class_id = detection_project.label_classes.first().pk
    late = client.post(
        f"/api/projects/{detection_project.pk}/annotations",
        {"image": image["id"], "boxes": [{"x": 1, "y": 1, "w": 2, "h": 2, "label_class": class_id}]},
        format="json",
    )
    assert late.status_code == 409


def test_editing_ones_own_annotation_moves_no_credit(pool, detection_project, client_for):
    client = client_for("annotator")
    image = client.post(f"/api/projects/{detection_project.pk}/queue/next").json()["image"]
    class_id = detection_project.label_classes.first().pk
    annotation = client.post(
        f"/api/projects/{detection_project.pk}/annotations", {"image": image["id"], "boxes": []}, format="json"
    ).json()
    url = f"/api/projects/{detection_project.pk}/annotations/{annotation['id']}"
    edited = client.patch(url, {"boxes": [{"x": 3, "y": 3, "w": 5, "h": 5, "label_class": class_id}]}, format="json")
    assert edited.status_code == 200 and len(edited.json()["boxes"]) == 1
    assert balance_get(project=detection_project).spent == 1
    assert client_for("admin").patch(url, {"boxes": []}, format="json").status_code == 403
