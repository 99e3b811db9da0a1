"""The labeling queue: hand out the most useful image, take the label, move the credit.

Invariants kept here, once:
- an image is held by at most one active reservation (unique partial index + row locks),
- every active reservation holds exactly one reserved credit,
- a submitted label spends that credit; a skip or an expiry releases it;
- an image gets a label in one place, `image_label`, whichever path labels it (the queue,
  verification, affirmation, dataset import, the demo).
"""

import copy
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from labelapp.core.errors import ConflictError
from labelapp.core.events import send_on_commit
from labelapp.credits import services as credits
from labelapp.images.models import HELD_CREDIT_REASONS, PINNED_PRIORITY, Image, Source, Split, Status
from labelapp.images.splits import evaluation_split, split_for
from labelapp.projects.models import TaskType

from .consensus import CONSENSUS_REASON, consensus_answer, consensus_claim, consensus_open, consensus_skip
from .events import labels_added
from .models import Annotation, AnnotationKind, GoldAnswer, GoldItem, Reservation, ReservationState
from .selectors import balance_seen_by
from .validation import LABEL_CLEANERS, InvalidAnnotation

logger = logging.getLogger(__name__)


@dataclass
class QueueItem:
    reservation: Reservation
    image: Image
    created: bool
    balance: dict | None = None  # set when the reservation was made (the balance row was locked anyway)
    gold: GoldAnswer | None = None  # a gold item: `reservation` holds no credit, `image` is disguised

    @property
    def blind(self) -> bool:
        """A consensus second pass: shown like an unscored pool image, without any hint of
        the first label (no pre-annotation: the model may have learnt that label)."""
        return self.reservation.reason == CONSENSUS_REASON


#: The reservation reason of a hand-out drawn uniformly from the pool for evaluation.
EVALUATION_REASON = "evaluation_sample"


def label_split(*, image, kind: str, config: dict, evaluation_pick: bool = False) -> str:
    """Where a new label puts its image.

    A synthetic image is made from a training image: it always trains, whatever labeled it.
    Imported labels go by content hash in the project's val and test fractions, so a re-import
    lands in the same split. Queue labels: strategy picks train (they are chosen for being hard
    or atypical, so metrics on them would mislead); evaluation picks, a uniform draw from the
    pool, are val and test. Verified and affirmed labels are the model's own outputs that
    nobody contradicted: evaluating on them would flatter it, so they train."""
    fractions = {"val_fraction": config["val_fraction"], "test_fraction": config["test_fraction"]}
    if image.source == Source.SYNTHETIC:
        return Split.TRAIN
    if image.split != Split.POOL:
        # Labeled again after a reviewer rejected its label: it keeps its split, so val and test
        # lose no members to training, and no image a model trained on turns up in evaluation.
        return image.split
    if kind == AnnotationKind.IMPORTED:
        return split_for(sha256=image.sha256, **fractions)
    if kind == AnnotationKind.HUMAN and evaluation_pick:
        return evaluation_split(sha256=image.sha256, **fractions)
    return Split.TRAIN


def image_label(
    *,
    project,
    image: Image,
    kind: str,
    annotator=None,
    label_class_id: int | None = None,
    boxes: list | None = None,
    seconds_spent: float = 0,
    evaluation_pick: bool = False,
    ledger_note: str = "",
    now=None,
    announce: bool = True,
) -> Annotation:
    """The one way an image gets a label, inside the caller's transaction. The caller has
    checked the label and holds the image (its reservation or row lock, or it just stored it).

    Writes the Annotation of `kind`; a human label spends the credit its reservation holds,
    every other kind is free; the image becomes labeled, with its split (`label_split`) and
    `labeled_at`; on commit, `labels_added` (every label may complete K new ones for
    auto-retrain). `announce=False` is for a caller that labels many images in one go and
    announces them once with `labels_announce`."""
    now = now or timezone.now()
    human = kind == AnnotationKind.HUMAN
    if human:
        balance = credits.balance_lock(project=project)
        credits.credit_spend(project=project, actor=annotator, image=image, balance=balance, note=ledger_note)
    annotation = Annotation.objects.create(
        project=project,
        image=image,
        annotator=annotator,
        label_class_id=label_class_id,
        boxes=boxes or [],
        seconds_spent=seconds_spent,
        kind=kind,
        is_free=not human,
    )
    image.status, image.labeled_at = Status.LABELED, now
    image.split = label_split(image=image, kind=kind, config=project.config, evaluation_pick=evaluation_pick)
    image.save(update_fields=["status", "split", "labeled_at"])
    if announce:
        labels_announce(project_id=project.pk, image_ids=[image.pk], kind=kind)
    return annotation


