"""Metrics: hand-computed cases and agreement with pycocotools' COCOeval."""

import contextlib
import io
import math

import numpy as np
import pytest

from labelapp.learning.metrics import (
    average_precision,
    bootstrap_interval,
    classification_report,
    count_report,
    detection_report,
    iou_matrix,
    wilson_interval,
)

# ---------------------------------------------------------------- classification


def test_classification_report_hand_computed():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    rep = classification_report(y_true, y_pred, 4)
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert rep["support"] == [3, 2, 1, 0]
    assert rep["confusion_matrix"] == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    # class 0: tp 2, predicted 2, support 3
    assert rep["precision"][0] == pytest.approx(1.0)
    assert rep["recall"][0] == pytest.approx(2 / 3)
    assert rep["f1"][0] == pytest.approx(0.8)
    # class 1: tp 1, predicted 2, support 2
    assert rep["precision"][1] == pytest.approx(0.5)
    assert rep["recall"][1] == pytest.approx(0.5)
    assert rep["f1"][1] == pytest.approx(0.5)
    # class 2: tp 1, predicted 2, support 1 -> f1 = 2*.5*1/1.5
    assert rep["f1"][2] == pytest.approx(2 / 3)
    # class 3 never appears: all zeros, excluded from macro F1
    assert rep["precision"][3] == rep["recall"][3] == rep["f1"][3] == 0.0
    assert rep["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_classification_report_rejects_bad_input():
    with pytest.raises(ValueError):
        classification_report([0, 1], [0], 2)
    with pytest.raises(ValueError):
        classification_report([0, 2], [0, 1], 2)
    with pytest.raises(ValueError):
        classification_report([[0]], [[0]], 2)


def test_classification_report_empty():
    rep = classification_report([], [], 2)
    assert math.isnan(rep["accuracy"])
    assert rep["support"] == [0, 0]


# ---------------------------------------------------------------- iou


def test_iou_matrix_hand_computed():
    a = np.array([[0, 0, 10, 10], [0, 0, 2, 2]], dtype=float)
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(50 / 150)
    assert iou[0, 1] == pytest.approx(1.0)
    assert iou[0, 2] == 0.0
    assert iou[1, 1] == pytest.approx(4 / 100)
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_iou_matrix_rejects_bad_boxes():
    with pytest.raises(ValueError):
        iou_matrix([[0, 0, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError):
        iou_matrix([[5, 0, 1, 1]], [[0, 0, 1, 1]])


# ---------------------------------------------------------------- AP by hand


def test_average_precision_hand_computed():
    # 3 detections sorted by score: TP, FP, TP; 2 GT. Envelope precision:
    # recall 0..0.5 -> 1.0 (51 thresholds), recall 0.51..1.0 -> 2/3 (50 thresholds).
    tp = np.array([[True, False, True]])
    ap = average_precision(tp, np.array([0.9, 0.8, 0.7]), 2)
    assert ap[0] == pytest.approx((51 * 1.0 + 50 * (2 / 3)) / 101, abs=1e-9)
    assert np.isnan(average_precision(tp, np.array([0.9, 0.8, 0.7]), 0)[0])
    assert average_precision(np.zeros((1, 0), bool), np.zeros(0), 3)[0] == 0.0


def test_perfect_predictions_give_ap_one():
    gt = [{"boxes": np.array([[0, 0, 10, 10], [20, 20, 40, 50]]), "labels": np.array([0, 1])}]
    pred = [{"boxes": gt[0]["boxes"], "scores": np.array([0.9, 0.8]), "labels": np.array([0, 1])}]
    rep = detection_report(gt, pred, 3)
    assert rep["ap"][:2] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert math.isnan(rep["ap"][2])  # class 2 has no GT
    assert rep["map"] == pytest.approx(1.0)
    assert rep["count_mae"] == 0.0
    assert rep["exact_count_rate"] == 1.0


def test_count_mae_hand_computed():
    gt = [
        {"boxes": np.array([[0, 0, 1, 1]] * 3, float), "labels": np.array([0, 0, 1])},
        {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)},
    ]
    pred = [
        # scores 0.9, 0.31 count; 0.29 does not (threshold 0.3) -> 2 vs 3
        {
            "boxes": np.array([[0, 0, 1, 1]] * 3, float),
            "scores": np.array([0.9, 0.31, 0.29]),
            "labels": np.array([0, 0, 1]),
        },
        # one confident false positive -> 1 vs 0
        {"boxes": np.array([[0, 0, 1, 1]], float), "scores": np.array([0.5]), "labels": np.array([1])},
    ]
    rep = detection_report(gt, pred, 2, count_threshold=0.3)
    assert rep["count_mae"] == pytest.approx(1.0)
    assert rep["exact_count_rate"] == 0.0
    # per class: image 0 class 0: 2 vs 2, class 1: 0 vs 1; image 1 class 1: 1 vs 0
    assert rep["count_mae_per_class"] == [pytest.approx(0.0), pytest.approx(1.0)]
    assert count_report([3, 0], [2, 0]) == {"count_mae": 0.5, "exact_count_rate": 0.5}


def test_detection_report_rejects_bad_input():
    g = {"boxes": np.zeros((1, 4)), "labels": np.array([0])}
    p = {"boxes": np.zeros((1, 4)), "scores": np.array([0.5]), "labels": np.array([5])}
    with pytest.raises(ValueError):
        detection_report([g], [p], 2)
    with pytest.raises(ValueError):
        detection_report([g], [], 2)


# ---------------------------------------------------------------- vs pycocotools


def _coco_eval(gt, pred, num_classes):
    """Per-class AP50/AP and mAP from COCOeval, NaN for classes without GT."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets = [], [], []
    ann_id = 1
    for i, (g, p) in enumerate(zip(gt, pred)):
        images.append({"id": i + 1, "width": 1000, "height": 1000})
        for box, lab in zip(np.asarray(g["boxes"], float).reshape(-1, 4), g["labels"]):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append(
                {
                    "id": ann_id,
                    "image_id": i + 1,
                    "category_id": int(lab) + 1,
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            ann_id += 1
        for box, s, lab in zip(np.asarray(p["boxes"], float).reshape(-1, 4), p["scores"], p["labels"]):
            dets.append(
                {
                    "image_id": i + 1,
                    "category_id": int(lab) + 1,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "score": float(s),
                }
            )
    cats = [{"id": k + 1, "name": str(k)} for k in range(num_classes)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": anns, "categories": cats}
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, -1]  # T, R, K (area all, maxDets 100)
    ap50, ap = [], []
    for k in range(num_classes):
        pk = prec[:, :, k]
        ap50.append(float(pk[0].mean()) if (pk[0] > -1).all() else float("nan"))
        ap.append(float(pk.mean()) if (pk > -1).all() else float("nan"))
    valid = prec[prec > -1]
    m = float(valid.mean()) if valid.size else float("nan")
    valid50 = prec[0][prec[0] > -1]
    m50 = float(valid50.mean()) if valid50.size else float("nan")
    return ap50, ap, m50, m


def _random_case(rng, n_img, num_classes, *, p_empty_gt=0.2, p_empty_pred=0.2, jitter=4.0):
    gt, pred = [], []
    for _ in range(n_img):
        k = 0 if rng.random() < p_empty_gt else int(rng.integers(1, 8))
        xy = rng.uniform(0, 200, size=(k, 2))
        wh = rng.uniform(5, 60, size=(k, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1)
        labels = rng.integers(0, num_classes, size=k)
        gt.append({"boxes": boxes, "labels": labels})
        if rng.random() < p_empty_pred:
            pred.append({"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)})
            continue
        # Noisy copies of some GT (sometimes duplicated), relabelled at times, plus false positives.
        keep = rng.random(k) < 0.8
        pb = boxes[keep] + rng.normal(0, jitter, size=(keep.sum(), 4))
        pl = labels[keep].copy()
        flip = rng.random(len(pl)) < 0.1
        pl[flip] = rng.integers(0, num_classes, size=flip.sum())
        dup = rng.random(len(pb)) < 0.2
        pb = np.concatenate([pb, pb[dup] + rng.normal(0, 2, size=(dup.sum(), 4))])
        pl = np.concatenate([pl, pl[dup]])
        n_fp = int(rng.integers(0, 4))
        fxy = rng.uniform(0, 200, size=(n_fp, 2))
        fb = np.concatenate([fxy, fxy + rng.uniform(5, 60, size=(n_fp, 2))], axis=1)
        pb = np.concatenate([pb, fb])
        pl = np.concatenate([pl, rng.integers(0, num_classes, size=n_fp)])
        # Keep x2 >= x1 after jitter.
        pb = np.concatenate([np.minimum(pb[:, :2], pb[:, 2:]), np.maximum(pb[:, :2], pb[:, 2:])], axis=1)
        pred.append({"boxes": pb, "scores": rng.random(len(pb)), "labels": pl.astype(int)})
    return gt, pred


def _assert_matches_coco(gt, pred, num_classes):
    ours = detection_report(gt, pred, num_classes)
    ap50, ap, m50, m = _coco_eval(gt, pred, num_classes)
    np.testing.assert_allclose(ours["ap50"], ap50, atol=1e-3, equal_nan=True)
    np.testing.assert_allclose(ours["ap"], ap, atol=1e-3, equal_nan=True)
    np.testing.assert_allclose(ours["map50"], m50, atol=1e-3, equal_nan=True)
    np.testing.assert_allclose(ours["map"], m, atol=1e-3, equal_nan=True)
    return ours


@pytest.mark.parametrize("seed", range(6))
def test_ap_matches_pycocotools_random(seed):
    rng = np.random.default_rng(seed)
    gt, pred = _random_case(
        rng, n_img=int(rng.integers(3, 25)), num_classes=3, jitter=float(rng.choice([1.0, 4.0, 10.0]))
    )
    # Ensure at least one detection overall (pycocotools' loadRes fails on an empty list).
    pred[0] = {"boxes": np.array([[1.0, 1.0, 20.0, 20.0]]), "scores": np.array([0.5]), "labels": np.array([0])}
    _assert_matches_coco(gt, pred, 3)


def test_ap_matches_pycocotools_class_without_gt():
    rng = np.random.default_rng(42)
    gt, pred = _random_case(rng, n_img=10, num_classes=2)
    # Predictions of class 2 exist, but no GT of class 2 anywhere.
    pred[0] = {
        "boxes": np.array([[1.0, 1.0, 20.0, 20.0], [5, 5, 9, 9]]),
        "scores": np.array([0.5, 0.9]),
        "labels": np.array([2, 2]),
    }
    ours = _assert_matches_coco(gt, pred, 3)
    assert math.isnan(ours["ap"][2])


def test_ap_matches_pycocotools_hand_made():
    gt = [
        {"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float), "labels": np.array([0, 0])},
        {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)},  # no GT
        {"boxes": np.array([[0, 0, 50, 50]], float), "labels": np.array([1])},  # no predictions
        {"boxes": np.array([[10, 10, 20, 20]], float), "labels": np.array([1])},
    ]
    pred = [
        # exact, duplicate of the same GT (FP), partial overlap IoU 0.6ish
        {
            "boxes": np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 32]], float),
            "scores": np.array([0.9, 0.8, 0.7]),
            "labels": np.array([0, 0, 0]),
        },
        {"boxes": np.array([[0, 0, 10, 10]], float), "scores": np.array([0.95]), "labels": np.array([1])},
        {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)},
        {"boxes": np.array([[11, 11, 21, 21]], float), "scores": np.array([0.3]), "labels": np.array([1])},
    ]
    ours = _assert_matches_coco(gt, pred, 3)
    assert ours["num_gt"] == [2, 2, 0]
    # Class 0 at IoU 0.5: TP, FP, TP with 2 GT -> same as the hand-computed AP above.
    assert ours["ap50"][0] == pytest.approx((51 + 50 * 2 / 3) / 101, abs=1e-9)


def test_ap_matches_pycocotools_many_detections_per_image():
    # More than 100 detections per image and class: maxDets truncation must agree.
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 300, size=(30, 2))
    boxes = np.concatenate([xy, xy + 20], axis=1)
    gt = [{"boxes": boxes, "labels": np.zeros(30, int)}]
    pxy = np.concatenate([xy + rng.normal(0, 3, size=xy.shape), rng.uniform(0, 300, size=(120, 2))])
    pb = np.concatenate([pxy, pxy + 20], axis=1)
    pred = [{"boxes": pb, "scores": rng.random(len(pb)), "labels": np.zeros(len(pb), int)}]
    _assert_matches_coco(gt, pred, 1)


def test_wilson_interval_matches_hand_computed_values():
    # 9 of 10: p = 0.9, z = 1.96 → centre 0.7890, half 0.1931 (by hand from the formula).
    low, high = wilson_interval(9, 10)
    assert low == pytest.approx(0.5958, abs=1e-3) and high == pytest.approx(0.9821, abs=1e-3)
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and high == pytest.approx(0.4345, abs=1e-3)


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_items():
    rng = np.random.default_rng(0)
    small_items, large_items = np.r_[np.ones(5), np.zeros(5)], np.r_[np.ones(500), np.zeros(500)]
    small = bootstrap_interval(lambda idx: small_items[idx].mean(), 10, rng)
    large = bootstrap_interval(lambda idx: large_items[idx].mean(), 1000, rng)
    assert small[0] < 0.5 < small[1] and large[0] < 0.5 < large[1]
    assert large[1] - large[0] < small[1] - small[0]
    assert bootstrap_interval(lambda idx: 0.0, 0, rng) is None
    assert bootstrap_interval(lambda idx: float("nan"), 3, rng) is None
