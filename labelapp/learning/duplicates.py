"""Near-duplicates in embedding space: the same scene re-encoded, resized or cropped a little,
which an exact content hash does not catch. Labeling both wastes a credit; evaluating on one
and training on the other flatters the model.

Vectors are unit length (:mod:`labelapp.learning.backbone`), so a dot product is a cosine
similarity.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["NEAR_DUPLICATE_SIMILARITY", "drop_near_duplicates", "nearest_existing"]

#: Cosine similarity at or above which two images count as near-duplicates. Measured on the
#: demo's synthetic porch scenes (one porch, 128 px): distinct scenes reach at most 0.92
#: (mean 0.75), while a JPEG re-encode at quality 60 scores 0.86-0.89, so there only copies
#: with light changes are caught; a stricter threshold would flag distinct scenes.
NEAR_DUPLICATE_SIMILARITY = 0.95


def nearest_existing(
    new_ids: np.ndarray, new_vectors: np.ndarray, existing: Iterable[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """For each new vector, the most similar *earlier* vector (smaller id) among ``existing``
    chunks of ``(ids, vectors)``, read one chunk at a time so a pool of millions never sits in
    memory. Of two near-duplicates, only the later one points at the other.

    Returns
    -------
    best_ids : np.ndarray
        ``int64`` ``(B,)``, ``-1`` where nothing else exists.
    best_similarity : np.ndarray
        ``float32`` ``(B,)``, ``-inf`` where nothing else exists.
    """
    new_ids = np.asarray(new_ids, dtype=np.int64)
    new_vectors = np.asarray(new_vectors, dtype=np.float32)
    best_ids = np.full(len(new_ids), -1, dtype=np.int64)
    best = np.full(len(new_ids), -np.inf, dtype=np.float32)
    for ids, vectors in existing:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids) or not len(new_ids):
            continue
        similarity = new_vectors @ np.asarray(vectors, dtype=np.float32).T
        similarity[new_ids[:, None] <= ids[None, :]] = -np.inf
        column = similarity.argmax(axis=1)
        value = similarity[np.arange(len(new_ids)), column]
        better = value > best
        best[better], best_ids[better] = value[better], ids[column[better]]
    return best_ids, best


def drop_near_duplicates(
    order: np.ndarray,
    vectors: np.ndarray,
    k: int,
    *,
    avoid: np.ndarray | None = None,
    threshold: float = NEAR_DUPLICATE_SIMILARITY,
) -> np.ndarray:
    """The first ``k`` of ``order`` (indices into ``vectors``, best first), skipping any that is a
    near-duplicate of one already taken or of a vector in ``avoid`` (e.g. the labeled images).

    Parameters
    ----------
    order : np.ndarray
        Candidate indices, best first.
    vectors : np.ndarray
        ``(N, D)`` unit vectors the indices point into.
    k : int
        How many to keep (fewer if the candidates run out).
    avoid : np.ndarray, optional
        ``(M, D)`` unit vectors no pick may duplicate.
    """
    taken: list[int] = []
    avoid = np.zeros((0, vectors.shape[1]), np.float32) if avoid is None else np.asarray(avoid, np.float32)
    for index in np.asarray(order, dtype=np.int64):
        if len(taken) == k:
            break
        v = np.asarray(vectors[index], dtype=np.float32)
        if len(avoid) and float((avoid @ v).max()) >= threshold:
            continue
        if taken and float((np.asarray(vectors[taken], np.float32) @ v).max()) >= threshold:
            continue
        taken.append(int(index))
    return np.array(taken, dtype=np.int64)
