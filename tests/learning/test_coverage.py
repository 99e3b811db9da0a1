"""TypiClust pieces on hand-computed cases."""

import numpy as np
import pytest

from labelapp.learning import coverage


def test_typicality_is_inverse_mean_distance_to_nearest_neighbours():
    x = np.array([[0.0], [1.0], [2.0], [10.0]])
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(coverage.typicality(x, rng, neighbours=1), [1, 1, 1, 1 / 8])
    # two neighbours: 0 -> (1+2)/2, 1 -> (1+1)/2, 2 -> (1+2)/2, 10 -> (8+9)/2
    np.testing.assert_allclose(coverage.typicality(x, rng, neighbours=2), [2 / 3, 1, 2 / 3, 1 / 8.5])


def test_single_row_is_its_own_cluster():
    assert coverage.typicality(np.array([[3.0, 4.0]]), np.random.default_rng(0)).tolist() == [np.inf]


def _two_blobs():
    # Blob A: 6 points around (0, 0); blob B: 3 points around (10, 0), centre (10, 0).
    a = np.array([[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0], [0.5, 0.5]], dtype=np.float64)
    b = np.array([[10, 1], [10, 0], [10, -1]], dtype=np.float64)
    return np.concatenate([a, b])


def test_labeled_blob_is_covered_so_the_pick_is_the_centre_of_the_other():
    pool = _two_blobs()
    plan = coverage.typical_cover(pool, np.array([[0.1, 0.0]]), 1, np.random.default_rng(0))
    assert plan.n_clusters == 2  # |labeled| + k
    assert int(np.argmax(plan.scores)) == 7  # (10, 0): distances 1, 1 beat 1, 2
    assert plan.labeled_per_cluster[plan.cluster[0]] == 1
    assert plan.labeled_per_cluster[plan.cluster[7]] == 0


def test_without_labels_the_largest_cluster_comes_first():
    pool = _two_blobs()
    plan = coverage.typical_cover(pool, np.zeros((0, 2)), 2, np.random.default_rng(1))
    top2 = np.argsort(-plan.scores)[:2]
    assert top2[0] == 0  # (0, 0): the most typical of the 6-point blob
    assert top2[1] == 7
    assert sorted(plan.cluster_sizes.tolist()) == [3, 6]
    # ranks inside a cluster run 0, 1, 2, ...
    assert sorted(plan.rank[plan.cluster == plan.cluster[7]].tolist()) == [0, 1, 2]


def test_sampled_clustering_still_scores_every_row():
    rng = np.random.default_rng(0)
    pool = np.concatenate([rng.normal(0, 0.1, (300, 3)), rng.normal(5, 0.1, (100, 3))])
    plan = coverage.typical_cover(pool, np.zeros((0, 3)), 2, rng, sample=50)
    assert plan.scores.shape == (400,) and np.all(np.isfinite(plan.scores))
    top2 = np.argsort(-plan.scores)[:2]
    assert {int(t >= 300) for t in top2} == {0, 1}  # one pick per blob
    assert plan.cluster_sizes.sum() == pytest.approx(400, abs=2)


def test_projection_keeps_the_main_direction():
    x = np.array([[-2.0, 0.0, 0.1], [-1.0, 0.0, -0.1], [1.0, 0.0, -0.1], [2.0, 0.0, 0.1]])  # third column uncorrelated
    proj = coverage.fit_projection(x, np.random.default_rng(0), dim=1)
    np.testing.assert_allclose(np.abs(proj(x)[:, 0]), [2, 1, 1, 2], atol=1e-5)


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="columns"):
        coverage.typical_cover(np.zeros((4, 2)), np.zeros((1, 3)), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty"):
        coverage.typical_cover(np.zeros((0, 2)), np.zeros((0, 2)), 1, np.random.default_rng(0))


def test_kmeans32_finds_separated_groups():
    x = np.array([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], dtype=np.float32)
    centres = coverage.kmeans32(x, 2, np.random.default_rng(0))
    got = centres[np.argsort(centres[:, 0])]
    np.testing.assert_allclose(got, [[1 / 3, 1 / 3], [31 / 3, 31 / 3]], rtol=1e-5)


def test_randomised_projection_finds_the_top_directions():
    rng = np.random.default_rng(0)
    # 200 rows in 50-D with variance 100 and 25 along two axes, noise elsewhere.
    x = rng.normal(0, 0.1, (200, 50))
    x[:, 3] += rng.normal(0, 10, 200)
    x[:, 7] += rng.normal(0, 5, 200)
    proj = coverage.fit_projection(x, rng, dim=2)
    basis = np.abs(proj.components)
    assert basis[3, 0] > 0.99 and basis[7, 1] > 0.99
