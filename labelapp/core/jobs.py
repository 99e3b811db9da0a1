"""One lifecycle for long work a Celery worker runs: training runs, rescores and synthesis jobs.

A job is queued, claimed by one worker (a conditional UPDATE, so a duplicate message finds
nothing to claim), keeps a heartbeat while it runs, and ends succeeded or failed with its
error. A job whose worker died (its owner's process is gone, or it has been silent past
`stale_after()`) or whose message was lost (queued that long) is stale: recovery sends it
again. Which worker owns a job and whether it is alive: labelapp.core.liveness.

What differs per job stays with it: whether a claim may take a running job over from a dead
owner (a training: yes; a synthesis job goes back to the queue first), whether a resumed
job keeps its first start time (`keeps_first_start`), and how it resumes."""

from datetime import timedelta

from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import liveness

#: Longest kept error message.
ERROR_MAX_CHARS = 2000


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: A job not ended yet: a project has at most one open training and one open synthesis job.
OPEN_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def stale_after() -> timedelta:
    from django.conf import settings

    return timedelta(seconds=settings.LABELAPP_TRAINING_STALE_SECONDS)


def abandoned(row: dict, cutoff) -> bool:
    """A running job's worker is certainly gone, or silent since before `cutoff`."""
    return (
        row["heartbeat_at"] is None
        or row["heartbeat_at"] < cutoff
        or liveness.owner_gone(row["owner_host"], row["owner_pid"], row["owner_started"])
    )


_LIVENESS = ("status", "heartbeat_at", "owner_host", "owner_pid", "owner_started")


class JobQuerySet(models.QuerySet):
    def held_by(self, owner: liveness.Owner, **filters):
        """Running and still this owner's: what a worker may update without overwriting the
        claimant that took its job over."""
        return self.filter(status=JobStatus.RUNNING, owner_host=owner.host, owner_pid=owner.pid, **filters)

    def claim(self, pk: int, owner: liveness.Owner, *, take_over: bool) -> bool:
        """Claim job `pk` for `owner`: a queued job, and with `take_over` also a running one
        whose owner is gone or silent (a live owner keeps its job however long it takes).
        The UPDATE re-checks what was read, so of two claimants only one wins."""
        row = self.filter(pk=pk).values(*_LIVENESS).first()
        if row is None:
            return False
        now = timezone.now()
        if row["status"] == JobStatus.QUEUED:
            unchanged = Q(status=JobStatus.QUEUED)
        elif take_over and row["status"] == JobStatus.RUNNING and abandoned(row, now - stale_after()):
            unchanged = Q(
                status=JobStatus.RUNNING,
                heartbeat_at=row["heartbeat_at"],
                owner_host=row["owner_host"],
                owner_pid=row["owner_pid"],
            )
        else:
            return False
        started = Coalesce("started_at", Value(now)) if self.model.keeps_first_start else now
        return bool(
            self.filter(unchanged, pk=pk).update(
                status=JobStatus.RUNNING,
                started_at=started,
                heartbeat_at=now,
                owner_host=owner.host,
                owner_pid=owner.pid,
                owner_started=owner.started,
            )
        )

    def stale(self, cutoff) -> list[dict]:
        """Jobs to send again, oldest first: running ones whose worker is gone or silent since
        `cutoff`, and queued ones older than `cutoff` (their message was lost, or a worker
        shutdown put them back)."""
        rows = self.filter(Q(status=JobStatus.RUNNING) | Q(status=JobStatus.QUEUED, created_at__lt=cutoff))
        return [
            row
            for row in rows.values("pk", *_LIVENESS).order_by("pk")
            if row["status"] == JobStatus.QUEUED or abandoned(row, cutoff)
        ]

    def requeue(self, row: dict) -> int:
        """Put a stale job (a row from `stale`) back in the queue, unless it changed since it
        was read: a worker that beats in between keeps its job."""
        return self.filter(
            pk=row["pk"],
            status=row["status"],
            heartbeat_at=row["heartbeat_at"],
            owner_host=row["owner_host"],
            owner_pid=row["owner_pid"],
        ).update(status=JobStatus.QUEUED, heartbeat_at=None, owner_host="", owner_pid=None, owner_started=None)

    def release(self, owner: liveness.Owner, pk: int) -> int:
        """This owner stops (a worker shutdown): the job goes back in the queue to resume later."""
        return self.held_by(owner, pk=pk).update(
            status=JobStatus.QUEUED, heartbeat_at=None, owner_host="", owner_pid=None, owner_started=None
        )

    def finish(self, status: str, *, error: str = "", **fields) -> int:
        if error:
            fields["error"] = error[:ERROR_MAX_CHARS]
        return self.update(status=status, finished_at=timezone.now(), **fields)


class Job(models.Model):
    """The fields every job shares; a concrete job adds its project, inputs and progress."""

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the worker running it.")
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker process running it (labelapp.core.liveness): recovery takes a job over
    # only when this process is gone or its heartbeat went silent.
    owner_host = models.CharField(max_length=255, blank=True)
    owner_pid = models.PositiveIntegerField(null=True, blank=True)
    owner_started = models.BigIntegerField(
        null=True, blank=True, help_text="Process start time (clock ticks since boot)."
    )

    objects = JobQuerySet.as_manager()

    #: A resumed job keeps the time it first started (else: the time of its latest claim).
    keeps_first_start = False

    class Meta:
        abstract = True
