"""labelapp.learning.label_quality on cases small enough to check by hand (no database)."""

import numpy as np
import pytest

from labelapp.learning.label_quality import (
    classification_suspects,
    detection_suspects,
    knn_disagreement,
    out_of_fold_detections,
    out_of_fold_probs,
    self_confidence_suspicion,
)


def test_knn_disagreement_counts_the_neighbours_that_carry_another_label():
    # Two tight groups on the unit circle: items 0-3 near (1, 0), items 4-6 near (0, 1).
    # Item 3 sits in the first group but is labeled 1 (the group of 4-6).
    embeddings = np.array([[1, 0.0], [1, 0.05], [1, -0.05], [1, 0.02], [0, 1], [0.05, 1], [-0.05, 1]])
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    share, majority, majority_count = knn_disagreement(embeddings, labels, k=3)
    # Item 3's three nearest are 0, 1, 2 (all label 0): 3 of 3 disagree.
    assert share[3] == pytest.approx(1.0)
    assert (majority[3], majority_count[3]) == (0, 3)
    # Item 0's nearest are 3 (cos 0.9998), 1, 2: one of three carries another label.
    assert share[0] == pytest.approx(1 / 3)
    assert majority[0] == 0
    # Item 4's nearest are 5, 6 (label 1), then item 1 (cos 0.05, label 0 — item 3 has 0.02).
    assert share[4] == pytest.approx(1 / 3)
    assert (majority[4], majority_count[4]) == (1, 2)


def test_knn_disagreement_rejects_bad_shapes():
    with pytest.raises(ValueError):
        knn_disagreement(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError):
        knn_disagreement(np.ones((3, 2)), np.zeros(2))


def test_self_confidence_suspicion_is_one_minus_the_probability_of_the_given_label():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.1, 0.9], [0.2, 0.8], [0.97, 0.03]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    suspicion, issues = self_confidence_suspicion(labels, probs)
    np.testing.assert_allclose(suspicion, [0.1, 0.2, 0.15, 0.1, 0.2, 0.97])
    # The last label (1, where the model says 0.97 for class 0) is the one confident learning prunes.
    assert issues.tolist() == [False, False, False, False, False, True]


def test_out_of_fold_probs_never_sees_the_item_it_scores():
    # Item 4 is a copy of item 0's point with another label: an in-sample model could fit it,
    # an out-of-fold one predicts class 0 for it from its neighbours.
    rng = np.random.default_rng(0)
    a = rng.normal([3, 0], 0.2, size=(10, 2))
    b = rng.normal([-3, 0], 0.2, size=(10, 2))
    features = np.vstack([a, b])
    labels = np.array([0] * 10 + [1] * 10)
    labels[4] = 1
    probs = out_of_fold_probs(features, labels, 2, n_folds=5)
    assert probs.shape == (20, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[4, 0] > 0.8
    assert probs[12, 1] > 0.8


def test_classification_suspects_say_why_in_words():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.1, 0.9], [0.2, 0.8], [0.97, 0.03]])
    embeddings = np.array([[1, 0.0], [1, 0.1], [1, -0.1], [0, 1], [0.1, 1], [1, 0.05]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    suspects = classification_suspects(labels, probs, embeddings, ["orange", "lime"], k=3)
    worst = max(range(6), key=lambda i: suspects[i].score)
    assert worst == 5
    assert suspects[5].model_disagrees
    assert suspects[5].reason == "model 0.97 `orange`; 3 of 3 nearest neighbours are `orange`"
    # The model's doubt 1 − 0.03; the neighbours are a reason, not part of the score.
    assert suspects[5].score == pytest.approx(0.97)
    assert suspects[0].reasons == [] and not suspects[0].model_disagrees


def test_classification_suspects_need_a_name_per_class():
    with pytest.raises(ValueError):
        classification_suspects(np.array([0, 1]), np.array([[0.5, 0.5], [0.5, 0.5]]), None, ["only one"])


def _det(boxes, labels, scores=None):
    out = {"boxes": np.array(boxes, dtype=float).reshape(-1, 4), "labels": np.array(labels, dtype=int)}
    if scores is not None:
        out["scores"] = np.array(scores, dtype=float)
    return out


def test_detection_suspects_rank_a_missing_and_a_wrong_class_box_below_a_matching_label():
    names = ["brown_box", "envelope"]
    prediction = _det([[10, 10, 40, 40], [60, 60, 90, 90]], [0, 1], [0.95, 0.9])
    good = _det([[10, 10, 40, 40], [60, 60, 90, 90]], [0, 1])
    missing = _det([[10, 10, 40, 40]], [0])
    relabeled = _det([[10, 10, 40, 40], [60, 60, 90, 90]], [0, 0])
    suspects = detection_suspects([good, missing, relabeled], [prediction] * 3, names)
    assert suspects[0].score < suspects[1].score
    assert suspects[0].score < suspects[2].score
    assert suspects[0].reasons == []
    # cleanlab needs a prediction above 0.95 to call a box overlooked; the box-level check
    # takes the model's 0.90 for the missing envelope.
    assert suspects[1].score == pytest.approx(0.9)
    assert suspects[1].reasons == ["model 0.90 `envelope` where the label has no box"]
    assert suspects[2].reasons == ["model 0.90 `envelope` on a box labeled `brown_box`"]


def test_detection_suspects_name_a_box_the_model_does_not_see():
    names = ["brown_box"]
    prediction = _det([[10, 10, 40, 40]], [0], [0.95])
    extra = _det([[10, 10, 40, 40], [70, 70, 95, 95]], [0, 0])
    (suspect,) = detection_suspects([extra], [prediction], names)
    assert suspect.reasons == ["the model sees nothing at a `brown_box` box"]
    # Nothing overlaps the extra box: (1 - 0) × the reported-box threshold 0.3.
    assert suspect.score == pytest.approx(0.3)


def test_detection_suspects_reject_a_class_out_of_range():
    with pytest.raises(ValueError):
        detection_suspects([_det([[0, 0, 1, 1]], [3])], [_det([], [], [])], ["a"])


def test_out_of_fold_detections_never_score_an_image_with_a_model_that_trained_on_it():
    from labelapp.learning.models import create_model
    from labelapp.learning.scenes import PORCH_CLASSES, make_detection_set, porch_scene
    from labelapp.learning.training import TrainConfig

    images, targets = make_detection_set(porch_scene, 8, seed=3, size=64)
    fits, predictions = [], []

    def make_model():
        model = create_model("centernet_detector", classes=PORCH_CLASSES, input_size=64)
        fit, predict = model.fit, model.predict

        def recording_fit(train_images, *args, **kwargs):
            fits.append({image.tobytes() for image in train_images})
            return fit(train_images, *args, **kwargs)

        def recording_predict(held_out, *args, **kwargs):
            predictions.append({image.tobytes() for image in held_out})
            return predict(held_out, *args, **kwargs)

        model.fit, model.predict = recording_fit, recording_predict
        return model

    outputs = out_of_fold_detections(
        make_model, images, targets, config=TrainConfig(seed=0, max_epochs=1, batch_size=4), n_folds=2
    )
    assert len(outputs) == 8 and all({"boxes", "labels", "scores"} <= set(o) for o in outputs)
    assert len(fits) == len(predictions) == 2
    for trained, scored in zip(fits, predictions):
        assert trained and scored and not trained & scored
    assert predictions[0] | predictions[1] == {image.tobytes() for image in images}


def test_out_of_fold_detections_need_an_image_per_fold():
    with pytest.raises(ValueError, match="at least 2 images"):
        out_of_fold_detections(lambda: None, np.zeros((1, 8, 8, 3), np.uint8), [{}], config=None)


def test_knn_disagreement_in_row_blocks_equals_the_whole_matrix(monkeypatch):
    from labelapp.learning import label_quality

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 6))
    labels = rng.integers(0, 3, 50)
    whole = knn_disagreement(vectors, labels, k=5)
    monkeypatch.setattr(label_quality, "KNN_BLOCK", 7)
    blocked = knn_disagreement(vectors, labels, k=5)
    for a, b in zip(whole, blocked):
        np.testing.assert_array_equal(a, b)