def labels_announce(*, project_id: int, image_ids: list[int], kind: str) -> None:
    """Send `labels_added` for images labeled by `image_label` once the transaction commits."""
    send_on_commit(labels_added, project_id=project_id, image_ids=list(image_ids), kind=kind)


def pick_explanation(item: QueueItem) -> str | None:
    """Why this image was handed out, in words (the queue's answer shows it)."""
    if item.reservation.reason == EVALUATION_REASON:
        return "a uniformly random pool image, labeled for the unbiased evaluation sample (val/test)"
    return item.image.pick_reason or None


def _active_reservation(*, project, user):
    """The caller's unexpired reservation; an expired one still marked active is released here
    so its credit is back before a new one is reserved (the beat job does the same for all)."""
    held = (
        Reservation.objects.select_related("image")
        .filter(project=project, user=user, state=ReservationState.ACTIVE)
        .first()
    )
    if held is not None and held.expires_at <= timezone.now():
        reservations_release_expired(ids=[held.pk])
        return None
    return held


def _lock_annotator(user) -> None:
    """Serialise one annotator's queue requests (PostgreSQL; SQLite serialises writers anyway):
    without it, parallel requests all see "no reservation yet" and each reserves one.
    NO KEY UPDATE leaves the KEY SHARE locks of foreign keys to the user free."""
    # The user model, not type(user): a session's request.user is a lazy wrapper.
    get_user_model().objects.select_for_update(no_key=connection.features.has_select_for_no_key_update).filter(
        pk=user.pk
    ).values_list("pk", flat=True).first()


def image_reserve_next(*, project, user) -> QueueItem:
    """Reserve the highest-priority unlabeled image and one credit for `user`.

    Asking again while holding an unexpired reservation returns the same image; the check
    runs under a lock on the annotator inside the transaction (and a partial unique index
    backs it), so parallel requests from one user reserve once. A gold item may come first
    (no credit). The candidate row is taken with FOR NO KEY UPDATE SKIP LOCKED (PostgreSQL)
    so concurrent annotators never receive the same image; on SQLite writes are serialised."""
    lease = timedelta(minutes=project.config["lease_minutes"])
    # A share of hand-outs is a uniform draw from the pool, for an unbiased evaluation sample.
    evaluation = random.random() < project.config["evaluation_share"]
    with transaction.atomic():
        _lock_annotator(user)
        held = _active_reservation(project=project, user=user)
        if held is not None and held.credit_entry_id is None:
            held_gold = _gold_item(project=project, user=user, reservation=held, created=False)
            if held_gold is not None:
                return held_gold
        elif held is not None:
            return QueueItem(reservation=held, image=held.image, created=False)
        gold = _gold_hand_out(project=project, user=user, lease=lease)
        if gold is not None:
            return gold
        second_pass = consensus_claim(project=project, user=user, expires_at=timezone.now() + lease)
        if second_pass is not None:
            reservation, balance = second_pass
            return QueueItem(reservation=reservation, image=reservation.image, created=True, balance=balance)
        image = _claim_top_image(project=project, evaluation=evaluation)
        if image is None and evaluation:
            evaluation, image = False, _claim_top_image(project=project)
        if image is None:
            raise ConflictError("The pool is empty: every image is labeled, reserved or skipped.", code="pool_empty")
        entry = _stream_held_credit(image)
        balance = None
        if entry is None:
            entry, balance = credits.credit_reserve_one(
                project=project, actor=user, image=image, note=_ledger_note(image.score_reason)
            )
        reservation = Reservation.objects.create(
            project=project,
            image=image,
            user=user,
            credit_entry=entry,
            expires_at=timezone.now() + lease,
            score=image.priority,
            reason=EVALUATION_REASON if evaluation else image.score_reason or "unscored",
        )
    return QueueItem(reservation=reservation, image=image, created=True, balance=balance)


