from django.conf import settings
from django.db import models
from django.db.models import Q


def class_index_for(label_class_id: int | None, boxes: list | None) -> str:
    ids = {label_class_id} if label_class_id else {box["label_class"] for box in boxes or []}
    return "," + ",".join(str(i) for i in sorted(ids)) + "," if ids else ""


class AnnotationKind(models.TextChoices):
    HUMAN = "human"
    IMPORTED = "imported"
    VERIFIED = "verified"
    AFFIRMED = "affirmed"


class Annotation(models.Model):
    """A label for an image: a class (classification) or boxes in pixel coordinates of the
    original image, each `{"x", "y", "w", "h", "label_class"}` with x, y the top-left corner."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="annotations")
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="annotations"
    )
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    boxes = models.JSONField(default=list, blank=True)
    seconds_spent = models.FloatField(default=0)
    kind = models.CharField(max_length=10, choices=AnnotationKind.choices, default=AnnotationKind.HUMAN)
    is_free = models.BooleanField(default=False, help_text="Imported or verified labels cost no credit.")
    class_index = models.CharField(
        max_length=1000,
        blank=True,
        editable=False,
        help_text="',3,5,': the class ids used, so the image list filters by class on any database.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["image"], name="one_annotation_per_image")]
        indexes = [
            models.Index(fields=["project", "annotator", "created_at"], name="annotation_by_user_idx"),
            # Auto-retrain counts labels new or changed since the last run (every label sends it here).
            models.Index(fields=["project", "updated_at"], name="annotation_changed_idx"),
        ]

    def save(self, *args, **kwargs):
        self.class_index = class_index_for(self.label_class_id, self.boxes)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "class_index"}
        super().save(*args, **kwargs)


class ReservationState(models.TextChoices):
    ACTIVE = "active"
    SUBMITTED = "submitted"
    RELEASED = "released"
    EXPIRED = "expired"


class Reservation(models.Model):
    """A lease on one image for one annotator, backed by one reserved credit; a gold hand-out's
    lease holds none (`credit_entry` is null) and, gold items being shared, is not exclusive."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="reservations")
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations")
    credit_entry = models.OneToOneField(
        "credits.CreditEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reservation",
        help_text="The reserved credit; null for a gold hand-out, which spends none.",
    )
    state = models.CharField(max_length=10, choices=ReservationState.choices, default=ReservationState.ACTIVE)
    reason = models.CharField(max_length=40, blank=True)
    score = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # An image is never handed to two annotators at once (a gold item may be: it is not labeled by it).
            models.UniqueConstraint(
                fields=["image"],
                condition=Q(state=ReservationState.ACTIVE, credit_entry__isnull=False),
                name="one_active_reservation_per_image",
            ),
            # An annotator holds one image of a project at a time (one reserved credit).
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=Q(state=ReservationState.ACTIVE),
                name="one_active_reservation_per_annotator",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "user", "state"], name="reservation_holder_idx"),
            models.Index(fields=["state", "expires_at"], name="reservation_expiry_idx"),
        ]


class GoldItem(models.Model):
    """A verified image with its true label. Annotators get gold items now and then in the
    queue (the project's `gold_rate`), looking like any image and spending no credit; their
    answers are scored against this label."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="gold_items")
    image = models.OneToOneField("images.Image", on_delete=models.CASCADE, related_name="gold")
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    boxes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class GoldAnswer(models.Model):
    """One hand-out of a gold item to an annotator; once answered, the answer and its score
    (class accuracy, or box F1 at IoU 0.5). A skipped hand-out is answered with no score."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    gold = models.ForeignKey(GoldItem, on_delete=models.CASCADE, related_name="answers")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    boxes = models.JSONField(default=list, blank=True)
    seconds_spent = models.FloatField(default=0)
    score = models.FloatField(null=True, blank=True)
    handed_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Each annotator sees each gold item once: a second look would measure memory.
            models.UniqueConstraint(fields=["gold", "annotator"], name="one_gold_answer_per_annotator"),
        ]
        indexes = [models.Index(fields=["project", "annotator", "answered_at"], name="gold_answer_holder_idx")]


class ConsensusState(models.TextChoices):
    OPEN = "open"  # waiting for (or held by) a second annotator
    ANSWERED = "answered"
    SKIPPED = "skipped"  # the second annotator gave it back: no comparison


class ConsensusAnnotation(models.Model):
    """A second, blind label of an image someone else labeled (the project's
    `consensus_share`). It never replaces the image's label (the first one trains); a
    disagreement sends the image to the review queue, where a reviewer decides.

    The hand-out is a Reservation with reason `consensus` (one reserved credit, spent on the
    answer), so leases, expiry and the credit invariant are the queue's own."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    image = models.OneToOneField("images.Image", on_delete=models.CASCADE, related_name="consensus")
    first_annotation = models.ForeignKey(
        Annotation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The label compared against; null once a reviewer rejected it (the pair no longer counts).",
    )
    first_annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The second annotator, once answered.",
    )
    state = models.CharField(max_length=10, choices=ConsensusState.choices, default=ConsensusState.OPEN)
    label_class = models.ForeignKey(
        "projects.LabelClass", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    boxes = models.JSONField(default=list, blank=True)
    seconds_spent = models.FloatField(default=0)
    agreed = models.BooleanField(null=True, blank=True, help_text="null until compared.")
    reason = models.CharField(max_length=300, blank=True, help_text="A disagreement in words, for the reviewer.")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "state", "id"], name="consensus_open_idx"),
            models.Index(fields=["project", "agreed"], name="consensus_agreed_idx"),
        ]