def test_a_box_the_model_misses_ranks_below_any_reported_box_that_contradicts_a_label():
    names = ["brown_box"]
    weak_extra = _det([[10, 10, 40, 40], [60, 60, 90, 90]], [0, 0], [0.95, 0.35])
    one_box = _det([[10, 10, 40, 40]], [0])
    unseen = _det([[10, 10, 40, 40], [60, 60, 90, 90]], [0, 0])
    only_first = _det([[10, 10, 40, 40]], [0], [0.95])
    missing_label, spurious_label = detection_suspects([one_box, unseen], [weak_extra, only_first], names)
    # The label lacks a box the model reports at 0.35; the other label has a box nothing reports.
    assert missing_label.score == pytest.approx(0.35)
    assert spurious_label.score < missing_label.score


def test_out_of_fold_probs_choose_the_regularisation_with_the_lowest_log_loss(monkeypatch):
    from labelapp.learning import label_quality

    rng = np.random.default_rng(2)
    features = np.vstack([rng.normal([2, 0], 0.3, size=(15, 2)), rng.normal([-2, 0], 0.3, size=(15, 2))])
    labels = np.array([0] * 15 + [1] * 15)
    chosen = out_of_fold_probs(features, labels, 2)
    losses = {}
    for c in label_quality.C_CHOICES:
        monkeypatch.setattr(label_quality, "C_CHOICES", (c,))
        probs = out_of_fold_probs(features, labels, 2)
        losses[c] = -np.log(probs[np.arange(30), labels]).mean()
        if c == min(losses, key=losses.get):
            best = probs
    np.testing.assert_allclose(chosen, best)
    # Separable classes: the weakest regularisation fits them most sharply.
    assert min(losses, key=losses.get) == max(label_quality.C_CHOICES)


def test_out_of_fold_detections_stop_when_the_batch_hook_raises():
    """A worker shutdown stops the cross-fitting of label scoring at its next batch."""
    from labelapp.learning.models import create_model
    from labelapp.learning.scenes import PORCH_CLASSES, make_detection_set, porch_scene
    from labelapp.learning.training import TrainConfig

    images, targets = make_detection_set(porch_scene, 8, seed=4, size=64)
    steps = []

    def shutdown_after_two_steps():
        steps.append(1)
        if len(steps) == 2:
            raise KeyboardInterrupt("shutdown")

    with pytest.raises(KeyboardInterrupt):
        out_of_fold_detections(
            lambda: create_model("centernet_detector", classes=PORCH_CLASSES, input_size=64),
            images,
            targets,
            config=TrainConfig(seed=0, max_epochs=3, batch_size=2),
            between_batches=shutdown_after_two_steps,
        )
    assert len(steps) == 2
