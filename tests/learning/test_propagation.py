"""Label spreading on the kNN graph, on hand-made cases."""

import numpy as np
import pytest

from labelapp.learning.propagation import confident_pseudo_labels, propagate_labels


def _groups():
    # Two directions in 3-D (cosine kNN): group 0 near e0, group 1 near e1.
    rng = np.random.default_rng(0)
    g0 = np.array([1.0, 0, 0]) + rng.normal(0, 0.05, (10, 3))
    g1 = np.array([0, 1.0, 0]) + rng.normal(0, 0.05, (10, 3))
    return np.concatenate([g0, g1]), np.array([[1.0, 0, 0], [0, 1.0, 0]])


def test_labels_spread_within_their_group():
    pool, labeled = _groups()
    prop = propagate_labels(
        pool, labeled, np.array([0, 1]), np.random.default_rng(0), num_classes=2, n_neighbors=4, dim=3
    )
    assert prop.pool_index.tolist() == list(range(20))
    assert prop.probs.argmax(axis=1).tolist() == [0] * 10 + [1] * 10
    np.testing.assert_allclose(prop.probs.sum(axis=1), 1.0)
    assert prop.certainty.min() > 0.9  # no edge crosses the groups


def test_unreached_rows_are_uniform_and_uncertain():
    pool, labeled = _groups()
    # only group 0 is labeled: group 1 is a separate component, nothing reaches it
    prop = propagate_labels(
        pool, labeled[:1], np.array([0]), np.random.default_rng(0), num_classes=2, n_neighbors=4, dim=3
    )
    np.testing.assert_allclose(prop.probs[10:], 0.5)
    np.testing.assert_allclose(prop.certainty[10:], 0.0, atol=1e-12)


def test_confident_pseudo_labels_threshold_and_cap():
    pool, labeled = _groups()
    prop = propagate_labels(
        pool, labeled, np.array([0, 1]), np.random.default_rng(0), num_classes=2, n_neighbors=4, dim=3
    )
    idx, cls, w = confident_pseudo_labels(prop, min_certainty=0.5, max_per_class=3)
    assert len(idx) == 6 and np.bincount(cls).tolist() == [3, 3]
    assert np.all((idx < 10) == (cls == 0))
    assert np.all(w >= 0.5)
    idx_all, _, _ = confident_pseudo_labels(prop, min_certainty=0.0)
    assert len(idx_all) == 20


def test_rejects_bad_classes():
    pool, labeled = _groups()
    with pytest.raises(ValueError, match="labeled_classes"):
        propagate_labels(pool, labeled, np.array([0, 2]), np.random.default_rng(0), num_classes=2)
