"""After upload: thumbnails, pool-cache tensors, embeddings, and a first priority for new images.

With an active model, new images are scored by it; without one, the whole unlabeled pool
gets cold-start priorities (representative picks), because uncertainty from a model
trained on a handful of labels is often worse than random. That ranking is debounced per
project (pool_upkeep.py): a burst of upload batches shares a few rankings."""

import logging

import numpy as np
from django.db.models import Case, FloatField, Value, When

from labelapp.images.models import Image, Status
from labelapp.images.services import thumbnail_ensure
from labelapp.projects.settings_schema import ADAPTIVE

from . import embeddings, engine
from .models import ModelVersion
from .planning import plan_next_batch

logger = logging.getLogger(__name__)
COLD_START_PICKS = 200


def images_preprocess(*, project_id: int, image_ids: list[int]) -> int:
    from labelapp.projects.models import Project

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.info("project %s was deleted; %d images not preprocessed", project_id, len(image_ids))
        return 0
    images = list(Image.objects.filter(project=project, pk__in=image_ids).order_by("id"))
    for image in images:
        if not image.thumbnail:
            thumbnail_ensure(image=image)
    size = engine.input_size_for(project)
    engine.prepared_images(project, images, size=size)
    embeddings.near_duplicates_flag(project, images)
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    if active is not None:
        from labelapp.core.jobs import JobStatus

        from .models import RescoreJob
        from .rescoring import rescore_chunk

        job = RescoreJob.objects.create(
            project=project, model_version=active, chunks_total=1, images_total=len(images), status=JobStatus.RUNNING
        )
        rescore_chunk(job_id=job.pk, image_ids=[image.pk for image in images])
        RescoreJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    else:
        # Ranks the whole pool: debounced per project, not once per upload batch.
        from .pool_upkeep import cold_start_request

        cold_start_request(project=project)
    return len(images)


def cold_start_priorities(*, project, picks: int = COLD_START_PICKS) -> int:
    """Rank the unscored pool before the first model: the adaptive planner's covering picks on
    the embeddings; without a backbone, k-means medoids of simple image features first."""
    from labelapp.learning.strategies.features import simple_image_features
    from labelapp.learning.strategies.selection import cold_start

    pool = list(Image.objects.filter(project=project, status=Status.UNLABELED, scored_by__isnull=True).order_by("id"))
    if not pool:
        return 0
    strategy = project.config.get("strategy") or ADAPTIVE
    if strategy == ADAPTIVE and plan_next_batch(project=project) is not None:
        return len(pool)
    if strategy == "random":
        # The random baseline starts random too: representative picks would be an active choice.
        order = np.random.default_rng(project.pk).random(len(pool))
        Image.objects.filter(pk__in=[image.pk for image in pool]).update(
            priority=Case(
                *[When(pk=image.pk, then=Value(float(order[i]))) for i, image in enumerate(pool)],
                output_field=FloatField(),
            ),
            score_reason="random",
        )
        return len(pool)
    arrays = engine.prepared_images(project, pool, size=engine.input_size_for(project))
    features = simple_image_features(arrays)
    k = min(picks, len(pool))
    chosen = cold_start(features, k, np.random.default_rng(project.pk))
    rank = {int(index): k - position for position, index in enumerate(chosen)}
    Image.objects.filter(pk__in=[image.pk for image in pool]).update(
        priority=Case(
            *[When(pk=pool[i].pk, then=Value(float(r) / k)) for i, r in rank.items()],
            default=Value(0.0),
            output_field=FloatField(),
        ),
        score_reason="cold_start",
    )
    return k
