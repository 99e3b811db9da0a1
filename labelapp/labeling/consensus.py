"""Consensus: a share of newly labeled images (the project's `consensus_share`) gets a second,
blind label from another annotator.

- Opening: when a queue label is submitted, with probability `consensus_share`, its image gets
  one open ConsensusAnnotation (at most one per image, ever).
- Hand-out: the queue offers open passes before pool images, never to the first annotator. The
  hand-out is an ordinary Reservation (reason `consensus`) holding one reserved credit from the
  ledger, so leases, expiry and spent + reserved ≤ granted are the queue's own rules.
- Answer: the credit is spent (ledger note "consensus: second annotation"); the two labels are
  compared (labelapp.learning.consensus); the image keeps its first label either way. A
  disagreement puts the image into the review queue whatever review_mode says.
- Skip: the credit is released and the pass ends unanswered (no comparison).
"""

import random

from django.utils import timezone

from labelapp.credits import services as credits
from labelapp.images.models import Status
from labelapp.learning.consensus import classes_agree, compare_boxes
from labelapp.projects.models import TaskType

from .models import (
    Annotation,
    AnnotationKind,
    ConsensusAnnotation,
    ConsensusState,
    Reservation,
    ReservationState,
)

#: The reservation reason of a second, blind hand-out.
CONSENSUS_REASON = "consensus"
#: The ledger note of the credit a second annotation reserves and spends.
CONSENSUS_NOTE = "consensus: second annotation"
IOU_THRESHOLD = 0.5


def consensus_open(*, project, annotation: Annotation) -> ConsensusAnnotation | None:
    """Maybe open a second pass on a freshly labeled image (inside the caller's transaction)."""
    share = project.config["consensus_share"]
    if not share or annotation.kind != AnnotationKind.HUMAN or random.random() >= share:
        return None
    consensus, created = ConsensusAnnotation.objects.get_or_create(
        image_id=annotation.image_id,
        defaults={"project": project, "first_annotation": annotation, "first_annotator_id": annotation.annotator_id},
    )
    return consensus if created else None


def consensus_claim(*, project, user, expires_at) -> tuple[Reservation, dict] | None:
    """Hand `user` the oldest open pass on an image someone else labeled: a Reservation with
    one reserved credit, and the balance after it. None when there is none (or consensus is off).
    Inside the caller's transaction, which holds the annotator's lock."""
    if not project.config["consensus_share"]:
        return None  # no query on the hot path of projects without consensus
    open_passes = (
        ConsensusAnnotation.objects.filter(
            project=project,
            state=ConsensusState.OPEN,
            first_annotation__isnull=False,
            image__status=Status.LABELED,
        )
        .exclude(first_annotator=user)
        .exclude(image__reservations__state=ReservationState.ACTIVE)
        .order_by("id")
    )
    # SKIP LOCKED: concurrent annotators pass over each other's candidate instead of colliding
    # on the one-active-reservation-per-image index (PostgreSQL; SQLite serialises writers).
    # The candidates are read before the lock: a racer that claimed a pass and committed in
    # between left the row unlocked and its reservation invisible to that read, so a fresh read
    # under the lock decides (the lock keeps any later claimer out).
    passed_over: list[int] = []
    while True:
        consensus = (
            open_passes.exclude(pk__in=passed_over)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("image")
            .first()
        )
        if consensus is None:
            return None
        if not Reservation.objects.filter(image_id=consensus.image_id, state=ReservationState.ACTIVE).exists():
            break
        passed_over.append(consensus.pk)
    entry, balance = credits.credit_reserve_one(project=project, actor=user, image=consensus.image, note=CONSENSUS_NOTE)
    reservation = Reservation.objects.create(
        project=project,
        image=consensus.image,
        user=user,
        credit_entry=entry,
        expires_at=expires_at,
        score=0.0,
        reason=CONSENSUS_REASON,
    )
    return reservation, balance


def _class_names(project) -> dict[int, str]:
    return dict(project.label_classes.values_list("pk", "name"))


def _compare(*, project, first: Annotation, label, boxes: list) -> tuple[bool, str]:
    """(agreed, the disagreement in words for the reviewer)."""
    names = _class_names(project)
    if project.task_type == TaskType.CLASSIFICATION:
        second_class = label.pk if label else None
        if classes_agree(first.label_class_id, second_class):
            return True, ""
        return False, f"second annotator: `{names.get(second_class, '?')}`"

    def xyxy(items):
        return [[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]] for b in items], [b["label_class"] for b in items]

    first_boxes, first_labels = xyxy(first.boxes)
    second_boxes, second_labels = xyxy(boxes)
    result = compare_boxes(first_boxes, first_labels, second_boxes, second_labels, iou_threshold=IOU_THRESHOLD)
    if result.agree:
        return True, ""
    drawn = ", ".join(f"`{names.get(c, '?')}`" for c in second_labels) or "none"
    return False, (
        f"second annotator: {len(boxes)} boxes ({drawn}); unmatched at IoU {IOU_THRESHOLD}: "
        f"{len(result.unmatched_second)} of theirs, {len(result.unmatched_first)} of the first label"
    )[:300]


def consensus_answer(
    *, project, user, reservation: Reservation, label, boxes: list, seconds_spent: float
) -> Annotation:
    """Record a second annotation (label and boxes already checked): spend the hand-out's
    credit, compare with the image's current label, keep both. Returns the answer shaped like
    any label (unsaved), so the annotator learns nothing about the first one. Inside the
    caller's transaction, which holds the reservation's row lock."""
    image = reservation.image
    now = timezone.now()
    # The pass's row before the balance, the order of consensus_claim: the other order
    # deadlocked with a claim holding this row and waiting for the balance.
    consensus = ConsensusAnnotation.objects.select_for_update().get(image=image)
    reservation.state, reservation.ended_at = ReservationState.SUBMITTED, now
    reservation.save(update_fields=["state", "ended_at"])
    credits.credit_spend(project=project, actor=user, image=image, note=CONSENSUS_NOTE)
    first = Annotation.objects.filter(pk=consensus.first_annotation_id).first()
    if first is None:
        # A reviewer rejected the first label while this pass was out: nothing left to compare.
        agreed, reason = None, ""
    else:
        agreed, reason = _compare(project=project, first=first, label=label, boxes=boxes)
    consensus.annotator, consensus.label_class, consensus.boxes = user, label, boxes
    consensus.seconds_spent, consensus.state, consensus.answered_at = seconds_spent, ConsensusState.ANSWERED, now
    consensus.agreed, consensus.reason = agreed, reason
    consensus.save()
    return Annotation(
        project=project,
        image=image,
        annotator=user,
        label_class=label,
        boxes=boxes,
        seconds_spent=seconds_spent,
        kind=AnnotationKind.HUMAN,
    )


def consensus_skip(*, project, user, reservation: Reservation) -> None:
    """Give a second pass back (inside the caller's transaction): its credit is released, the
    image keeps its label, and the pass ends with no comparison."""
    now = timezone.now()
    # The pass's row before the balance, as in consensus_claim (lock order).
    list(ConsensusAnnotation.objects.select_for_update().filter(image_id=reservation.image_id))
    credits.credit_release(project=project, actor=user, image=reservation.image, note="consensus: skipped")
    reservation.state, reservation.ended_at = ReservationState.RELEASED, now
    reservation.save(update_fields=["state", "ended_at"])
    ConsensusAnnotation.objects.filter(image_id=reservation.image_id, state=ConsensusState.OPEN).update(
        state=ConsensusState.SKIPPED, annotator=user, answered_at=now
    )
