"""The production loop: predictions with collection rules, stream-based selective sampling,
and verification by end users.

Invariants kept here, once:
- a 1-in-N rule keeps exactly 1 in N of the new images it sees (a counter under its row
  lock, not a coin flip), and no rule keeps more than its per-hour / per-day quota, even in
  a concurrent burst (conditional UPDATEs on the window rows);
- a stream query reserves its credit with `credits.credit_hold` under the project's balance
  lock, and the stream decides on the balance it just locked, so it never overspends; the
  credit is held until an annotator's reservation takes it over (see
  `credits.credit_hold_claim`): spent + reserved ≤ granted and the ledger equals the balance;
- a verification item is leased to one verifier at a time and decided once; auto labels
  (stream accepts) stay Predictions, while verified and affirmed labels are free
  Annotations of their own kinds.

The model runs outside every transaction; transactions only hold the rows they change.
"""

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from labelapp.core.errors import ConflictError, NotFoundError, ServiceError
from labelapp.core.events import send_on_commit
from labelapp.credits import services as credits
from labelapp.images.events import images_added
from labelapp.images.models import PINNED_PRIORITY, Image, Source, Status
from labelapp.images.services import image_store, images_validate, storage_cleanup
from labelapp.images.validation import UploadRejected, ValidImage
from labelapp.labeling.models import AnnotationKind
from labelapp.labeling.services import image_label
from labelapp.learning.stream import Decision, StreamState, decide, new_state, update
from labelapp.projects.models import LabelClass, Project, TaskType
from labelapp.projects.settings_schema import default_strategy
from labelapp.training import engine
from labelapp.training.models import ModelVersion, Prediction

from .models import (
    KeptCount,
    QuotaWindow,
    RuleCounter,
    StreamSampler,
    VerificationItem,
    VerificationState,
)

logger = logging.getLogger(__name__)

#: How long GET verifications/next keeps an item for one verifier.
VERIFICATION_LEASE = timedelta(minutes=5)
#: low_confidence rule defaults when the rule leaves them out.
DEFAULT_LOW_CONFIDENCE = 0.5
DEFAULT_EPSILON = 0.1
SAMPLING_RULES = ("random_1_in_n", "verification_sample")

Upload = tuple[str, bytes, str | None]


# --- running the active model ------------------------------------------------------------


@dataclass
class ModelRun:
    """One image through the active model. `prediction` is unsaved; its `image` is an
    unsaved Image carrying the upload's size (boxes are in its pixels)."""

    version: ModelVersion
    prediction: Prediction
    item: ValidImage


def active_version_get(*, project) -> ModelVersion:
    version = ModelVersion.objects.filter(project=project, is_active=True).first()
    if version is None:
        raise ConflictError(
            "This project has no active model yet: label some images and train one "
            f"(POST /api/projects/{project.pk}/train) before asking for predictions.",
            code="no_active_model",
        )
    return version


def upload_validate(*, upload: Upload | None) -> ValidImage:
    """The one image of a predict/stream request, validated like any upload."""
    if upload is None:
        raise UploadRejected("Send one image in the multipart field 'file'.", code="no_file")
    return images_validate([upload])[0]


def model_run(*, project, item: ValidImage) -> ModelRun:
    """Predict one validated image with the project's active model (409 without one)."""
    from labelapp.learning.data import decode_rgb, prepare
    from labelapp.learning.strategies.registry import score_pool
    from labelapp.training.services import _prediction_row, scoring_strategy

    version = active_version_get(project=project)
    model = engine.load_version(version)
    array, _ = prepare(decode_rgb(item.data), version.input_size, project.task_type)
    outputs = model.predict(np.array(array[None]))  # a writable copy: torch warns on read-only arrays
    config = project.config
    threshold = config["detection_threshold"]
    strategy = scoring_strategy(version.strategy or default_strategy(project.task_type), project.task_type)
    is_classification = project.task_type == TaskType.CLASSIFICATION
    scores = score_pool(
        project.task_type,
        outputs.probs if is_classification else outputs,
        strategy=strategy,
        threshold=threshold,
        rng=np.random.default_rng(int(item.sha256[:8], 16)),
    )
    image = Image(project=project, sha256=item.sha256, width=item.width, height=item.height, original_name=item.name)
    row = _prediction_row(image, version, outputs, 0, scores[0], threshold, project.task_type)
    return ModelRun(version=version, prediction=row, item=item)


