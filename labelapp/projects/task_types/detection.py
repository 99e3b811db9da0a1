"""Boxes with a class each; an image may have none."""

from labelapp.projects.models import TaskType

from . import TaskTypeSpec

SPEC = TaskTypeSpec(
    name=TaskType.DETECTION,
    label_field="boxes",
    headline_metric="map50",
    per_class_metric="ap50",
    #: CenterNet heads on the backbone's multi-scale features (benchmarks/bench_detectors.py:
    #: mAP@0.5 0.77 vs 0.54 from scratch at 50 porch labels, 0.97 vs 0.87 at 200).
    pretrained_model="centernet_mobilenet",
    from_scratch_model="centernet_detector",
    input_size=128,
)
