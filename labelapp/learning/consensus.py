"""Comparing two independent labels of one image (consensus), pure NumPy.

Two labels agree when a second annotator, who did not see the first label, would leave the
training set unchanged: the same class (classification), or every box of each label matched
one-to-one by a box of the same class overlapping it by at least the IoU threshold (detection).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BoxComparison", "box_iou", "classes_agree", "compare_boxes"]


def classes_agree(first_class: int | None, second_class: int | None) -> bool:
    """True when both labels name the same class (a missing class agrees with nothing)."""
    if first_class is None or second_class is None:
        return False
    return int(first_class) == int(second_class)


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union.

    Parameters
    ----------
    boxes_a, boxes_b : np.ndarray
        ``(n, 4)`` and ``(m, 4)`` xyxy boxes.

    Returns
    -------
    np.ndarray
        ``(n, m)``; 0 where a box has no area.
    """
    boxes_a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    boxes_b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(boxes_a[:, None, 0], boxes_b[None, :, 0])
    y1 = np.maximum(boxes_a[:, None, 1], boxes_b[None, :, 1])
    x2 = np.minimum(boxes_a[:, None, 2], boxes_b[None, :, 2])
    y2 = np.minimum(boxes_a[:, None, 3], boxes_b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = np.clip(boxes_a[:, 2] - boxes_a[:, 0], 0, None) * np.clip(boxes_a[:, 3] - boxes_a[:, 1], 0, None)
    area_b = np.clip(boxes_b[:, 2] - boxes_b[:, 0], 0, None) * np.clip(boxes_b[:, 3] - boxes_b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass(frozen=True)
class BoxComparison:
    """The outcome of matching two box labels of one image.

    ``pairs`` are ``(i, j)`` index pairs (first label's box i ↔ second label's box j);
    ``unmatched_first`` / ``unmatched_second`` the indices left over on each side."""

    pairs: tuple[tuple[int, int], ...]
    unmatched_first: tuple[int, ...]
    unmatched_second: tuple[int, ...]

    @property
    def agree(self) -> bool:
        return not self.unmatched_first and not self.unmatched_second


def compare_boxes(
    first_boxes: np.ndarray,
    first_labels: np.ndarray,
    second_boxes: np.ndarray,
    second_labels: np.ndarray,
    *,
    iou_threshold: float = 0.5,
) -> BoxComparison:
    """Match two box labels one-to-one, greedily by IoU (highest first), same class only.

    Parameters
    ----------
    first_boxes, second_boxes : np.ndarray
        ``(n, 4)`` and ``(m, 4)`` xyxy boxes.
    first_labels, second_labels : np.ndarray
        ``(n,)`` and ``(m,)`` class ids.
    iou_threshold : float
        A pair needs at least this IoU, in (0, 1].

    Returns
    -------
    BoxComparison
        Agreement means no box is unmatched on either side (two empty labels agree).
    """
    first_boxes = np.asarray(first_boxes, dtype=np.float64).reshape(-1, 4)
    second_boxes = np.asarray(second_boxes, dtype=np.float64).reshape(-1, 4)
    first_labels = np.asarray(first_labels).reshape(-1)
    second_labels = np.asarray(second_labels).reshape(-1)
    if len(first_boxes) != len(first_labels) or len(second_boxes) != len(second_labels):
        raise ValueError("each box needs one label")
    if not 0 < iou_threshold <= 1:
        raise ValueError("iou_threshold must be in (0, 1]")
    n, m = len(first_boxes), len(second_boxes)
    pairs: list[tuple[int, int]] = []
    if n and m:
        iou = box_iou(first_boxes, second_boxes)
        iou[first_labels[:, None] != second_labels[None, :]] = 0.0
        used_first: set[int] = set()
        used_second: set[int] = set()
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            i, j = divmod(int(flat), m)
            if iou[i, j] < iou_threshold:
                break
            if i in used_first or j in used_second:
                continue
            used_first.add(i)
            used_second.add(j)
            pairs.append((i, j))
    matched_first = {i for i, _ in pairs}
    matched_second = {j for _, j in pairs}
    return BoxComparison(
        pairs=tuple(pairs),
        unmatched_first=tuple(i for i in range(n) if i not in matched_first),
        unmatched_second=tuple(j for j in range(m) if j not in matched_second),
    )
