"""Synthesis: exact box arithmetic per transform, augment specs and the planner."""

import numpy as np
import pytest

from labelapp.learning import synthesis as sy


def scene():
    """20x10 (W x H) image: a white 4x2 patch at x 2..6, y 3..5 (box 0), a box 1 near the right edge."""
    img = np.zeros((10, 20, 3), np.uint8)
    img[3:5, 2:6] = 255
    img[:, 19] = (10, 20, 30)
    boxes = np.array([[2, 3, 6, 5], [16, 0, 20, 10]], np.float32)
    labels = np.array([0, 1])
    return img, boxes, labels


def test_photometric_ops_keep_boxes():
    img, boxes, labels = scene()
    out, b, lab = sy.adjust_brightness(img, boxes, labels, 10)
    assert out[0, 0, 0] == 10 and out[3, 2, 0] == 255  # clipped at 255
    np.testing.assert_array_equal(b, boxes)
    np.testing.assert_array_equal(lab, labels)
    out, _, _ = sy.darken(img, boxes, labels, factor=0.5)
    assert out[3, 2, 0] == 128 and out[0, 0, 0] == 0
    flat = np.full((4, 4, 3), 100, np.uint8)
    flat[0, 0] = 200
    out, _, _ = sy.adjust_contrast(flat, np.zeros((0, 4)), [], 0.0)
    assert np.all(out == out[0, 0])  # factor 0 -> mean grey everywhere
    same, _, _ = sy.adjust_contrast(flat, np.zeros((0, 4)), [], 1.0)
    np.testing.assert_array_equal(same, flat)
    with pytest.raises(ValueError):
        sy.darken(img, boxes, labels, factor=0)
    with pytest.raises(ValueError):
        sy.adjust_brightness(img.astype(np.float32), boxes, labels, 1)


def test_hflip_exact():
    img, boxes, labels = scene()
    out, b, lab = sy.hflip(img, boxes, labels)
    np.testing.assert_array_equal(b, [[14, 3, 18, 5], [0, 0, 4, 10]])
    assert out[3, 14:18].min() == 255 and out[3, 13].max() == 0
    np.testing.assert_array_equal(lab, labels)
    back, b2, _ = sy.hflip(out, b, lab)
    np.testing.assert_array_equal(back, img)
    np.testing.assert_array_equal(b2, boxes)


def test_translate_exact_and_visibility():
    img, boxes, labels = scene()
    out, b, lab = sy.translate(img, boxes, labels, 3, 1)
    # box 0 moves to (5, 4, 9, 6); box 1 to (19, 1, 23, 11): visible 1x9 of 4x10 -> dropped.
    np.testing.assert_array_equal(b, [[5, 4, 9, 6]])
    np.testing.assert_array_equal(lab, [0])
    assert out[4, 5:9].min() == 255 and out[0].max() == 0 and out[:, :3].max() == 0
    # Shift left by 2: box 1 -> (14, 0, 18, 10), fully visible; box 0 -> (0, 3, 4, 5).
    _, b, lab = sy.translate(img, boxes, labels, -2, 0)
    np.testing.assert_array_equal(b, [[0, 3, 4, 5], [14, 0, 18, 10]])
    # Half visible (exactly 0.5) is kept and clipped.
    _, b, lab = sy.translate(img, boxes, labels, -4, 0)
    np.testing.assert_array_equal(b, [[0, 3, 2, 5], [12, 0, 16, 10]])
    _, b, _ = sy.translate(img, boxes, labels, -5, 0)  # box 0 only 1/4 visible
    np.testing.assert_array_equal(b, [[11, 0, 15, 10]])
    with pytest.raises(ValueError):
        sy.translate(img, boxes, labels, 0.5, 0)


