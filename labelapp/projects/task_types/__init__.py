"""What differs between task types, one module per type (issue 11 step 7).

This package holds the plain facts every layer may read: the label kind the UI draws, the
metrics, the default models. Behaviour that needs a higher app is registered by task type in
the app that owns it (`labeling.validation.LABEL_CLEANERS`, `training.targets.LABEL_TARGETS`,
`datasets.dataset_export.EXPORT_ROWS`), so a new type is one module here, one entry in each of
those, and its UI tool; `tests/projects/test_task_types.py` fails until all are there.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskTypeSpec:
    #: The `TaskType` value this describes.
    name: str
    #: The annotation field a label is sent in and the UI tool edits: "label_class" or "boxes".
    label_field: str
    #: The headline validation metric of a model version (learning curves, simulation).
    headline_metric: str
    #: The per-class validation metric in a version's `metrics["val"]["per_class"]`.
    per_class_metric: str
    #: Default model with the pretrained backbone installed, and without it.
    pretrained_model: str
    from_scratch_model: str
    #: Default square input size in pixels when the project sets none.
    input_size: int


def _registry() -> dict[str, TaskTypeSpec]:
    from . import classification, detection

    return {spec.name: spec for spec in (classification.SPEC, detection.SPEC)}


REGISTRY: dict[str, TaskTypeSpec] = _registry()


def task_type_spec(task_type: str) -> TaskTypeSpec:
    """The spec of a `TaskType` value (a project's `task_type`)."""
    return REGISTRY[task_type]
