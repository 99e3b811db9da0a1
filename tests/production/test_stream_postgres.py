"""Stream sampling and collection quotas under real concurrency, on PostgreSQL
(`.ci/with-postgres .venv/bin/pytest -m postgres tests/production/test_stream_postgres.py`)."""

import pytest
from django.db import connection

from labelapp.accounts.models import User
from labelapp.credits.models import StreamHold
from labelapp.credits.services import balance_get, credit_grant, held_credits_release_expired, ledger_totals
from labelapp.images.models import Image, Source
from labelapp.images.services import images_ingest
from labelapp.labeling.services import image_reserve_next
from labelapp.production.collection import prediction_make
from labelapp.production.models import StreamSampler
from labelapp.production.stream import stream_image_ingest
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create
from labelapp.training import engine
from tests.conftest import activate_model, detections, jpeg_bytes, race, script_model

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test-postgres`")
    engine._LOADED.clear()
    yield
    engine._LOADED.clear()


def _project(*, credits: int, annotators: int = 0, **settings):
    owner = User.objects.create_user("owner")
    project = project_create(
        name="Stream race", task_type="detection", created_by=owner, class_names=["box"], settings=settings
    )
    users = [User.objects.create_user(f"annotator{i}") for i in range(annotators)]
    Membership.objects.bulk_create([Membership(project=project, user=u, role=Role.ANNOTATOR) for u in users])
    if credits:
        credit_grant(project=project, amount=credits)
    version = activate_model(project)
    script_model(version, lambda i: detections([0.5], num_classes=1))  # confidence 0: every image is uncertain
    return project, owner, users


def _upload(i: int):
    return (f"s{i}.png", jpeg_bytes(1000 + i, size=(16, 16), fmt="PNG"), "image/png")


def _assert_consistent(project):
    balance = balance_get(project=project)
    assert ledger_totals(project=project) == balance.as_dict()
    assert balance.spent + balance.reserved <= balance.granted
    return balance


def test_thirty_concurrent_streams_against_six_credits_query_exactly_six():
    project, owner, _ = _project(credits=6, stream_mode="threshold", stream_threshold=0.5)
    results = race(30, lambda i: stream_image_ingest(project=project, user=owner, upload=_upload(i)))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    queried = [r for r in results if r.decision == "query"]
    assert len(queried) == 6
    assert {r.reason for r in results if r.decision == "accept"} == {"no_credits"}
    balance = _assert_consistent(project)
    assert balance.as_dict() == {"granted": 6, "reserved": 6, "spent": 0, "available": 0}
    assert StreamHold.objects.filter(project=project).count() == 6
    state = StreamSampler.objects.get(project=project).state
    assert (state["seen"], state["queried"]) == (30, 6)
    assert Image.objects.filter(project=project, source=Source.STREAM).count() == 30


def test_pacing_streams_racing_annotators_never_overspend():
    project, owner, annotators = _project(credits=8, annotators=10, stream_mode="pacing", stream_expected_items=20)
    images_ingest(
        project=project,
        files=[(f"pool{i}.png", jpeg_bytes(2000 + i, size=(16, 16), fmt="PNG"), "image/png") for i in range(10)],
    )

    def work(i):
        if i % 3 == 0:
            return image_reserve_next(project=project, user=annotators[i // 3])
        return stream_image_ingest(project=project, user=owner, upload=_upload(i))

    results = race(30, work)
    unexpected = [r for r in results if isinstance(r, Exception) and getattr(r, "code", None) != "budget_exhausted"]
    assert not unexpected, unexpected
    balance = _assert_consistent(project)
    holds = StreamHold.objects.filter(project=project)
    assert balance.reserved <= 8
    assert balance.reserved == holds.filter(state="held").count() + project.reservations.filter(state="active").count()


def test_a_concurrent_burst_never_exceeds_a_collection_quota():
    project, _owner, _ = _project(
        credits=0, collection_rules=[{"kind": "random_1_in_n", "n": 1, "per_hour": 4, "per_day": 100}]
    )
    results = race(24, lambda i: prediction_make(project=project, upload=_upload(i)))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert sum(r.kept for r in results) == 4
    assert Image.objects.filter(project=project, source=Source.PRODUCTION).count() == 4


def test_held_credits_expiring_while_annotators_take_the_images_move_each_credit_once():
    from datetime import timedelta

    from django.utils import timezone

    from labelapp.labeling.models import Reservation

    project, owner, annotators = _project(
        credits=10, annotators=8, stream_mode="threshold", stream_threshold=0.5, held_credit_hours=1
    )
    queried = [stream_image_ingest(project=project, user=owner, upload=_upload(i)) for i in range(8)]
    assert {r.decision for r in queried} == {"query"}
    later = timezone.now() + timedelta(hours=2)

    def work(i):
        if i % 2 == 0:
            return held_credits_release_expired(now=later)
        return image_reserve_next(project=project, user=annotators[i // 2])

    results = race(16, work)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    holds = StreamHold.objects.filter(project=project)
    claimed, released = holds.filter(state="claimed").count(), holds.filter(state="released").count()
    assert claimed + released == 8 and sum(r for r in results[::2]) == released
    active = Reservation.objects.filter(project=project, state="active")
    assert active.count() == 8, "every annotator got one of the queried images"
    balance = _assert_consistent(project)
    # Each annotator holds exactly one credit: the hold they took over, or a fresh one.
    assert balance.reserved == 8 and len({r.credit_entry_id for r in active}) == 8