def _stored(*, project, run: ModelRun, source: str, status: str, written: list) -> tuple[Image, bool]:
    """Store the image and its Prediction (inside the caller's transaction)."""
    image, created = image_store(project=project, item=run.item, source=source, status=status, written=written)
    if created:
        run.prediction.image = image
        run.prediction.save()
        image.scored_by = run.version
    return image, created


# --- prediction API and collection rules -------------------------------------------------


@dataclass
class PredictResult:
    run: ModelRun
    class_names: dict[int, str]
    kept_by: list[dict] = field(default_factory=list)
    image: Image | None = None
    duplicate: bool = False
    verification: VerificationItem | None = None

    @property
    def kept(self) -> bool:
        return bool(self.kept_by) and not self.duplicate


def rule_key(index: int, rule: dict) -> str:
    """Counters and quotas belong to a rule's position and kind: reordering the rules (or
    changing a rule's kind) starts them afresh."""
    return f"{index}:{rule['kind']}"


def _utc_windows(now: datetime) -> tuple[datetime, datetime]:
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour, hour.replace(hour=0)


def _counter_hit(*, project, key: str, n: int) -> bool:
    """Count one more image for a 1-in-n rule (caller's transaction); True for the 1st,
    (n+1)th, (2n+1)th, ... image, so exactly 1 in n is selected."""
    counter = RuleCounter.objects.select_for_update().filter(project=project, rule_key=key).first()
    if counter is None:
        RuleCounter.objects.get_or_create(project=project, rule_key=key)
        counter = RuleCounter.objects.select_for_update().get(project=project, rule_key=key)
    before = counter.seen
    counter.seen = before + 1
    counter.save(update_fields=["seen"])
    return before % max(int(n), 1) == 0


class _QuotaFull(Exception):
    pass


def _quota_take(*, project, key: str, rule: dict, now: datetime) -> bool:
    """Count one keep in the rule's hour and day windows, or nothing if either is full.
    Conditional UPDATEs (`kept < quota`) are atomic, and a full day rolls the hour back."""
    hour, day = _utc_windows(now)
    try:
        with transaction.atomic():
            for window, start, limit in (
                (QuotaWindow.HOUR, hour, rule.get("per_hour")),
                (QuotaWindow.DAY, day, rule.get("per_day")),
            ):
                row, _ = KeptCount.objects.get_or_create(
                    project=project, rule_key=key, window=window, window_start=start
                )
                rows = KeptCount.objects.filter(pk=row.pk)
                if limit is not None:
                    rows = rows.filter(kept__lt=limit)
                if not rows.update(kept=F("kept") + 1):
                    raise _QuotaFull
    except _QuotaFull:
        return False
    return True


def _quota_give_back(*, project, keys: list[str], now: datetime) -> None:
    hour, day = _utc_windows(now)
    KeptCount.objects.filter(
        Q(window=QuotaWindow.HOUR, window_start=hour) | Q(window=QuotaWindow.DAY, window_start=day),
        project=project,
        rule_key__in=keys,
        kept__gt=0,
    ).update(kept=F("kept") - 1)


