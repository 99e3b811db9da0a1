"""What a model version reads and predicts for Image rows, how its outputs become Prediction
rows, and which per-image score ranks the pool."""

import numpy as np

from labelapp.projects.models import TaskType
from labelapp.projects.settings_schema import ADAPTIVE

from . import embeddings, engine
from .models import Prediction

#: Detection boxes below the threshold kept in a Prediction (the best ones), for the label page.
SUGGESTIONS_BELOW_THRESHOLD = 20


def model_inputs(project, model, images: list, *, size: int) -> np.ndarray:
    """What a model reads for Image rows: cached backbone vectors for a head on embeddings,
    prepared pixel tensors for every other model."""
    if engine.reads_vectors(model):
        return embeddings.embeddings_for(project, images)
    return engine.prepared_images(project, images, size=size)


def model_outputs(model, inputs):
    return model.predict_vectors(inputs) if engine.reads_vectors(model) else model.predict(inputs)


def scoring_strategy(strategy: str, task_type: str) -> str:
    """The per-image score behind a strategy: the adaptive planner ranks the pool by margin
    (classification) or detection uncertainty between its planned batches."""
    if strategy != ADAPTIVE:
        return strategy
    from labelapp.learning.strategies.registry import DEFAULT_STRATEGY

    return DEFAULT_STRATEGY.scoring if task_type == TaskType.CLASSIFICATION else DEFAULT_STRATEGY.detection_scoring


def strategy_name(project) -> str:
    from labelapp.projects.settings_schema import default_strategy

    return project.config.get("strategy") or default_strategy(project.task_type)


def prediction_row(image, version, outputs, i, score, threshold, task) -> Prediction:
    if task == TaskType.CLASSIFICATION:
        probs = outputs.probs[i]
        return Prediction(
            image=image,
            model_version=version,
            probs=[round(float(p), 6) for p in probs],
            confidence=float(probs.max()),
            score=float(score),
            counts={str(version.classes[int(probs.argmax())]): 1},
        )
    detections = outputs[i]
    # Every box that counts, and the best few below the threshold for the label page's
    # confidence slider: a detector's 100 candidate peaks per image would make the stored
    # JSON (and the rescore's database writes) several times larger for nothing.
    order = np.argsort(-detections.scores, kind="stable")
    order = order[: int(np.count_nonzero(detections.scores >= threshold)) + SUGGESTIONS_BELOW_THRESHOLD]
    boxes, counts = [], {}
    if len(order):
        transform = engine.letterbox_for(image, version.input_size)
        xyxy = np.clip(
            transform.to_original(detections.boxes[order]), 0, [image.width, image.height, image.width, image.height]
        )
        for (x1, y1, x2, y2), s, label in zip(
            xyxy.tolist(), detections.scores[order].tolist(), detections.labels[order].tolist()
        ):
            if x2 <= x1 or y2 <= y1:
                continue
            class_id = version.classes[label]
            boxes.append(
                {
                    "x": round(x1, 2),
                    "y": round(y1, 2),
                    "w": round(x2 - x1, 2),
                    "h": round(y2 - y1, 2),
                    "label_class": class_id,
                    "score": round(s, 4),
                }
            )
            if s >= threshold:
                counts[str(class_id)] = counts.get(str(class_id), 0) + 1
    confidence = float(np.min(np.abs(2 * detections.scores - 1))) if len(detections.scores) else 1.0
    return Prediction(
        image=image, model_version=version, boxes=boxes, counts=counts, confidence=confidence, score=float(score)
    )
