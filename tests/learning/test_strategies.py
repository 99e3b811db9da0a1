"""Strategies: hand-computed scores and selection behaviour."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from labelapp.learning.strategies import features, registry, selection, uncertainty, weighting

PROBS = np.array(
    [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.0],
        [0.6, 0.3, 0.1],
        [1 / 3, 1 / 3, 1 / 3],
    ]
)


def test_random_scores_reproducible():
    a = uncertainty.random_scores(5, np.random.default_rng(0))
    b = uncertainty.random_scores(5, np.random.default_rng(0))
    assert a.shape == (5,) and np.array_equal(a, b)
    assert np.all((a >= 0) & (a < 1))
    with pytest.raises(ValueError):
        uncertainty.random_scores(3, 0)  # not a Generator


def test_least_confident_hand_computed():
    np.testing.assert_allclose(uncertainty.least_confident(PROBS), [0.0, 0.5, 0.4, 2 / 3])


def test_margin_hand_computed():
    np.testing.assert_allclose(uncertainty.margin(PROBS), [0.0, 1.0, 0.7, 1.0])


def test_entropy_hand_computed():
    raw = uncertainty.entropy(PROBS, normalize=False)
    np.testing.assert_allclose(
        raw,
        [0.0, math.log(2), -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1)), math.log(3)],
    )
    np.testing.assert_allclose(uncertainty.entropy(PROBS), raw / math.log(3))
    assert uncertainty.entropy(PROBS)[3] == pytest.approx(1.0)


@pytest.mark.parametrize("fn", [uncertainty.least_confident, uncertainty.margin, uncertainty.entropy])
def test_prob_strategies_reject_bad_input(fn):
    with pytest.raises(ValueError):
        fn(np.array([0.5, 0.5]))  # 1-D
    with pytest.raises(ValueError):
        fn(np.array([[0.5, 0.6]]))  # does not sum to 1
    with pytest.raises(ValueError):
        fn(np.array([[1.0]]))  # single class
    with pytest.raises(ValueError):
        fn(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        fn(np.array([[-0.5, 1.5]]))


def test_detection_uncertainty_hand_computed():
    dets = [
        (np.array([0.9, 0.5]), np.array([0, 1])),  # u = 0.2, 1.0
        (np.array([0.01, 0.02]), np.array([0, 0])),  # all below floor -> empty
        {"scores": np.array([0.3]), "labels": np.array([2])},  # u = 0.6
        SimpleNamespace(scores=np.zeros(0, np.float32), labels=np.zeros(0, np.int64)),
    ]
    np.testing.assert_allclose(
        uncertainty.detection_uncertainty(dets, aggregate="mean", empty_score=0.7), [0.6, 0.7, 0.6, 0.7]
    )
    np.testing.assert_allclose(uncertainty.detection_uncertainty(dets, aggregate="max"), [1.0, 0.6, 0.6, 0.6])
    # near_threshold with t=0.3: 1 - |s - .3| / .7
    np.testing.assert_allclose(
        uncertainty.detection_uncertainty(dets, aggregate="near_threshold", threshold=0.3),
        [1 - 0.2 / 0.7, 0.6, 1.0, 0.6],
    )
    with pytest.raises(ValueError):
        uncertainty.detection_uncertainty(dets, aggregate="median")
    with pytest.raises(ValueError):
        uncertainty.detection_uncertainty([(np.array([1.5]), np.array([0]))])


def test_class_weights_from_ap():
    w = weighting.class_weights_from_ap([0.9, 0.2, np.nan, 1.0], floor=0.15)
    np.testing.assert_allclose(w, [0.15, 0.8, 1.0, 0.15])
    with pytest.raises(ValueError):
        weighting.class_weights_from_ap([1.2])


def test_weighted_by_class_classification_and_detection():
    w = np.array([0.1, 1.0, 0.5])
    scores = np.array([1.0, 1.0, 0.5, 2.0])
    out = weighting.weighted_by_class(scores, w, probs=PROBS)
    np.testing.assert_allclose(out, [0.1, 0.55, 0.5 * (0.06 + 0.3 + 0.05), 2.0 * (1.6 / 3)])
    dets = [
        (np.array([0.9, 0.5]), np.array([0, 2])),  # max(0.1, 0.5)
        (np.array([0.01]), np.array([0])),  # nothing above floor -> max weight 1.0
    ]
    np.testing.assert_allclose(weighting.weighted_by_class([2.0, 0.5], w, detections=dets), [1.0, 0.5])
    with pytest.raises(ValueError):
        weighting.weighted_by_class(scores, w)
    with pytest.raises(ValueError):
        weighting.weighted_by_class(scores, w[:2], probs=PROBS)


def test_select_top_k_order_and_random_ties():
    s = np.array([0.1, 0.9, 0.5, 0.9, 0.2])
    first = set()
    for seed in range(20):
        idx = selection.select_top_k(s, 3, np.random.default_rng(seed))
        assert set(idx) == {1, 3, 2}
        assert idx[2] == 2
        first.add(int(idx[0]))
    assert first == {1, 3}  # ties broken both ways across seeds
    assert len(selection.select_top_k(s, 10, np.random.default_rng(0))) == 5
    assert len(selection.select_top_k(s, 0, np.random.default_rng(0))) == 0
    with pytest.raises(ValueError):
        selection.select_top_k(s, -1, np.random.default_rng(0))


def test_select_diverse_kcenter_avoids_duplicates():
    # Two tight clusters of high scores near the origin and one lower-scored point far away.
    emb = np.array([[0, 0], [0.01, 0], [0, 0.01], [10, 10], [9.99, 10], [-10, 5]], float)
    scores = np.array([0.99, 0.98, 0.97, 0.6, 0.59, 0.5])
    rng = np.random.default_rng(0)
    top = selection.select_top_k(scores, 3, rng)
    assert set(top) == {0, 1, 2}
    div = selection.select_diverse(scores, emb, 3, rng, shortlist_factor=2, method="kcenter")
    # k-center: start at 0, farthest is 3 (dist^2 200) then 5 (-10,5): one per cluster.
    assert set(div) == {0, 3, 5}
    assert list(div) == sorted(div, key=lambda i: -scores[i])


def test_select_diverse_kmeans_one_per_cluster():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [20, 0], [0, 20]], float)
    emb = np.concatenate([c + rng.normal(0, 0.1, size=(10, 2)) for c in centers])
    scores = rng.random(30)
    idx = selection.select_diverse(scores, emb, 3, rng, shortlist_factor=10, method="kmeans")
    assert len(idx) == 3 and len(set(idx)) == 3
    assert sorted(i // 10 for i in idx) == [0, 1, 2]
    with pytest.raises(ValueError):
        selection.select_diverse(scores, emb[:5], 3, rng)
    with pytest.raises(ValueError):
        selection.select_diverse(scores, emb, 3, rng, method="dbscan")


def test_select_diverse_factor_one_is_top_k():
    s = np.array([0.3, 0.8, 0.1, 0.5])
    emb = np.zeros((4, 2))
    assert set(selection.select_diverse(s, emb, 2, np.random.default_rng(0), shortlist_factor=1)) == {1, 3}


def test_cold_start_covers_clusters():
    rng = np.random.default_rng(3)
    sizes = [60, 30, 10]
    centers = np.array([[0, 0, 0], [50, 0, 0], [0, 50, 0]], float)
    feats = np.concatenate([c + rng.normal(0, 1, size=(n, 3)) for c, n in zip(centers, sizes)])
    labels = np.repeat([0, 1, 2], sizes)
    idx = selection.cold_start(feats, 3, np.random.default_rng(0))
    assert len(set(idx)) == 3
    assert list(labels[idx]) == [0, 1, 2]  # one per cluster, largest first
    # Duplicate points: still k distinct indices.
    same = selection.cold_start(np.zeros((10, 2)), 4, np.random.default_rng(0))
    assert len(set(same)) == 4


def test_kmeans_recovers_clusters():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    _cent, assign = selection.kmeans(x, 2, rng)
    assert len(set(assign[:20])) == 1 and len(set(assign[20:])) == 1
    assert assign[0] != assign[20]
    with pytest.raises(ValueError):
        selection.kmeans(x, 0, rng)


def test_simple_image_features_hand_computed():
    img = np.zeros((2, 16, 16, 3), np.uint8)
    img[0] = 255  # white image
    img[1, :8] = (255, 0, 0)  # top half red, bottom black
    f = features.simple_image_features(img, bins=4, thumb=2)
    assert f.shape == (2, 3 * 4 + 4) and f.dtype == np.float32
    np.testing.assert_allclose(f[0, :12], [0, 0, 0, 1] * 3)
    np.testing.assert_allclose(f[0, 12:], [1, 1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(f[1, :4], [0.5, 0, 0, 0.5])  # red channel
    np.testing.assert_allclose(f[1, 4:8], [1, 0, 0, 0])  # green channel
    np.testing.assert_allclose(f[1, 12:], [0.299, 0.299, 0, 0], atol=1e-6)
    with pytest.raises(ValueError):
        features.simple_image_features(np.zeros((2, 16, 16, 3), np.float32))


def test_score_pool_dispatch():
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(
        registry.score_pool("classification", PROBS, strategy="margin"), uncertainty.margin(PROBS)
    )
    w = np.array([1.0, 0.5, 0.5])
    np.testing.assert_allclose(
        registry.score_pool("classification", PROBS, strategy="entropy", class_weights=w),
        uncertainty.entropy(PROBS) * (PROBS @ w),
    )
    dets = [SimpleNamespace(scores=np.array([0.5]), labels=np.array([0]))]
    assert registry.score_pool("detection", dets, strategy="detection_max")[0] == pytest.approx(1.0)
    assert registry.score_pool("detection", dets, strategy="random", rng=rng).shape == (1,)
    with pytest.raises(ValueError):
        registry.score_pool("detection", dets, strategy="margin")
    with pytest.raises(ValueError):
        registry.score_pool("classification", PROBS, strategy="random")  # no rng
    with pytest.raises(ValueError):
        registry.score_pool("segmentation", PROBS, strategy="margin")
    assert registry.DEFAULT_STRATEGY.scoring in registry.STRATEGIES
    assert registry.DEFAULT_STRATEGY.detection_scoring in registry.STRATEGIES
    assert registry.DEFAULT_STRATEGY.diversity in (None, "kcenter", "kmeans")