def _low_confidence(*, project, prediction: Prediction, rule: dict) -> bool:
    if project.task_type == TaskType.CLASSIFICATION:
        threshold = rule.get("threshold")
        return prediction.confidence < (DEFAULT_LOW_CONFIDENCE if threshold is None else threshold)
    threshold = project.config["detection_threshold"]
    epsilon = rule.get("epsilon")
    epsilon = DEFAULT_EPSILON if epsilon is None else epsilon
    found = sum(prediction.counts.values())
    return found == 0 or any(abs(box["score"] - threshold) <= epsilon for box in prediction.boxes or [])


def _rule_fires(*, project, index: int, rule: dict, prediction: Prediction) -> bool:
    if rule["kind"] in SAMPLING_RULES:
        return _counter_hit(project=project, key=rule_key(index, rule), n=rule.get("n") or 1)
    return _low_confidence(project=project, prediction=prediction, rule=rule)


def prediction_make(*, project, upload: Upload | None, now: datetime | None = None) -> PredictResult:
    """Predict one image with the active model and apply the project's collection rules.

    Every rule is evaluated on its own (a 1-in-N counter advances on every new image, so its
    rate stays exact whatever the other rules do); each rule that fires and has quota left
    counts a keep. A kept image enters the pool (source production, unlabeled, ranked by its
    informativeness) with its Prediction; a verification_sample keep also creates a pending
    verification item. Images already in the project are never kept again nor counted."""
    item = upload_validate(upload=upload)
    run = model_run(project=project, item=item)
    result = PredictResult(
        run=run, class_names=dict(LabelClass.objects.filter(project=project).values_list("id", "name"))
    )
    existing = Image.objects.filter(project=project, sha256=item.sha256).first()
    if existing is not None:
        result.image, result.duplicate = existing, True
        return result
    rules = project.config["collection_rules"]
    if not rules:
        return result
    now = now or timezone.now()
    with transaction.atomic():
        for index, rule in enumerate(rules):
            key = rule_key(index, rule)
            if _rule_fires(project=project, index=index, rule=rule, prediction=run.prediction) and _quota_take(
                project=project, key=key, rule=rule, now=now
            ):
                result.kept_by.append({"index": index, "kind": rule["kind"], "key": key})
    if not result.kept_by:
        return result
    written: list[str] = []
    try:
        with transaction.atomic():
            image, created = _stored(
                project=project, run=run, source=Source.PRODUCTION, status=Status.UNLABELED, written=written
            )
            result.image = image
            if not created:
                # The same content arrived concurrently and was stored first: not a new keep.
                result.duplicate = True
                _quota_give_back(project=project, keys=[hit["key"] for hit in result.kept_by], now=now)
            else:
                image.priority = run.prediction.score
                image.score_reason = (run.version.strategy or default_strategy(project.task_type))[:40]
                image.save(update_fields=["priority", "score_reason", "scored_by"])
                if any(hit["kind"] == "verification_sample" for hit in result.kept_by):
                    result.verification = VerificationItem.objects.create(
                        project=project,
                        prediction=run.prediction,
                        image=image,
                        model_version=run.version,
                        predicted_count=sum(run.prediction.counts.values()),
                        created_at=now,
                    )
                send_on_commit(images_added, project_id=project.pk, image_ids=[image.pk])
    except Exception:
        storage_cleanup(written)
        raise
    if result.duplicate:
        storage_cleanup(written)
    return result


# --- stream-based selective sampling -----------------------------------------------------


@dataclass
class StreamResult:
    decision: str  # "query" | "accept" | "duplicate"
    reason: str
    confidence: float
    threshold: float | None
    credits_left: int
    image: Image
    run: ModelRun
    sampler: StreamSampler | None = None


class _Duplicate(Exception):
    def __init__(self, image):
        self.image = image


