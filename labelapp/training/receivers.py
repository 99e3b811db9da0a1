"""What the training app does when the apps below it report something: every receiver of
their events is here, so what follows an upload, a label or a settings change is read in one place."""

from django.dispatch import receiver

from labelapp.images.events import images_added
from labelapp.labeling.events import labels_added
from labelapp.projects.events import scoring_settings_changed

# This app's services and tasks are imported when an event arrives, not when Django starts:
# they load the model code (torch).


@receiver(images_added, dispatch_uid="training.preprocess_new_images")
def preprocess_new_images(sender, *, project_id: int, image_ids: list[int], **kwargs) -> None:
    """Preprocess them soon, together with whatever else arrives meanwhile (pool_upkeep)."""
    from .pool_upkeep import preprocess_request

    preprocess_request(project_id=project_id, image_ids=image_ids)


@receiver(labels_added, dispatch_uid="training.maybe_retrain")
def maybe_retrain(sender, *, project_id: int, **kwargs) -> None:
    """Every label may complete K new ones, whatever its kind (bought, imported, verified)."""
    from .runs import training_maybe_start

    training_maybe_start(project_id=project_id)


@receiver(scoring_settings_changed, dispatch_uid="training.rescore_pool")
def rescore_pool(sender, *, project_id: int, **kwargs) -> None:
    """Re-rank the pool now, not at the next training (one rescore for a burst of changes)."""
    from .rescoring import rescore_request

    rescore_request(project_id=project_id)
