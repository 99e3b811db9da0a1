"""Editing, reviewing and rejecting labels. Each keeps the label's previous content as a
LabelRevision in the same transaction as the change, so no label is lost."""

from django.db import transaction
from django.utils import timezone

from labelapp.core.errors import ConflictError, ForbiddenError, ServiceError
from labelapp.images.models import PINNED_PRIORITY, Image, Status
from labelapp.labeling.models import Annotation, GoldItem
from labelapp.labeling.services import label_clean

from .models import LabelQuality, LabelRevision, ReviewDecision, ReviewState, RevisionAction, Verdict

#: `score_reason` of an image whose label a reviewer rejected: pinned to the queue's top.
REJECTED_REASON = "rejected"


def _current_annotation(*, project, image_id: int) -> Annotation:
    annotation = (
        Annotation.objects.select_for_update()
        .select_related("image")
        .filter(project=project, image_id=image_id)
        .first()
    )
    if annotation is None or annotation.image.status != Status.LABELED:
        raise ConflictError("This image has no label to change: label it from the queue first.", code="not_labeled")
    return annotation


def _keep_original(annotation: Annotation) -> None:
    """The first change to an Annotation row keeps its original content as revision 1."""
    if not LabelRevision.objects.filter(image_id=annotation.image_id, annotation_id=annotation.pk).exists():
        LabelRevision.objects.create(
            project_id=annotation.project_id,
            image_id=annotation.image_id,
            annotation_id=annotation.pk,
            author_id=annotation.annotator_id,
            action=RevisionAction.LABELED,
            label_class_id=annotation.label_class_id,
            boxes=annotation.boxes,
            created_at=annotation.created_at,
        )


def _set_review_state(*, project, image_id: int, state: str, clear_suspicion: bool) -> None:
    now = timezone.now()
    quality, _ = LabelQuality.objects.get_or_create(project=project, image_id=image_id)
    quality.review_state, quality.reviewed_at = state, now
    if clear_suspicion:
        # A curator set this label: the model's doubt about the old one no longer applies.
        quality.suspicion, quality.reason, quality.model_disagrees = 0.0, "", False
    quality.save()


def _revise(*, project, annotation: Annotation, user, label_class, boxes, action: str) -> Annotation:
    label, clean = label_clean(project=project, image=annotation.image, label_class=label_class, boxes=boxes)
    _keep_original(annotation)
    annotation.label_class, annotation.boxes = label, clean
    annotation.save(update_fields=["label_class", "boxes", "updated_at"])
    # A changed label counts toward the next auto-retrain like a new one (by its updated_at).
    transaction.on_commit(lambda: _retrain_maybe(project.pk))
    LabelRevision.objects.create(
        project=project,
        image_id=annotation.image_id,
        annotation_id=annotation.pk,
        author=user,
        action=action,
        label_class=label,
        boxes=clean,
        created_at=timezone.now(),
    )
    return annotation


def _retrain_maybe(project_id: int) -> None:
    from labelapp.training.runs import training_maybe_start  # loads the model code: not at startup

    training_maybe_start(project_id=project_id)


@transaction.atomic
def label_edit(*, project, image_id: int, user, label_class=None, boxes=None) -> Annotation:
    """An admin or reviewer changes a label from the data browser: a new revision, and the
    training set uses it from the next retrain on (training reads the current label)."""
    annotation = _current_annotation(project=project, image_id=image_id)
    annotation = _revise(
        project=project,
        annotation=annotation,
        user=user,
        label_class=label_class,
        boxes=boxes,
        action=RevisionAction.EDITED,
    )
    _set_review_state(project=project, image_id=image_id, state=ReviewState.FIXED, clear_suspicion=True)
    return annotation


#: Review states after which the label is a curator's: its annotator may no longer change it.
CURATED_STATES = (ReviewState.APPROVED, ReviewState.FIXED)


