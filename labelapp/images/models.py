import random

from django.db import models


class Split(models.TextChoices):
    POOL = "pool"
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


class Source(models.TextChoices):
    UPLOAD = "upload"
    IMPORT = "import"
    STREAM = "stream"
    PRODUCTION = "production"
    SYNTHETIC = "synthetic"


class Status(models.TextChoices):
    UNLABELED = "unlabeled"
    RESERVED = "reserved"
    LABELED = "labeled"
    AUTO_LABELED = "auto_labeled"
    SKIPPED = "skipped"


#: `score_reason` of images pinned above every pool image (a stream query, a prediction a
#: verifier flagged, a synthetic image to confirm, a label a reviewer rejected): they get
#: PINNED_PRIORITY and rescoring leaves it alone.
PINNED_REASONS = ("stream_query", "flagged", "synthetic", "rejected")
#: Pinned images that already hold a reserved credit (a StreamHold) for their first annotator.
HELD_CREDIT_REASONS = ("stream_query", "synthetic")
PINNED_PRIORITY = 1e6


def random_eval_key() -> float:
    return random.random()


def image_upload_to(instance, filename: str) -> str:
    return f"projects/{instance.project_id}/images/{instance.sha256[:2]}/{instance.sha256}{_suffix(filename)}"


def thumbnail_upload_to(instance, filename: str) -> str:
    return f"projects/{instance.project_id}/thumbnails/{instance.sha256[:2]}/{instance.sha256}.jpg"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


class Image(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=image_upload_to, max_length=300)
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255)
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.POOL)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.UPLOAD)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.UNLABELED)
    priority = models.FloatField(default=0.0, help_text="Higher = label sooner.")
    scored_by = models.ForeignKey(
        "training.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    score_reason = models.CharField(max_length=40, blank=True, help_text="The strategy that set the priority.")
    pick_reason = models.CharField(max_length=200, blank=True, help_text="Why the batch planner put it first.")
    # Uniform and independent of content and of every strategy: the unlabeled image with the
    # smallest key is a uniformly random draw from the pool, which is what evaluation needs.
    eval_key = models.FloatField(default=random_eval_key)
    # The most similar earlier image when its embedding is nearly the same (set at ingest).
    near_duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    near_duplicate_similarity = models.FloatField(null=True, blank=True)
    # When the near-duplicate check ran (after upload, in the worker); empty: not yet, or no backbone.
    duplicates_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    labeled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="unique_content_per_project"),
        ]
        indexes = [
            # The labeling queue: the next image is the first row of this index scan.
            models.Index(fields=["project", "status", "-priority", "id"], name="image_queue_idx"),
            # The data browser's sort by priority, keyset-paged (priority desc, id desc).
            models.Index(fields=["project", "-priority", "-id"], name="image_browse_priority_idx"),
            models.Index(fields=["project", "split", "status"], name="image_split_idx"),
            # The evaluation sample: a random unlabeled image is the first row of this scan.
            models.Index(fields=["project", "status", "eval_key"], name="image_eval_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.pk})"


class KeptTruth(models.Model):
    """Ground truth kept aside for simulations and benchmarks (demo data). No API exposes
    it as a label: the simulator reads it to play the annotator."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="kept_truth")
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    boxes = models.JSONField(default=list, blank=True)
