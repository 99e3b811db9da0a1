"""Label propagation on the embedding kNN graph, and confident pseudo-labels.

Label spreading (Zhou et al., 2004) in the form used for deep semi-supervised
learning by Iscen et al. (CVPR 2019): a kNN graph with affinities
``max(0, cos)^gamma``, iterate ``F <- alpha * P F + (1 - alpha) * Y`` with the
row-normalised affinity ``P`` and the one-hot labels ``Y``; a row's certainty is
``1 - entropy / log C`` of its normalised ``F``.

Not on by default: in ``benchmarks/bench_embedding_strategies.py`` (1 seed)
a head trained on labels plus pseudo-labels of certainty >= 0.5 was *worse*
than the head on labels alone on digits (0.826 vs 0.874 at 100 labels) and
porch (0.628 vs 0.725 at 200); the propagated labels are wrong where the
MobileNetV2 neighbourhoods mix classes.

Memory is O(M * n_neighbors) for the M rows in the graph; the kNN search is
brute force in chunks over at most ``SAMPLE_CAP`` pool rows plus the labeled
rows, in a space projected on the top principal directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelapp.learning.coverage import SAMPLE_CAP, fit_projection

__all__ = ["Propagation", "confident_pseudo_labels", "propagate_labels"]

CHUNK = 2_048


@dataclass(frozen=True)
class Propagation:
    """Soft labels for a subset of the pool.

    Attributes
    ----------
    pool_index : int64 (M,)
        Which pool rows are in the graph (all of them when N <= sample cap).
    probs : float64 (M, C)
        Propagated class distribution of each of those rows (rows sum to 1;
        uniform for a row no label reached).
    certainty : float64 (M,)
        ``1 - entropy(probs) / log C`` in ``[0, 1]``.
    """

    pool_index: np.ndarray
    probs: np.ndarray
    certainty: np.ndarray


def _knn(x: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine kNN of every row among the others: (indices (M, k), similarities (M, k))."""
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    m = len(xn)
    k = min(n_neighbors, m - 1)
    idx = np.empty((m, k), dtype=np.int64)
    sim = np.empty((m, k), dtype=np.float64)
    for start in range(0, m, CHUNK):
        s = xn[start : start + CHUNK] @ xn.T
        rows = np.arange(len(s))
        s[rows, start + rows] = -np.inf  # not your own neighbour
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        idx[start : start + len(s)] = part
        sim[start : start + len(s)] = s[rows[:, None], part]
    return idx, sim


def propagate_labels(
    pool_embeddings: np.ndarray,
    labeled_embeddings: np.ndarray,
    labeled_classes: np.ndarray,
    rng: np.random.Generator,
    *,
    num_classes: int,
    n_neighbors: int = 10,
    alpha: float = 0.99,
    gamma: float = 3.0,
    n_iter: int = 20,
    dim: int = 64,
    sample: int = SAMPLE_CAP,
) -> Propagation:
    """Spread the labels over the kNN graph of labeled + pool embeddings.

    Parameters
    ----------
    pool_embeddings : float (N, D)
    labeled_embeddings : float (L, D), L >= 1
    labeled_classes : int (L,) in ``[0, num_classes)``
    rng : numpy.random.Generator
        Chooses the pool sample when N > ``sample``.
    num_classes : int >= 2
    n_neighbors, alpha, gamma, n_iter
        Graph degree, weight of the graph against the labels, affinity
        sharpening, iterations (Iscen et al. use 50, 0.99, 3; fewer neighbours
        suit the small pools here).
    dim : int
        Principal directions kept for the kNN search.

    Returns
    -------
    Propagation
    """
    pool = np.asarray(pool_embeddings)
    lab = np.asarray(labeled_embeddings)
    y = np.asarray(labeled_classes).reshape(-1)
    if pool.ndim != 2 or lab.ndim != 2 or pool.shape[1] != lab.shape[1]:
        raise ValueError("pool and labeled embeddings must be (N, D) and (L, D) with the same D")
    if len(lab) == 0 or len(y) != len(lab):
        raise ValueError("need at least one labeled embedding and one class per labeled embedding")
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError("num_classes must be an integer >= 2")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labeled_classes must be integers in [0, {num_classes})")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if len(pool) == 0:
        return Propagation(np.zeros(0, np.int64), np.zeros((0, num_classes)), np.zeros(0))
    pool_index = np.arange(len(pool)) if len(pool) <= sample else np.sort(rng.choice(len(pool), sample, replace=False))
    stacked = np.concatenate([np.asarray(lab, dtype=np.float32), np.asarray(pool[pool_index], dtype=np.float32)])
    x = fit_projection(stacked, rng, dim=dim)(stacked).astype(np.float64)
    idx, sim = _knn(x, n_neighbors)
    w = np.maximum(sim, 0.0) ** gamma
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    seed = np.zeros((len(x), num_classes))
    seed[np.arange(len(y)), y] = 1.0
    f = seed.copy()
    for _ in range(n_iter):
        f = alpha * np.einsum("mk,mkc->mc", w, f[idx]) + (1 - alpha) * seed
    f = f[len(lab) :]
    total = f.sum(axis=1, keepdims=True)
    probs = np.where(total > 1e-12, f / np.maximum(total, 1e-12), 1.0 / num_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.sum(np.where(probs > 0, probs * np.log(probs), 0.0), axis=1)
    certainty = np.clip(1.0 - h / np.log(num_classes), 0.0, 1.0)
    return Propagation(pool_index=pool_index.astype(np.int64), probs=probs, certainty=certainty)


def confident_pseudo_labels(
    propagation: Propagation, *, min_certainty: float = 0.5, max_per_class: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool rows whose propagated label is certain enough to train on.

    Parameters
    ----------
    propagation : Propagation
    min_certainty : float in [0, 1]
    max_per_class : int, optional
        Keep only the most certain rows per class (a big class would otherwise
        swamp the head).

    Returns
    -------
    pool_index : int64 (P,)
    classes : int64 (P,)
    weights : float64 (P,)
        The certainty, to weight each pseudo-label's loss (Iscen et al.).
    """
    if not 0 <= min_certainty <= 1:
        raise ValueError("min_certainty must be in [0, 1]")
    keep = np.flatnonzero(propagation.certainty >= min_certainty)
    cls = propagation.probs[keep].argmax(axis=1) if len(keep) else np.zeros(0, np.int64)
    if max_per_class is not None and len(keep):
        order = np.lexsort((-propagation.certainty[keep], cls))
        c_sorted = cls[order]
        first = np.searchsorted(c_sorted, c_sorted)
        order = order[np.arange(len(order)) - first < max_per_class]
        keep, cls = keep[order], cls[order]
    return (
        propagation.pool_index[keep].astype(np.int64),
        cls.astype(np.int64),
        propagation.certainty[keep].astype(np.float64),
    )
