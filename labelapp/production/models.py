"""The production loop: collection-rule counters and quotas, the persisted stream sampler,
verification items and synthesis jobs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from labelapp.core.jobs import Job, JobStatus


class RuleCounter(models.Model):
    """New images a 1-in-N rule has seen. The rule keeps the image whose count before it is a
    multiple of n, so exactly 1 in n is selected whatever the concurrency (the row is
    incremented under its row lock)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    rule_key = models.CharField(max_length=60, help_text="'<index in collection_rules>:<kind>'.")
    seen = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "rule_key"], name="one_counter_per_rule")]


class QuotaWindow(models.TextChoices):
    HOUR = "hour"
    DAY = "day"


class KeptCount(models.Model):
    """Images kept by one rule in one calendar hour or UTC day; quotas are enforced by a
    conditional UPDATE (`kept < quota`) so a concurrent burst never exceeds them."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    rule_key = models.CharField(max_length=60)
    window = models.CharField(max_length=4, choices=QuotaWindow.choices)
    window_start = models.DateTimeField()
    kept = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "rule_key", "window", "window_start"], name="one_kept_count_per_window"
            ),
        ]


class StreamSampler(models.Model):
    """The persisted `labelapp.learning.stream.StreamState` of a project's stream, read and
    written under its row lock. `expected_items` is the setting the state was built from, so
    a changed `stream_expected_items` setting moves `expected_remaining` along."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="stream_sampler")
    state = models.JSONField(default=dict, help_text="StreamState.to_dict().")
    expected_items = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class VerificationState(models.TextChoices):
    PENDING = "pending"
    CORRECT = "correct"
    INCORRECT = "incorrect"
    AFFIRMED = "affirmed"


class VerificationItem(models.Model):
    """One prediction offered to verifiers. `verdict` is what the verifier said; `state` is
    the outcome (a corrected count that differs from the prediction is incorrect)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="verification_items")
    prediction = models.OneToOneField("training.Prediction", on_delete=models.CASCADE, related_name="verification_item")
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey("training.ModelVersion", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=VerificationState.choices, default=VerificationState.PENDING)
    predicted_count = models.PositiveIntegerField(default=0)
    verdict = models.CharField(max_length=10, blank=True)
    true_count = models.PositiveIntegerField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "state", "id"], name="verification_queue_idx"),
            models.Index(
                fields=["project", "leased_to"],
                condition=Q(state=VerificationState.PENDING),
                name="verification_lease_idx",
            ),
        ]


class SynthesisJob(Job):
    """Membership query synthesis: up to `allowance` new images made from labeled ones, one
    credit each, confirmed by annotators before they train anything.

    `ap_before` is the per-class val metric (`metric`: ap50 for detection, f1 for
    classification) of the active version when the job started; `ap_after` is the same for
    the first version trained after the job's last confirmed image (filled lazily, once)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="synthesis_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    allowance = models.PositiveIntegerField(help_text="At most this many images, so at most this many credits.")
    plan = models.JSONField(
        default=list,
        blank=True,
        help_text="learning.synthesis.plan_synthesis items, with class ids/names and images made.",
    )
    images_made = models.PositiveIntegerField(default=0)
    stop_reason = models.CharField(
        max_length=40, blank=True, help_text="Why the job made fewer images than its allowance."
    )
    metric = models.CharField(max_length=10, blank=True, help_text="ap50 (detection) or f1 (classification).")
    ap_before = models.JSONField(default=dict, blank=True, help_text="Class name → val metric of version_before.")
    ap_after = models.JSONField(null=True, blank=True, help_text="Class name → val metric of version_after.")
    version_before = models.ForeignKey(
        "training.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version_after = models.ForeignKey(
        "training.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    #: A resumed job's duration counts from its first start.
    keeps_first_start = True

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]),
                name="one_open_synthesis_per_project",
            ),
        ]


class SynthesisImage(models.Model):
    """One image a synthesis job made: where it came from and how."""

    job = models.ForeignKey(SynthesisJob, on_delete=models.CASCADE, related_name="made")
    image = models.OneToOneField("images.Image", on_delete=models.CASCADE, related_name="synthesis")
    source_image = models.ForeignKey("images.Image", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ops = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
