"""What happens after images or labels arrive: decided here, run by Celery tasks."""

import logging

logger = logging.getLogger(__name__)


def images_added(*, project_id: int, image_ids: list[int]) -> None:
    """Preprocess them soon, together with whatever else arrives meanwhile (pool_upkeep)."""
    from .pool_upkeep import preprocess_request

    preprocess_request(project_id=project_id, image_ids=image_ids)


def labels_added(*, project_id: int) -> None:
    from .services import training_maybe_start

    training_maybe_start(project_id=project_id)


def scoring_settings_changed(*, project_id: int) -> None:
    """A setting that changes scores (the strategy, ...) was saved: re-rank the pool now,
    not at the next training."""
    from .tasks import rescore_project_task

    rescore_project_task.delay(project_id)