def test_crop_zoom_exact():
    img, boxes, labels = scene()
    # Crop x 0..10, y 2..7 (10x5), zoom x2 to 20x10.
    out, b, lab = sy.crop_zoom(img, boxes, labels, (0, 2, 10, 7), (20, 10))
    assert out.shape == (10, 20, 3)
    np.testing.assert_allclose(b, [[4, 2, 12, 6]])  # ((2-0)*2, (3-2)*2, (6-0)*2, (5-2)*2)
    np.testing.assert_array_equal(lab, [0])  # box 1 is outside the crop
    assert out[3, 6, 0] == 255 and out[0, 0, 0] == 0  # inside / outside the white patch
    # A crop that cuts box 0 in half horizontally keeps it (visibility 0.5), clipped.
    _, b, lab = sy.crop_zoom(img, boxes, labels, (4, 0, 14, 10), (10, 10))
    np.testing.assert_allclose(b, [[0, 3, 2, 5]])
    # Cutting off 3/4 drops it.
    _, b, lab = sy.crop_zoom(img, boxes, labels, (5, 0, 15, 10), (10, 10))
    assert len(b) == 0 and len(lab) == 0
    with pytest.raises(ValueError):
        sy.crop_zoom(img, boxes, labels, (0, 0, 30, 10), (10, 10))


def test_paste_object_exact():
    img, boxes, labels = scene()
    out, b, lab = sy.paste_object(img, boxes, labels, 0, (10, 6))
    np.testing.assert_array_equal(b, [[2, 3, 6, 5], [16, 0, 20, 10], [10, 6, 14, 8]])
    np.testing.assert_array_equal(lab, [0, 1, 0])
    assert out[6:8, 10:14].min() == 255
    np.testing.assert_array_equal(out[3:5, 2:6], img[3:5, 2:6])  # source untouched
    # Pasting over box 0 itself hides it (covered 100%): it is dropped.
    _, b, lab = sy.paste_object(img, boxes, labels, 0, (2, 3))
    np.testing.assert_array_equal(b, [[16, 0, 20, 10], [2, 3, 6, 5]])
    # Partly outside the frame: the new box is clipped.
    _, b, _ = sy.paste_object(img, boxes, labels, 0, (18, 0))
    np.testing.assert_array_equal(b[-1], [18, 0, 20, 2])


def test_move_to_cell_lands_in_cell():
    rng = np.random.default_rng(0)
    img = np.zeros((90, 90, 3), np.uint8)
    boxes = np.array([[5, 5, 15, 15]], np.float32)
    for mode in ("paste", "translate"):
        for _ in range(10):
            _, b, lab = sy.move_to_cell(img, boxes, [2], 2, (2, 1), 3, rng, mode=mode)
            moved = b[-1]
            cx, cy = (moved[0] + moved[2]) / 2, (moved[1] + moved[3]) / 2
            assert 30 - 0.5 <= cx <= 60 + 0.5 and 60 - 0.5 <= cy <= 90
            assert lab[-1] == 2
            assert moved[2] - moved[0] == 10
    with pytest.raises(ValueError):
        sy.move_to_cell(img, boxes, [2], 0, (0, 0), 3, rng)


def test_augment_specs():
    img, boxes, labels = scene()
    rng = np.random.default_rng(0)
    out, b, _lab = sy.augment(img, boxes, labels, [{"op": "hflip"}, {"op": "translate", "dx": 1, "dy": 0}], rng)
    np.testing.assert_array_equal(b, [[15, 3, 19, 5], [1, 0, 5, 10]])
    # p=0 never applies; ranges are drawn in range.
    _, b, _ = sy.augment(img, boxes, labels, [{"op": "hflip", "p": 0.0}], rng)
    np.testing.assert_array_equal(b, boxes)
    out, _, _ = sy.augment(img, boxes, labels, [{"op": "brightness", "delta": [20, 30]}], rng)
    assert 20 <= out[0, 0, 0] <= 30
    out, b, _ = sy.augment(img, boxes, labels, [{"op": "crop_zoom", "scale": 0.5}], rng)
    assert out.shape == img.shape
    with pytest.raises(ValueError):
        sy.augment(img, boxes, labels, [{"op": "rotate"}], rng)


def health(counts, region_counts, recs=()):
    return {"class_counts": counts, "region_counts": region_counts, "recommendations": [{"code": c} for c in recs]}