def _sampler_lock(*, project, config: dict) -> StreamSampler:
    """The project's stream state, locked; created on first use. A changed
    `stream_expected_items` setting becomes `expected_remaining = expected - seen`."""
    expected = config["stream_expected_items"]
    sampler = StreamSampler.objects.select_for_update().filter(project=project).first()
    if sampler is None:
        StreamSampler.objects.get_or_create(
            project=project, defaults={"state": new_state(0, expected).to_dict(), "expected_items": expected}
        )
        sampler = StreamSampler.objects.select_for_update().get(project=project)
    if sampler.expected_items != expected:
        state = StreamState.from_dict(sampler.state)
        sampler.state = replace(state, expected_remaining=max(expected - state.seen, 0)).to_dict()
        sampler.expected_items = expected
    return sampler


def stream_image_ingest(*, project, user, upload: Upload | None) -> StreamResult:
    """Decide one arriving image with `labelapp.learning.stream` and the project settings.

    query: one credit is reserved now (held by a StreamHold) and the image goes to the top
    of the labeling queue (PINNED_PRIORITY, above every pool image). accept: the model's
    output is kept as the image's Prediction and the image becomes `auto_labeled` (not a
    human label: no Annotation). The decision is taken under the stream row lock and the
    balance lock, on the balance itself (`credits_left` = available credits), so concurrent
    requests never overspend. Content already in the project is a `duplicate`: nothing
    is stored, counted or reserved."""
    item = upload_validate(upload=upload)
    run = model_run(project=project, item=item)
    confidence = min(max(float(run.prediction.confidence), 0.0), 1.0)
    existing = Image.objects.filter(project=project, sha256=item.sha256).first()
    if existing is not None:
        return _duplicate(project=project, image=existing, run=run, confidence=confidence)
    config = project.config
    written: list[str] = []
    try:
        with transaction.atomic():
            image, created = _stored(
                project=project, run=run, source=Source.STREAM, status=Status.UNLABELED, written=written
            )
            if not created:
                raise _Duplicate(image)
            sampler = _sampler_lock(project=project, config=config)
            balance = credits.balance_lock(project=project)
            state = replace(StreamState.from_dict(sampler.state), credits_left=max(balance.available, 0))
            decision: Decision = decide(
                confidence,
                state,
                mode=config["stream_mode"],
                threshold=config["stream_threshold"],
                hard_cap=config.get("stream_hard_cap"),
                exploration=config["stream_exploration"],
                rng=np.random.default_rng([project.pk, state.seen]),
            )
            if decision.query:
                credits.credit_hold(project=project, actor=user, image=image, balance=balance, note="stream query")
                image.priority, image.score_reason = PINNED_PRIORITY, "stream_query"
            else:
                image.status = Status.AUTO_LABELED
                image.priority, image.score_reason = run.prediction.score, "stream_accept"
                sampler.accepted += 1
            image.save(update_fields=["status", "priority", "score_reason", "scored_by"])
            sampler.state = update(state, decision).to_dict()
            sampler.save(update_fields=["state", "expected_items", "accepted", "updated_at"])
            send_on_commit(images_added, project_id=project.pk, image_ids=[image.pk])
    except _Duplicate as duplicate:
        storage_cleanup(written)
        return _duplicate(project=project, image=duplicate.image, run=run, confidence=confidence)
    except Exception:
        storage_cleanup(written)
        raise
    threshold = decision.threshold if np.isfinite(decision.threshold) else None
    return StreamResult(
        decision="query" if decision.query else "accept",
        reason=decision.reason,
        confidence=confidence,
        threshold=threshold,
        credits_left=balance.available,
        image=image,
        run=run,
        sampler=sampler,
    )


def _duplicate(*, project, image, run, confidence) -> StreamResult:
    return StreamResult(
        decision="duplicate",
        reason="already_in_project",
        confidence=confidence,
        threshold=None,
        credits_left=credits.balance_get(project=project).available,
        image=image,
        run=run,
        sampler=StreamSampler.objects.filter(project=project).first(),
    )


# --- verification ------------------------------------------------------------------------


VERIFIABLE = ("correct", "incorrect")


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
        correct = verdict == "correct" and (true_count is None or true_count == item.predicted_count)
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
