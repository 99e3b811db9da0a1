"""Active-learning strategies: pure functions from model outputs to scores.

Every scoring function returns ``scores`` of shape ``(N,)`` where a **higher
score means more useful to label**. Selection helpers turn scores (and
optionally embeddings) into indices. Randomness always comes from an explicit
``rng: np.random.Generator``.

Default strategy
----------------
``DEFAULT_STRATEGY`` is the winner of ``benchmarks/bench_strategies.py``
(run 2026-11-24, 5 seeds, ~1m45s CPU on 2 cores). Simulated pool-based
active learning with a NumPy softmax regression on fixed image features,
20 initial labels, then batches; 24 combinations of scoring (random,
least_confident, margin, entropy) x diversity (none, k-center, k-means
medoids, shortlist 5k) x first batch (random, :func:`cold_start`).

* porch: porch scenes (64 px) labeled with their dominant class or
  "nothing" (4 classes, 66 % majority), pool 2000, test 1000, batches of 40
  up to 620 labels; full-pool accuracy 0.751, target 95 % = 0.713.
* clusters: 12 overlapping Gaussian modes of unequal weight, 4 classes,
  pool 2000, batches of 20 up to 320 labels; full-pool accuracy 0.883.

Labels to reach 95 % of full-pool accuracy (mean curve over seeds; ">" =
not reached) and area under the learning curve (mean accuracy over budgets)::

                                       porch            clusters
    scoring          diversity cold  labels  AULC     labels  AULC
    margin           kmeans    yes      380  0.670       120  0.843   <- default
    least_confident  kmeans    yes      420  0.672       120  0.842
    margin           -         yes      500  0.657       120  0.842
    margin           kmeans    no       460  0.662       140  0.837
    margin           -         no       500  0.655       140  0.832
    entropy          -         no       540  0.647       220  0.812
    random           kmeans    yes     >620  0.647       180  0.833
    random           -         no      >620  0.638       180  0.827

Averaged over both data sets, margin + k-means diversity + cold start needs
0.62x the labels plain random sampling needs (unreached counted as one batch
past the end), the best of the 24; k-center diversity helps on the
low-dimensional clusters but hurts on the 280-D porch features (it chases
outliers); entropy is the weakest uncertainty score on both.

Detection (``--detection-only``; CenterNet detector from
``labelapp.learning.models`` at 64 px, 10 epochs per fit, porch pool 300,
test 100, 30 + 2 x 30 labels, 1 seed -- indicative only)::

    strategy                  mAP50@30  @60    @90    count MAE@90
    random                    0.000     0.163  0.197  1.11
    detection_mean            0.000     0.157  0.330  1.08   <- default
    detection_max             0.000     0.228  0.298  1.26
    detection_near_threshold  0.000     0.228  0.302  1.03

All three uncertainty variants beat random at 90 labels; the differences
between them are within what one seed can show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "StrategyConfig",
    "class_weights_from_ap",
    "cold_start",
    "detection_uncertainty",
    "entropy",
    "kmeans",
    "least_confident",
    "margin",
    "random_scores",
    "score_pool",
    "select_diverse",
    "select_top_k",
    "simple_image_features",
    "weighted_by_class",
]

# Boxes below this score are treated as background noise, not as "the model saw
# something": heatmap detectors emit many near-zero peaks.
DETECTION_FLOOR = 0.05


# --------------------------------------------------------------------------- validation


def _check_probs(probs: Any) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (N, C), got {p.shape}")
    if p.shape[1] < 2:
        raise ValueError("probs needs at least 2 classes")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs must be finite")
    if p.size and (p.min() < 0 or p.max() > 1 + 1e-6):
        raise ValueError("probs must lie in [0, 1]")
    if p.size and not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of probs must sum to 1")
    return p


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    return rng


def _check_scores(scores: Any) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (N,), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    return s


def _check_k(k: int, n: int) -> int:
    if int(k) != k or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return min(int(k), n)


# --------------------------------------------------------------------------- scoring


def random_scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random scores: the passive-learning baseline.

    Returns
    -------
    ndarray of float64, shape (n,), values in ``[0, 1)``.
    """
    if int(n) != n or n < 0:
        raise ValueError("n must be a non-negative integer")
    return _check_rng(rng).random(int(n))


def least_confident(probs: Any) -> np.ndarray:
    """``1 - max_c p(c)``.

    Parameters
    ----------
    probs : array-like, shape (N, C)
        Class probabilities, rows summing to 1, C >= 2.

    Returns
    -------
    ndarray of float64, shape (N,), values in ``[0, 1 - 1/C]``.
    """
    p = _check_probs(probs)
    return 1.0 - p.max(axis=1)


