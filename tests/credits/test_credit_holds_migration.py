"""StreamHold moved from the production app to credits without moving its table: a database
migrated before the move keeps every hold, and holds written by the old model are read by
the new one."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from labelapp.credits.models import HoldState, StreamHold
from labelapp.credits.services import credit_grant, credit_hold, credit_reserve
from labelapp.images.models import Image
from labelapp.images.services import images_ingest
from tests.conftest import jpeg_bytes

BEFORE_THE_MOVE = [("production", "0003_holds_expire_synthesis_heartbeat"), ("credits", "0003_credit_counters_64bit")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


@pytest.mark.django_db(transaction=True)
def test_migrating_across_the_move_keeps_every_credit_hold(detection_project, users):
    credit_grant(project=detection_project, amount=5)
    images_ingest(project=detection_project, files=[(f"h{i}.jpg", jpeg_bytes(i), "image/jpeg") for i in range(3)])
    first, second, third = Image.objects.filter(project=detection_project).order_by("id")
    with transaction.atomic():
        held = credit_hold(project=detection_project, actor=users["admin"], image=first, note="stream query")
    StreamHold.objects.filter(pk=held.pk).update(state=HoldState.CLAIMED)
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        before = _migrate(BEFORE_THE_MOVE)
        old_apps = before.loader.project_state(BEFORE_THE_MOVE).apps
        old_hold = old_apps.get_model("production", "StreamHold")
        assert list(old_hold.objects.values_list("pk", "image_id", "state")) == [(held.pk, first.pk, "claimed")]
        # A hold written by the code of before the move.
        with transaction.atomic():
            entry = credit_reserve(project=detection_project, actor=None, image=second, note="synthesis job 1")
        old_hold.objects.create(project_id=detection_project.pk, image_id=second.pk, credit_entry_id=entry.pk)
    finally:
        _migrate(leaf)

    holds = StreamHold.objects.order_by("id")
    assert [(h.image_id, h.state, h.credit_entry.note) for h in holds] == [
        (first.pk, HoldState.CLAIMED, "stream query"),
        (second.pk, HoldState.HELD, "synthesis job 1"),
    ]
    with transaction.atomic():
        credit_hold(project=detection_project, actor=None, image=third)
    assert StreamHold.objects.count() == 3
