"""Membership query synthesis: new images made from labeled ones, aimed at what the health
check shows is weak or rare, each confirmed by an annotator before it trains anything.

Invariants kept here, once:
- a job never makes more images than its allowance, and each image reserves its one credit
  under the project's balance lock, so the job stops (`stop_reason = budget_exhausted`)
  rather than overspend: spent + reserved ≤ granted and the ledger equals the balance;
- the credit is held like a stream query's (a StreamHold): the first annotator's reservation
  takes it over, submitting spends it, skipping or an expired lease releases it;
- the carried-over boxes (or class) are only a Prediction of the active version, the
  pre-annotation the label page shows: a synthetic image is `unlabeled` until an annotator
  submits it, and training reads labeled images only;
- content already in the project is skipped without spending (content-hash dedup);
- a job runs on one worker at a time (the job lifecycle of labelapp.core.jobs): the worker
  claims it (queued → running, naming itself the owner) and beats a heartbeat per image; a
  job whose worker died (its process is gone, or silent past the stale time) goes back to
  queued (`synthesis_recover_stale`) and resumes from its stored plan and image count.

Sources are labeled *training* images (human, imported or verified labels), and confirmed
synthetic images always go to the train split (labeling.services.annotation_submit), so no
synthetic image mixes training content into val or test, and the before/after val metrics
are measured on the same kind of data.
"""

import io
import logging

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from PIL import Image as PilImage

from labelapp.core import liveness
from labelapp.core.errors import ConflictError, ServiceError
from labelapp.core.jobs import JobStatus, stale_after
from labelapp.credits import services as credits
from labelapp.images.models import PINNED_PRIORITY, Image, Source, Split, Status
from labelapp.images.services import image_store, storage_cleanup
from labelapp.images.validation import UploadRejected, validate_image_bytes
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.projects.models import TaskType
from labelapp.projects.task_types import task_type_spec
from labelapp.training.models import ModelVersion, Prediction

from .models import SynthesisImage, SynthesisJob

logger = logging.getLogger(__name__)

#: Label kinds a synthetic image may be derived from (people or ground truth, never a model).
SOURCE_KINDS = (AnnotationKind.HUMAN, AnnotationKind.IMPORTED, AnnotationKind.VERIFIED)
#: Draws per planned image before an item gives up (duplicates, transforms that lose the class).
ATTEMPTS_PER_IMAGE = 3
SCORE_REASON = "synthetic"


def _sources(*, project):
    """Annotations a synthetic image may start from: labeled training images with a human,
    imported or verified label (and, for detection, at least one box)."""
    sources = Annotation.objects.filter(
        project=project, kind__in=SOURCE_KINDS, image__status=Status.LABELED, image__split=Split.TRAIN
    )
    return sources.exclude(class_index="")


def _metric_name(task_type: str) -> str:
    return task_type_spec(task_type).per_class_metric


def _per_class(version: ModelVersion | None, metric: str) -> dict:
    """Class name → the version's val metric (None where it is undefined)."""
    if version is None:
        return {}
    per_class = ((version.metrics or {}).get("val") or {}).get("per_class") or {}
    return {name: values.get(metric) for name, values in per_class.items()}


def synthesis_start(*, project, user, allowance: int) -> SynthesisJob:
    """Create a job and queue its run.

    400 `invalid_allowance` (allowance < 1), 409 `no_active_model` (the carried-over labels
    are stored as the active model's pre-annotation, and "before" is its val metric), 400
    `no_source_images` (nothing labeled to derive from), 409 `budget_exhausted` (allowance
    above the available credits), 409 `synthesis_in_progress` (one open job per project).
    The allowance is not reserved up front: each image reserves its credit when it is made."""
    from .inference import active_version_get
    from .tasks import synthesis_run_task

    if isinstance(allowance, bool) or not isinstance(allowance, int) or allowance < 1:
        raise ServiceError("allowance must be a whole number of credits ≥ 1.", code="invalid_allowance")
    version = active_version_get(project=project)
    if not _sources(project=project).exists():
        raise ServiceError(
            "Synthesis derives new images from labeled training images (human, imported or verified "
            "labels with at least one object): label some images first.",
            code="no_source_images",
        )
    metric = _metric_name(project.task_type)
    try:
        with transaction.atomic():
            balance = credits.balance_lock(project=project)
            if allowance > balance.available:
                raise ConflictError(
                    f"The allowance ({allowance}) is above the available credits ({balance.available}): "
                    "lower it or ask an admin to grant credits.",
                    code="budget_exhausted",
                    extra={"available": balance.available},
                )
            job = SynthesisJob.objects.create(
                project=project,
                requested_by=user,
                allowance=allowance,
                metric=metric,
                ap_before=_per_class(version, metric),
                version_before=version,
            )
            transaction.on_commit(lambda: synthesis_run_task.delay(job.pk))
    except IntegrityError:
        raise ConflictError(
            "A synthesis job of this project is already queued or running.", code="synthesis_in_progress"
        ) from None
    return job


