from .models import Annotation


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
