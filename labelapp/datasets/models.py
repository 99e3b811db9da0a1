from django.conf import settings
from django.db import models

from labelapp.core.jobs import JobQuerySet, JobStatus


class ImportJob(models.Model):
    """A dataset import (a ZIP of labeled images) run by a Celery worker.

    The web request only checks the archive's directory and stores the ZIP; the worker
    checks every image and label first (phase `checking`) and writes nothing if any is
    wrong, then stores the images in short batches (phase `importing`), so the database
    write lock is never held for long. `done`/`total` count images stored / images listed.

    Its lifecycle is labelapp.core.jobs' (claim, owner, heartbeat, recovery by the stale-work
    beat job); it keeps its own `detail` for the message shown in success and failure alike."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="import_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    archive = models.CharField(
        max_length=300, blank=True, help_text="Storage name of the uploaded ZIP; removed when the job ends."
    )
    archive_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    phase = models.CharField(max_length=10, blank=True, help_text="checking, then importing.")
    checked = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    images_created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    labels_created = models.PositiveIntegerField(default=0)
    classes_created = models.PositiveIntegerField(default=0)
    class_mapping = models.JSONField(
        default=dict, blank=True, help_text="Name in the archive → existing class it was matched to."
    )
    errors = models.JSONField(default=list, blank=True)
    detail = models.TextField(null=True, blank=True)  # noqa: DJ001 - null until there is a detail to show
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker process running it (labelapp.core.liveness): recovery takes it over only when
    # that process is gone or silent.
    owner_host = models.CharField(max_length=255, blank=True)
    owner_pid = models.PositiveIntegerField(null=True, blank=True)
    owner_started = models.BigIntegerField(
        null=True, blank=True, help_text="Process start time (clock ticks since boot)."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker claimed it; recovery gives up after a few."
    )

    objects = JobQuerySet.as_manager()

    keeps_first_start = False

    class Meta:
        # Created by the images app, which held import jobs before the datasets app existed.
        db_table = "images_importjob"
        ordering = ["-id"]
