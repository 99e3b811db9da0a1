"""The prediction API and its collection rules: what production images are kept.

Invariant kept here, once: a 1-in-N rule keeps exactly 1 in N of the new images it sees (a
counter under its row lock, not a coin flip), and no rule keeps more than its per-hour /
per-day quota, even in a concurrent burst (conditional UPDATEs on the window rows).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from labelapp.core.events import send_on_commit
from labelapp.images.events import images_added
from labelapp.images.models import Image, Source, Status
from labelapp.images.services import storage_cleanup
from labelapp.projects.models import LabelClass, TaskType
from labelapp.projects.settings_schema import default_strategy
from labelapp.training.models import Prediction

from .inference import ModelRun, Upload, model_run, run_store, upload_validate
from .models import (
    KeptCount,
    QuotaWindow,
    RuleCounter,
    VerificationItem,
)

#: low_confidence rule defaults when the rule leaves them out.
DEFAULT_LOW_CONFIDENCE = 0.5
DEFAULT_EPSILON = 0.1
SAMPLING_RULES = ("random_1_in_n", "verification_sample")


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
            image, created = run_store(
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
