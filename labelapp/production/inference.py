"""Running the project's active model on one uploaded image: the shared first step of the
prediction API (collection rules) and the stream.

The model runs outside every transaction; transactions only hold the rows they change.
"""

from dataclasses import dataclass

import numpy as np

from labelapp.core.errors import ConflictError
from labelapp.images.models import Image
from labelapp.images.services import image_store, images_validate
from labelapp.images.validation import UploadRejected, ValidImage
from labelapp.projects.models import TaskType
from labelapp.projects.settings_schema import default_strategy
from labelapp.training import engine
from labelapp.training.models import ModelVersion, Prediction

Upload = tuple[str, bytes, str | None]


@dataclass
class ModelRun:
    """One image through the active model. `prediction` is unsaved; its `image` is an
    unsaved Image carrying the upload's size (boxes are in its pixels)."""

    version: ModelVersion
    prediction: Prediction
    item: ValidImage


def active_version_get(*, project) -> ModelVersion:
    version = ModelVersion.objects.filter(project=project, is_active=True).first()
    if version is None:
        raise ConflictError(
            "This project has no active model yet: label some images and train one "
            f"(POST /api/projects/{project.pk}/train) before asking for predictions.",
            code="no_active_model",
        )
    return version


def upload_validate(*, upload: Upload | None) -> ValidImage:
    """The one image of a predict/stream request, validated like any upload."""
    if upload is None:
        raise UploadRejected("Send one image in the multipart field 'file'.", code="no_file")
    return images_validate([upload])[0]


def model_run(*, project, item: ValidImage) -> ModelRun:
    """Predict one validated image with the project's active model (409 without one)."""
    from labelapp.learning.data import decode_rgb, prepare
    from labelapp.learning.strategies.registry import score_pool
    from labelapp.training.inference import prediction_row, scoring_strategy

    version = active_version_get(project=project)
    model = engine.load_version(version)
    array, _ = prepare(decode_rgb(item.data), version.input_size, project.task_type)
    outputs = model.predict(np.array(array[None]))  # a writable copy: torch warns on read-only arrays
    config = project.config
    threshold = config["detection_threshold"]
    strategy = scoring_strategy(version.strategy or default_strategy(project.task_type), project.task_type)
    is_classification = project.task_type == TaskType.CLASSIFICATION
    scores = score_pool(
        project.task_type,
        outputs.probs if is_classification else outputs,
        strategy=strategy,
        threshold=threshold,
        rng=np.random.default_rng(int(item.sha256[:8], 16)),
    )
    image = Image(project=project, sha256=item.sha256, width=item.width, height=item.height, original_name=item.name)
    row = prediction_row(image, version, outputs, 0, scores[0], threshold, project.task_type)
    return ModelRun(version=version, prediction=row, item=item)


def run_store(*, project, run: ModelRun, source: str, status: str, written: list) -> tuple[Image, bool]:
    """Store the image and its Prediction (inside the caller's transaction)."""
    image, created = image_store(project=project, item=run.item, source=source, status=status, written=written)
    if created:
        run.prediction.image = image
        run.prediction.save()
        image.scored_by = run.version
    return image, created
