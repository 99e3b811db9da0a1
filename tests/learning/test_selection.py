"""The batch planner: phases, class cap, weak-class weights, reasons."""

import numpy as np
import pytest

from labelapp.learning import selection
from labelapp.learning.selection import plan_batch


def test_phase_switches_at_the_labels_per_class_floor():
    floor = selection.UNCERTAINTY_FROM_LABELS_PER_CLASS
    just_below = np.zeros(int(2 * floor) - 1, dtype=np.int64)
    enough = np.zeros(int(2 * floor), dtype=np.int64)
    assert selection.choose_phase(just_below, 2, has_model=True) == "cover"
    assert selection.choose_phase(enough, 2, has_model=True) == "uncertainty"
    assert selection.choose_phase(enough, 2, has_model=False) == "cover"


def test_balanced_take_caps_each_group():
    priority = np.arange(6)
    groups = np.array([0, 0, 0, 0, 1, 1])
    # cap = ceil(2 * 4 / 4) = 2 per group
    assert selection.balanced_take(priority, groups, 4, 4).tolist() == [0, 1, 4, 5]
    # two groups: cap = 4, nothing to do
    assert selection.balanced_take(priority, groups, 4, 2).tolist() == [0, 1, 2, 3]
    # one group only in the candidates: the cap leaves the batch short, the best capped-out fill it
    assert selection.balanced_take(priority[:4], groups[:4], 4, 4).tolist() == [0, 1, 2, 3]
    assert selection.balanced_take(priority, None, 3, 4).tolist() == [0, 1, 2]


def test_weak_class_weights_only_with_evidence():
    recall = np.array([0.9, 0.5, 0.1])
    w = selection.weak_class_weights(recall, np.array([30, 30, 5]), 3)
    # mean over the two classes with >= 20 images = 0.7; the third has too few to count
    np.testing.assert_allclose(w, [1.0, 1.2, 1.0])
    assert selection.weak_class_weights(recall, np.array([30, 5, 5]), 3) is None
    assert selection.weak_class_weights(None, None, 3) is None


def _pool(n=60, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32)


def test_uncertainty_phase_picks_smallest_margins_with_reasons():
    pool = _pool(6)
    probs = np.array([[0.9, 0.1], [0.52, 0.48], [0.8, 0.2], [0.45, 0.55], [0.99, 0.01], [0.7, 0.3]])
    lab_y = np.array([0] * 10 + [1] * 10)
    lab_x = _pool(20, seed=1)
    plan = plan_batch(pool, lab_x, lab_y, probs, 1, np.random.default_rng(0), num_classes=2, class_names=["cat", "dog"])
    assert plan.phase == "uncertainty"
    assert plan.order.tolist() == [1]
    assert plan.reasons == ["margin 0.04 (cat vs dog)"]
    assert int(np.argmax(plan.scores)) == 1


def test_uncertainty_batch_never_floods_one_predicted_class():
    pool = _pool(40)
    probs = np.zeros((40, 4))
    # the 20 most uncertain rows all lean to class 0; the others are split over 1..3
    probs[:20] = [0.40, 0.35, 0.15, 0.10]
    probs[20:] = [[0.1, 0.6, 0.2, 0.1], [0.1, 0.2, 0.6, 0.1], [0.1, 0.1, 0.2, 0.6], [0.1, 0.6, 0.2, 0.1]] * 5
    lab_y = np.repeat(np.arange(4), 10)
    plan = plan_batch(pool, _pool(40, seed=2), lab_y, probs, 8, np.random.default_rng(0), num_classes=4)
    predicted = probs[plan.order].argmax(axis=1)
    assert np.bincount(predicted, minlength=4)[0] <= 4  # ceil(2 * 8 / 4)
    assert len(set(plan.order.tolist())) == 8


def test_cover_phase_without_model_explains_clusters_and_scores_match_order():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, size=(5, 16))
    pool = (np.repeat(centres, 30, axis=0) + rng.normal(0, 0.5, (150, 16))).astype(np.float32)
    plan = plan_batch(pool, np.zeros((0, 16), np.float32), np.zeros(0, np.int64), None, 5, rng, num_classes=3)
    assert plan.phase == "cover"
    assert sorted((plan.order // 30).tolist()) == [0, 1, 2, 3, 4]  # one per mode
    assert all(r.startswith("typical of cluster ") and " of 5 (" in r and "none labeled" in r for r in plan.reasons)
    assert np.argsort(-plan.scores, kind="stable")[:5].tolist() == plan.order.tolist()
    assert plan.scores.shape == (150,) and plan.scores.dtype == np.float64


def test_cover_phase_skips_covered_modes():
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 10, size=(4, 16))
    pool = (np.repeat(centres, 25, axis=0) + rng.normal(0, 0.5, (100, 16))).astype(np.float32)
    labeled = centres[:2].astype(np.float32)  # modes 0 and 1 are covered
    plan = plan_batch(pool, labeled, np.array([0, 1]), None, 2, rng, num_classes=2)
    assert sorted((plan.order // 25).tolist()) == [2, 3]


def test_float16_pool_and_bad_input():
    pool = _pool(30).astype(np.float16)
    plan = plan_batch(pool, np.zeros((0, 8)), np.zeros(0, np.int64), None, 4, np.random.default_rng(0), num_classes=2)
    assert plan.order.dtype == np.int64 and len(plan.order) == 4 and len(plan.reasons) == 4
    with pytest.raises(ValueError, match="probs has shape"):
        plan_batch(
            pool,
            np.zeros((0, 8)),
            np.zeros(0, np.int64),
            np.full((30, 3), 1 / 3),
            4,
            np.random.default_rng(0),
            num_classes=2,
        )
    with pytest.raises(ValueError, match="labeled_classes"):
        plan_batch(pool, np.zeros((1, 8)), np.array([5]), None, 4, np.random.default_rng(0), num_classes=2)
    with pytest.raises(ValueError, match="k must"):
        plan_batch(pool, np.zeros((0, 8)), np.zeros(0, np.int64), None, 0, np.random.default_rng(0), num_classes=2)
