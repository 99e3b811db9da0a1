"""What this app does when the apps below it report something."""

from django.dispatch import receiver

from labelapp.projects.events import project_deleting

from .models import Annotation, Reservation


@receiver(project_deleting, dispatch_uid="labeling.delete_project_rows")
def delete_project_rows(sender, *, project, **kwargs) -> None:
    """A reservation's credit entry and an annotation's class are PROTECTed foreign keys, so
    these rows must go before the project's cascade reaches the entries and classes."""
    Reservation.objects.filter(project=project).delete()
    Annotation.objects.filter(project=project).delete()
