"""One class per image."""

from labelapp.projects.models import TaskType

from . import TaskTypeSpec

SPEC = TaskTypeSpec(
    name=TaskType.CLASSIFICATION,
    label_field="label_class",
    headline_metric="accuracy",
    per_class_metric="f1",
    #: A softmax head on the cached backbone embeddings.
    pretrained_model="embedding_classifier",
    from_scratch_model="cnn_classifier",
    input_size=64,
)
