"""Near-duplicates by cosine similarity of unit vectors, hand-computed cases."""

import numpy as np

from labelapp.learning.duplicates import drop_near_duplicates, nearest_existing


def unit(*rows):
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_nearest_existing_points_each_new_image_at_its_closest_earlier_one_across_chunks():
    chunks = [(np.array([1, 2]), unit([1, 0], [0, 1])), (np.array([3]), unit([1, 1]))]
    new_ids, new = np.array([4, 2]), unit([1, 0.1], [0, 1])

    ids, similarity = nearest_existing(new_ids, new, chunks)

    # image 4 ~ image 1 (cos of [1, .1] and [1, 0] = 0.995); image 2 has only image 1 before it (cos 0).
    assert ids.tolist() == [1, 1]
    np.testing.assert_allclose(similarity, [1 / np.sqrt(1.01), 0.0], atol=1e-6)


def test_nearest_existing_with_nothing_earlier():
    ids, similarity = nearest_existing(np.array([1]), unit([1, 0]), [(np.array([1, 5]), unit([1, 0], [1, 0]))])
    assert ids.tolist() == [-1] and similarity.tolist() == [-np.inf]


def test_a_batch_skips_near_duplicates_of_its_own_picks_and_of_labeled_images():
    vectors = unit([1, 0], [1, 0.01], [0, 1], [0.7, 0.7], [-1, 0])
    labeled = unit([0.71, 0.69])

    picks = drop_near_duplicates(np.array([0, 1, 3, 2, 4]), vectors, 3, avoid=labeled)

    # 1 duplicates 0 (cos 0.99995), 3 duplicates the labeled image (cos 0.9998).
    assert picks.tolist() == [0, 2, 4]
