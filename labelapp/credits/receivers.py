"""What this app does when the apps below it report something."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from labelapp.projects.models import Project

from .models import CreditBalance


@receiver(post_save, sender=Project, dispatch_uid="credits.balance_for_new_project")
def balance_for_new_project(sender, *, instance: Project, created: bool, raw: bool = False, **kwargs) -> None:
    """Every project has its balance row from the start, in the transaction that creates it, so
    the ledger operations lock an existing row (fixtures bring their own rows)."""
    if created and not raw:
        CreditBalance.objects.get_or_create(project=instance)
