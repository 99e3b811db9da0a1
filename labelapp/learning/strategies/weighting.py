"""Class weighting: scale scores towards images of the classes the model is weak on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelapp.learning.strategies.uncertainty import DETECTION_FLOOR
from labelapp.learning.strategies.validation import check_probs, check_scores, detection_fields


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
    s = check_scores(scores)
    w = np.asarray(class_weights, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("class_weights must be a finite non-negative array of shape (C,)")
    if (probs is None) == (detections is None):
        raise ValueError("give exactly one of probs or detections")
    if probs is not None:
        p = check_probs(probs)
        if p.shape != (len(s), len(w)):
            raise ValueError(f"probs shape {p.shape} does not match (N={len(s)}, C={len(w)})")
        return s * (p @ w)
    if len(detections) != len(s):
        raise ValueError("detections and scores differ in length")
    img_w = np.empty(len(s))
    for i, det in enumerate(detections):
        sc, lab = detection_fields(det)
        lab = lab[sc >= floor]
        if lab.size and (lab.min() < 0 or lab.max() >= len(w)):
            raise ValueError("detection label outside class_weights")
        img_w[i] = w[lab].max() if lab.size else w.max()
    return s * img_w
