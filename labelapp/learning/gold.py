"""Scoring an annotator's answer on a gold item against its true label (pure NumPy)."""

from __future__ import annotations

import numpy as np

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
    true_boxes = np.asarray(true_boxes, dtype=np.float64).reshape(-1, 4)
    answer_boxes = np.asarray(answer_boxes, dtype=np.float64).reshape(-1, 4)
    true_labels = np.asarray(true_labels).reshape(-1)
    answer_labels = np.asarray(answer_labels).reshape(-1)
    if len(true_boxes) != len(true_labels) or len(answer_boxes) != len(answer_labels):
        raise ValueError("each box needs one label")
    if not 0 < iou_threshold <= 1:
        raise ValueError("iou_threshold must be in (0, 1]")
    n, m = len(true_boxes), len(answer_boxes)
    if n + m == 0:
        return 1.0
    if n == 0 or m == 0:
        return 0.0
    x1 = np.maximum(true_boxes[:, None, 0], answer_boxes[None, :, 0])
    y1 = np.maximum(true_boxes[:, None, 1], answer_boxes[None, :, 1])
    x2 = np.minimum(true_boxes[:, None, 2], answer_boxes[None, :, 2])
    y2 = np.minimum(true_boxes[:, None, 3], answer_boxes[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_t = (true_boxes[:, 2] - true_boxes[:, 0]) * (true_boxes[:, 3] - true_boxes[:, 1])
    area_a = (answer_boxes[:, 2] - answer_boxes[:, 0]) * (answer_boxes[:, 3] - answer_boxes[:, 1])
    iou = inter / np.clip(area_t[:, None] + area_a[None, :] - inter, 1e-12, None)
    iou[true_labels[:, None] != answer_labels[None, :]] = 0.0
    matched = 0
    used_t, used_a = set(), set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), m)
        if iou[i, j] < iou_threshold:
            break
        if i in used_t or j in used_a:
            continue
        used_t.add(i)
        used_a.add(j)
        matched += 1
    return 2 * matched / (n + m)
