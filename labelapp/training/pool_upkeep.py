"""Work on the pool after images arrive, debounced per project: preprocessing the new images
and, without an active model, ranking the unscored pool for cold start.

Each upload batch (the CLI sends 16 images) used to queue its own preprocessing task, and each
of those ranked the whole unscored pool: 3,000 images cost 188 rankings, and a task's fixed
costs were paid per 16 images. Now:

- a batch's images go into a backlog and ask for one preprocessing task per project, queued
  with a short countdown; every batch that arrives meanwhile is served by it, so the work
  grows with the number of images, not of requests;
- preprocessing asks for one cold-start ranking per project the same way; its countdown grows
  with the last ranking's duration (LABELAPP_COLD_START_SPACING times it), so however long a
  burst lasts, ranking takes a bounded share of the worker. Images that arrive between
  rankings wait at priority 0, behind the ranked picks.

A pending task whose message was lost (its worker died and the broker dropped it) stops
counting as pending after its countdown plus LABELAPP_TRAINING_STALE_SECONDS."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import PoolUpkeep, PreprocessBacklog

#: Images per images_preprocess call: bounds the arrays one call holds.
PREPROCESS_CHUNK = 512

logger = logging.getLogger(__name__)


def _claim(project_id: int, kind: str, delay: float) -> bool:
    """Mark `kind` (preprocess, cold_start) pending for the project; True if it was not."""
    PoolUpkeep.objects.get_or_create(project_id=project_id)
    now = timezone.now()
    lost = now - timedelta(seconds=delay + settings.LABELAPP_TRAINING_STALE_SECONDS)
    return bool(
        PoolUpkeep.objects.filter(
            Q(**{f"{kind}_pending": False}) | Q(**{f"{kind}_queued_at__lt": lost}),
            project_id=project_id,
        ).update(**{f"{kind}_pending": True, f"{kind}_queued_at": now})
    )


def preprocess_request(*, project_id: int, image_ids: list[int]) -> bool:
    """Add new images to the backlog; True when this call queued the preprocessing task."""
    from .tasks import preprocess_backlog_task

    PreprocessBacklog.objects.create(project_id=project_id, image_ids=list(image_ids))
    delay = settings.LABELAPP_PREPROCESS_DELAY_SECONDS
    if not _claim(project_id, "preprocess", delay):
        return False
    transaction.on_commit(lambda: preprocess_backlog_task.apply_async((project_id,), countdown=delay))
    return True


def backlog_recover() -> list[int]:
    """Projects whose backlog waits with no preprocessing task coming, now given one. A task
    can be lost (its worker died while it waited or ran: a run clears `pending` first), and
    until this the backlog was picked up only when the project's next upload arrived, which
    may be never. Run by the stale-work beat job; only rows older than a task's countdown
    plus the stale limit count, so a task on its way is not doubled."""
    from .tasks import preprocess_backlog_task

    delay = settings.LABELAPP_PREPROCESS_DELAY_SECONDS
    waited = timezone.now() - timedelta(seconds=delay + settings.LABELAPP_TRAINING_STALE_SECONDS)
    stranded = (
        PreprocessBacklog.objects.filter(created_at__lt=waited)
        .exclude(project_id__in=PoolUpkeep.objects.filter(preprocess_queued_at__gte=waited).values("project_id"))
        .values_list("project_id", flat=True)
        .distinct()
    )
    queued = [project_id for project_id in sorted(set(stranded)) if _claim(project_id, "preprocess", delay)]
    for project_id in queued:
        preprocess_backlog_task.apply_async((project_id,))
    return queued


def preprocess_backlog_run(*, project_id: int) -> int:
    """Preprocess the images in the project's backlog now. Clears `pending` first, so batches
    that arrive during the run ask for the next task (rather than this one chasing them one
    small batch at a time)."""
    from labelapp.projects.models import Project

    from .preprocess import images_preprocess

    PoolUpkeep.objects.filter(project_id=project_id).update(preprocess_pending=False)
    if not Project.objects.filter(pk=project_id).exists():  # deleted meanwhile (its backlog with it)
        logger.info("project %s was deleted: nothing to preprocess", project_id)
        return 0
    rows = list(PreprocessBacklog.objects.filter(project_id=project_id).values_list("pk", "image_ids"))
    ids = sorted({image_id for _, image_ids in rows for image_id in image_ids})
    for start in range(0, len(ids), PREPROCESS_CHUNK):
        images_preprocess(project_id=project_id, image_ids=ids[start : start + PREPROCESS_CHUNK])
    done = [pk for pk, _ in rows]
    for start in range(0, len(done), 500):  # SQLite caps the parameters of one statement
        PreprocessBacklog.objects.filter(pk__in=done[start : start + 500]).delete()
    return len(ids)


def cold_start_delay(upkeep: PoolUpkeep) -> float:
    return max(
        settings.LABELAPP_COLD_START_DELAY_SECONDS, settings.LABELAPP_COLD_START_SPACING * upkeep.cold_start_seconds
    )


def cold_start_request(*, project) -> bool:
    """Ask for a cold-start ranking of the project's pool; True when this call queued it."""
    from .tasks import cold_start_task

    upkeep, _ = PoolUpkeep.objects.get_or_create(project=project)
    delay = cold_start_delay(upkeep)
    if not _claim(project.pk, "cold_start", delay):
        return False
    transaction.on_commit(lambda: cold_start_task.apply_async((project.pk,), countdown=delay))
    return True


def cold_start_run(*, project_id: int) -> int:
    """Rank the pool now. Clears `pending` first, so images that arrive during the ranking
    ask for the next one."""
    from labelapp.projects.models import Project

    from .preprocess import cold_start_priorities

    PoolUpkeep.objects.filter(project_id=project_id).update(cold_start_pending=False)
    project = Project.objects.filter(pk=project_id).first()
    if project is None:  # deleted meanwhile
        logger.info("project %s was deleted: nothing to rank", project_id)
        return 0
    started = time.monotonic()
    ranked = cold_start_priorities(project=project)
    PoolUpkeep.objects.filter(project_id=project_id).update(
        cold_start_seconds=time.monotonic() - started, cold_start_runs=F("cold_start_runs") + 1
    )
    return ranked
