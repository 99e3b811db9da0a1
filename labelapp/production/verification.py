"""Verification of predictions by end users, and affirmation of unflagged ones.

Invariant kept here, once: a verification item is leased to one verifier at a time and
decided once; auto labels (stream accepts) stay Predictions, while verified and affirmed
labels are free Annotations of their own kinds.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from labelapp.core.errors import ConflictError, NotFoundError, ServiceError
from labelapp.images.models import PINNED_PRIORITY, Image, Status
from labelapp.labeling.models import AnnotationKind
from labelapp.labeling.services import image_label
from labelapp.projects.models import LabelClass, Project, TaskType

from .models import (
    VerificationItem,
    VerificationState,
)

logger = logging.getLogger(__name__)

#: How long GET verifications/next keeps an item for one verifier.
VERIFICATION_LEASE = timedelta(minutes=5)


VERIFIABLE = (VerificationState.CORRECT, VerificationState.INCORRECT)


def verification_next(*, project, user, now: datetime | None = None) -> VerificationItem:
    """Lease the oldest pending prediction to `user` (or return the one they already hold).
    Rows leased to someone else, or locked by a concurrent call, are skipped."""
    now = now or timezone.now()
    pending = VerificationItem.objects.select_related("prediction", "image", "model_version").filter(
        project=project, state=VerificationState.PENDING
    )
    with transaction.atomic():
        item = (
            pending.select_for_update(skip_locked=True, of=("self",))
            .filter(leased_to=user, lease_expires_at__gt=now)
            .first()
        )
        if item is None:
            item = (
                pending.select_for_update(skip_locked=True, of=("self",))
                .filter(Q(leased_to__isnull=True) | Q(lease_expires_at__lte=now))
                .order_by("id")
                .first()
            )
        if item is None:
            raise ConflictError(
                "Nothing to verify right now: every prediction is verified or being verified by someone else.",
                code="nothing_to_verify",
            )
        item.leased_to, item.lease_expires_at = user, now + VERIFICATION_LEASE
        item.save(update_fields=["leased_to", "lease_expires_at"])
    return item


@dataclass
class VerificationOutcome:
    item: VerificationItem
    label_created: bool = False
    queued: bool = False


def verification_record(
    *, project, user, prediction_id: int, verdict: str, true_count: int | None = None, now: datetime | None = None
) -> VerificationOutcome:
    """Record a verifier's verdict on a pending prediction.

    correct → the prediction becomes a free `verified` label (unless the image already has,
    or is being given, a human label). incorrect, or a true count that differs from the
    predicted one → the image goes to the top of the labeling queue (`flagged`)."""
    if verdict not in VERIFIABLE:
        raise ServiceError("verdict must be 'correct' or 'incorrect'.", code="invalid_verdict")
    if true_count is not None and (not isinstance(true_count, int) or true_count < 0):
        raise ServiceError("true_count must be a whole number ≥ 0.", code="invalid_true_count")
    now = now or timezone.now()
    with transaction.atomic():
        item = (
            VerificationItem.objects.select_for_update(of=("self",))
            .select_related("prediction", "model_version")
            .filter(project=project, prediction_id=prediction_id)
            .first()
        )
        if item is None:
            raise NotFoundError("This project has no prediction to verify with this id.", code="no_such_prediction")
        if item.state != VerificationState.PENDING:
            raise ConflictError(f"This prediction was already decided ({item.state}).", code="already_verified")
        if item.leased_to_id not in (None, user.pk) and item.lease_expires_at and item.lease_expires_at > now:
            raise ConflictError("Another verifier is verifying this prediction right now.", code="leased_to_another")
        correct = verdict == VerificationState.CORRECT and (true_count is None or true_count == item.predicted_count)
        item.state = VerificationState.CORRECT if correct else VerificationState.INCORRECT
        item.verdict, item.true_count, item.decided_by, item.decided_at = verdict, true_count, user, now
        item.leased_to, item.lease_expires_at = None, None
        item.save(
            update_fields=[
                "state",
                "verdict",
                "true_count",
                "decided_by",
                "decided_at",
                "leased_to",
                "lease_expires_at",
            ]
        )
        image = Image.objects.select_for_update().get(pk=item.image_id)
        outcome = VerificationOutcome(item=item)
        if correct:
            outcome.label_created = _label_from_prediction(
                project=project,
                image=image,
                item=item,
                kind=AnnotationKind.VERIFIED,
                user=user,
                now=now,
                class_ids=set(LabelClass.objects.filter(project=project).values_list("id", flat=True)),
            )
        else:
            outcome.queued = _flag(image=image)
    return outcome


def _flag(*, image: Image) -> bool:
    """Send an image to the top of the labeling queue, unless a human has it or labeled it."""
    if image.status not in (Status.UNLABELED, Status.SKIPPED, Status.AUTO_LABELED):
        return False
    image.status, image.priority, image.score_reason = Status.UNLABELED, PINNED_PRIORITY, "flagged"
    image.save(update_fields=["status", "priority", "score_reason"])
    return True


def _label_from_prediction(
    *, project, image: Image, item: VerificationItem, kind: str, user, now, class_ids: set
) -> bool:
    """Turn a prediction into a free label of `kind` (caller's transaction, image locked).
    Images labeled or reserved by an annotator keep the human label instead."""
    if image.status not in (Status.UNLABELED, Status.SKIPPED, Status.AUTO_LABELED):
        return False
    prediction, version = item.prediction, item.model_version
    if project.task_type == TaskType.CLASSIFICATION:
        label_class_id, boxes = version.classes[int(np.argmax(prediction.probs))], []
        if label_class_id not in class_ids:
            return False
    else:
        threshold = project.config["detection_threshold"]
        label_class_id = None
        boxes = [
            {"x": b["x"], "y": b["y"], "w": b["w"], "h": b["h"], "label_class": b["label_class"]}
            for b in prediction.boxes or []
            if b["score"] >= threshold and b["label_class"] in class_ids
        ]
    try:
        with transaction.atomic():
            image_label(
                project=project,
                image=image,
                kind=kind,
                annotator=user,
                label_class_id=label_class_id,
                boxes=boxes,
                now=now,
            )
    except IntegrityError:
        return False
    return True


def verifications_affirm(*, now: datetime | None = None, limit: int = 500) -> int:
    """Predictions nobody flagged within their project's `affirmation_window_hours` become
    `affirmed` labels (projects with `affirmation_enabled` only). Idempotent: each item is
    re-checked under its row lock, so two runs affirm it once."""
    now = now or timezone.now()
    affirmed = 0
    project_ids = set(
        VerificationItem.objects.filter(state=VerificationState.PENDING).values_list("project_id", flat=True)
    )
    for project in Project.objects.filter(pk__in=project_ids).order_by("id"):
        try:
            affirmed += _verifications_affirm_of(project=project, now=now, limit=limit)
        except Exception:
            # One project's bad data must not stop the job for the others (issue 14 item 5).
            logger.exception("affirming unflagged predictions failed for project %s", project.pk)
    if affirmed:
        logger.info("affirmed %s unflagged predictions", affirmed)
    return affirmed


def _verifications_affirm_of(*, project, now: datetime, limit: int) -> int:
    affirmed = 0
    config = project.config
    if not config["affirmation_enabled"]:
        return 0
    cutoff = now - timedelta(hours=config["affirmation_window_hours"])
    ids = list(
        VerificationItem.objects.filter(project=project, state=VerificationState.PENDING, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    class_ids = set(LabelClass.objects.filter(project=project).values_list("id", flat=True)) if ids else set()
    for item_id in ids:
        with transaction.atomic():
            item = (
                VerificationItem.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("prediction", "model_version")
                .filter(pk=item_id, state=VerificationState.PENDING)
                .first()
            )
            if item is None:
                continue
            item.state, item.decided_at, item.leased_to, item.lease_expires_at = (
                VerificationState.AFFIRMED,
                now,
                None,
                None,
            )
            item.save(update_fields=["state", "decided_at", "leased_to", "lease_expires_at"])
            image = Image.objects.select_for_update().get(pk=item.image_id)
            _label_from_prediction(
                project=project,
                image=image,
                item=item,
                kind=AnnotationKind.AFFIRMED,
                user=None,
                now=now,
                class_ids=class_ids,
            )
            affirmed += 1
    return affirmed
