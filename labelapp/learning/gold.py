"""Scoring an annotator's answer on a gold item against its true label (pure NumPy)."""

from __future__ import annotations

import numpy as np

from .consensus import compare_boxes

__all__ = ["box_f1", "class_accuracy"]


def class_accuracy(true_class: int, answer_class: int | None) -> float:
    """1.0 when the answer names the true class, else 0.0."""
    return 1.0 if answer_class is not None and int(answer_class) == int(true_class) else 0.0


def box_f1(
    true_boxes: np.ndarray,
    true_labels: np.ndarray,
    answer_boxes: np.ndarray,
    answer_labels: np.ndarray,
    *,
    iou_threshold: float = 0.5,
) -> float:
    """F1 of the answer's boxes against the true ones: a true box is found by at most one answer
    box of its class overlapping it by at least ``iou_threshold`` (greedy, highest IoU first).

    Parameters
    ----------
    true_boxes, answer_boxes : np.ndarray
        ``(n, 4)`` and ``(m, 4)`` xyxy.
    true_labels, answer_labels : np.ndarray
        ``(n,)`` and ``(m,)`` class indices.

    Returns
    -------
    float
        ``2 · matched / (n + m)``; 1.0 when both are empty (nothing to find, nothing drawn).
    """
    comparison = compare_boxes(true_boxes, true_labels, answer_boxes, answer_labels, iou_threshold=iou_threshold)
    n = len(comparison.pairs) + len(comparison.unmatched_first)
    m = len(comparison.pairs) + len(comparison.unmatched_second)
    return 1.0 if n + m == 0 else 2 * len(comparison.pairs) / (n + m)