def test_plan_fills_deficits_then_cells():
    # 3 classes, 3x3 regions. Only the bottom two rows are ever occupied.
    rc = np.zeros((3, 3, 3), int)
    rc[0, 1:] = 5  # brown: 30 boxes everywhere plausible
    rc[2, 2, 2] = 6  # yellow: 6 boxes, bottom right only
    rc[1, 1, 0] = 10  # white: 10 boxes, middle-left only
    h = health([30, 10, 6], rc.tolist(), recs=["few_dark_images"])
    plan = sy.plan_synthesis(h, 22, np.random.default_rng(0))
    per_class = {k: sum(i.count for i in plan if i.class_index == k) for k in range(3)}
    # Deficits 20 (white) and 24 (yellow) exceed 22: split proportionally 10 / 12.
    assert per_class == {0: 0, 1: 10, 2: 12}
    assert sum(i.count for i in plan) == 22
    yellow = {i.cell: i.count for i in plan if i.class_index == 2}
    # Water filling over the 6 plausible cells: the five empty ones get 2 each
    # (6 + 0 = 6 > 2) ... 12 = 5 * 2 + 2 more -> none goes to the occupied cell.
    assert (2, 2) not in yellow and sum(yellow.values()) == 12
    assert all(cell[0] >= 1 for cell in yellow)  # never the empty top row
    assert all(any(o["op"] == "darken" for o in i.ops) for i in plan)
    assert all(i.ops[0]["op"] == "move_to_cell" and list(i.cell) == i.ops[0]["cell"] for i in plan)


def test_plan_rest_goes_to_rare_classes_and_never_exceeds():
    rc = np.zeros((2, 3, 3), int)
    rc[0, 2, :] = [4, 3, 3]
    rc[1, 2, :] = [3, 4, 3]
    h = health([10, 10], rc.tolist())
    for allowance in [0, 1, 7, 100]:
        plan = sy.plan_synthesis(h, allowance, np.random.default_rng(1))
        assert sum(i.count for i in plan) == allowance
    # No example of a class: nothing to synthesise it from; the rest goes to the others.
    rc = np.zeros((2, 3, 3), int)
    rc[1, 2, 2] = 5
    plan = sy.plan_synthesis(health([0, 5], rc.tolist()), 10, np.random.default_rng(0))
    assert {i.class_index for i in plan} == {1} and sum(i.count for i in plan) == 10
    assert sy.plan_synthesis(health([0, 0], np.zeros((2, 3, 3), int).tolist()), 10, np.random.default_rng(0)) == []
    # Classification health (no regions).
    plan = sy.plan_synthesis({"class_counts": [40, 10]}, 12, np.random.default_rng(0))
    assert [(i.class_index, i.cell, i.count) for i in plan] == [(1, None, 12)]
    with pytest.raises(ValueError):
        sy.plan_synthesis(h, -1, np.random.default_rng(0))


def test_plan_items_apply_to_a_real_scene():
    from labelapp.learning.health import health_stats

    rng = np.random.default_rng(0)
    imgs, anns = [], []
    for _ in range(30):
        img = rng.integers(0, 255, size=(48, 48, 3), dtype=np.uint8)
        x = float(rng.integers(0, 20))
        anns.append(
            {
                "boxes": np.array([[x, 30, x + 8, 40], [30, 30, 38, 40]], np.float32),
                "labels": np.array([0, 0 if rng.random() < 0.8 else 1]),
            }
        )
        imgs.append(img)
    h = health_stats(anns, [(48, 48)] * 30, 2)
    plan = sy.plan_synthesis(h, 8, rng)
    assert sum(i.count for i in plan) == 8
    for item in plan:
        src = next(i for i, a in enumerate(anns) if item.class_index in a["labels"])
        out, b, lab = sy.augment(imgs[src], anns[src]["boxes"], anns[src]["labels"], item.ops, rng)
        assert out.shape == imgs[src].shape and len(b) == len(lab)
        assert item.class_index in lab
    assert plan[0].to_dict()["count"] == plan[0].count
