"""Representative, covering picks in embedding space (TypiClust).

While a model is weak (tens of labels), its uncertainty is mostly noise; what
helps is labeling images that are *typical* of the pool and *cover* its modes
(Hacohen et al., "Active Learning on a Budget", ICML 2022).  TypiClust:

1. cluster the pool together with the labeled images into ``|labeled| + k``
   clusters (k-means);
2. a cluster with no labeled image is *uncovered*; take the ``k`` largest
   uncovered clusters;
3. from each, pick its most *typical* image: the inverse of the mean distance
   to its nearest neighbours within the cluster (a density estimate).

Scale: nothing here is O(N^2) in memory.  Embeddings are projected on their
top principal directions (fit on a sample), k-means runs on a sample of at
most ``SAMPLE_CAP`` pool rows and every row is then assigned to its nearest
centroid in chunks; typicality is computed inside clusters of the sample,
with at most ``NEIGHBOUR_CAP`` reference rows per cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_CLUSTERS",
    "SAMPLE_CAP",
    "CoverPlan",
    "Projection",
    "assign_to_centroids",
    "fit_projection",
    "kmeans32",
    "typical_cover",
    "typicality",
]

#: k-means and typicality run on at most this many pool rows.
SAMPLE_CAP = 20_000
#: TypiClust's own cap: beyond a few hundred clusters k-means on a sample gets
#: slow and clusters get too small for a density estimate.
MAX_CLUSTERS = 500
#: Typicality = inverse mean distance to this many nearest neighbours (TypiClust's value).
TYPICALITY_NEIGHBOURS = 20
#: Reference rows per cluster for the typicality kNN (bounds memory to cap x cap).
NEIGHBOUR_CAP = 2_000
#: PCA directions are estimated from at most this many rows (plenty for 64 directions).
PCA_SAMPLE = 2_000
#: Rows per chunk when a product with all rows is needed.
CHUNK = 65_536


@dataclass(frozen=True)
class Projection:
    """A linear map onto the top principal directions: ``(x - mean) @ components``."""

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (D, d)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Project ``x`` (N, D) in chunks; returns float32 (N, d)."""
        x = np.asarray(x)
        out = np.empty((len(x), self.components.shape[1]), dtype=np.float32)
        for start in range(0, len(x), CHUNK):
            block = np.asarray(x[start : start + CHUNK], dtype=np.float32)
            out[start : start + len(block)] = (block - self.mean) @ self.components
        return out


def _check_embeddings(x: np.ndarray, name: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} has {x.shape[1]} columns, expected {dim}")
    if x.dtype.kind != "f":
        raise ValueError(f"{name} must be floating point, got {x.dtype}")
    return x


def fit_projection(x: np.ndarray, rng: np.random.Generator, *, dim: int = 64, sample: int = PCA_SAMPLE) -> Projection:
    """PCA on a random sample of at most ``sample`` rows of ``x`` (N, D).

    ``dim`` is clamped to ``min(D, rows)``.  Distances between images change
    little (the discarded directions carry little variance) and every later
    distance computation gets ``D / dim`` times cheaper.
    """
    x = _check_embeddings(x, "embeddings")
    if len(x) == 0:
        raise ValueError("cannot fit a projection on no rows")
    rows = np.sort(rng.choice(len(x), size=min(sample, len(x)), replace=False))
    s = np.asarray(x[rows], dtype=np.float32)
    mean = s.mean(axis=0)
    dim = int(min(dim, s.shape[1], len(s)))
    # Randomised SVD (Halko et al. 2011, two power iterations): only the top `dim` directions
    # are needed, and a full SVD or eigendecomposition of the 1,280-d scatter matrix cost
    # 20 s and 2.7 s of CPU on a busy 2-core machine, against a fraction of a second.
    centred = s - mean
    y = centred @ rng.standard_normal((s.shape[1], dim + 10)).astype(np.float32)
    for _ in range(2):
        y = centred @ (centred.T @ np.linalg.qr(y)[0])
    basis = np.linalg.qr(y)[0]
    _, _, vt = np.linalg.svd(basis.T @ centred, full_matrices=False)
    return Projection(mean=mean, components=np.ascontiguousarray(vt[:dim].T, dtype=np.float32))


