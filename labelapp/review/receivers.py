"""What this app does when the apps below it report something."""

from django.dispatch import receiver

from labelapp.training.events import model_version_activated


@receiver(model_version_activated, dispatch_uid="review.rescore_label_quality")
def rescore_label_quality(sender, *, version_id: int, **kwargs) -> None:
    from .tasks import label_quality_recompute_task

    label_quality_recompute_task.delay(version_id)
