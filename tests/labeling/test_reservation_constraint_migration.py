"""Issue 14 item 6: the migration adding the partial unique constraint "one active reservation
per annotator and project" must not fail on an install whose old queue already gave one
annotator several active reservations; it expires the extras (keeping the newest) and gives
their reserved credits back the way an expired lease is released."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from labelapp.credits.models import CreditBalance, CreditEntry, EntryKind
from labelapp.credits.services import credit_grant, credit_reserve, ledger_totals
from labelapp.images.models import Image, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Reservation, ReservationState
from tests.conftest import jpeg_bytes

BEFORE_THE_CONSTRAINT = [("labeling", "0001_initial")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def _duplicates_expire_and_their_credits_come_back(project, users):
    annotator, other = users["annotator"], users["verifier"]
    credit_grant(project=project, amount=10)
    images_ingest(project=project, files=[(f"r{i}.jpg", jpeg_bytes(i), "image/jpeg") for i in range(4)])
    images = list(Image.objects.filter(project=project).order_by("id"))
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        before = _migrate(BEFORE_THE_CONSTRAINT)
        old_reservation = before.loader.project_state(BEFORE_THE_CONSTRAINT).apps.get_model("labeling", "Reservation")
        now = timezone.now()
        # What 20 parallel queue/next did on PostgreSQL: three active leases for one annotator
        # (created oldest first), and one for another annotator, which must stay.
        for index, (image, user) in enumerate(zip(images, [annotator, annotator, annotator, other], strict=True)):
            with transaction.atomic():
                entry = credit_reserve(project=project, actor=user, image=image)
            reservation = old_reservation.objects.create(
                project_id=project.pk,
                image_id=image.pk,
                user_id=user.pk,
                credit_entry_id=entry.pk,
                state="active",
                expires_at=now + timedelta(minutes=10),
            )
            old_reservation.objects.filter(pk=reservation.pk).update(created_at=now - timedelta(minutes=10 - index))
            Image.objects.filter(pk=image.pk).update(status=Status.RESERVED)
        assert CreditBalance.objects.get(project=project).reserved == 4
    finally:
        _migrate(leaf)

    mine = Reservation.objects.filter(project=project, user=annotator).order_by("image_id")
    assert [r.state for r in mine] == [ReservationState.EXPIRED, ReservationState.EXPIRED, ReservationState.ACTIVE]
    assert all(r.ended_at is not None for r in mine[:2])
    assert Reservation.objects.get(user=other).state == ReservationState.ACTIVE
    assert [Image.objects.get(pk=i.pk).status for i in images] == [
        Status.UNLABELED,
        Status.UNLABELED,
        Status.RESERVED,
        Status.RESERVED,
    ]
    balance = CreditBalance.objects.get(project=project)
    assert (balance.granted, balance.reserved, balance.spent) == (10, 2, 0)
    releases = CreditEntry.objects.filter(project=project, kind=EntryKind.RELEASE)
    assert sorted(releases.values_list("image_id", flat=True)) == [images[0].pk, images[1].pk]
    assert ledger_totals(project=project) == {"granted": 10, "reserved": 2, "spent": 0, "available": 8}

    # Idempotent: run again on the migrated database, it finds nothing to do.
    step = import_module("labelapp.labeling.migrations.0002_reservation_one_active_per_annotator")
    from django.apps import apps

    step.expire_duplicate_active_reservations(apps, None)
    assert CreditBalance.objects.get(project=project).reserved == 2
    assert CreditEntry.objects.filter(project=project, kind=EntryKind.RELEASE).count() == 2


@pytest.mark.django_db(transaction=True)
def test_item6_migration_expires_duplicate_active_reservations_before_the_constraint(detection_project, users):
    _duplicates_expire_and_their_credits_come_back(detection_project, users)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_item6_migration_expires_duplicate_active_reservations_on_postgresql(detection_project, users):
    assert connection.vendor == "postgresql"
    _duplicates_expire_and_their_credits_come_back(detection_project, users)