def margin(probs: Any) -> np.ndarray:
    """``1 - (p_1 - p_2)``, where ``p_1 >= p_2`` are the two largest probabilities.

    Parameters
    ----------
    probs : array-like, shape (N, C)
        Class probabilities, C >= 2.

    Returns
    -------
    ndarray of float64, shape (N,), values in ``[0, 1]``; 1 for a tie between
    the top two classes.
    """
    p = _check_probs(probs)
    top2 = np.partition(p, -2, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def entropy(probs: Any, *, normalize: bool = True) -> np.ndarray:
    """Shannon entropy of the predicted distribution (natural log).

    Parameters
    ----------
    probs : array-like, shape (N, C)
    normalize : bool, default True
        Divide by ``log(C)`` so scores lie in ``[0, 1]`` whatever the number of
        classes (ranking is unchanged; only the scale differs, which matters
        when scores are combined with class weights or compared across projects).

    Returns
    -------
    ndarray of float64, shape (N,); ``0 * log 0`` is taken as 0.
    """
    p = _check_probs(probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0), axis=1)
    h = np.maximum(h, 0.0)
    if normalize:
        h = h / np.log(p.shape[1])
    return h


def _det_fields(det: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(det, Mapping):
        s, lab = det["scores"], det["labels"]
    elif hasattr(det, "scores"):
        s, lab = det.scores, det.labels
    else:
        s, lab = det
    s = np.asarray(s, dtype=np.float64).reshape(-1)
    lab = np.asarray(lab).reshape(-1)
    if len(s) != len(lab):
        raise ValueError("detection scores and labels differ in length")
    if s.size and (not np.all(np.isfinite(s)) or s.min() < 0 or s.max() > 1):
        raise ValueError("detection scores must lie in [0, 1]")
    return s, lab.astype(np.int64)


def detection_uncertainty(
    detections: Sequence[Any],
    *,
    threshold: float = 0.3,
    aggregate: str = "mean",
    floor: float = DETECTION_FLOOR,
    empty_score: float = 0.6,
) -> np.ndarray:
    """Image scores from per-box confidences of a detector.

    Parameters
    ----------
    detections : sequence of length N
        Per image either ``(scores (k,), labels (k,))``, a dict with those keys,
        or an object with ``.scores`` / ``.labels`` (e.g. ``Detections``).
    threshold : float, default 0.3
        The detection threshold used for counting; ``near_threshold`` scores
        boxes by how close they are to it.
    aggregate : {"mean", "max", "near_threshold"}
        * ``"mean"``: mean over boxes of ``1 - |2s - 1|`` (1 at s = 0.5);
        * ``"max"``: max over boxes of ``1 - |2s - 1|``;
        * ``"near_threshold"``: max over boxes of
          ``1 - |s - threshold| / max(threshold, 1 - threshold)`` (1 at the
          threshold): the boxes whose inclusion in the count is in doubt.
    floor : float, default 0.05
        Boxes with ``s < floor`` are ignored as background.
    empty_score : float, default 0.6
        Score of an image with no box ``>= floor``: the model found nothing,
        which on a project whose images mostly contain objects often means a
        miss, so it ranks above a typical confident image but below genuinely
        ambiguous ones.

    Returns
    -------
    ndarray of float64, shape (N,), values in ``[0, 1]``.
    """
    if aggregate not in ("mean", "max", "near_threshold"):
        raise ValueError(f"unknown aggregate {aggregate!r}")
    if not 0 < threshold < 1:
        raise ValueError("threshold must be in (0, 1)")
    if not 0 <= empty_score <= 1:
        raise ValueError("empty_score must be in [0, 1]")
    out = np.empty(len(detections), dtype=np.float64)
    for i, det in enumerate(detections):
        s, _ = _det_fields(det)
        s = s[s >= floor]
        if s.size == 0:
            out[i] = empty_score
            continue
        if aggregate == "near_threshold":
            u = 1.0 - np.abs(s - threshold) / max(threshold, 1.0 - threshold)
            out[i] = float(u.max())
        else:
            u = 1.0 - np.abs(2.0 * s - 1.0)
            out[i] = float(u.mean() if aggregate == "mean" else u.max())
    return out


def class_weights_from_ap(per_class_ap: Any, floor: float = 0.1) -> np.ndarray:
    """Per-class weights that favour classes the model is weak on.

    ``w_c = max(1 - ap_c, floor)``; a class with ``NaN`` AP (no validation
    data, so nothing is known) gets the maximum weight 1.

    Parameters
    ----------
    per_class_ap : array-like, shape (C,)
        AP (or accuracy / F1) per class in ``[0, 1]``, NaN allowed.
    floor : float, default 0.1
        Minimum weight, so strong classes are down-weighted but never ignored.

    Returns
    -------
    ndarray of float64, shape (C,), values in ``[floor, 1]``.
    """
    ap = np.asarray(per_class_ap, dtype=np.float64)
    if ap.ndim != 1 or ap.size == 0:
        raise ValueError("per_class_ap must have shape (C,), C >= 1")
    if not 0 <= floor <= 1:
        raise ValueError("floor must be in [0, 1]")
    finite = ap[np.isfinite(ap)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError("per_class_ap must lie in [0, 1] (or be NaN)")
    w = np.where(np.isfinite(ap), np.maximum(1.0 - np.nan_to_num(ap), floor), 1.0)
    return w


def weighted_by_class(
    scores: Any,
    class_weights: Any,
    *,
    probs: Any = None,
    detections: Sequence[Any] | None = None,
    floor: float = DETECTION_FLOOR,
) -> np.ndarray:
    """Multiply scores by how much the image concerns weak classes.

    Exactly one of ``probs`` / ``detections`` must be given.

    * classification: ``w_i = sum_c probs[i, c] * class_weights[c]``, the
      expected weight under the model's prediction;
    * detection: ``w_i = max`` weight over the image's boxes with score
      ``>= floor``; images without such boxes get ``max(class_weights)``
      (a weak class is the most likely to have been missed).

    Parameters
    ----------
    scores : array-like, shape (N,)
    class_weights : array-like, shape (C,), non-negative
    probs : array-like, shape (N, C), optional
    detections : sequence of length N, optional
        Same forms as :func:`detection_uncertainty`.

    Returns
    -------
    ndarray of float64, shape (N,)
    """
    s = _check_scores(scores)
    w = np.asarray(class_weights, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("class_weights must be a finite non-negative array of shape (C,)")
    if (probs is None) == (detections is None):
        raise ValueError("give exactly one of probs or detections")
    if probs is not None:
        p = _check_probs(probs)
        if p.shape != (len(s), len(w)):
            raise ValueError(f"probs shape {p.shape} does not match (N={len(s)}, C={len(w)})")
        return s * (p @ w)
    if len(detections) != len(s):
        raise ValueError("detections and scores differ in length")
    img_w = np.empty(len(s))
    for i, det in enumerate(detections):
        sc, lab = _det_fields(det)
        lab = lab[sc >= floor]
        if lab.size and (lab.min() < 0 or lab.max() >= len(w)):
            raise ValueError("detection label outside class_weights")
        img_w[i] = w[lab].max() if lab.size else w.max()
    return s * img_w


# --------------------------------------------------------------------------- selection


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
    s = _check_scores(scores)
    k = _check_k(k, len(s))
    tie = _check_rng(rng).random(len(s))
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
    rng = _check_rng(rng)
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
    s = _check_scores(scores)
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) != len(s):
        raise ValueError(f"embeddings must have shape (N={len(s)}, D), got {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("embeddings must be finite")
    if int(shortlist_factor) < 1:
        raise ValueError("shortlist_factor must be >= 1")
    if method not in ("kcenter", "kmeans"):
        raise ValueError(f"unknown method {method!r}")
    rng = _check_rng(rng)
    k = _check_k(k, len(s))
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
    rng = _check_rng(rng)
    k = _check_k(k, len(f))
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


def _block_means(gray: np.ndarray, out: int) -> np.ndarray:
    """Area-average (N, H, W) down to (N, out, out) with uneven blocks allowed."""
    _, h, w = gray.shape
    rows = np.linspace(0, h, out + 1).astype(int)
    cols = np.linspace(0, w, out + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(gray, rows[:-1], axis=1), cols[:-1], axis=2)
    area = np.outer(np.diff(rows), np.diff(cols))
    return sums / area[None]


def simple_image_features(images: Any, *, bins: int = 8, thumb: int = 8, chunk: int = 256) -> np.ndarray:
    """Cheap model-free image features for cold start.

    Per image: a ``bins``-bin histogram per RGB channel (fractions of pixels)
    followed by a ``thumb x thumb`` area-averaged grayscale thumbnail in
    ``[0, 1]``.

    Parameters
    ----------
    images : array-like of uint8, shape (N, H, W, 3), H and W >= ``thumb``
    bins : int, default 8
        Histogram bins per channel.
    thumb : int, default 8
        Side of the grayscale thumbnail.
    chunk : int, default 256
        Images processed at a time (bounds memory; no effect on the result).

    Returns
    -------
    ndarray of float32, shape (N, 3 * bins + thumb * thumb)
    """
    im = np.asarray(images)
    if im.ndim != 4 or im.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {im.shape}")
    if im.dtype != np.uint8:
        raise ValueError("images must be uint8")
    n, h, w, _ = im.shape
    if h < thumb or w < thumb:
        raise ValueError(f"images must be at least {thumb}x{thumb}")
    if bins < 1 or bins > 256:
        raise ValueError("bins must be in [1, 256]")
    out = np.empty((n, 3 * bins + thumb * thumb), dtype=np.float32)
    # Chunks bound the temporary arrays (a pool may hold thousands of images).
    for start in range(0, n, chunk):
        block = im[start : start + chunk]
        m = len(block)
        offsets = (np.arange(m, dtype=np.int64) * bins)[:, None]
        for ch in range(3):
            idx = (block[..., ch].astype(np.int64) * bins) >> 8  # bin index in [0, bins)
            flat = idx.reshape(m, -1) + offsets
            hist = np.bincount(flat.ravel(), minlength=m * bins).reshape(m, bins)
            out[start : start + m, ch * bins : (ch + 1) * bins] = hist / (h * w)
        gray = block.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
        out[start : start + m, 3 * bins :] = _block_means(gray.astype(np.float64), thumb).reshape(m, -1)
    return out


# --------------------------------------------------------------------------- registry


def _det_mean(d: Sequence[Any], threshold: float) -> np.ndarray:
    return detection_uncertainty(d, threshold=threshold, aggregate="mean")


def _det_max(d: Sequence[Any], threshold: float) -> np.ndarray:
    return detection_uncertainty(d, threshold=threshold, aggregate="max")


def _det_near(d: Sequence[Any], threshold: float) -> np.ndarray:
    return detection_uncertainty(d, threshold=threshold, aggregate="near_threshold")


#: name -> (task, function). Classification functions take ``probs``; detection
#: functions take ``(detections, threshold)``. ``"random"`` serves both tasks.
STRATEGIES: dict[str, tuple[str, Callable[..., np.ndarray]]] = {
    "random": ("any", random_scores),
    "least_confident": ("classification", least_confident),
    "margin": ("classification", margin),
    "entropy": ("classification", entropy),
    "detection_mean": ("detection", _det_mean),
    "detection_max": ("detection", _det_max),
    "detection_near_threshold": ("detection", _det_near),
}


@dataclass(frozen=True)
class StrategyConfig:
    """A complete sampling recipe.

    Attributes
    ----------
    scoring : str
        Key of :data:`STRATEGIES` for classification projects.
    detection_scoring : str
        Key of :data:`STRATEGIES` for detection projects.
    diversity : str or None
        ``method`` for :func:`select_diverse`, or None for plain top-k.
    cold_start : bool
        Whether the first batch (no model yet) comes from :func:`cold_start`
        instead of random picks.
    """

    scoring: str
    detection_scoring: str
    diversity: str | None
    cold_start: bool


#: Winner of benchmarks/bench_strategies.py (module docstring). For detection the
#: run is small (1 seed): "detection_mean" had the best final mAP50 and every
#: uncertainty variant beat random, but the variants are not separated yet.
DEFAULT_STRATEGY = StrategyConfig(
    scoring="margin", detection_scoring="detection_mean", diversity="kmeans", cold_start=True
)


def score_pool(
    task: str,
    outputs: Any,
    *,
    strategy: str,
    class_weights: Any = None,
    threshold: float = 0.3,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Score a pool of model outputs: the single entry point for the app side.

    Parameters
    ----------
    task : {"classification", "detection"}
    outputs
        ``probs`` array (N, C) for classification; for detection a sequence of
        N objects with ``.scores`` and ``.labels`` (or dicts / tuples, see
        :func:`detection_uncertainty`).
    strategy : str
        A key of :data:`STRATEGIES` valid for ``task``.
    class_weights : array-like, shape (C,), optional
        From :func:`class_weights_from_ap`; applied with :func:`weighted_by_class`.
    threshold : float, default 0.3
        Detection threshold (detection strategies only).
    rng : numpy.random.Generator, optional
        Required for ``"random"``.

    Returns
    -------
    ndarray of float64, shape (N,), higher = label sooner.
    """
    if task not in ("classification", "detection"):
        raise ValueError(f"unknown task {task!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {sorted(STRATEGIES)}")
    kind, fn = STRATEGIES[strategy]
    if kind not in ("any", task):
        raise ValueError(f"strategy {strategy!r} is for {kind}, not {task}")
    n = len(outputs)
    if strategy == "random":
        if rng is None:
            raise ValueError("the random strategy needs rng")
        scores = random_scores(n, rng)
    elif task == "classification":
        scores = fn(outputs)
    else:
        scores = fn(outputs, threshold)
    if class_weights is not None:
        if task == "classification":
            scores = weighted_by_class(scores, class_weights, probs=outputs)
        else:
            scores = weighted_by_class(scores, class_weights, detections=outputs)
    return scores