def _claim_top_image(*, project, evaluation: bool = False) -> Image | None:
    """Mark the queue's first image reserved and return it, in one statement: an index scan
    of (project, status, priority desc, id) — or, for an evaluation pick, of (project, status,
    eval_key), the first row of which is a uniformly random pool image (synthetic images,
    made from training images, never evaluate). On PostgreSQL the candidate is taken with
    FOR NO KEY UPDATE SKIP LOCKED, so concurrent annotators skip each other's rows instead of
    waiting or colliding; SQLite serialises writers anyway. The caller's transaction
    rolls the claim back if no credit can be reserved."""
    table = Image._meta.db_table
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Image._meta.concrete_fields)
    # NO KEY UPDATE (what the UPDATE itself takes) still excludes other claimers but not the
    # KEY SHARE lock of a foreign-key check: a ledger entry naming this image (the held-credit
    # release job) must not wait for the claim while the claim waits for its hold (deadlock).
    features = connection.features
    lock = (
        " FOR NO KEY UPDATE SKIP LOCKED"
        if features.has_select_for_no_key_update
        else " FOR UPDATE SKIP LOCKED"
        if features.has_select_for_update_skip_locked
        else ""
    )
    top = f"SELECT id FROM {table} WHERE project_id = %s AND status = %s ORDER BY priority DESC, id ASC LIMIT 1{lock}"
    params = [project.pk, Status.UNLABELED]
    if evaluation:
        # An image the production loop pinned to the top still comes first.
        top = (
            f"COALESCE((SELECT id FROM {table} WHERE project_id = %s AND status = %s AND priority >= %s "
            f"ORDER BY priority DESC, id ASC LIMIT 1{lock}), "
            f"(SELECT id FROM {table} WHERE project_id = %s AND status = %s AND source <> %s "
            f"ORDER BY eval_key ASC, id ASC LIMIT 1{lock}))"
        )
        params = [project.pk, Status.UNLABELED, PINNED_PRIORITY, project.pk, Status.UNLABELED, Source.SYNTHETIC]
    sql = f"UPDATE {table} SET status = %s WHERE id = ({top}) RETURNING {columns}"
    claimed = list(Image.objects.raw(sql, [Status.RESERVED, *params]))
    return claimed[0] if claimed else None


def _queue_top(*, project) -> Image | None:
    """The image a plain hand-out would give now (read only: an index scan of image_queue_idx)."""
    return Image.objects.filter(project=project, status=Status.UNLABELED).order_by("-priority", "id").first()


def _gold_disguise(*, image: Image, reservation: Reservation, top: Image | None) -> Image:
    """The gold image as the queue shows it: unlabeled-looking, scored like the image the queue
    would have handed out instead. Its label, split and labeling time would give it away."""
    shown = copy.copy(image)
    shown.status, shown.split, shown.labeled_at = Status.RESERVED, Split.POOL, None
    shown.priority, shown.score_reason = reservation.score, reservation.reason
    shown.pick_reason = top.pick_reason if top is not None else ""
    shown.scored_by_id = top.scored_by_id if top is not None else image.scored_by_id
    return shown


def _gold_item(*, project, user, reservation: Reservation, created: bool) -> QueueItem | None:
    """A held gold reservation as a queue item; None (and the lease ended) if its gold item was
    unmarked meanwhile."""
    answer = (
        GoldAnswer.objects.select_related("gold__image")
        .filter(project=project, annotator=user, gold__image_id=reservation.image_id, answered_at__isnull=True)
        .first()
    )
    if answer is None:
        _reservation_end(reservation, ReservationState.RELEASED)
        return None
    image = _gold_disguise(image=answer.gold.image, reservation=reservation, top=_queue_top(project=project))
    return QueueItem(
        reservation=reservation,
        image=image,
        created=created,
        balance=balance_seen_by(project=project, user=user),
        gold=answer,
    )


def _gold_hand_out(*, project, user, lease: timedelta) -> QueueItem | None:
    """Now and then (the project's gold_rate), or when they left one unanswered, a gold item the
    annotator has not seen and did not label. Its reservation holds no credit, yet it is handed
    out only when a plain item could be (budget left, pool not empty), and shows what one would."""
    rate = project.config["gold_rate"]
    if not rate:
        return None  # no query on the hot path of projects without gold items
    answer = (
        GoldAnswer.objects.select_related("gold__image")
        .filter(project=project, annotator=user, answered_at__isnull=True)
        .first()
    )
    if answer is None and random.random() >= rate:
        return None
    top = _queue_top(project=project)
    if top is None or credits.balance_get(project=project).available <= 0:
        return None
    if answer is None:
        gold = (
            GoldItem.objects.filter(project=project)
            .exclude(answers__annotator=user)
            .exclude(image__annotations__annotator=user)  # their own label: they would know it
            .select_related("image")
            .first()
        )
        if gold is None:
            return None
        answer = GoldAnswer.objects.create(project=project, gold=gold, annotator=user)
    reservation = Reservation.objects.create(
        project=project,
        image=answer.gold.image,
        user=user,
        credit_entry=None,
        expires_at=timezone.now() + lease,
        score=top.priority,
        reason=top.score_reason or "unscored",
    )
    return _gold_item(project=project, user=user, reservation=reservation, created=True)


