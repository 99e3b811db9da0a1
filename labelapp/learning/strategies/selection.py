"""Selection: from scores (and optionally embeddings or features) to the indices of a batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelapp.learning.strategies.validation import check_k, check_rng, check_scores


def select_top_k(scores: Any, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the ``k`` highest scores, ties broken at random.

    Parameters
    ----------
    scores : array-like, shape (N,)
    k : int
        Clamped to N.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, shape (min(k, N),), highest score first.
    """
    s = check_scores(scores)
    k = check_k(k, len(s))
    tie = check_rng(rng).random(len(s))
    # lexsort sorts by the last key first: score descending, then random.
    order = np.lexsort((tie, -s))
    return order[:k].astype(np.int64)


def _sq_dists(x: np.ndarray, c: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances (N, K); ``x_sq`` = precomputed row norms of x."""
    if x_sq is None:
        x_sq = (x * x).sum(1)
    d = x_sq[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans(x: Any, k: int, rng: np.random.Generator, *, n_iter: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding.

    Parameters
    ----------
    x : array-like, shape (N, D)
    k : int, 1 <= k <= N
    rng : numpy.random.Generator
    n_iter : int
        Maximum Lloyd iterations (stops earlier when assignments are stable).

    Returns
    -------
    centroids : ndarray, shape (k, D)
    assign : ndarray of int64, shape (N,)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("x must have shape (N, D)")
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, N={n}], got {k}")
    rng = check_rng(rng)
    x_sq = (x * x).sum(1)
    centers = [int(rng.integers(n))]
    d2 = _sq_dists(x, x[centers], x_sq)[:, 0]
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0:
            # All remaining points coincide with a centre: pick any unused point.
            unused = np.setdiff1d(np.arange(n), centers)
            nxt = int(rng.choice(unused))
        else:
            nxt = int(rng.choice(n, p=d2 / total))
        centers.append(nxt)
        d2 = np.minimum(d2, _sq_dists(x, x[[nxt]], x_sq)[:, 0])
    cent = x[centers].copy()
    assign = np.full(n, -1, dtype=np.int64)
    for _ in range(n_iter):
        new = np.argmin(_sq_dists(x, cent, x_sq), axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = assign == j
            if members.any():
                cent[j] = x[members].mean(axis=0)
    return cent, assign


def _medoids(x: np.ndarray, cent: np.ndarray, assign: np.ndarray) -> list[int]:
    """For each non-empty cluster, the member nearest its centroid."""
    d = _sq_dists(x, cent)
    picks = []
    for j in range(len(cent)):
        members = np.flatnonzero(assign == j)
        if members.size:
            picks.append(int(members[np.argmin(d[members, j])]))
    return picks


def select_diverse(
    scores: Any,
    embeddings: Any,
    k: int,
    rng: np.random.Generator,
    *,
    shortlist_factor: int = 5,
    method: str = "kcenter",
) -> np.ndarray:
    """Pick an informative *and* diverse batch.

    First the ``k * shortlist_factor`` highest-scoring items are shortlisted
    (uncertainty matters most), then a spread-out subset of ``k`` is taken
    from the shortlist so a batch does not spend credits on near-duplicates.

    Parameters
    ----------
    scores : array-like, shape (N,)
    embeddings : array-like, shape (N, D)
        Any feature space where Euclidean distance means dissimilarity
        (e.g. ``ImageModel.embed``).
    k : int
        Batch size, clamped to N.
    rng : numpy.random.Generator
    shortlist_factor : int, default 5
        ``1`` degenerates to :func:`select_top_k`.
    method : {"kcenter", "kmeans"}
        * ``"kcenter"``: greedy k-center starting from the top-scoring item,
          then repeatedly the shortlisted item farthest from those chosen;
        * ``"kmeans"``: k-means on the shortlist and, per cluster, the member
          nearest the centroid (empty clusters are refilled by score).

    Returns
    -------
    ndarray of int64, shape (min(k, N),), indices into the pool, ordered by
    descending score.
    """
    s = check_scores(scores)
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) != len(s):
        raise ValueError(f"embeddings must have shape (N={len(s)}, D), got {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("embeddings must be finite")
    if int(shortlist_factor) < 1:
        raise ValueError("shortlist_factor must be >= 1")
    if method not in ("kcenter", "kmeans"):
        raise ValueError(f"unknown method {method!r}")
    rng = check_rng(rng)
    k = check_k(k, len(s))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    short = select_top_k(s, k * int(shortlist_factor), rng)
    if len(short) <= k:
        return short
    x = e[short]
    if method == "kcenter":
        x_sq = (x * x).sum(1)
        chosen = [0]  # shortlist is sorted by score: start from the most informative
        d2 = _sq_dists(x, x[[0]], x_sq)[:, 0]
        for _ in range(1, k):
            nxt = int(np.argmax(d2))
            chosen.append(nxt)
            d2 = np.minimum(d2, _sq_dists(x, x[[nxt]], x_sq)[:, 0])
        picks = short[chosen]
    else:
        cent, assign = kmeans(x, k, rng)
        local = _medoids(x, cent, assign)
        if len(local) < k:
            rest = [i for i in range(len(short)) if i not in set(local)]
            local += rest[: k - len(local)]
        picks = short[local]
    # Present the batch most-informative first.
    picks = np.asarray(picks, dtype=np.int64)
    return picks[np.argsort(-s[picks], kind="stable")]


def cold_start(features: Any, k: int, rng: np.random.Generator) -> np.ndarray:
    """Representative first picks when there is no model yet.

    Runs k-means with ``k`` clusters and returns, per cluster, the image
    nearest the centroid, so the first labels cover the main modes of the pool
    instead of a random handful.

    Parameters
    ----------
    features : array-like, shape (N, D)
        E.g. :func:`simple_image_features`. Used as given: columns should
        already be on comparable scales (per-column standardising would blow
        near-constant, noisy columns up to the same weight as informative ones).
    k : int
        Clamped to N.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, shape (min(k, N),), distinct indices, largest cluster first.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError("features must have shape (N, D)")
    if not np.all(np.isfinite(f)):
        raise ValueError("features must be finite")
    rng = check_rng(rng)
    k = check_k(k, len(f))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    x = f
    cent, assign = kmeans(x, k, rng)
    picks = _medoids(x, cent, assign)
    sizes = np.bincount(assign, minlength=k)
    picks.sort(key=lambda i: -sizes[assign[i]])
    if len(picks) < k:
        # Duplicate points can leave clusters empty: top up with random unpicked items.
        rest = np.setdiff1d(np.arange(len(f)), picks)
        picks += [int(i) for i in rng.permutation(rest)[: k - len(picks)]]
    return np.asarray(picks, dtype=np.int64)
