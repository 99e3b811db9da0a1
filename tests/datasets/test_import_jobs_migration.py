"""ImportJob moved from the images app to datasets without moving its table: a database
migrated before the move keeps every import job, and jobs written by the old model are read
by the new one. Its content type (and so its permissions) moves with it, and back."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from labelapp.core.jobs import JobStatus
from labelapp.datasets.models import ImportJob

BEFORE_THE_MOVE = [("images", "0006_import_jobs"), ("datasets", None)]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


@pytest.mark.django_db(transaction=True)
def test_migrating_across_the_move_keeps_every_import_job(detection_project, users):
    done = ImportJob.objects.create(
        project=detection_project,
        requested_by=users["admin"],
        archive_name="a.zip",
        status=JobStatus.SUCCEEDED,
        labels_created=3,
    )
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        before = _migrate(BEFORE_THE_MOVE)
        old_apps = before.loader.project_state([BEFORE_THE_MOVE[0]]).apps
        old_job = old_apps.get_model("images", "ImportJob")
        assert list(old_job.objects.values_list("pk", "archive_name", "labels_created")) == [(done.pk, "a.zip", 3)]
        assert ContentType.objects.filter(app_label="images", model="importjob").exists()
        # A job written by the code of before the move.
        old_job.objects.create(project_id=detection_project.pk, archive_name="b.zip", status="queued")
    finally:
        _migrate(leaf)

    jobs = ImportJob.objects.order_by("id")
    assert [(j.archive_name, j.status, j.labels_created) for j in jobs] == [
        ("a.zip", "succeeded", 3),
        ("b.zip", "queued", 0),
    ]
    assert list(ContentType.objects.filter(model="importjob").values_list("app_label", flat=True)) == ["datasets"]
