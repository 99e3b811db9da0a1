"""Demo-only background work: once the Pill count demo has a model, send it some
production traffic so the verify page has predictions to verify."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


# The name is from when this lived in core: a demo retrying for its first model keeps a
# message under it in the broker for up to an hour, across an upgrade.
@shared_task(name="labelapp.core.demo_production_traffic", bind=True, max_retries=120, acks_late=True)
def demo_production_traffic_task(self, project_id: int, images: int = 20) -> int:
    from labelapp.demo.data import demo_production_traffic
    from labelapp.training.models import ModelVersion

    if not ModelVersion.objects.filter(project_id=project_id, is_active=True).exists():
        # The first model is still training on a worker: look again in 30 s.
        raise self.retry(countdown=30)
    return demo_production_traffic(project_id=project_id, images=images)