def synthesis_recover_stale() -> list[int]:
    """Resume jobs a killed worker left (its process is gone, or silent for the stale time)
    and jobs whose message was lost (queued that long): each goes back to queued, by a
    conditional UPDATE, and is dispatched again. The resumed run continues the stored plan
    from the images already made, so the job still makes at most `allowance` images."""
    from .tasks import synthesis_run_task

    resumed = []
    for row in SynthesisJob.objects.stale(timezone.now() - stale_after()):
        job_id = row["pk"]
        # Re-checked in the UPDATE itself: a worker that beats in between keeps its job.
        requeued = SynthesisJob.objects.requeue(row)
        if requeued:
            logger.warning("synthesis job %s lost its worker; resuming it", job_id)
            synthesis_run_task.delay(job_id)
            resumed.append(job_id)
    return resumed


class _OutOfCredits(Exception):
    pass


class _AllowanceReached(Exception):
    pass


def synthesis_run(*, job_id: int) -> SynthesisJob | None:
    """Plan from the health check, make the images, reserve and hold one credit each.

    Returns None when the job was already claimed (idempotent). Stops early, recording
    `stop_reason`, when the credits run out; a plan item without a usable source image is
    skipped (`made` < `count` in the plan)."""
    owner = liveness.current_owner()
    # Only a queued job: one whose worker died goes back to the queue first (recovery).
    if not SynthesisJob.objects.claim(job_id, owner, take_over=False):
        logger.info("synthesis job %s already claimed or finished; nothing to do", job_id)
        return None
    job = SynthesisJob.objects.select_related("project", "requested_by").get(pk=job_id)
    # Only this owner's job ends here: one that recovery gave to another worker is theirs.
    mine = SynthesisJob.objects.held_by(owner, pk=job.pk)
    try:
        stop_reason = _make_images(job)
        mine.finish(JobStatus.SUCCEEDED, stop_reason=stop_reason)
    except Exception as exc:
        logger.exception("synthesis job %s failed", job_id)
        message = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
        mine.finish(JobStatus.FAILED, error=message)
    job.refresh_from_db()
    return job


def _make_images(job: SynthesisJob) -> str:
    from labelapp.learning.synthesis import plan_synthesis
    from labelapp.training.selectors import project_health

    from .inference import active_version_get

    project = job.project
    version = active_version_get(project=project)
    health = project_health(project=project)
    class_ids = health["class_ids"]
    # A resumed job (its worker died) continues its stored plan; the draws differ, which
    # only changes which new images it makes.
    rng = np.random.default_rng([job.pk, project.pk, job.images_made])
    plan = job.plan
    if not plan:
        plan = [
            {
                **item.to_dict(),
                "class_id": class_ids[item.class_index],
                "class_name": health["class_names"][item.class_index],
                "made": 0,
            }
            for item in plan_synthesis(health, job.allowance, rng)
        ]
        SynthesisJob.objects.filter(pk=job.pk).update(plan=plan, heartbeat_at=timezone.now())
    if not plan:
        return "nothing_to_synthesize"
    made_total, stop_reason = job.images_made, ""
    try:
        for entry in plan:
            candidates = list(
                _sources(project=project)
                .filter(class_index__contains=f",{entry['class_id']},")
                .order_by("id")
                .values_list("pk", flat=True)
            )
            attempts = 0
            while candidates and entry["made"] < entry["count"] and attempts < ATTEMPTS_PER_IMAGE * entry["count"]:
                attempts += 1
                if made_total >= job.allowance:  # the plan never exceeds it; this guards the loop
                    break
                source = Annotation.objects.select_related("image").get(pk=int(rng.choice(candidates)))
                if _make_one(
                    job=job,
                    version=version,
                    source=source,
                    plan=plan,
                    entry=entry,
                    class_ids=class_ids,
                    index=made_total,
                    rng=rng,
                ):
                    made_total += 1
    except _OutOfCredits:
        stop_reason = "budget_exhausted"
    except _AllowanceReached:  # another run of this job (resumed while this one was slow) made the rest
        return ""
    if not stop_reason and made_total < sum(entry["count"] for entry in plan):
        stop_reason = "sources_exhausted"
    return stop_reason


