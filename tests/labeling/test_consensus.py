"""Consensus: a share of newly labeled images gets a second, blind label from another annotator
(labelapp.labeling.consensus), costs one more credit, and a disagreement goes to review."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from labelapp.credits.models import CreditEntry, EntryKind
from labelapp.credits.services import balance_get, credit_grant, ledger_totals
from labelapp.images.models import Image, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.consensus import CONSENSUS_NOTE, CONSENSUS_REASON
from labelapp.labeling.models import Annotation, ConsensusAnnotation, ConsensusState, Reservation
from labelapp.labeling.services import annotation_submit, image_reserve_next, image_skip, reservations_release_expired
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create
from labelapp.review.services import review_decide
from tests.conftest import NO_EVALUATION_PICKS, jpeg_bytes

pytestmark = pytest.mark.django_db


def _project(users, make_user, *, task_type="classification", share=1.0, images=4, credits=20):
    project = project_create(
        name="Fruit",
        task_type=task_type,
        created_by=users["admin"],
        class_names=["lime", "orange"],
        settings={**NO_EVALUATION_PICKS, "consensus_share": share, "review_mode": "suspects"},
    )
    first, second = make_user("first"), make_user("second")
    for user in (first, second):
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["reviewer"], role=Role.REVIEWER)
    created = images_ingest(
        project=project, files=[(f"f{i}.jpg", jpeg_bytes(700 + i), "image/jpeg") for i in range(images)]
    ).created
    for index, image in enumerate(created):
        Image.objects.filter(pk=image.pk).update(priority=1 - index * 0.1)
    if credits:
        credit_grant(project=project, amount=credits)
    lime, orange = project.label_classes.order_by("id")
    return {"project": project, "first": first, "second": second, "lime": lime, "orange": orange, "images": created}


def _client(user) -> APIClient:
    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(user)
    return client


def _label_next(project, user, label_class):
    item = image_reserve_next(project=project, user=user)
    annotation_submit(project=project, user=user, image_id=item.image.pk, label_class=label_class.pk, seconds_spent=2)
    return item


def _assert_credits_hold(project):
    balance = balance_get(project=project)
    assert balance.spent + balance.reserved <= balance.granted
    assert ledger_totals(project=project) == balance.as_dict()


def test_share_zero_opens_no_second_pass(users, make_user):
    fruit = _project(users, make_user, share=0.0)
    project = fruit["project"]
    labeled = _label_next(project, fruit["first"], fruit["lime"]).image
    item = image_reserve_next(project=project, user=fruit["second"])
    assert item.image.pk != labeled.pk and item.reservation.reason != CONSENSUS_REASON
    assert not ConsensusAnnotation.objects.exists()
    assert balance_get(project=project).spent == 1


def test_share_one_hands_every_label_to_another_annotator_once_blind_and_for_one_more_credit(users, make_user):
    fruit = _project(users, make_user)
    project, first, second = fruit["project"], fruit["first"], fruit["second"]
    lime, orange = fruit["lime"], fruit["orange"]
    a = _label_next(project, first, lime).image
    # The first annotator never gets their own image back: the next one is a pool image.
    b = _label_next(project, first, orange).image
    assert b.pk != a.pk
    assert ConsensusAnnotation.objects.filter(state=ConsensusState.OPEN).count() == 2

    before = balance_get(project=project).as_dict()
    response = _client(second).post(f"/api/projects/{project.pk}/queue/next")
    assert response.status_code == 201, response.content
    body = response.json()
    # Blind: the labeled image comes like any unscored pool image, with no hint of its label.
    assert body["image"]["id"] == a.pk
    assert (body["image"]["status"], body["image"]["split"], body["image"]["labeled_at"]) == ("reserved", "pool", None)
    assert body["prediction"] is None
    assert body["reason"] == {"strategy": "unscored", "score": 0.0, "explanation": None}
    assert body["balance"]["reserved"] == before["reserved"] + 1
    again = _client(second).post(f"/api/projects/{project.pk}/queue/next")
    assert again.status_code == 200 and again.json()["image"] == body["image"] and again.json()["prediction"] is None
    reserve = CreditEntry.objects.filter(image=a, kind=EntryKind.RESERVE).order_by("id").last()
    assert (reserve.note, reserve.actor) == (CONSENSUS_NOTE, second)
    # The second annotator cannot read the first label either.
    assert _client(second).get(f"/api/projects/{project.pk}/annotations", {"image": a.pk}).json()["count"] == 0

    response = _client(second).post(
        f"/api/projects/{project.pk}/annotations",
        {"image": a.pk, "label_class": orange.pk, "seconds_spent": 4},
        format="json",
    )
    assert response.status_code == 201, response.content
    spend = CreditEntry.objects.filter(image=a, kind=EntryKind.SPEND).order_by("id").last()
    assert (spend.note, spend.actor) == (CONSENSUS_NOTE, second)
    assert balance_get(project=project).spent == before["spent"] + 1
    # The first label stays the image's label; the second is kept beside it.
    a.refresh_from_db()
    assert a.status == Status.LABELED
    assert Annotation.objects.get(image=a).label_class == lime
    pair = ConsensusAnnotation.objects.get(image=a)
    assert (pair.state, pair.annotator, pair.label_class, pair.agreed) == ("answered", second, orange, False)
    assert pair.reason == "second annotator: `orange`"

    # The second pass on b agrees.
    item = image_reserve_next(project=project, user=second)
    assert item.image.pk == b.pk
    annotation_submit(project=project, user=second, image_id=b.pk, label_class=orange.pk)
    assert ConsensusAnnotation.objects.get(image=b).agreed is True

    # Label the rest: each annotator labels pool images, and takes the other's passes first.
    for user, other in ((second, first), (second, first)):
        _label_next(project, user, lime)
        _label_next(project, other, lime)  # the pass on what `user` just labeled
    assert Image.objects.filter(project=project, status=Status.LABELED).count() == 4
    pairs = list(ConsensusAnnotation.objects.filter(project=project))
    assert len(pairs) == 4 and {p.state for p in pairs} == {ConsensusState.ANSWERED}
    assert all(p.annotator_id != p.first_annotator_id for p in pairs)
    for image in fruit["images"]:
        assert Reservation.objects.filter(image=image, reason=CONSENSUS_REASON).count() == 1
    # Four first labels and four second ones: eight credits, each through reserve and spend.
    assert balance_get(project=project).as_dict() == {"granted": 20, "reserved": 0, "spent": 8, "available": 12}
    assert CreditEntry.objects.filter(project=project, kind=EntryKind.SPEND, note=CONSENSUS_NOTE).count() == 4
    _assert_credits_hold(project)

    # The disagreement is in review although review_mode (suspects) would show nothing else.
    reviewer = _client(users["reviewer"])
    item = reviewer.get(f"/api/projects/{project.pk}/review/next").json()["item"]
    assert item["image"]["id"] == a.pk
    assert item["label"]["label_class"] == lime.pk
    consensus = item["consensus"]
    assert (consensus["first_annotator"], consensus["annotator"], consensus["label_class"]) == (
        "first",
        "second",
        orange.pk,
    )
    assert (consensus["agreed"], consensus["reason"]) == (False, "second annotator: `orange`")
    response = reviewer.post(
        f"/api/projects/{project.pk}/review",
        {"image": a.pk, "verdict": "fix", "label_class": orange.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    # Agreements do not enter review: nothing is left.
    assert reviewer.get(f"/api/projects/{project.pk}/review/next").json()["item"] is None


def test_a_disagreement_enters_review_in_share_mode_with_a_zero_share(users, make_user):
    fruit = _project(users, make_user, images=2)
    project = fruit["project"]
    project.settings = {**project.settings, "review_mode": "share", "review_share": 0.0}
    project.save()
    a = _label_next(project, fruit["first"], fruit["lime"]).image
    b = _label_next(project, fruit["first"], fruit["lime"]).image
    reviewer = _client(users["reviewer"])
    assert reviewer.get(f"/api/projects/{project.pk}/review/next").json()["item"] is None
    assert _label_next(project, fruit["second"], fruit["orange"]).image.pk == a.pk  # the pass on a
    assert _label_next(project, fruit["second"], fruit["lime"]).image.pk == b.pk  # agrees
    assert reviewer.get(f"/api/projects/{project.pk}/review/next").json()["item"]["image"]["id"] == a.pk


def test_the_first_annotator_alone_never_gets_a_second_pass(users, make_user):
    fruit = _project(users, make_user, images=2)
    project, first = fruit["project"], fruit["first"]
    _label_next(project, first, fruit["lime"])
    _label_next(project, first, fruit["lime"])
    with pytest.raises(Exception, match="pool is empty"):
        image_reserve_next(project=project, user=first)
    assert ConsensusAnnotation.objects.filter(state=ConsensusState.OPEN).count() == 2
    _assert_credits_hold(project)


def test_a_second_pass_needs_a_credit_and_never_overspends(users, make_user):
    fruit = _project(users, make_user, images=2, credits=1)
    project = fruit["project"]
    _label_next(project, fruit["first"], fruit["lime"])
    response = _client(fruit["second"]).post(f"/api/projects/{project.pk}/queue/next")
    assert (response.status_code, response.json()["code"]) == (409, "budget_exhausted")
    assert not Reservation.objects.filter(reason=CONSENSUS_REASON).exists()
    credit_grant(project=project, amount=1)
    item = image_reserve_next(project=project, user=fruit["second"])
    assert item.reservation.reason == CONSENSUS_REASON
    assert balance_get(project=project).as_dict() == {"granted": 2, "reserved": 1, "spent": 1, "available": 0}
    _assert_credits_hold(project)


def test_skip_releases_the_credit_and_ends_the_pass_and_expiry_puts_it_back(users, make_user):
    fruit = _project(users, make_user, images=3)
    project, first, second = fruit["project"], fruit["first"], fruit["second"]
    a = _label_next(project, first, fruit["lime"]).image
    b = _label_next(project, first, fruit["lime"]).image
    item = image_reserve_next(project=project, user=second)
    assert item.image.pk == a.pk
    image_skip(project=project, user=second, image_id=a.pk)
    a.refresh_from_db()
    assert a.status == Status.LABELED  # a skipped second pass leaves the first label alone
    assert ConsensusAnnotation.objects.get(image=a).state == ConsensusState.SKIPPED
    release = CreditEntry.objects.filter(image=a, kind=EntryKind.RELEASE).get()
    assert release.note == "consensus: skipped"

    item = image_reserve_next(project=project, user=second)
    assert item.image.pk == b.pk
    Reservation.objects.filter(pk=item.reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reservations_release_expired() == 1
    b.refresh_from_db()
    assert b.status == Status.LABELED
    # Back to open: the next request hands it out again.
    assert ConsensusAnnotation.objects.get(image=b).state == ConsensusState.OPEN
    assert image_reserve_next(project=project, user=second).image.pk == b.pk
    assert balance_get(project=project).as_dict() == {"granted": 20, "reserved": 1, "spent": 2, "available": 17}
    _assert_credits_hold(project)


def test_a_rejected_first_label_is_not_handed_out_for_a_second_pass(users, make_user):
    fruit = _project(users, make_user, images=2)
    project = fruit["project"]
    a = _label_next(project, fruit["first"], fruit["lime"]).image
    review_decide(project=project, image_id=a.pk, reviewer=users["reviewer"], verdict="reject", reason="blurred")
    # The image is back in the pool (pinned): the second annotator labels it as a pool image.
    item = image_reserve_next(project=project, user=fruit["second"])
    assert item.image.pk == a.pk and item.reservation.reason == "rejected"


def _box(x, label_class, y=0, size=10):
    return {"x": x, "y": y, "w": size, "h": size, "label_class": label_class.pk}


def test_detection_boxes_unmatched_at_iou_half_are_a_disagreement(users, make_user):
    fruit = _project(users, make_user, task_type="detection", images=3)
    project, first, second, lime, orange = (fruit[k] for k in ("project", "first", "second", "lime", "orange"))
    boxes = [_box(0, lime), _box(30, orange)]
    labeled = []
    for _ in range(2):
        item = image_reserve_next(project=project, user=first)
        annotation_submit(project=project, user=first, image_id=item.image.pk, boxes=boxes)
        labeled.append(item.image)
    # Same boxes, shifted by 3 px (IoU 70/130 = 0.54), in another order: agreement.
    item = image_reserve_next(project=project, user=second)
    annotation_submit(project=project, user=second, image_id=item.image.pk, boxes=[_box(33, orange), _box(3, lime)])
    assert ConsensusAnnotation.objects.get(image=labeled[0]).agreed is True
    # The lime box shifted by 4 px (IoU 60/140 = 0.43) and an extra box: disagreement.
    item = image_reserve_next(project=project, user=second)
    annotation_submit(
        project=project,
        user=second,
        image_id=item.image.pk,
        boxes=[_box(4, lime), _box(30, orange), _box(0, lime, y=30)],
    )
    pair = ConsensusAnnotation.objects.get(image=labeled[1])
    assert pair.agreed is False
    assert pair.reason == (
        "second annotator: 3 boxes (`lime`, `orange`, `lime`); unmatched at IoU 0.5: 2 of theirs, 1 of the first label"
    )
    assert Annotation.objects.get(image=labeled[1]).boxes == boxes
    # The reviewer gets both labels: the image keeps the first, the second's boxes come beside it to draw.
    reviewer = _client(users["reviewer"])
    item = reviewer.get(f"/api/projects/{project.pk}/review/next").json()["item"]
    assert item["image"]["id"] == labeled[1].pk
    assert item["label"]["boxes"] == boxes
    assert (item["consensus"]["annotator"], item["consensus"]["label_class"], item["consensus"]["agreed"]) == (
        "second",
        None,
        False,
    )
    assert item["consensus"]["boxes"] == [_box(4, lime), _box(30, orange), _box(0, lime, y=30)]


def test_annotator_statistics_report_consensus_agreement(users, make_user, client_for):
    fruit = _project(users, make_user, images=3)
    project, first, second = fruit["project"], fruit["first"], fruit["second"]
    lime, orange = fruit["lime"], fruit["orange"]
    _label_next(project, first, lime)
    _label_next(project, first, lime)
    _label_next(project, second, lime)  # agrees with first
    _label_next(project, second, orange)  # disagrees with first
    _label_next(project, second, lime)  # a pool image: a pass for first, still open
    stats = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats").json()
    rows = {row["username"]: row for row in stats["annotators"]}
    # Each took part in both compared pairs (first as the first annotator, second as the second).
    assert (rows["first"]["consensus_pairs"], rows["first"]["consensus_agreement"]) == (2, 0.5)
    assert (rows["second"]["consensus_pairs"], rows["second"]["consensus_agreement"]) == (2, 0.5)
    # A second label is a label given (and paid for): it counts in labels and seconds per label.
    assert (rows["first"]["labels"], rows["second"]["labels"]) == (2, 3)
    assert rows["second"]["median_seconds"] == 2
    _label_next(project, first, orange)  # the open pass on second's lime: a disagreement
    response = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats")
    rows = {row["username"]: row for row in response.json()["annotators"]}
    assert (rows["first"]["consensus_pairs"], rows["first"]["consensus_agreement"]) == (3, pytest.approx(1 / 3))
    csv_text = client_for("admin").get(f"/api/projects/{project.pk}/annotator-stats/csv").content.decode()
    csv_rows = {row["username"]: row for row in csv.DictReader(io.StringIO(csv_text))}
    assert (csv_rows["second"]["consensus_pairs"], float(csv_rows["second"]["consensus_agreement"])) == (
        "3",
        pytest.approx(1 / 3),
    )


def test_consensus_share_is_validated_and_off_by_default(users, make_user, client_for):
    fruit = _project(users, make_user, images=1)
    project = fruit["project"]
    assert (
        project_create(name="Other", task_type="classification", created_by=users["admin"], class_names=["a"]).config[
            "consensus_share"
        ]
        == 0.0
    )
    response = client_for("admin").patch(
        f"/api/projects/{project.pk}", {"settings": {"consensus_share": 1.5}}, format="json"
    )
    assert response.status_code == 400
    assert "consensus_share" in str(response.json())
