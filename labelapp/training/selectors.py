from .models import ModelVersion, Prediction


def prediction_for_labeling(*, image) -> dict | None:
    """The pre-annotation shown to the annotator: the prediction of the model version that
    scored the image (else the active one), in the API's shape."""
    prediction = (
        Prediction.objects.filter(image=image, model_version_id=image.scored_by_id)
        .select_related("model_version")
        .first()
        if image.scored_by_id
        else None
    )
    if prediction is None:
        return None
    version: ModelVersion = prediction.model_version
    probs = None
    if prediction.probs is not None:
        probs = {str(class_id): p for class_id, p in zip(version.classes, prediction.probs)}
    return {"model_version": version.number, "probs": probs, "boxes": prediction.boxes, "score": prediction.score}
