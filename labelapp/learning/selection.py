"""The batch planner: which pool images to hand out next, and why.

:func:`plan_batch` is the single entry point the app calls with cached
embeddings (from the pretrained backbone) and, once a head exists, its
class probabilities over the pool.  Two phases:

* ``"cover"`` while the model is weak: TypiClust's typical, covering picks
  (:mod:`labelapp.learning.coverage`).  Uncertainty of a head trained on a
  handful of labels is mostly noise; covering the pool's modes is what pays.
* ``"uncertainty"`` once it is not: the smallest margins (top-two probability
  gap), optionally weighted towards weak classes, spread out by k-means over
  a shortlist so a batch is not a cluster of near-duplicates.

The switch (:func:`choose_phase`) is *labels per class*: uncertainty starts
once the labeled set holds at least ``UNCERTAINTY_FROM_LABELS_PER_CLASS``
labels per class on average, i.e. TypiClust only in its own low-budget regime
(a budget of the order of the number of classes).  Evidence
(``benchmarks/bench_embedding_strategies.py``, MobileNetV2 embeddings, 5
seeds, the same seeds for every strategy): after a first covering batch,
margin + diversity was above pure TypiClust at every budget from 40 to 400
labels on all three sets (digits, porch, generated shapes), by up to 0.06,
but for a tie at 40 on shapes (-0.001); a floor of 10 labels per class (the
value first chosen from 1-2 seeds) lost up to 0.05 against switching at once,
and a floor of 5 up to 0.03.
Floors of 0 and 2 gave identical picks there (the first batch already holds
2 or more per class); 2 keeps covering picks for a first model trained on
fewer labels than classes.

Whatever the phase, a batch never floods one predicted class: at most
``ceil(BALANCE_SHARE * k / classes_predicted)`` picks per predicted class
(:func:`balanced_take`), topped up past the cap only if the pool has nothing
else.  Every pick carries a reason a person can read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labelapp.learning import coverage
from labelapp.learning.strategies.selection import kmeans
from labelapp.learning.strategies.validation import check_probs

__all__ = [
    "BALANCE_SHARE",
    "CLASS_EVIDENCE_FLOOR",
    "UNCERTAINTY_FROM_LABELS_PER_CLASS",
    "BatchPlan",
    "balanced_take",
    "choose_phase",
    "plan_batch",
    "weak_class_weights",
]

#: Mean labeled images per class from which margin sampling beats covering
#: picks (measured, see the module docstring).
UNCERTAINTY_FROM_LABELS_PER_CLASS = 2.0
#: A predicted class may take at most this multiple of its fair share of a batch.
BALANCE_SHARE = 2.0
#: Per-class validation images needed before a class's recall may steer sampling:
#: with 20 images a recall's 95 % interval is still about +-0.2; below that the
#: weighting chases noise (the class bursts of issue 12 came from 0-5 images).
CLASS_EVIDENCE_FLOOR = 20
#: Shortlist for the uncertainty phase: this many times the batch size.
SHORTLIST_FACTOR = 5
#: Dimensions kept for distance computations (principal directions).
PROJECTION_DIM = 64


@dataclass(frozen=True)
class BatchPlan:
    """What :func:`plan_batch` returns.

    Attributes
    ----------
    order : int64 (k,)
        Indices into the pool, best first.
    reasons : list of str (k,)
        Why each image in ``order`` was chosen, e.g. ``"typical of cluster 12
        of 40 (85 images, none labeled)"`` or ``"margin 0.04 (dog vs cat)"``.
    phase : str
        ``"cover"`` or ``"uncertainty"``.
    scores : float64 (N,)
        Priority of every pool image, higher = sooner; ``order`` is exactly its
        top ``k`` (so the app can hand out images past the batch in score order).
    """

    order: np.ndarray
    reasons: list[str]
    phase: str
    scores: np.ndarray


def choose_phase(labeled_classes: np.ndarray, num_classes: int, has_model: bool) -> str:
    """``"uncertainty"`` once there is a model and ``L / C >= UNCERTAINTY_FROM_LABELS_PER_CLASS``."""
    if not has_model:
        return "cover"
    per_class = len(labeled_classes) / max(num_classes, 1)
    return "uncertainty" if per_class >= UNCERTAINTY_FROM_LABELS_PER_CLASS else "cover"


def weak_class_weights(
    class_recall: np.ndarray | None, class_support: np.ndarray | None, num_classes: int
) -> np.ndarray | None:
    """Per-class sampling weights from honest validation recall, or None.

    ``w_c = 1 + max(0, mean_recall - recall_c)`` for classes with at least
    ``CLASS_EVIDENCE_FLOOR`` validation images, 1 for the others; the mean is
    over the classes with enough evidence.  None when fewer than two classes
    have enough evidence (nothing to compare).
    """
    if class_recall is None or class_support is None:
        return None
    recall = np.asarray(class_recall, dtype=np.float64)
    support = np.asarray(class_support)
    if recall.shape != (num_classes,) or support.shape != (num_classes,):
        raise ValueError(f"class_recall and class_support must have shape ({num_classes},)")
    enough = (support >= CLASS_EVIDENCE_FLOOR) & np.isfinite(recall)
    if enough.sum() < 2:
        return None
    if recall[enough].min() < 0 or recall[enough].max() > 1:
        raise ValueError("class_recall must lie in [0, 1]")
    mean = recall[enough].mean()
    return np.where(enough, 1.0 + np.maximum(0.0, mean - np.nan_to_num(recall)), 1.0)


def balanced_take(priority: np.ndarray, groups: np.ndarray | None, k: int, n_groups: int) -> np.ndarray:
    """The first ``k`` of ``priority`` (indices, best first) with at most
    ``ceil(BALANCE_SHARE * k / n_groups)`` per group; if the cap leaves the
    batch short, the best capped-out items fill it.

    ``groups`` (per pool index) None means no grouping: plain first ``k``.
    """
    if groups is None or n_groups <= 1:
        return priority[:k]
    cap = max(1, math.ceil(BALANCE_SHARE * k / n_groups))
    g = groups[priority]
    # Position of each item among the items of its group, in priority order.
    order_in_group = np.empty(len(priority), dtype=np.int64)
    sort = np.argsort(g, kind="stable")
    starts = np.searchsorted(g[sort], g[sort])
    order_in_group[sort] = np.arange(len(priority)) - starts
    ok = priority[order_in_group < cap]
    if len(ok) >= k:
        return ok[:k]
    return np.concatenate([ok, priority[order_in_group >= cap][: k - len(ok)]])


def _class_name(c: int, names: Sequence[str] | None) -> str:
    return str(names[c]) if names is not None else f"class {c}"


def _cover(
    pool_x: np.ndarray, lab_x: np.ndarray, k: int, rng: np.random.Generator, pred: np.ndarray | None, num_classes: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    plan = coverage.typical_cover(pool_x, lab_x, k, rng)
    # Shuffle ties, then order by score; only a short head is needed.
    head = min(len(pool_x), k * SHORTLIST_FACTOR + k)
    tie = rng.random(len(pool_x))
    priority = np.lexsort((tie, -plan.scores))[:head]
    pick = balanced_take(priority, pred, k, _classes_present(pred, num_classes))
    reasons = []
    for i in pick:
        j = int(plan.cluster[i])
        lab = int(plan.labeled_per_cluster[j])
        labeled = "none labeled" if lab == 0 else f"{lab} labeled"
        nth = "typical" if plan.rank[i] == 0 else f"typical (#{plan.rank[i] + 1})"
        reasons.append(f"{nth} of cluster {j + 1} of {plan.n_clusters} ({plan.cluster_sizes[j]} images, {labeled})")
    return pick, plan.scores, reasons


def _classes_present(pred: np.ndarray | None, num_classes: int) -> int:
    if pred is None:
        return 1
    return int(np.count_nonzero(np.bincount(pred, minlength=num_classes)))


def _uncertainty(
    pool_x: np.ndarray,
    probs: np.ndarray,
    k: int,
    rng: np.random.Generator,
    weights: np.ndarray | None,
    names: Sequence[str] | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    n, c = probs.shape
    top2 = np.argsort(probs, axis=1)[:, -2:]
    p1 = probs[np.arange(n), top2[:, 1]]
    p2 = probs[np.arange(n), top2[:, 0]]
    gap = p1 - p2
    score = 1.0 - gap
    if weights is not None:
        score = score * (probs @ weights)
    tie = rng.random(n)
    short = np.lexsort((tie, -score))[: min(n, k * SHORTLIST_FACTOR)]
    pred = top2[:, 1]
    # Diversity: k-means over the shortlist; the most uncertain member of each
    # cluster first (best first), then the rest of the shortlist by score.
    if len(short) > k:
        _, assign = kmeans(np.asarray(pool_x[short], dtype=np.float64), k, rng)
        # ``short`` is sorted by score, so a cluster's first member is its most uncertain.
        _, first = np.unique(assign, return_index=True)
        reps = short[np.sort(first)]
        rest = short[~np.isin(short, reps)]
        priority = np.concatenate([reps, rest])
    else:
        priority = short
    pick = balanced_take(priority, pred, k, _classes_present(pred, c))
    reasons = []
    for i in pick:
        a, b = _class_name(int(top2[i, 1]), names), _class_name(int(top2[i, 0]), names)
        why = f"margin {gap[i]:.2f} ({a} vs {b})"
        if weights is not None and weights[top2[i, 1]] > 1.0:
            why += f", {a} is a weak class"
        reasons.append(why)
    return pick, score, reasons


def plan_batch(
    pool_embeddings: np.ndarray,
    labeled_embeddings: np.ndarray,
    labeled_classes: np.ndarray,
    probs: np.ndarray | None,
    k: int,
    rng: np.random.Generator,
    *,
    num_classes: int,
    class_recall: np.ndarray | None = None,
    class_support: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> BatchPlan:
    """Plan the next batch of ``k`` pool images.

    Parameters
    ----------
    pool_embeddings : float16/float32 (N, D)
        Embeddings of the unlabeled pool (may be a memory map; read in chunks).
    labeled_embeddings : float (L, D)
        Embeddings of the labeled training images (L may be 0).
    labeled_classes : int64 (L,)
        Their classes in ``[0, num_classes)``.
    probs : float (N, C) or None
        The current head's class probabilities over the pool; None before the
        first model.  Rows sum to 1.
    k : int
        Batch size, ``>= 1``; clamped to N.
    rng : numpy.random.Generator
        All randomness (k-means seeding, samples, ties).
    num_classes : int
        C, ``>= 2``.
    class_recall, class_support : float (C,), int (C,), optional
        Per-class recall on the *random* validation sample and how many
        validation images each class has; a class steers sampling only with
        ``>= CLASS_EVIDENCE_FLOOR`` images (:func:`weak_class_weights`).
    class_names : sequence of str, optional
        Used in the reasons; ``"class 3"`` otherwise.

    Returns
    -------
    BatchPlan

    Cost: O(N * (D + clusters)) time and O(N) extra memory besides the
    projected pool (N x 64 float32); k-means and kNN run on at most
    ``coverage.SAMPLE_CAP`` rows.
    """
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    pool = coverage._check_embeddings(pool_embeddings, "pool_embeddings")
    n, d = pool.shape
    if n == 0:
        raise ValueError("the pool is empty")
    labeled = np.asarray(labeled_embeddings)
    if labeled.size == 0:
        labeled = np.zeros((0, d), dtype=np.float32)
    labeled = coverage._check_embeddings(labeled, "labeled_embeddings", d)
    lab_y = np.asarray(labeled_classes).reshape(-1)
    if len(lab_y) != len(labeled):
        raise ValueError(f"labeled_classes has {len(lab_y)} entries for {len(labeled)} labeled embeddings")
    if lab_y.size and (lab_y.dtype.kind not in "iu" or lab_y.min() < 0 or lab_y.max() >= num_classes):
        raise ValueError(f"labeled_classes must be integers in [0, {num_classes})")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), n)
    p = None
    if probs is not None:
        p = check_probs(probs)
        if p.shape != (n, num_classes):
            raise ValueError(f"probs has shape {p.shape}, expected ({n}, {num_classes})")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"class_names has {len(class_names)} names for {num_classes} classes")

    projection = coverage.fit_projection(pool, rng, dim=PROJECTION_DIM)
    pool_x = projection(pool)
    lab_x = projection(labeled)
    phase = choose_phase(lab_y, num_classes, p is not None)
    if phase == "cover":
        pred = None if p is None else p.argmax(axis=1)
        pick, scores, reasons = _cover(pool_x, lab_x, k, rng, pred, num_classes)
    else:
        weights = weak_class_weights(class_recall, class_support, num_classes)
        pick, scores, reasons = _uncertainty(pool_x, p, k, rng, weights, class_names)
    # The batch (after diversity and the class cap) goes to the top of the
    # priority, best first, so ``order`` is exactly the top-k of ``scores``.
    scores = np.asarray(scores, dtype=np.float64).copy()
    top = scores.max() if n else 0.0
    scores[pick] = top + 1.0 + (k - np.arange(len(pick)))
    return BatchPlan(order=pick.astype(np.int64), reasons=reasons, phase=phase, scores=scores)
