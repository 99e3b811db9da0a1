"""Health statistics: hand-computed grids, histograms and recommendations."""

import json

import numpy as np
import pytest

from labelapp.learning.health import health_stats

NAMES = ["brown_box", "white_envelope", "yellow_box"]


def box(cx, cy, size):
    return [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]


def test_hand_computed_detection_stats():
    anns = [
        # 100x100 image: class 0 centre (10, 10) size 10 (rel 0.1), class 1 centre (95, 55) size 30 (rel 0.3)
        {"boxes": np.array([box(10, 10, 10), box(95, 55, 30)]), "labels": np.array([0, 1])},
        {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)},
        # 200x100 image: class 0 centre (150, 90) size 4 (rel sqrt(16/20000) = 0.028)
        {"boxes": np.array([box(150, 90, 4)]), "labels": np.array([0])},
    ]
    h = health_stats(anns, [(100, 100), (100, 100), (200, 100)], 3, grid=4, class_names=NAMES)
    json.dumps(h)  # serialisable
    assert h["class_counts"] == [2, 1, 0]
    assert h["images_per_class"] == [2, 1, 0]
    assert h["images_without_boxes"] == 1
    assert h["boxes_per_image"] == pytest.approx(1.0)
    heat = np.array(h["heatmap"])
    assert heat.shape == (3, 4, 4)
    assert heat[0, 0, 0] == 1  # (0.1, 0.1)
    assert heat[0, 3, 3] == 1  # (0.75, 0.9) -> col 3, row 3
    assert heat[1, 2, 3] == 1  # (0.95, 0.55) -> row 2, col 3
    assert heat.sum() == 3
    rc = np.array(h["region_counts"])
    assert rc[0, 0, 0] == 1 and rc[0, 2, 2] == 1 and rc[1, 1, 2] == 1
    # Size bins (0, .05, .1, .2, .35, .5, 1): 0.1 -> bin 2, 0.028 -> bin 0, 0.3 -> bin 3.
    assert h["size_hist"][0] == [1, 0, 1, 0, 0, 0]
    assert h["size_hist"][1] == [0, 0, 0, 1, 0, 0]
    codes = [(r["code"], r["class"]) for r in h["recommendations"]]
    assert ("class_missing", 2) in codes


def test_imbalance_message_and_ratio():
    anns = [{"boxes": np.array([box(50, 80, 10)] * 9 + [box(50, 80, 10)]), "labels": np.array([0] * 9 + [2])}]
    h = health_stats(anns, [(100, 100)], 3, class_names=NAMES, min_boxes_for_regions=100)
    recs = {(r["code"], r["class"]): r for r in h["recommendations"]}
    r = recs[("class_imbalance", 2)]
    assert r["message"] == "yellow_box has 9\u00d7 fewer boxes than brown_box: synthesize or collect more"
    assert r["ratio"] == pytest.approx(9.0) and r["reference_class"] == 0
    assert ("class_missing", 1) in recs


def test_region_gap_only_where_other_objects_appear():
    rng = np.random.default_rng(0)
    anns = []
    for _ in range(40):
        # Class 0 only on the left third, class 1 everywhere along the bottom; nothing at the top.
        b0 = box(rng.uniform(5, 30), rng.uniform(70, 95), 6)
        b1 = box(rng.uniform(5, 95), rng.uniform(70, 95), 6)
        anns.append({"boxes": np.array([b0, b1]), "labels": np.array([0, 1])})
    h = health_stats(anns, np.full((40, 2), 100), 2, class_names=["a", "b"])
    gaps = [r for r in h["recommendations"] if r["code"] == "region_gap"]
    msgs = {r["message"] for r in gaps}
    assert "no a examples in the right third of the image" in msgs
    assert "no a examples in the middle third of the image" in msgs
    # The top third is empty for every class: a property of the scene, not a gap.
    assert not any(r["axis"] == "y" for r in gaps)
    assert not any(r["class"] == 1 for r in gaps)


def test_brightness_and_dark_recommendation():
    anns = [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)}] * 20
    bright = np.full(20, 150.0)
    bright[0] = 30.0
    h = health_stats(anns, [(10, 10)] * 20, 1, brightness=bright)
    assert h["brightness"]["dark_fraction"] == pytest.approx(0.05)
    assert sum(h["brightness"]["hist"]) == 20
    assert any(r["code"] == "few_dark_images" for r in h["recommendations"])
    bright[:5] = 10.0
    h = health_stats(anns, [(10, 10)] * 20, 1, brightness=bright)
    assert not any(r["code"] == "few_dark_images" for r in h["recommendations"])


def test_classification_counts_only():
    h = health_stats([0, 0, 0, 0, 1, {"label": 0}], None, 3, task="classification", class_names=NAMES)
    json.dumps(h)
    assert h["class_counts"] == [5, 1, 0]
    assert "heatmap" not in h
    codes = {(r["code"], r["class"]) for r in h["recommendations"]}
    assert codes == {("class_imbalance", 1), ("class_missing", 2)}
    assert "images" in next(r["message"] for r in h["recommendations"] if r["code"] == "class_imbalance")


def test_bad_input():
    ann = [{"boxes": np.array([box(5, 5, 2)]), "labels": np.array([3])}]
    with pytest.raises(ValueError):
        health_stats(ann, [(10, 10)], 3)
    with pytest.raises(ValueError):
        health_stats([{"boxes": np.zeros((0, 4)), "labels": []}], [(10, 10), (10, 10)], 3)
    with pytest.raises(ValueError):
        health_stats([7], None, 3, task="classification")
    with pytest.raises(ValueError):
        health_stats([], [], 3, task="segmentation")
