from django.db import transaction

from labelapp.core.errors import ServiceError
from labelapp.credits.models import CreditBalance

from .models import LabelClass, Membership, Project, Role
from .settings_schema import validate_settings

DEFAULT_COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4"]


@transaction.atomic
def project_create(*, name: str, task_type: str, created_by, description: str = "", settings: dict | None = None,
                   class_names: list[str] | None = None) -> Project:
    """Create a project; its creator becomes its admin."""
    project = Project.objects.create(
        name=name, task_type=task_type, description=description,
        settings=_jsonable(validate_settings(settings or {})), created_by=created_by,
    )
    CreditBalance.objects.create(project=project)
    if created_by is not None:
        Membership.objects.create(project=project, user=created_by, role=Role.ADMIN)
    for index, class_name in enumerate(class_names or []):
        label_class_create(project=project, name=class_name)
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Delete a project and everything in it.

    Two foreign keys PROTECT against piecemeal deletes (a reservation's credit entry, an
    annotation's class), and Django's collector refuses PROTECT even when the protecting rows
    are deleted in the same cascade; so those rows go first, in this one transaction."""
    from labelapp.labeling.models import Annotation, Reservation

    Reservation.objects.filter(project=project).delete()
    Annotation.objects.filter(project=project).delete()
    project.delete()


def project_update_settings(*, project: Project, changes: dict) -> Project:
    """Merge `changes` into the stored settings and validate the result as a whole."""
    merged = {**(project.settings or {}), **changes}
    project.settings = _jsonable(validate_settings(merged))
    project.save(update_fields=["settings"])
    return project


def _jsonable(validated: dict) -> dict:
    return {key: ([dict(rule) for rule in value] if key == "collection_rules" else value) for key, value in validated.items()}


def label_class_create(*, project: Project, name: str, color: str | None = None, hotkey: str = "") -> LabelClass:
    count = project.label_classes.count()
    if LabelClass.objects.filter(project=project, name=name).exists():
        raise ServiceError(f"A class named {name!r} already exists in this project.", code="duplicate_class")
    if not hotkey and count < 9:
        used = set(project.label_classes.values_list("hotkey", flat=True))
        hotkey = next((str(k) for k in range(1, 10) if str(k) not in used), "")
    return LabelClass.objects.create(
        project=project, name=name, color=color or DEFAULT_COLORS[count % len(DEFAULT_COLORS)], hotkey=hotkey, order=count
    )


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member; the last admin cannot be removed (the project would be unmanageable)."""
    if membership.role == Role.ADMIN and not membership.project.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists():
        raise ServiceError("A project needs at least one admin: promote someone else first.", code="last_admin")
    membership.delete()


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    if membership.role == Role.ADMIN and role != Role.ADMIN and not membership.project.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists():
        raise ServiceError("A project needs at least one admin: promote someone else first.", code="last_admin")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership
