"""Every task type has a complete entry in each task-type registry (issue 11 step 7): adding a
`TaskType` without its module and its per-app parts fails here rather than deep in a view."""

from dataclasses import fields

import pytest

from labelapp.datasets.dataset_export import EXPORT_ROWS
from labelapp.labeling.validation import LABEL_CLEANERS
from labelapp.learning.models import available_models
from labelapp.projects.models import TaskType
from labelapp.projects.task_types import REGISTRY, task_type_spec
from labelapp.training.targets import LABEL_TARGETS


@pytest.mark.parametrize("task_type", TaskType.values)
def test_every_task_type_has_a_complete_spec(task_type):
    spec = task_type_spec(task_type)
    assert spec.name == task_type
    assert all(getattr(spec, f.name) not in (None, "") for f in fields(spec))
    assert spec.label_field in {"label_class", "boxes"}
    assert spec.input_size > 0


@pytest.mark.parametrize("task_type", TaskType.values)
def test_default_models_of_every_task_type_are_registered(task_type):
    spec = task_type_spec(task_type)
    assert {spec.pretrained_model, spec.from_scratch_model} <= set(available_models())


@pytest.mark.parametrize("registry", [REGISTRY, LABEL_CLEANERS, LABEL_TARGETS, EXPORT_ROWS])
def test_every_registry_covers_exactly_the_task_types(registry):
    assert set(registry) == set(TaskType.values)


@pytest.mark.parametrize("task_type", TaskType.values)
def test_every_task_type_exports_in_every_format(task_type):
    rows = EXPORT_ROWS[task_type]
    assert all(callable(getattr(rows, name, None)) for name in ("coco", "csv", "yolo"))