@transaction.atomic
def annotation_revise_own(
    *, project, annotation: Annotation, user, label_class=None, boxes=None, seconds_spent=None
) -> Annotation:
    """An annotator corrects their own label: a new revision, like any edit. Once a reviewer
    approved or fixed it (or a curator edited it) it is refused: the annotator's edit would
    silently undo the review."""
    image_id = annotation.image_id
    annotation = _current_annotation(project=project, image_id=image_id)  # locked, and still the label
    if annotation.annotator_id != user.pk:
        raise ForbiddenError("You can only edit your own annotations.", code="not_owner")
    if LabelQuality.objects.filter(image_id=image_id, review_state__in=CURATED_STATES).exists():
        raise ConflictError(
            "A reviewer has approved or corrected this label since you gave it: ask a reviewer to change it "
            "in the data browser.",
            code="label_reviewed",
        )
    annotation = _revise(
        project=project,
        annotation=annotation,
        user=user,
        label_class=label_class,
        boxes=boxes,
        action=RevisionAction.EDITED,
    )
    if seconds_spent is not None:
        annotation.seconds_spent = seconds_spent
        annotation.save(update_fields=["seconds_spent"])
    return annotation


@transaction.atomic
def review_decide(
    *, project, image_id: int, reviewer, verdict: str, reason: str = "", label_class=None, boxes=None
) -> ReviewDecision:
    """Approve a label, fix it (a new revision), or reject it: the label is kept as a revision,
    the image goes back to the top of the labeling queue and its next label spends a credit
    with a ledger note saying why."""
    if verdict not in Verdict.values:
        raise ServiceError(f"verdict must be one of {', '.join(Verdict.values)}.", code="invalid_verdict")
    reason = (reason or "").strip()
    if verdict == Verdict.REJECT and not reason:
        raise ServiceError("A rejection needs a reason (what is wrong with the label).", code="reason_required")
    if len(reason) > 500:
        raise ServiceError("reason is at most 500 characters.", code="reason_too_long")
    annotation = _current_annotation(project=project, image_id=image_id)
    annotator_id = annotation.annotator_id
    if verdict == Verdict.APPROVE:
        _set_review_state(project=project, image_id=image_id, state=ReviewState.APPROVED, clear_suspicion=False)
    elif verdict == Verdict.FIX:
        _revise(
            project=project,
            annotation=annotation,
            user=reviewer,
            label_class=label_class,
            boxes=boxes,
            action=RevisionAction.FIXED,
        )
        _set_review_state(project=project, image_id=image_id, state=ReviewState.FIXED, clear_suspicion=True)
    else:
        if GoldItem.objects.filter(image_id=image_id).exists():
            raise ConflictError(
                "This image is a gold item: unmark it (or fix its label and mark it again) before rejecting.",
                code="gold_item",
            )
        _keep_original(annotation)
        annotation.delete()
        # Back to the queue, pinned above every scored image (rescoring leaves PINNED_REASONS alone).
        # A val or test image keeps its split for its next label (`label_split`).
        Image.objects.filter(pk=image_id).update(
            status=Status.UNLABELED,
            labeled_at=None,
            priority=PINNED_PRIORITY,
            score_reason=REJECTED_REASON,
        )
        _set_review_state(project=project, image_id=image_id, state=ReviewState.REJECTED, clear_suspicion=True)
    return ReviewDecision.objects.create(
        project=project,
        image_id=image_id,
        reviewer=reviewer,
        annotator_id=annotator_id,
        verdict=verdict,
        reason=reason,
    )


@transaction.atomic
def gold_mark(*, project, image_id: int, user) -> GoldItem:
    """Make a labeled image a gold item, its current label the truth answers are scored against.
    Marking it again updates the truth to the current label."""
    annotation = _current_annotation(project=project, image_id=image_id)
    gold, _ = GoldItem.objects.update_or_create(
        image_id=image_id,
        defaults={
            "project": project,
            "label_class": annotation.label_class,
            "boxes": annotation.boxes,
            "created_by": user,
        },
    )
    return gold


def gold_unmark(*, project, image_id: int) -> None:
    """Stop handing the image out as gold (its answers and their scores are deleted with it)."""
    GoldItem.objects.filter(project=project, image_id=image_id).delete()
