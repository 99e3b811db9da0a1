"""When to rank the unscored pool for cold start (no active model yet).

A ranking covers the whole unscored pool, so running one per upload batch made bursts
quadratic (3,000 images in batches of 16: 188 rankings). Instead each batch's preprocessing
asks for one (`cold_start_request`); at most one is pending per project, queued with a
countdown, and every ask that arrives meanwhile is served by it. The countdown grows with the
last ranking's duration (LABELAPP_COLD_START_SPACING times it), so however long the burst,
ranking takes a bounded share of the worker's time. Images that arrive between rankings
wait at priority 0, behind the ranked picks."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import ColdStartSchedule


def cold_start_delay(schedule: ColdStartSchedule) -> float:
    return max(settings.LABELAPP_COLD_START_DELAY_SECONDS, settings.LABELAPP_COLD_START_SPACING * schedule.last_seconds)


def cold_start_request(*, project) -> bool:
    """Ask for a cold-start ranking of the project's pool; True when this call queued it.
    A pending one whose task was lost (its worker died and the broker dropped it) stops
    counting as pending after its countdown plus LABELAPP_TRAINING_STALE_SECONDS."""
    from .tasks import cold_start_task

    schedule, _ = ColdStartSchedule.objects.get_or_create(project=project)
    delay = cold_start_delay(schedule)
    now = timezone.now()
    lost = now - timedelta(seconds=delay + settings.LABELAPP_TRAINING_STALE_SECONDS)
    claimed = ColdStartSchedule.objects.filter(
        Q(pending=False) | Q(queued_at__lt=lost), project=project
    ).update(pending=True, queued_at=now)
    if claimed:
        transaction.on_commit(lambda: cold_start_task.apply_async((project.pk,), countdown=delay))
    return bool(claimed)


def cold_start_run(*, project_id: int) -> int:
    """Rank the pool now. Clears `pending` first, so images that arrive during the ranking
    ask for the next one."""
    from labelapp.projects.models import Project

    from .preprocess import cold_start_priorities

    ColdStartSchedule.objects.filter(project_id=project_id).update(pending=False)
    project = Project.objects.filter(pk=project_id).first()
    if project is None:  # deleted meanwhile
        return 0
    started = time.monotonic()
    ranked = cold_start_priorities(project=project)
    ColdStartSchedule.objects.filter(project_id=project_id).update(
        last_seconds=time.monotonic() - started, runs=F("runs") + 1
    )
    return ranked
