"""The credit invariant under real concurrency, on PostgreSQL (`make test-postgres`)."""

import pytest
from django.db import IntegrityError, connection, transaction

from labelapp.accounts.models import User
from labelapp.core.errors import ConflictError
from labelapp.credits.models import CreditBalance
from labelapp.credits.services import balance_get, credit_grant, ledger_totals
from labelapp.images.models import Image, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Reservation, ReservationState
from labelapp.labeling.services import annotation_submit, image_reserve_next, image_skip
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create
from tests.conftest import jpeg_bytes, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test-postgres`")


def _project_with_annotators(count: int, images: int, credits: int):
    owner = User.objects.create_user("owner")
    project = project_create(name="Race", task_type="detection", created_by=owner, class_names=["box"])
    annotators = [User.objects.create_user(f"annotator{i}") for i in range(count)]
    Membership.objects.bulk_create([Membership(project=project, user=u, role=Role.ANNOTATOR) for u in annotators])
    images_ingest(
        project=project,
        files=[(f"{i}.png", jpeg_bytes(i, size=(16, 16), fmt="PNG"), "image/png") for i in range(images)],
    )
    credit_grant(project=project, amount=credits)
    return project, annotators


def test_forty_annotators_racing_for_ten_credits_get_exactly_ten_images():
    project, annotators = _project_with_annotators(40, images=60, credits=10)
    results = race(40, lambda i: image_reserve_next(project=project, user=annotators[i]))
    handed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ConflictError)]
    assert len(handed) == 10
    assert len(refused) == 30 and {r.code for r in refused} == {"budget_exhausted"}
    assert len({item.image.pk for item in handed}) == 10, "an image was handed out twice"
    balance = balance_get(project=project)
    assert balance.as_dict() == {"granted": 10, "reserved": 10, "spent": 0, "available": 0}
    assert ledger_totals(project=project) == balance.as_dict()
    assert Image.objects.filter(project=project, status=Status.RESERVED).count() == 10


def test_racing_reserve_submit_and_skip_keep_the_ledger_equal_to_the_balance():
    project, annotators = _project_with_annotators(24, images=80, credits=30)
    class_id = project.label_classes.get().pk

    def work(i):
        user = annotators[i]
        done = 0
        for round_ in range(4):
            try:
                item = image_reserve_next(project=project, user=user)
            except ConflictError:
                break
            if (i + round_) % 3 == 0:
                image_skip(project=project, user=user, image_id=item.image.pk)
            else:
                annotation_submit(
                    project=project,
                    user=user,
                    image_id=item.image.pk,
                    boxes=[{"x": 1, "y": 1, "w": 4, "h": 4, "label_class": class_id}],
                )
                done += 1
        return done

    results = race(24, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    balance = balance_get(project=project)
    assert balance.spent + balance.reserved <= balance.granted
    assert balance.spent == sum(results)
    assert ledger_totals(project=project) == balance.as_dict()
    assert Reservation.objects.filter(project=project, state=ReservationState.ACTIVE).count() == balance.reserved


def test_the_database_itself_refuses_an_overspent_balance():
    project, _ = _project_with_annotators(1, images=1, credits=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBalance.objects.filter(project=project).update(spent=2, reserved=1)


def test_the_same_image_uploaded_concurrently_is_stored_once_with_no_stray_files(settings):
    from pathlib import Path

    owner = User.objects.create_user("uploader")
    project = project_create(name="Dup", task_type="detection", created_by=owner, class_names=["box"])
    data = jpeg_bytes(7, size=(32, 32))
    results = race(8, lambda i: images_ingest(project=project, files=[(f"same-{i}.jpg", data, "image/jpeg")]))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r.created) for r in results) == 1
    assert Image.objects.filter(project=project).count() == 1
    stored = [p for p in Path(settings.MEDIA_ROOT, f"projects/{project.pk}").rglob("*") if p.is_file()]
    assert len(stored) == 2, stored  # the image and its thumbnail, nothing else


def test_item6_one_annotator_racing_twenty_queue_requests_holds_one_reservation_and_one_credit():
    """Issue 14 item 6: 20 parallel `queue/next` from one user gave 3 × 201 and held 3 credits
    because the active-reservation check ran before the transaction."""
    project, (annotator,) = _project_with_annotators(1, images=30, credits=10)
    results = race(20, lambda i: image_reserve_next(project=project, user=annotator))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(item.created for item in results) == [False] * 19 + [True]
    assert len({item.image.pk for item in results}) == 1, "the same user was handed different images"
    assert len({item.reservation.pk for item in results}) == 1
    balance = balance_get(project=project)
    assert balance.as_dict() == {"granted": 10, "reserved": 1, "spent": 0, "available": 9}
    assert ledger_totals(project=project) == balance.as_dict()
    assert Image.objects.filter(project=project, status=Status.RESERVED).count() == 1


def test_item6_the_database_refuses_a_second_active_reservation_for_one_annotator():
    """Issue 14 item 6: a partial unique constraint on (project, user) for active reservations."""
    project, (annotator,) = _project_with_annotators(1, images=3, credits=3)
    held = image_reserve_next(project=project, user=annotator)
    second = Image.objects.filter(project=project, status=Status.UNLABELED).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            project=project,
            image=second,
            user=annotator,
            credit_entry=held.reservation.credit_entry,
            expires_at=held.reservation.expires_at,
        )


def test_annotators_racing_for_one_gold_item_all_get_it_and_it_holds_no_credit():
    """A gold item is shared: many annotators hold it at once (the one-active-reservation-per-
    image index leaves gold reservations out), each with one reservation, none with a credit."""
    from labelapp.labeling.models import Annotation, AnnotationKind, GoldItem
    from labelapp.labeling.services import image_label

    project, annotators = _project_with_annotators(12, images=20, credits=5)
    gold_image = Image.objects.filter(project=project).order_by("id").first()
    with transaction.atomic():
        image_label(project=project, image=gold_image, kind=AnnotationKind.IMPORTED, boxes=[], announce=False)
    GoldItem.objects.create(project=project, image=gold_image, boxes=[])
    project.settings = {**project.settings, "gold_rate": 1.0}
    project.save()
    results = race(12, lambda i: image_reserve_next(project=project, user=annotators[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {item.image.pk for item in results} == {gold_image.pk}
    assert Reservation.objects.filter(state=ReservationState.ACTIVE, credit_entry__isnull=True).count() == 12
    balance = balance_get(project=project)
    assert balance.as_dict() == {"granted": 5, "reserved": 0, "spent": 0, "available": 5}
    assert ledger_totals(project=project) == balance.as_dict()
    results = race(
        12, lambda i: annotation_submit(project=project, user=annotators[i], image_id=gold_image.pk, boxes=[])
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Annotation.objects.filter(project=project).count() == 1
    assert balance_get(project=project).as_dict() == balance.as_dict()