def _gold_answer(*, project, user, answer: GoldAnswer, label_class, boxes, seconds_spent: float) -> Annotation:
    """Score an answer on a gold item; no credit moves and the gold label stays as it is."""
    from labelapp.learning.gold import box_f1, class_accuracy

    image = answer.gold.image
    label, clean = _clean_label(project=project, image=image, label_class=label_class, boxes=boxes)
    if project.task_type == TaskType.CLASSIFICATION:
        score = class_accuracy(answer.gold.label_class_id, label.pk)
    else:

        def xyxy(items):
            return [[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]] for b in items], [
                b["label_class"] for b in items
            ]

        true_boxes, true_labels = xyxy(answer.gold.boxes)
        answer_boxes, answer_labels = xyxy(clean)
        score = box_f1(true_boxes, true_labels, answer_boxes, answer_labels)
    answer.label_class, answer.boxes, answer.seconds_spent = label, clean, seconds_spent
    answer.score, answer.answered_at = score, timezone.now()
    answer.save(update_fields=["label_class", "boxes", "seconds_spent", "score", "answered_at"])
    # Shaped like a stored label, down to an id and times (the answer's), so it cannot be told apart.
    return Annotation(
        pk=answer.pk,
        project=project,
        image=image,
        annotator=user,
        label_class=label,
        boxes=clean,
        seconds_spent=seconds_spent,
        kind=AnnotationKind.HUMAN,
        created_at=answer.answered_at,
        updated_at=answer.answered_at,
    )


#: Ledger notes for credits spent on labeling an image again, so the ledger shows what quality costs.
LEDGER_NOTES = {"rejected": "re-label: a reviewer rejected the previous label"}


def _ledger_note(reason: str) -> str:
    return LEDGER_NOTES.get(reason, "")


def _stream_held_credit(image):
    """A stream-queried or synthetic image already holds the credit reserved for it: the
    reservation takes that one over instead of a second one."""
    if image.score_reason not in HELD_CREDIT_REASONS:
        return None
    return credits.credit_hold_claim(image=image)


def _held_reservation(*, project, user, image_id) -> Reservation:
    reservation = (
        Reservation.objects.select_for_update()
        .select_related("image")
        .filter(project=project, image_id=image_id, user=user, state=ReservationState.ACTIVE)
        .first()
    )
    if reservation is None:
        raise ConflictError(
            "You do not hold this image: get it from the queue first (its reservation may have expired).",
            code="not_reserved",
        )
    return reservation


def _held_gold_answer(*, project, user, reservation: Reservation) -> GoldAnswer:
    answer = (
        GoldAnswer.objects.select_for_update(of=("self",))
        .select_related("gold__image")
        .filter(project=project, annotator=user, gold__image_id=reservation.image_id, answered_at__isnull=True)
        .first()
    )
    if answer is None:  # the gold item was unmarked while held: nothing left to answer
        _reservation_end(reservation, ReservationState.RELEASED)
        raise ConflictError(
            "You do not hold this image: get it from the queue first (its reservation may have expired).",
            code="not_reserved",
        )
    return answer


def _reservation_end(reservation: Reservation, state: str) -> None:
    reservation.state, reservation.ended_at = state, timezone.now()
    reservation.save(update_fields=["state", "ended_at"])


@transaction.atomic
def image_skip(*, project, user, image_id: int) -> Reservation:
    """Give back a held image and its credit; the image is not handed out again. A skipped
    gold item is answered with no score."""
    reservation = _held_reservation(project=project, user=user, image_id=image_id)
    if reservation.credit_entry_id is None:
        answer = _held_gold_answer(project=project, user=user, reservation=reservation)
        GoldAnswer.objects.filter(pk=answer.pk).update(answered_at=timezone.now())
        _reservation_end(reservation, ReservationState.RELEASED)
        return reservation
    if reservation.reason == CONSENSUS_REASON:
        consensus_skip(project=project, user=user, reservation=reservation)
        return reservation
    credits.credit_release(project=project, actor=user, image=reservation.image, note="skipped")
    _reservation_end(reservation, ReservationState.RELEASED)
    Image.objects.filter(pk=reservation.image_id).update(status=Status.SKIPPED)
    return reservation


