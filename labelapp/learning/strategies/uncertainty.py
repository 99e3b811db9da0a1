"""Uncertainty scores: per image, how unsure the model is (higher = label sooner).

Classification scores take ``probs`` (N, C); detection scores take per-image boxes.
``random_scores`` is the passive-learning baseline they are measured against."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelapp.learning.strategies.validation import check_probs, check_rng, detection_fields

# Boxes below this score are treated as background noise, not as "the model saw
# something": heatmap detectors emit many near-zero peaks.
DETECTION_FLOOR = 0.05


def random_scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random scores: the passive-learning baseline.

    Returns
    -------
    ndarray of float64, shape (n,), values in ``[0, 1)``.
    """
    if int(n) != n or n < 0:
        raise ValueError("n must be a non-negative integer")
    return check_rng(rng).random(int(n))


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
    p = check_probs(probs)
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
    p = check_probs(probs)
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
    p = check_probs(probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0), axis=1)
    h = np.maximum(h, 0.0)
    if normalize:
        h = h / np.log(p.shape[1])
    return h


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
        s, _ = detection_fields(det)
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
