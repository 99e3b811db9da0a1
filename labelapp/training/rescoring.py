"""Rescoring the unlabeled pool with the active model version, in parallel chunks.

Idempotency: a rescore chunk upserts its Predictions on (image, model_version), so running a
chunk twice writes the same rows once.
"""

import logging

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, FloatField, Value, When
from django.utils import timezone

from labelapp.core.db import retry_when_locked
from labelapp.core.jobs import JobStatus
from labelapp.images.models import PINNED_REASONS, Image, Status
from labelapp.projects.models import Project, TaskType
from labelapp.projects.settings_schema import ADAPTIVE

from . import embeddings, engine
from .inference import prediction_row, scoring_strategy, strategy_name
from .models import ModelVersion, Prediction, RescoreJob

logger = logging.getLogger(__name__)


def rescore_start(*, version_id: int, chunk_size: int | None = None) -> RescoreJob | None:
    """Split the unlabeled pool into chunks and score them in parallel (a Celery chord)."""

    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    if not version.is_active:
        return None
    job = RescoreJob.objects.create(project=version.project, model_version=version)
    return rescore_job_start(job_id=job.pk, chunk_size=chunk_size)


def rescore_request(*, project_id: int) -> RescoreJob | None:
    """A scoring setting changed: ask for one full rescore with the active model. While a
    rescore is queued and not yet started, every further ask is served by it (its chunks read
    the settings when they run), so five toggles in a row cost one rescore, not five (issue 14
    item 12). Without an active model the task ranks the pool for a cold start instead."""
    from .tasks import rescore_job_start_task, rescore_project_task

    with transaction.atomic():
        # Locked so two concurrent asks cannot both find no open job and both add one.
        active = ModelVersion.objects.select_for_update().filter(project_id=project_id, is_active=True).first()
        if active is None:
            transaction.on_commit(lambda: rescore_project_task.delay(project_id))
            return None
        waiting = RescoreJob.objects.filter(model_version=active, status=JobStatus.QUEUED, started_at__isnull=True)
        job = waiting.order_by("id").first()
        if job is None:
            # The pool's size now, so the progress panel shows it queued (start counts again).
            pool = Image.objects.filter(project_id=project_id, status=Status.UNLABELED).count()
            job = RescoreJob.objects.create(project_id=project_id, model_version=active, images_total=pool)
            transaction.on_commit(lambda: rescore_job_start_task.delay(job.pk))
    return job


