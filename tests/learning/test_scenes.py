import numpy as np
import pytest

from labelapp.learning.scenes import (
    PILL_CLASSES,
    PORCH_CLASSES,
    dominant_class,
    make_detection_set,
    pill_scene,
    porch_scene,
)


@pytest.mark.parametrize("scene", [porch_scene, pill_scene])
def test_scene_is_deterministic_and_well_typed(scene):
    a = scene(np.random.default_rng(7))
    b = scene(np.random.default_rng(7))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    image, boxes, labels = a
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
    assert labels.dtype == np.int64 and labels.shape == (len(boxes),)
    image, _, _ = scene(np.random.default_rng(3), size=64)
    assert image.shape == (64, 64, 3)


def _porch_objects(n=400, seed=0):
    rng = np.random.default_rng(seed)
    out = [porch_scene(rng) for _ in range(n)]
    boxes = np.concatenate([o[1] for o in out])
    labels = np.concatenate([o[2] for o in out])
    return out, boxes, labels


def test_porch_statistics():
    scenes, boxes, labels = _porch_objects()
    counts = [len(s[2]) for s in scenes]
    assert min(counts) == 0 and max(counts) == 4
    assert np.all(boxes >= 0) and np.all(boxes <= 128)
    assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
    freq = np.bincount(labels, minlength=3) / len(labels)
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.05)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    # Unclipped sizes are within the documented ranges (clipping only shrinks).
    assert w[labels == 0].max() <= 40.01 and np.median(w[labels == 0]) > 18
    assert w[labels == 1].max() <= 26.01 and h[labels == 1].max() <= 16.01
    assert w[labels == 2].max() <= 28.01
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    # Brown mostly left, yellow mostly near the door on the right.
    assert np.median(cx[labels == 0]) < 50
    assert np.median(cx[labels == 2]) > 80
    brightness = np.array([s[0].mean() for s in scenes])
    assert (brightness < 40).mean() > 0.1 and brightness.max() > 120


def test_porch_objects_overlap_little():
    rng = np.random.default_rng(1)
    for _ in range(100):
        _, boxes, _ = porch_scene(rng)
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
                iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
                inter = ix * iy
                union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
                assert inter / union < 0.1


def test_pill_statistics():
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(200):
        _image, boxes, labels = pill_scene(rng)
        counts.append(len(boxes))
        assert np.all(labels == 0)
        assert np.all(boxes >= 0) and np.all(boxes <= 128)
        if len(boxes):
            w = boxes[:, 2] - boxes[:, 0]
            assert w.min() > 2 and w.max() < 16
    assert min(counts) >= 0 and max(counts) <= 20 and max(counts) >= 18
    assert PILL_CLASSES == ["pill"]


def test_bad_arguments():
    with pytest.raises(ValueError):
        porch_scene(np.random.RandomState(0))
    with pytest.raises(ValueError):
        pill_scene(np.random.default_rng(0), size=16)
    with pytest.raises(ValueError):
        make_detection_set(porch_scene, -1, 0)


def test_make_detection_set_and_dominant_class():
    images, targets = make_detection_set(porch_scene, 6, seed=3, size=64)
    assert images.shape == (6, 64, 64, 3) and len(targets) == 6
    again, _ = make_detection_set(porch_scene, 6, seed=3, size=64)
    np.testing.assert_array_equal(images, again)
    assert set(targets[0]) == {"boxes", "labels"}
    n = len(PORCH_CLASSES)
    assert dominant_class(np.zeros((0, 4)), np.zeros(0, np.int64), n) == n
    boxes = np.array([[0, 0, 10, 10], [0, 0, 5, 5], [0, 0, 5, 5], [0, 0, 5, 5], [0, 0, 5, 5], [0, 0, 5, 5]])
    assert dominant_class(boxes, np.array([1, 0, 0, 0, 0, 0]), n) == 0  # 125 > 100
    assert dominant_class(boxes[:2], np.array([1, 0]), n) == 1
    with pytest.raises(ValueError):
        dominant_class(boxes[:2], np.array([1, 5]), n)
