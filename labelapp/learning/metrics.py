"""Evaluation metrics for classification and detection, in plain NumPy.

Detection AP follows the COCO evaluation protocol (``pycocotools.cocoeval``) so
that numbers reported by labelapp can be compared with published ones:

* 101-point interpolated precision at recall thresholds ``0, 0.01, ..., 1``;
* IoU thresholds ``0.50, 0.55, ..., 0.95`` (``ap``) and ``0.50`` (``ap50``);
* per image and class, detections are sorted by score (stable) and truncated to
  ``max_dets`` (100); each detection is greedily matched to the unmatched ground
  truth box with the highest IoU ``>= t``; each ground truth box matches once;
* no crowd boxes and no area ranges (COCO's area range ``"all"``);
* IoU uses continuous coordinates without COCO's legacy ``+1`` (same as
  pycocotools' bbox IoU on ``xywh`` boxes).

A class without any ground-truth box has no defined AP (COCO stores ``-1``);
here its entry is ``NaN`` and it is excluded from ``map50`` / ``map``, exactly
like COCO's mean over ``precision > -1``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "IOU_THRESHOLDS",
    "RECALL_THRESHOLDS",
    "average_precision",
    "bootstrap_interval",
    "classification_report",
    "count_report",
    "detection_report",
    "iou_matrix",
    "wilson_interval",
]

# Same construction as pycocotools' Params so float thresholds compare identically.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)


def _as_labels(y: Any, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"{name} must hold integer class indices")
    return arr.astype(np.int64)


def classification_report(y_true: Any, y_pred: Any, num_classes: int) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)
        True and predicted class indices in ``[0, num_classes)``.
    num_classes : int
        Number of classes ``C`` (>= 1).

    Returns
    -------
    dict
        JSON-serialisable: ``accuracy`` (float, NaN if N == 0), ``precision``,
        ``recall``, ``f1`` (lists of C floats; 0.0 when undefined, i.e. no
        predictions / no support for that class, as scikit-learn's default),
        ``support`` (list of C ints), ``macro_f1`` (mean F1 over classes with
        support, NaN if none), ``confusion_matrix`` (C x C list of lists of ints,
        rows = true class, columns = predicted class), ``n`` (int).

    Raises
    ------
    ValueError
        On shape mismatch or labels outside ``[0, num_classes)``.
    """
    if int(num_classes) < 1:
        raise ValueError("num_classes must be >= 1")
    c = int(num_classes)
    yt = _as_labels(y_true, "y_true")
    yp = _as_labels(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {yt.shape} vs {yp.shape}")
    for arr, name in ((yt, "y_true"), (yp, "y_pred")):
        if arr.size and (arr.min() < 0 or arr.max() >= c):
            raise ValueError(f"{name} has labels outside [0, {c})")
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (yt, yp), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    n = int(yt.size)
    accuracy = float(tp.sum() / n) if n else float("nan")
    macro_f1 = float(f1[support > 0].mean()) if np.any(support > 0) else float("nan")
    return {
        "n": n,
        "accuracy": accuracy,
        "precision": [float(v) for v in precision],
        "recall": [float(v) for v in recall],
        "f1": [float(v) for v in f1],
        "support": [int(v) for v in support],
        "macro_f1": macro_f1,
        "confusion_matrix": confusion.tolist(),
    }


def _as_boxes(boxes: Any, name: str = "boxes") -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (k, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if np.any(arr[:, 2] < arr[:, 0]) or np.any(arr[:, 3] < arr[:, 1]):
        raise ValueError(f"{name} must be xyxy with x2 >= x1 and y2 >= y1")
    return arr


def iou_matrix(a: Any, b: Any) -> np.ndarray:
    """Pairwise intersection-over-union of two sets of ``xyxy`` boxes.

    Parameters
    ----------
    a : array-like, shape (n, 4)
    b : array-like, shape (m, 4)
        Boxes ``(x1, y1, x2, y2)`` in continuous pixel coordinates
        (area = (x2 - x1) * (y2 - y1), no ``+1``).

    Returns
    -------
    ndarray of float64, shape (n, m)
        IoU in ``[0, 1]``; 0 where the union is empty (two degenerate boxes).
    """
    a = _as_boxes(a, "a")
    b = _as_boxes(b, "b")
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return iou


def _match_image(gt_boxes: np.ndarray, dt_boxes: np.ndarray, iou_thresholds: np.ndarray) -> np.ndarray:
    """COCO greedy matching for one image and class.

    ``dt_boxes`` must already be sorted by descending score. Returns a boolean
    array (T, D): True where detection d is a true positive at threshold t.
    """
    t_count, d_count, g_count = len(iou_thresholds), len(dt_boxes), len(gt_boxes)
    matched = np.zeros((t_count, d_count), dtype=bool)
    if d_count == 0 or g_count == 0:
        return matched
    ious = iou_matrix(dt_boxes, gt_boxes)
    for ti, t in enumerate(iou_thresholds):
        gt_taken = np.zeros(g_count, dtype=bool)
        for di in range(d_count):
            # Best still-unmatched GT with IoU >= t; ties go to the later GT as in COCO.
            cand = np.where(gt_taken, -1.0, ious[di])
            best = g_count - 1 - int(np.argmax(cand[::-1]))
            if cand[best] >= min(t, 1 - 1e-10):
                gt_taken[best] = True
                matched[ti, di] = True
    return matched


def average_precision(tp: np.ndarray, scores: np.ndarray, num_gt: int) -> np.ndarray:
    """COCO 101-point interpolated AP from pooled detections of one class.

    Parameters
    ----------
    tp : ndarray of bool, shape (T, D)
        True-positive flags per IoU threshold for D detections pooled over images
        (in image order, each image's detections sorted by descending score).
    scores : ndarray, shape (D,)
        Detection scores, same order as ``tp``.
    num_gt : int
        Number of ground-truth boxes of the class over all images.

    Returns
    -------
    ndarray of float64, shape (T,)
        AP per IoU threshold in ``[0, 1]``; NaN for every threshold when
        ``num_gt == 0`` (AP undefined, COCO's -1).
    """
    tp = np.asarray(tp, dtype=bool)
    if tp.ndim != 2:
        raise ValueError("tp must have shape (T, D)")
    t_count = tp.shape[0]
    if num_gt <= 0:
        return np.full(t_count, np.nan)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    tp = tp[:, order]
    tp_sum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_sum = np.cumsum(~tp, axis=1, dtype=np.float64)
    out = np.zeros(t_count)
    d_count = tp.shape[1]
    if d_count == 0:
        return out
    for ti in range(t_count):
        rc = tp_sum[ti] / num_gt
        pr = tp_sum[ti] / (fp_sum[ti] + tp_sum[ti] + np.spacing(1))
        # Precision envelope: max precision at any recall >= this one.
        pr = np.maximum.accumulate(pr[::-1])[::-1]
        idx = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
        q = np.zeros(len(RECALL_THRESHOLDS))
        valid = idx < d_count
        q[valid] = pr[idx[valid]]
        out[ti] = q.mean()
    return out


def count_report(gt_counts: Any, pred_counts: Any) -> dict:
    """Mean absolute count error and exact-count rate.

    Parameters
    ----------
    gt_counts, pred_counts : array-like of int, shape (N,) or (N, C)
        Object counts per image (optionally per class).

    Returns
    -------
    dict
        ``count_mae`` (mean of ``|pred - gt|`` over all entries) and
        ``exact_count_rate`` (fraction of entries with ``pred == gt``);
        NaN for both when empty.
    """
    g = np.asarray(gt_counts, dtype=np.float64)
    p = np.asarray(pred_counts, dtype=np.float64)
    if g.shape != p.shape:
        raise ValueError(f"count shapes differ: {g.shape} vs {p.shape}")
    if g.size == 0:
        return {"count_mae": float("nan"), "exact_count_rate": float("nan")}
    err = np.abs(p - g)
    return {"count_mae": float(err.mean()), "exact_count_rate": float(np.mean(err == 0))}


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj[key]
    return getattr(obj, key)


def detection_report(
    gt: Sequence[Mapping[str, Any]],
    pred: Sequence[Any],
    num_classes: int,
    *,
    count_threshold: float = 0.3,
    max_dets: int = 100,
) -> dict:
    """COCO-style AP and counting errors for a set of images.

    Parameters
    ----------
    gt : list of dict, length N
        Per image ``{"boxes": (k, 4) xyxy, "labels": (k,) int}``.
    pred : list of dict (or objects with attributes), length N
        Per image ``{"boxes": (m, 4) xyxy, "scores": (m,) float, "labels": (m,) int}``
        (a ``Detections`` instance works too).
    num_classes : int
        Number of classes ``C``; labels must lie in ``[0, C)``.
    count_threshold : float, default 0.3
        A predicted box counts as an object when ``score >= count_threshold``.
    max_dets : int, default 100
        Detections kept per image *and class* (COCO ``maxDets``), highest score first.

    Returns
    -------
    dict
        JSON-serialisable:

        * ``ap50``, ``ap`` : lists of C floats, AP at IoU 0.5 and COCO AP averaged
          over IoU 0.50:0.95; ``NaN`` for classes without ground truth.
        * ``map50``, ``map`` : mean over classes that have ground truth (COCO
          excludes classes with no GT, stored as -1 there); NaN if no class has GT.
        * ``num_gt`` : list of C ints.
        * ``count_mae``, ``exact_count_rate`` : per image, the total count over
          all classes (predicted boxes with score >= ``count_threshold`` vs GT
          boxes) -- the number the product shows ("the model counted 12").
        * ``count_mae_per_class`` : list of C floats, the same MAE computed per
          image and class.

    Raises
    ------
    ValueError
        On mismatched lengths, bad shapes or labels outside ``[0, C)``.
    """
    c = int(num_classes)
    if c < 1:
        raise ValueError("num_classes must be >= 1")
    if len(gt) != len(pred):
        raise ValueError(f"gt and pred must have the same length, got {len(gt)} and {len(pred)}")
    if max_dets < 1:
        raise ValueError("max_dets must be >= 1")
    n_img = len(gt)
    iou_thr = IOU_THRESHOLDS
    tp_per_class: list[list[np.ndarray]] = [[] for _ in range(c)]
    sc_per_class: list[list[np.ndarray]] = [[] for _ in range(c)]
    num_gt = np.zeros(c, dtype=np.int64)
    gt_counts = np.zeros((n_img, c), dtype=np.int64)
    pred_counts = np.zeros((n_img, c), dtype=np.int64)

    for i in range(n_img):
        g_boxes = _as_boxes(_get(gt[i], "boxes"), f"gt[{i}].boxes")
        g_labels = _as_labels(np.asarray(_get(gt[i], "labels")).reshape(-1), f"gt[{i}].labels")
        p_boxes = _as_boxes(_get(pred[i], "boxes"), f"pred[{i}].boxes")
        p_scores = np.asarray(_get(pred[i], "scores"), dtype=np.float64).reshape(-1)
        p_labels = _as_labels(np.asarray(_get(pred[i], "labels")).reshape(-1), f"pred[{i}].labels")
        if len(g_labels) != len(g_boxes):
            raise ValueError(f"gt[{i}]: {len(g_boxes)} boxes but {len(g_labels)} labels")
        if not (len(p_boxes) == len(p_scores) == len(p_labels)):
            raise ValueError(f"pred[{i}]: boxes, scores and labels differ in length")
        for arr, name in ((g_labels, "gt"), (p_labels, "pred")):
            if arr.size and (arr.min() < 0 or arr.max() >= c):
                raise ValueError(f"{name}[{i}] has labels outside [0, {c})")
        if not np.all(np.isfinite(p_scores)):
            raise ValueError(f"pred[{i}].scores must be finite")
        gt_counts[i] = np.bincount(g_labels, minlength=c)
        pred_counts[i] = np.bincount(p_labels[p_scores >= count_threshold], minlength=c)
        for k in range(c):
            gk = g_boxes[g_labels == k]
            num_gt[k] += len(gk)
            sel = np.flatnonzero(p_labels == k)
            if len(sel) == 0:
                continue
            order = sel[np.argsort(-p_scores[sel], kind="mergesort")][:max_dets]
            tp_per_class[k].append(_match_image(gk, p_boxes[order], iou_thr))
            sc_per_class[k].append(p_scores[order])

    ap_by_thr = np.full((c, len(iou_thr)), np.nan)
    for k in range(c):
        if tp_per_class[k]:
            tp = np.concatenate(tp_per_class[k], axis=1)
            sc = np.concatenate(sc_per_class[k])
        else:
            tp = np.zeros((len(iou_thr), 0), dtype=bool)
            sc = np.zeros(0)
        ap_by_thr[k] = average_precision(tp, sc, int(num_gt[k]))
    ap50 = ap_by_thr[:, 0]
    ap = ap_by_thr.mean(axis=1)
    has_gt = num_gt > 0
    totals = count_report(gt_counts.sum(axis=1), pred_counts.sum(axis=1))
    per_class_mae = np.abs(pred_counts - gt_counts).mean(axis=0) if n_img else np.full(c, np.nan)
    return {
        "ap50": [float(v) for v in ap50],
        "ap": [float(v) for v in ap],
        "map50": float(ap50[has_gt].mean()) if has_gt.any() else float("nan"),
        "map": float(ap[has_gt].mean()) if has_gt.any() else float("nan"),
        "num_gt": [int(v) for v in num_gt],
        "count_mae": totals["count_mae"],
        "exact_count_rate": totals["exact_count_rate"],
        "count_mae_per_class": [float(v) for v in per_class_mae],
        "count_threshold": float(count_threshold),
    }


def wilson_interval(successes: int, n: int, *, z: float = 1.96) -> tuple[float, float] | None:
    """95 % (by default) Wilson score interval of a proportion; None for ``n == 0``.

    Unlike the normal approximation it stays inside [0, 1] and is sensible for the small
    evaluation samples of the first labels (e.g. 9 of 10 correct → 0.60–0.98).
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    n: int,
    rng: np.random.Generator,
    *,
    resamples: int = 200,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic(indices)`` over ``n`` items resampled with
    replacement (for metrics without a closed form, such as mAP); None for ``n == 0``.
    Resamples whose statistic is not finite (e.g. no ground truth drawn) are left out."""
    if n <= 0:
        return None
    values = np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))
