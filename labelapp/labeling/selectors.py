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


def balance_seen_by(*, project, user) -> dict:
    """The balance as `user` is shown it: a gold hand-out they hold counts as a reserved credit,
    as any hand-out would (it holds none, so the counters do not show it)."""
    balance = balance_get(project=project).as_dict()
    held_gold = Reservation.objects.filter(
        project=project, user=user, state=ReservationState.ACTIVE, credit_entry__isnull=True
    ).count()
    balance["reserved"] += held_gold
    balance["available"] = max(balance["available"] - held_gold, 0)
    return balance
