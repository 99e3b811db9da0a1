import re

from django.db import transaction
from django.utils import timezone

from labelapp.core.errors import ServiceError
from labelapp.core.events import send_on_commit

from .colors import color_for_class
from .events import project_deleting, scoring_settings_changed
from .models import HOTKEY_PATTERN, HOTKEY_RULE, LabelClass, Membership, Project, Role
from .settings_schema import validate_settings


@transaction.atomic
def project_create(
    *,
    name: str,
    task_type: str,
    created_by,
    description: str = "",
    settings: dict | None = None,
    class_names: list[str] | None = None,
    classes: list[dict] | None = None,
) -> Project:
    """Create a project; its creator becomes its admin.

    `classes` are `{name, color?, hotkey?}` specs; `class_names` is the short form (names only).
    The credits app gives the new project its balance row (a receiver of Project's post_save)."""
    project = Project.objects.create(
        name=name,
        task_type=task_type,
        description=description,
        settings=_jsonable(validate_settings(settings or {}, task_type=task_type)),
        created_by=created_by,
    )
    if created_by is not None:
        Membership.objects.create(project=project, user=created_by, role=Role.ADMIN)
    specs = [{"name": name} for name in class_names or []] + list(classes or [])
    # Keys given explicitly are kept free, so an earlier class's default key does not take them.
    chosen = {spec["hotkey"] for spec in specs if spec.get("hotkey")}
    for spec in specs:
        label_class_create(
            project=project, name=spec["name"], color=spec.get("color"), hotkey=spec.get("hotkey", ""), reserved=chosen
        )
    return project


def project_set_archived(*, project: Project, archived: bool) -> Project:
    """Archived projects leave the default project list; nothing in them is changed or lost."""
    project.archived_at = (project.archived_at or timezone.now()) if archived else None
    project.save(update_fields=["archived_at"])
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Delete a project and everything in it.

    Two foreign keys PROTECT against piecemeal deletes (a reservation's credit entry, an
    annotation's class), and Django's collector refuses PROTECT even when the protecting rows
    are deleted in the same cascade; so the apps above delete those rows first, on
    `project_deleting`, in this one transaction."""
    project_deleting.send(sender=Project, project=project)
    project.delete()


#: Settings that change the pool's scores: saving a new value re-ranks the queue at once.
SCORING_SETTINGS = ("strategy", "weak_class_weighting", "batch_diversity", "detection_threshold")


def project_update_settings(*, project: Project, changes: dict) -> Project:
    """Merge `changes` into the stored settings and validate the result as a whole."""
    before = project.config
    merged = {**(project.settings or {}), **changes}
    project.settings = _jsonable(validate_settings(merged, task_type=project.task_type))
    project.save(update_fields=["settings"])
    after = project.config
    if any(before.get(key) != after.get(key) for key in SCORING_SETTINGS):
        send_on_commit(scoring_settings_changed, project_id=project.pk)
    return project


def _jsonable(validated: dict) -> dict:
    return {
        key: ([dict(rule) for rule in value] if key == "collection_rules" else value)
        for key, value in validated.items()
    }


def label_class_create(
    *, project: Project, name: str, color: str | None = None, hotkey: str = "", reserved: set[str] = frozenset()
) -> LabelClass:
    """A new class; without a `hotkey` it takes the first digit free in the project and not `reserved`."""
    existing = list(project.label_classes.values_list("name", "color", "hotkey"))
    if any(other == name for other, _, _ in existing):
        raise ServiceError(
            f"A class named {name!r} already exists in this project.", code="duplicate_class", extra={"field": "name"}
        )
    if hotkey:
        _check_hotkey(project=project, hotkey=hotkey)
    else:
        used = {key for _, _, key in existing} | set(reserved)
        hotkey = next((str(k) for k in range(1, 10) if str(k) not in used), "")
    color = color or color_for_class(name, {c for _, c, _ in existing})
    return LabelClass.objects.create(project=project, name=name, color=color, hotkey=hotkey, order=len(existing))


@transaction.atomic
def label_class_update(*, label_class: LabelClass, changes: dict) -> LabelClass:
    """Rename, recolour, rekey or reorder a class. Labels refer to classes by id, so a rename
    relabels nothing; names and hotkeys stay unique within the project."""
    others = LabelClass.objects.filter(project_id=label_class.project_id).exclude(pk=label_class.pk)
    name = changes.get("name")
    if name is not None and others.filter(name=name).exists():
        raise ServiceError(
            f"A class named {name!r} already exists in this project.", code="duplicate_class", extra={"field": "name"}
        )
    if changes.get("hotkey"):
        _check_hotkey(project=label_class.project, hotkey=changes["hotkey"], exclude=label_class.pk)
    for field, value in changes.items():
        setattr(label_class, field, value)
    label_class.save(update_fields=list(changes))
    return label_class


def _check_hotkey(*, project: Project, hotkey: str, exclude: int | None = None) -> None:
    if not re.fullmatch(HOTKEY_PATTERN, hotkey):
        raise ServiceError(f"{HOTKEY_RULE} Got {hotkey!r}.", code="invalid_hotkey", extra={"field": "hotkey"})
    holder = LabelClass.objects.filter(project=project, hotkey=hotkey).exclude(pk=exclude).first()
    if holder is not None:
        raise ServiceError(
            f"The key {hotkey!r} already selects the class {holder.name!r}.",
            code="duplicate_hotkey",
            extra={"field": "hotkey"},
        )


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member; the last admin cannot be removed (the project would be unmanageable)."""
    if (
        membership.role == Role.ADMIN
        and not membership.project.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists()
    ):
        raise ServiceError("A project needs at least one admin: promote someone else first.", code="last_admin")
    membership.delete()


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    if (
        membership.role == Role.ADMIN
        and role != Role.ADMIN
        and not membership.project.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists()
    ):
        raise ServiceError("A project needs at least one admin: promote someone else first.", code="last_admin")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership
