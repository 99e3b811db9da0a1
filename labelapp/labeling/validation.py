"""Checks an annotation against its project's classes and the image's size."""

import math

from labelapp.core.errors import ServiceError
from labelapp.projects.models import TaskType

#: Boxes in one annotation (issue 14 item 5): dense scenes have hundreds, never thousands.
MAX_BOXES = 1000


class InvalidAnnotation(ServiceError):
    code = "invalid_annotation"


def clean_boxes(*, boxes, class_ids: set[int], width: int, height: int) -> list[dict]:
    """Return boxes as [{x, y, w, h, label_class}] floats in image pixels, or raise with the reason.

    Boxes may touch the image edge; a box reaching past it by more than a pixel is an error
    rather than silently clipped, because it means the client's coordinates are wrong."""
    if not isinstance(boxes, list):
        raise InvalidAnnotation("boxes must be a list of {x, y, w, h, label_class}.")
    if len(boxes) > MAX_BOXES:
        raise InvalidAnnotation(f"{len(boxes)} boxes: an annotation holds at most {MAX_BOXES}.")
    cleaned = []
    for index, box in enumerate(boxes):
        where = f"boxes[{index}]"
        if not isinstance(box, dict):
            raise InvalidAnnotation(f"{where} must be an object with x, y, w, h and label_class.")
        missing = [key for key in ("x", "y", "w", "h", "label_class") if key not in box]
        if missing:
            raise InvalidAnnotation(f"{where} is missing {', '.join(missing)}.")
        try:
            x, y, w, h = (float(box[key]) for key in ("x", "y", "w", "h"))
        except (TypeError, ValueError):
            raise InvalidAnnotation(f"{where}: x, y, w and h must be numbers.") from None
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise InvalidAnnotation(f"{where}: coordinates must be finite numbers.")
        if w <= 0 or h <= 0:
            raise InvalidAnnotation(f"{where}: width and height must be positive (got w={w:g}, h={h:g}).")
        if x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
            raise InvalidAnnotation(f"{where} ({x:g}, {y:g}, {w:g}×{h:g}) lies outside the {width}×{height} image.")
        label_class = box["label_class"]
        if isinstance(label_class, bool) or not isinstance(label_class, int) or label_class not in class_ids:
            raise InvalidAnnotation(f"{where}: label_class {label_class!r} is not a class of this project.")
        x, y = max(x, 0.0), max(y, 0.0)
        cleaned.append({"x": x, "y": y, "w": min(w, width - x), "h": min(h, height - y), "label_class": label_class})
    return cleaned


def clean_classification_label(*, classes: dict, image, label_class, boxes) -> tuple[object, list]:
    """(the LabelClass, []) for a classification label, or raise with the reason."""
    if boxes:
        raise InvalidAnnotation("This is a classification project: send label_class, not boxes.")
    if label_class is None:
        raise InvalidAnnotation("label_class is required for a classification project.")
    if label_class not in classes:
        raise InvalidAnnotation(f"label_class {label_class!r} is not a class of this project.")
    return classes[label_class], []


def clean_detection_label(*, classes: dict, image, label_class, boxes) -> tuple[object, list]:
    """(None, clean boxes) for a detection label, or raise with the reason."""
    if label_class is not None:
        raise InvalidAnnotation(
            "This is a detection project: send boxes (an empty list means nothing to find), not label_class."
        )
    if boxes is None:
        raise InvalidAnnotation("boxes is required for a detection project (send [] when the image has no objects).")
    return None, clean_boxes(boxes=boxes, class_ids=set(classes), width=image.width, height=image.height)


#: Task type → its label check, given the project's classes by id (see projects.task_types).
LABEL_CLEANERS = {
    TaskType.CLASSIFICATION: clean_classification_label,
    TaskType.DETECTION: clean_detection_label,
}