def _encode_png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def _make_one(
    *,
    job,
    version,
    source: Annotation,
    plan: list[dict],
    entry: dict,
    class_ids: list[int],
    index: int,
    rng: np.random.Generator,
) -> bool:
    """Transform one source image with its labels and store it as a pending synthetic image,
    counting it in `entry` and the stored plan in the same transaction (so a resumed job
    knows exactly what was made). False when nothing was made (the result lost the class,
    or is already in the project)."""
    from labelapp.learning.data import decode_rgb
    from labelapp.learning.synthesis import augment

    project = job.project
    position = {class_id: i for i, class_id in enumerate(class_ids)}
    with source.image.file.open("rb") as handle:
        array = decode_rgb(handle.read())
    if project.task_type == TaskType.DETECTION:
        boxes = np.array(
            [[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]] for b in source.boxes], dtype=np.float32
        ).reshape(-1, 4)
        labels = np.array([position[b["label_class"]] for b in source.boxes], dtype=np.int64)
    else:
        boxes, labels = np.zeros((0, 4), np.float32), np.zeros((0,), np.int64)
    try:
        image, boxes, labels = augment(array, boxes, labels, entry["ops"], rng)
    except ValueError:
        logger.warning("synthesis job %s: ops %s do not apply to image %s", job.pk, entry["ops"], source.image_id)
        return False
    if project.task_type == TaskType.DETECTION and entry["class_index"] not in set(labels.tolist()):
        return False
    try:
        item = validate_image_bytes(f"synthetic-{job.pk}-{index:04d}.png", _encode_png(image))
    except UploadRejected:
        logger.warning("synthesis job %s: a generated image was rejected", job.pk)
        return False
    if Image.objects.filter(project=project, sha256=item.sha256).exists():
        return False
    height, width = image.shape[:2]
    if project.task_type == TaskType.DETECTION:
        prediction = {"boxes": _carried_boxes(boxes, labels, class_ids, width, height)}
        prediction["counts"] = {}
        for box in prediction["boxes"]:
            key = str(box["label_class"])
            prediction["counts"][key] = prediction["counts"].get(key, 0) + 1
    else:
        label_class = source.label_class_id
        prediction = {
            "probs": [1.0 if class_id == label_class else 0.0 for class_id in version.classes],
            "counts": {str(label_class): 1},
        }
    written: list[str] = []
    try:
        with transaction.atomic():
            balance = credits.balance_lock(project=project)
            if balance.available <= 0:
                raise _OutOfCredits
            stored, created = image_store(
                project=project, item=item, source=Source.SYNTHETIC, status=Status.UNLABELED, written=written
            )
            if not created:
                storage_cleanup(written)
                return False
            credits.credit_hold(
                project=project, actor=job.requested_by, image=stored, balance=balance, note=f"synthesis job {job.pk}"
            )
            Prediction.objects.create(image=stored, model_version=version, confidence=1.0, score=0.0, **prediction)
            stored.priority, stored.score_reason, stored.scored_by = PINNED_PRIORITY, SCORE_REASON, version
            stored.save(update_fields=["priority", "score_reason", "scored_by"])
            SynthesisImage.objects.create(
                job=job,
                image=stored,
                source_image=source.image,
                label_class_id=entry["class_id"],
                ops=entry["ops"],
            )
            entry["made"] += 1
            # Conditional: a resumed run racing a worker that was only slow cannot pass the allowance.
            if not SynthesisJob.objects.filter(pk=job.pk, images_made__lt=F("allowance")).update(
                images_made=F("images_made") + 1, plan=plan, heartbeat_at=timezone.now()
            ):
                entry["made"] -= 1
                raise _AllowanceReached
    except Exception:
        storage_cleanup(written)
        raise
    # No images_added dispatch: preprocessing would rescore the image with the active model
    # and overwrite the carried-over pre-annotation (same image and version). The pool cache
    # decodes it on first use instead.
    return True


def _carried_boxes(boxes: np.ndarray, labels: np.ndarray, class_ids: list[int], width: int, height: int) -> list[dict]:
    """Transformed xyxy boxes → the API's {x, y, w, h, label_class, score}, inside the image."""
    out = []
    for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist()):
        x1, y1 = max(0.0, x1), max(0.0, y1)
        x2, y2 = min(float(width), x2), min(float(height), y2)
        if x2 - x1 < 0.01 or y2 - y1 < 0.01:
            continue
        out.append(
            {
                "x": round(x1, 2),
                "y": round(y1, 2),
                "w": round(x2 - x1, 2),
                "h": round(y2 - y1, 2),
                "label_class": class_ids[int(label)],
                "score": 1.0,
            }
        )
    return out


# --- the report ---------------------------------------------------------------------------


def synthesis_report_refresh(*, job: SynthesisJob) -> SynthesisJob:
    """Fill `ap_after` once, from the first model version trained after the job's last
    confirmed image (so it trained on every label confirmed by then). Idempotent: a
    conditional UPDATE writes it once; later reads return the stored value."""
    if job.version_after_id is not None:
        return job
    last = Image.objects.filter(synthesis__job=job, status=Status.LABELED).aggregate(last=Max("labeled_at"))["last"]
    if last is None:
        return job
    version = (
        ModelVersion.objects.filter(project_id=job.project_id)
        .filter(Q(training_run__started_at__gt=last) | Q(training_run__isnull=True, created_at__gt=last))
        .order_by("number")
        .first()
    )
    if version is None:
        return job
    SynthesisJob.objects.filter(pk=job.pk, version_after__isnull=True).update(
        version_after=version, ap_after=_per_class(version, job.metric)
    )
    job.refresh_from_db()
    return job


def synthesis_image_counts(*, job: SynthesisJob) -> dict:
    """The job's images by what annotators did with them."""
    statuses = list(Image.objects.filter(synthesis__job=job).values_list("status", flat=True))
    return {
        "confirmed": sum(s == Status.LABELED for s in statuses),
        "skipped": sum(s == Status.SKIPPED for s in statuses),
        "pending": sum(s in (Status.UNLABELED, Status.RESERVED) for s in statuses),
    }