def rescore_job_start(*, job_id: int, chunk_size: int | None = None) -> RescoreJob | None:
    """Start a queued rescore: score the pool as it is now. Only the first call starts it
    (a redelivered message finds it started); a job whose version was replaced meanwhile ends."""
    now = timezone.now()
    started = RescoreJob.objects.filter(pk=job_id, status=JobStatus.QUEUED, started_at__isnull=True).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    job = RescoreJob.objects.select_related("model_version").filter(pk=job_id).first()
    if not started or job is None:
        return job
    version = job.model_version
    if not version.is_active:
        RescoreJob.objects.filter(pk=job_id).finish(JobStatus.FAILED, error="Its model version is no longer active.")
        return job
    ids = list(
        Image.objects.filter(project_id=job.project_id, status=Status.UNLABELED)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    RescoreJob.objects.filter(pk=job_id).update(images_total=len(ids))
    _rescore_dispatch(job, ids, chunk_size or _chunk_size(version))
    job.refresh_from_db()
    return job


def _rescore_dispatch(job, ids: list[int], chunk_size: int) -> None:
    from celery import chord

    from .tasks import rescore_chunk_task, rescore_finish_task

    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    if not chunks:
        RescoreJob.objects.filter(pk=job.pk).finish(JobStatus.SUCCEEDED)
        return
    RescoreJob.objects.filter(pk=job.pk).update(
        chunks_total=F("chunks_done") + len(chunks), heartbeat_at=timezone.now()
    )
    chord(rescore_chunk_task.s(job.pk, chunk) for chunk in chunks)(rescore_finish_task.si(job.pk))


def rescore_project(*, project_id: int) -> RescoreJob | None:
    """Re-rank the pool at once after a setting that changes scores (strategy, weighting,
    diversity, threshold): with the active model, or cold-start priorities without one."""
    from .preprocess import cold_start_priorities

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.info("project %s was deleted; no rescore", project_id)
        return None
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    if active is None:
        cold_start_priorities(project=project)
        return None
    return rescore_start(version_id=active.pk)


def rescore_resume(*, job_id: int) -> None:
    """Re-dispatch the pool images a stalled rescore has not scored yet (a worker died)."""

    job = RescoreJob.objects.select_related("model_version").get(pk=job_id)
    if job.started_at is None:
        # Queued by a settings change and its message lost: it has not begun, so begin it.
        rescore_job_start(job_id=job_id)
        return
    if not job.model_version.is_active:
        RescoreJob.objects.filter(pk=job_id).finish(JobStatus.FAILED, error="Its model version is no longer active.")
        return
    remaining = list(
        Image.objects.filter(project_id=job.project_id, status=Status.UNLABELED)
        .exclude(scored_by=job.model_version)
        .exclude(score_reason__in=PINNED_REASONS)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    _rescore_dispatch(job, remaining, _chunk_size(job.model_version))


def _chunk_size(version) -> int:
    """Images per rescore task. A head on cached vectors costs microseconds per image, so its
    chunks are large: per-task overhead would otherwise dominate."""
    from django.conf import settings

    from labelapp.learning.models import model_class

    if engine.reads_vectors(model_class(version.model_name)):
        return settings.LABELAPP_RESCORE_VECTOR_CHUNK_SIZE
    return settings.LABELAPP_RESCORE_CHUNK_SIZE


def rescore_chunk(*, job_id: int, image_ids: list[int]) -> int:
    """Predict and score one chunk and set its priorities in bulk. Pixel models upsert a
    Prediction per image; a head on cached vectors does not (100,000 rows would cost far more
    than scoring them): its pre-annotations are computed when an image is handed out."""
    job = RescoreJob.objects.select_related("model_version", "project").filter(pk=job_id).first()
    if job is None:
        logger.info("rescore job %s is gone (its project was deleted); nothing to do", job_id)
        return 0
    version, project = job.model_version, job.project
    pool = Image.objects.filter(pk__in=image_ids, status=Status.UNLABELED).order_by("id")
    model = engine.load_version(version)
    if engine.reads_vectors(model):
        ids = list(pool.values_list("pk", flat=True))
        if ids:
            outputs = model.predict_vectors(embeddings.vectors_by_ids(project, ids))
            scores, strategy = _scores(project, version, outputs, first_id=ids[0])
            retry_when_locked(
                lambda: set_priorities(ids, scores, version=version, reason=strategy),
                what=f"rescore job {job_id}: chunk",
            )
    else:
        images = list(pool)
        ids = [image.pk for image in images]
        if images:
            outputs = model.predict(engine.prepared_images(project, images, size=version.input_size))
            scores, strategy = _scores(project, version, outputs, first_id=ids[0])
            threshold = project.config["detection_threshold"]
            rows = [
                prediction_row(image, version, outputs, i, scores[i], threshold, project.task_type)
                for i, image in enumerate(images)
            ]

            def write() -> None:
                with transaction.atomic():
                    Prediction.objects.bulk_create(
                        rows,
                        update_conflicts=True,
                        unique_fields=["image", "model_version"],
                        update_fields=["probs", "boxes", "counts", "confidence", "score"],
                    )
                    set_priorities(ids, scores, version=version, reason=strategy)

            try:
                retry_when_locked(write, what=f"rescore job {job_id}: chunk")
            except IntegrityError:
                if Project.objects.filter(pk=project.pk).exists():
                    raise
                logger.info("rescore job %s stopped: its project was deleted", job_id)
                return 0
    retry_when_locked(
        lambda: RescoreJob.objects.filter(pk=job_id).update(
            chunks_done=F("chunks_done") + 1, heartbeat_at=timezone.now()
        ),
        what=f"rescore job {job_id}: progress",
    )
    return len(ids)


def _scores(project, version, outputs, *, first_id: int):
    """(per-image scores, the strategy's name) for a chunk of model outputs."""
    from labelapp.learning.strategies.registry import score_pool
    from labelapp.learning.strategies.weighting import class_weights_from_ap

    # The project's strategy now, not the one the version was trained under: a strategy
    # change re-ranks the pool with the active model at once (rescore_project).
    strategy = scoring_strategy(strategy_name(project), project.task_type)
    # Random stays random: no weak-class weighting of its scores.
    weighted = project.config["weak_class_weighting"] and strategy != "random"
    weights = _class_weights(version, class_weights_from_ap) if weighted else None
    scores = score_pool(
        project.task_type,
        outputs.probs if project.task_type == TaskType.CLASSIFICATION else outputs,
        strategy=strategy,
        class_weights=weights,
        threshold=project.config["detection_threshold"],
        # One stream per chunk (seeded by its first image too): a seed per version alone
        # would give every chunk the same sequence, so position i of each chunk ties.
        rng=np.random.default_rng([version.pk, first_id]),
    )
    return scores, strategy


def set_priorities(image_ids: list[int], scores, *, version, reason: str) -> None:
    """Write a chunk's priorities in one UPDATE … FROM (VALUES …). Images pinned at the top
    of the queue by the production loop keep theirs. (A CASE with one WHEN per image costs
    Django about half a millisecond per row just to build.)"""
    table = connection.ops.quote_name(Image._meta.db_table)
    column = {
        name: connection.ops.quote_name(Image._meta.get_field(name).column)
        for name in ("id", "priority", "scored_by", "score_reason", "status")
    }
    pinned = ", ".join(["%s"] * len(PINNED_REASONS))
    # SQLite binds at most 32,766 parameters per statement: large chunks go in slices.
    for start in range(0, len(image_ids), 10_000):
        ids, values = image_ids[start : start + 10_000], scores[start : start + 10_000]
        rows = ", ".join(["(%s, %s)"] * len(ids))
        sql = (
            f"WITH fresh (image_id, score) AS (VALUES {rows}) "
            f"UPDATE {table} SET {column['priority']} = fresh.score, {column['scored_by']} = %s, {column['score_reason']} = %s "
            f"FROM fresh WHERE {table}.{column['id']} = fresh.image_id AND {table}.{column['status']} = %s "
            f"AND {table}.{column['score_reason']} NOT IN ({pinned})"
        )
        params = [value for pk, score in zip(ids, values) for value in (int(pk), float(score))]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, version.pk if version else None, reason, Status.UNLABELED, *PINNED_REASONS])