def _clean_label(*, project, image, label_class, boxes) -> tuple[object, list]:
    classes = {c.pk: c for c in project.label_classes.all()}
    return LABEL_CLEANERS[project.task_type](classes=classes, image=image, label_class=label_class, boxes=boxes)


def annotation_submit(
    *, project, user, image_id: int, label_class=None, boxes=None, seconds_spent: float = 0
) -> Annotation:
    """Label an image the caller holds: spends its reserved credit, moves it to a split."""
    if seconds_spent is None or seconds_spent < 0 or seconds_spent > 24 * 3600:
        raise InvalidAnnotation("seconds_spent must be between 0 and 86400.")
    with transaction.atomic():
        reservation = _held_reservation(project=project, user=user, image_id=image_id)
        if reservation.credit_entry_id is None:
            answer = _held_gold_answer(project=project, user=user, reservation=reservation)
            annotation = _gold_answer(
                project=project,
                user=user,
                answer=answer,
                label_class=label_class,
                boxes=boxes,
                seconds_spent=seconds_spent,
            )
            _reservation_end(reservation, ReservationState.SUBMITTED)
            return annotation
        image = reservation.image
        label, clean = _clean_label(project=project, image=image, label_class=label_class, boxes=boxes)
        if reservation.reason == CONSENSUS_REASON:
            return consensus_answer(
                project=project,
                user=user,
                reservation=reservation,
                label=label,
                boxes=clean,
                seconds_spent=seconds_spent,
            )
        reservation.state, reservation.ended_at = ReservationState.SUBMITTED, timezone.now()
        reservation.save(update_fields=["state", "ended_at"])
        annotation = image_label(
            project=project,
            image=image,
            kind=AnnotationKind.HUMAN,
            annotator=user,
            label_class_id=label.pk if label else None,
            boxes=clean,
            seconds_spent=seconds_spent,
            evaluation_pick=reservation.reason == EVALUATION_REASON,
            ledger_note=_ledger_note(reservation.reason),
        )
        consensus_open(project=project, annotation=annotation)
    return annotation


def label_clean(*, project, image, label_class, boxes) -> tuple[object, list]:
    """A label checked against the project's task type and classes: (LabelClass or None, boxes).
    Raises InvalidAnnotation (400) saying what is wrong."""
    return _clean_label(project=project, image=image, label_class=label_class, boxes=boxes)


def reservations_release_expired(*, now=None, limit: int = 1000, ids: list[int] | None = None) -> int:
    """Release leases that ran out: the credit goes back and the image returns to the pool.
    Idempotent: each reservation is re-checked under its row lock. The beat job (no `ids`)
    goes project by project, so one project's bad data never stops it for the others."""
    now = now or timezone.now()
    if ids is not None:
        return _reservations_release(ids, now=now)
    expired = Reservation.objects.filter(state=ReservationState.ACTIVE, expires_at__lte=now)
    by_project: dict[int, list[int]] = {}
    for reservation_id, project_id in expired.order_by("id").values_list("pk", "project_id")[:limit]:
        by_project.setdefault(project_id, []).append(reservation_id)
    released = 0
    for project_id, project_ids in sorted(by_project.items()):
        try:
            released += _reservations_release(project_ids, now=now)
        except Exception:
            # Issue 14 item 5: log it and go on with the next project.
            logger.exception("releasing expired reservations failed for project %s", project_id)
    return released


def _reservations_release(ids: list[int], *, now) -> int:
    released = 0
    for reservation_id in ids:
        with transaction.atomic():
            reservation = (
                Reservation.objects.select_for_update(skip_locked=True)
                .select_related("project", "image")
                .filter(pk=reservation_id, state=ReservationState.ACTIVE, expires_at__lte=now)
                .first()
            )
            if reservation is None:
                continue
            if reservation.credit_entry_id is not None:  # a gold hand-out holds none
                credits.credit_release(
                    project=reservation.project, actor=None, image=reservation.image, note="lease expired"
                )
            reservation.state, reservation.ended_at = ReservationState.EXPIRED, now
            reservation.save(update_fields=["state", "ended_at"])
            Image.objects.filter(pk=reservation.image_id, status=Status.RESERVED).update(status=Status.UNLABELED)
            released += 1
    return released