def kmeans32(x: np.ndarray, k: int, rng: np.random.Generator, *, n_iter: int = 20) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding in float32; returns the centroids (k, d).

    ``strategies.selection.kmeans`` does the same in float64 with a Python loop per
    cluster; at a few hundred clusters over 20,000 rows this one is several
    times faster, which the queue's latency needs.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    x_sq = (x * x).sum(1)
    centres = np.empty((k, x.shape[1]), dtype=np.float32)
    first = int(rng.integers(n))
    centres[0] = x[first]
    d2 = np.maximum(x_sq - 2.0 * x @ x[first] + x_sq[first], 0.0)
    for j in range(1, k):
        total = float(d2.sum())
        nxt = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centres[j] = x[nxt]
        d2 = np.minimum(d2, np.maximum(x_sq - 2.0 * x @ x[nxt] + x_sq[nxt], 0.0))
    assign = np.full(n, -1, dtype=np.int64)
    for _ in range(n_iter):
        new, _ = assign_to_centroids(x, centres)
        if np.array_equal(new, assign):
            break
        assign = new
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, x)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


def assign_to_centroids(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of every row, in chunks.

    Returns
    -------
    assign : int64 (N,)
    sq_dist : float32 (N,), squared distance to that centroid
    """
    c = np.asarray(centroids, dtype=np.float32)
    c_sq = (c * c).sum(1)
    assign = np.empty(len(x), dtype=np.int64)
    dist = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), CHUNK):
        b = np.asarray(x[start : start + CHUNK], dtype=np.float32)
        d = (b * b).sum(1)[:, None] - 2.0 * b @ c.T + c_sq[None, :]
        a = np.argmin(d, axis=1)
        assign[start : start + len(b)] = a
        dist[start : start + len(b)] = np.maximum(d[np.arange(len(b)), a], 0.0)
    return assign, dist


def typicality(x: np.ndarray, rng: np.random.Generator, *, neighbours: int = TYPICALITY_NEIGHBOURS) -> np.ndarray:
    """Inverse mean Euclidean distance to the ``neighbours`` nearest other rows of ``x``.

    ``x`` is one cluster (n, d).  With more than ``NEIGHBOUR_CAP`` rows the
    neighbours are searched among a random ``NEIGHBOUR_CAP`` of them.  A
    single row (no neighbour) gets typicality ``inf``: it is its cluster.

    Returns float64 (n,), higher = more typical.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n <= 1:
        return np.full(n, np.inf)
    ref_idx = np.arange(n) if n <= NEIGHBOUR_CAP else np.sort(rng.choice(n, NEIGHBOUR_CAP, replace=False))
    ref = x[ref_idx]
    k = min(neighbours, len(ref) - 1)
    out = np.empty(n)
    ref_sq = (ref * ref).sum(1)
    for start in range(0, n, NEIGHBOUR_CAP):
        b = x[start : start + NEIGHBOUR_CAP]
        d = np.sqrt(np.maximum((b * b).sum(1)[:, None] - 2.0 * b @ ref.T + ref_sq[None, :], 0.0))
        # A row never counts as its own neighbour.
        rows = np.arange(start, start + len(b))
        own = np.searchsorted(ref_idx, rows)
        hit = (own < len(ref_idx)) & (ref_idx[np.minimum(own, len(ref_idx) - 1)] == rows)
        d[np.flatnonzero(hit), own[hit]] = np.inf
        near = np.partition(d, k - 1, axis=1)[:, :k]
        out[start : start + len(b)] = 1.0 / (near.mean(axis=1) + 1e-12)
    return out


@dataclass(frozen=True)
class CoverPlan:
    """Result of :func:`typical_cover`.

    Attributes
    ----------
    scores : float64 (N,)
        Priority of every pool row, higher = sooner.  The most typical image of
        each uncovered cluster comes first (largest cluster first), then the
        second most typical of each, and so on; a cluster's labeled images
        count as its first picks, so covered clusters come later.
    cluster : int64 (N,)
        Cluster of every pool row.
    cluster_sizes : int64 (K,)
        Pool rows per cluster (estimated from the sample when N > SAMPLE_CAP).
    labeled_per_cluster : int64 (K,)
    rank : int64 (N,)
        Rank of the row inside its cluster (0 = most typical).
    """

    scores: np.ndarray
    cluster: np.ndarray
    cluster_sizes: np.ndarray
    labeled_per_cluster: np.ndarray
    rank: np.ndarray

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_sizes)


