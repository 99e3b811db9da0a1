"""Events the labeling app sends for the apps above it to act on (it never calls up)."""

from django.dispatch import Signal

#: Images got their labels; keyword arguments `project_id: int`, `image_ids: list[int]` and
#: `kind: str` (an AnnotationKind value).
labels_added = Signal()
