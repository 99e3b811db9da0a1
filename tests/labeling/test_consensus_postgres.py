"""Consensus second passes under real concurrency, on PostgreSQL (`make test-postgres`)."""

from collections import Counter

import pytest
from django.db import connection

from labelapp.accounts.models import User
from labelapp.core.errors import ConflictError
from labelapp.credits.services import balance_get, credit_grant, ledger_totals
from labelapp.images.services import images_ingest
from labelapp.labeling.consensus import CONSENSUS_REASON
from labelapp.labeling.models import ConsensusAnnotation, ConsensusState, Reservation
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create
from tests.conftest import jpeg_bytes, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test-postgres`")


def test_racing_annotators_take_each_second_pass_once_and_never_overspend():
    owner = User.objects.create_user("owner")
    project = project_create(
        name="Race",
        task_type="classification",
        created_by=owner,
        class_names=["lime", "orange"],
        settings={"evaluation_share": 0, "consensus_share": 1.0},
    )
    first = User.objects.create_user("first")
    racers = [User.objects.create_user(f"racer{i}") for i in range(16)]
    Membership.objects.bulk_create([Membership(project=project, user=u, role=Role.ANNOTATOR) for u in [first, *racers]])
    images_ingest(
        project=project, files=[(f"{i}.png", jpeg_bytes(i, size=(16, 16), fmt="PNG"), "image/png") for i in range(8)]
    )
    lime = project.label_classes.order_by("id").first()
    # 8 first labels, then 5 credits left for 8 open second passes and 16 racers.
    credit_grant(project=project, amount=13)
    for _ in range(8):
        item = image_reserve_next(project=project, user=first)
        annotation_submit(project=project, user=first, image_id=item.image.pk, label_class=lime.pk)

    def work(i):
        item = image_reserve_next(project=project, user=racers[i])
        annotation_submit(project=project, user=racers[i], image_id=item.image.pk, label_class=lime.pk)
        return item.image.pk

    results = race(16, work)
    answered = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(answered) == 5, results
    # A racer finds the budget spent, or every pass held (locked) by another racer: SKIP LOCKED
    # passes over a pass being claimed instead of waiting for it, as it does for pool images.
    assert all(isinstance(r, ConflictError) and r.code in {"budget_exhausted", "pool_empty"} for r in refused), refused
    assert max(Counter(answered).values()) == 1, "a second pass was handed out twice"
    assert Reservation.objects.filter(project=project, reason=CONSENSUS_REASON).count() == 5
    assert ConsensusAnnotation.objects.filter(project=project, state=ConsensusState.ANSWERED).count() == 5
    balance = balance_get(project=project)
    assert balance.as_dict() == {"granted": 13, "reserved": 0, "spent": 13, "available": 0}
    assert ledger_totals(project=project) == balance.as_dict()