def rescore_finish(*, job_id: int) -> None:
    from .planning import plan_next_batch

    job = RescoreJob.objects.select_related("model_version", "project").filter(pk=job_id).first()
    if job is None:
        logger.info("rescore job %s is gone (its project was deleted); nothing to finish", job_id)
        return
    project, version = job.project, job.model_version
    if version.is_active:
        planned = plan_next_batch(project=project, version=version) if strategy_name(project) == ADAPTIVE else None
        if planned is None and project.config["batch_diversity"]:
            diversify_next_batch(project=project, version=version)
    RescoreJob.objects.filter(pk=job_id).finish(JobStatus.SUCCEEDED)


def diversify_next_batch(*, project, version, shortlist_factor: int = 5) -> list[int]:
    """Make the next batch (the labels until the next retrain) informative *and* diverse:
    among the top `batch × shortlist_factor` of the queue, the images k-means on the
    model's embeddings picks (labelapp.learning.strategies.selection.select_diverse) take the highest
    priorities. Priorities are permuted, never invented, so scores keep their meaning."""
    from labelapp.learning.strategies.registry import DEFAULT_STRATEGY
    from labelapp.learning.strategies.selection import select_diverse

    batch = project.config["auto_retrain_every"] or 20
    shortlist = list(
        Image.objects.filter(project=project, status=Status.UNLABELED, scored_by=version)
        .exclude(score_reason__in=PINNED_REASONS)
        .order_by("-priority", "id")[: batch * shortlist_factor]
    )
    if len(shortlist) <= batch:
        return [image.pk for image in shortlist]
    vectors = embeddings.embeddings_for(project, shortlist)
    if vectors is None:
        vectors = engine.load_version(version).embed(
            engine.prepared_images(project, shortlist, size=version.input_size)
        )
    scores = np.array([image.priority for image in shortlist])
    chosen = select_diverse(
        scores,
        vectors,
        batch,
        np.random.default_rng(version.pk),
        shortlist_factor=shortlist_factor,
        method=DEFAULT_STRATEGY.diversity or "kmeans",
    )
    chosen_set = {int(i) for i in chosen}
    order = sorted(chosen_set, key=lambda i: -scores[i]) + [i for i in range(len(shortlist)) if i not in chosen_set]
    values = sorted(scores, reverse=True)
    with transaction.atomic():
        Image.objects.filter(
            pk__in=[image.pk for image in shortlist], status=Status.UNLABELED, scored_by=version
        ).update(
            priority=Case(
                *[When(pk=shortlist[i].pk, then=Value(float(v))) for i, v in zip(order, values)],
                output_field=FloatField(),
            )
        )
    return [shortlist[i].pk for i in order[:batch]]


def _class_weights(version, class_weights_from_ap):
    per_class = (version.metrics.get("val") or {}).get("per_class") or {}
    key = "ap50" if "ap50" in next(iter(per_class.values()), {}) else "f1"
    values = [per_class.get(name, {}).get(key) for name in per_class]
    if not values or len(values) != len(version.classes):
        return None
    return class_weights_from_ap(np.array([np.nan if v is None else v for v in values], dtype=float))
