"""Label quality: every version a label has had, reviewers' decisions, and how suspect each
label is under the latest model.

A label is never overwritten without a trace: before the current Annotation row changes
(an edit, a fix, a rejection) its content is kept as a LabelRevision, so the history of an
image is its revisions plus its current label."""

from django.conf import settings
from django.db import models


class RevisionAction(models.TextChoices):
    LABELED = "labeled"  # the label as an annotator (or an import) first gave it
    EDITED = "edited"  # changed later by its annotator, or in the data browser by an admin or reviewer
    FIXED = "fixed"  # changed by a reviewer in the review queue


class Verdict(models.TextChoices):
    APPROVE = "approve"
    FIX = "fix"
    REJECT = "reject"


class ReviewState(models.TextChoices):
    APPROVED = "approved"
    FIXED = "fixed"
    REJECTED = "rejected"


class LabelRevision(models.Model):
    """One version of an image's label, append-only. `annotation_id` names the Annotation row
    it was (a rejected label's row is deleted so the image can be labeled again)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="label_revisions")
    annotation_id = models.PositiveBigIntegerField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=10, choices=RevisionAction.choices)
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    boxes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["image", "created_at"], name="revision_by_image_idx")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Label revisions are append-only.")
        super().save(*args, **kwargs)


class ReviewDecision(models.Model):
    """A reviewer's verdict on the label an image had (approve, fix with a new label, or reject
    with a reason). Feeds annotator statistics (rejection rate, agreement)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="review_decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who gave the label that was judged.",
    )
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "annotator", "verdict"], name="decision_by_annotator_idx")]


class LabelQuality(models.Model):
    """Per labeled image: how suspect its label is under the latest model (0 = fine, 1 = surely
    wrong) and why, in words; and where it stands in review."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    image = models.OneToOneField("images.Image", on_delete=models.CASCADE, related_name="quality")
    suspicion = models.FloatField(default=0.0)
    reason = models.CharField(max_length=300, blank=True)
    model_disagrees = models.BooleanField(default=False, help_text="The model's prediction differs from the label.")
    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    review_state = models.CharField(max_length=10, choices=ReviewState.choices, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Browser sort by suspicion and the review queue of suspects: index scans.
            models.Index(fields=["project", "-suspicion", "-image"], name="quality_suspicion_idx"),
            models.Index(fields=["project", "review_state", "-suspicion"], name="quality_review_idx"),
        ]
