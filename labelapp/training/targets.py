"""Training targets from stored labels, one builder per task type (see projects.task_types)."""

import numpy as np

from labelapp.projects.models import TaskType

from . import engine


def classification_targets(annotations, class_index: dict[int, int], size: int):
    """Class indices, one per annotation."""
    return np.array([class_index[a.label_class_id] for a in annotations], dtype=np.int64)


def detection_targets(annotations, class_index: dict[int, int], size: int):
    """Boxes and class indices per annotation, in the letterboxed model input's pixels."""
    return [engine.detection_target(a.boxes, class_index, engine.letterbox_for(a.image, size)) for a in annotations]


#: Task type → builder of its training targets from a list of annotations.
LABEL_TARGETS = {
    TaskType.CLASSIFICATION: classification_targets,
    TaskType.DETECTION: detection_targets,
}
