"""Evaluation of a trained model on a labeled split."""

import numpy as np

from labelapp.projects.models import TaskType

from . import engine
from .inference import model_outputs


def evaluate(model, images, targets, *, task: str, class_names: list[str], threshold: float) -> dict:
    from labelapp.learning import metrics

    if len(images) == 0:
        return {"images": 0}
    outputs = model_outputs(model, images)
    if task == TaskType.CLASSIFICATION:
        report = metrics.classification_report(targets, outputs.probs.argmax(axis=1), len(class_names))
        per_class = {
            name: {
                "precision": report["precision"][i],
                "recall": report["recall"][i],
                "f1": report["f1"][i],
                "support": report["support"][i],
            }
            for i, name in enumerate(class_names)
        }
        correct = int(np.sum(outputs.probs.argmax(axis=1) == np.asarray(targets)))
        return engine.jsonable(
            {
                "images": len(images),
                "accuracy": report["accuracy"],
                "per_class": per_class,
                "confusion_matrix": report["confusion_matrix"],
                "interval": metrics.wilson_interval(correct, len(images)),
            }
        )
    report = metrics.detection_report(targets, outputs, len(class_names), count_threshold=threshold)
    interval = metrics.bootstrap_interval(
        lambda idx: metrics.detection_report(
            [targets[i] for i in idx], [outputs[i] for i in idx], len(class_names), count_threshold=threshold
        )["map50"],
        len(images),
        np.random.default_rng(len(images)),
        resamples=100,
    )
    per_class = {
        name: {"ap50": report["ap50"][i], "ap": report["ap"][i], "num_gt": report["num_gt"][i]}
        for i, name in enumerate(class_names)
    }
    return engine.jsonable(
        {
            "images": len(images),
            "map50": report["map50"],
            "map": report["map"],
            "per_class": per_class,
            "count_mae": report["count_mae"],
            "exact_count_rate": report["exact_count_rate"],
            "interval": interval,
        }
    )