def typical_cover(
    pool: np.ndarray,
    labeled: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    max_clusters: int = MAX_CLUSTERS,
    sample: int = SAMPLE_CAP,
) -> CoverPlan:
    """TypiClust priorities over the pool.

    Parameters
    ----------
    pool : float (N, d)
        Unlabeled pool embeddings, already projected (see :func:`fit_projection`).
    labeled : float (L, d)
        Labeled embeddings in the same space (L may be 0).
    k : int
        Batch size; the pool is clustered into ``min(L + k, max_clusters, rows)``
        clusters so that at least ``k`` of them are uncovered when L + k fits.
    rng : numpy.random.Generator

    Returns
    -------
    CoverPlan
    """
    pool = _check_embeddings(pool, "pool")
    labeled = _check_embeddings(labeled, "labeled", pool.shape[1])
    n = len(pool)
    if n == 0:
        raise ValueError("the pool is empty")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    sample_idx = np.arange(n) if n <= sample else np.sort(rng.choice(n, size=sample, replace=False))
    fit_rows = np.concatenate([np.asarray(pool[sample_idx], dtype=np.float32), np.asarray(labeled, dtype=np.float32)])
    n_clusters = int(min(len(labeled) + k, max_clusters, len(fit_rows)))
    centroids = kmeans32(fit_rows, n_clusters, rng)
    cluster, sq_dist = assign_to_centroids(pool, centroids)
    labeled_cluster = assign_to_centroids(labeled, centroids)[0] if len(labeled) else np.zeros(0, np.int64)
    labeled_per_cluster = np.bincount(labeled_cluster, minlength=n_clusters)
    sample_counts = np.bincount(cluster[sample_idx], minlength=n_clusters)
    cluster_sizes = np.rint(sample_counts * (n / len(sample_idx))).astype(np.int64)

    # Within-cluster order: sampled rows by typicality, then the unsampled
    # rows (only when N > sample) by closeness to the centroid.
    typ = np.full(n, -np.inf)
    in_sample = np.zeros(n, dtype=bool)
    in_sample[sample_idx] = True
    sampled_cluster = cluster[sample_idx]
    by_cluster = np.argsort(sampled_cluster, kind="stable")
    bounds = np.searchsorted(sampled_cluster[by_cluster], np.arange(n_clusters + 1))
    for j in range(n_clusters):
        members = sample_idx[by_cluster[bounds[j] : bounds[j + 1]]]
        if len(members):
            typ[members] = typicality(np.asarray(pool[members]), rng)
    # Sort key: cluster, then sampled first, then typicality desc, then centroid distance asc.
    order = np.lexsort((sq_dist, -np.where(in_sample, typ, 0.0), ~in_sample, cluster))
    starts = np.searchsorted(cluster[order], np.arange(n_clusters))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[cluster[order]]

    # Level = how many picks this cluster would already have had; the size term
    # (< 0.5) orders clusters of the same level, largest first.
    level = rank + labeled_per_cluster[cluster]
    size_term = 0.5 * cluster_sizes[cluster] / max(int(cluster_sizes.max()), 1)
    scores = -level.astype(np.float64) + size_term
    return CoverPlan(
        scores=scores,
        cluster=cluster,
        cluster_sizes=cluster_sizes,
        labeled_per_cluster=labeled_per_cluster,
        rank=rank,
    )
