from django.db.models import Count

from labelapp.credits.services import balance_get

from .models import Annotation, Reservation, ReservationState


def label_class_in_use(*, label_class) -> bool:
    """Whether any label refers to the class: as an annotation's class or in one of its boxes."""
    if Annotation.objects.filter(label_class=label_class).exists():
        return True
    return any(
        any(box.get("label_class") == label_class.pk for box in boxes)
        for boxes in Annotation.objects.filter(project_id=label_class.project_id)
        .exclude(boxes=[])
        .values_list("boxes", flat=True)
        .iterator()
    )


def gold_held_by(*, user, project=None) -> dict[int, int]:
    """project id → gold hand-outs `user` holds there (0 or 1 each): they hold no credit, yet
    the balance `user` is shown counts them as reserved, as any hand-out would be."""
    held = Reservation.objects.filter(user=user, state=ReservationState.ACTIVE, credit_entry__isnull=True)
    if project is not None:
        held = held.filter(project=project)
    return dict(held.values("project_id").annotate(n=Count("id")).values_list("project_id", "n"))


def balance_shown(balance: dict, *, gold_held: int) -> dict:
    """A balance as its annotator is shown it: with their gold hand-out counted as reserved."""
    if not gold_held:
        return balance
    return {
        **balance,
        "reserved": balance["reserved"] + gold_held,
        "available": max(balance["available"] - gold_held, 0),
    }


def balance_seen_by(*, project, user) -> dict:
    """The project's balance as `user` is shown it (see `gold_held_by`)."""
    held = gold_held_by(user=user, project=project).get(project.pk, 0)
    return balance_shown(balance_get(project=project).as_dict(), gold_held=held)
