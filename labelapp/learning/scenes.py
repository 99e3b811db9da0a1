"""Synthetic scenes with exact boxes, for the demo data, simulations and benchmarks.

Two generators, both deterministic for a given ``np.random.Generator`` state:

* :func:`porch_scene` — parcels on a house-front porch (3 classes), from a
  sunny day to a dark night.
* :func:`pill_scene` — 0 to 20 light pills on a tray (1 class), for counting.

They are drawn with NumPy only (no torch), fast enough to make thousands of
images a second, and deliberately not trivially separable: textures, noise,
a brown doormat that looks like a box, shadows, global brightness changes.
"""

from __future__ import annotations

import numpy as np

PORCH_CLASSES = ["brown_box", "white_envelope", "yellow_box"]
PILL_CLASSES = ["pill"]

#: Relative class frequencies of porch objects (brown : white : yellow).
PORCH_CLASS_WEIGHTS = np.array([6.0, 3.0, 1.0]) / 10.0

__all__ = [
    "PILL_CLASSES",
    "PORCH_CLASSES",
    "PORCH_CLASS_WEIGHTS",
    "dominant_class",
    "make_detection_set",
    "pill_scene",
    "porch_scene",
]


def _check_args(rng: np.random.Generator, size: int) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 32:
        raise ValueError(f"size must be an int >= 32, got {size!r}")


def _fill(canvas: np.ndarray, x1: float, y1: float, x2: float, y2: float, color) -> None:
    """Paint an axis-aligned rectangle (float coords, clipped) with a colour."""
    h, w = canvas.shape[:2]
    xa, xb = int(max(0, round(x1))), int(min(w, round(x2)))
    ya, yb = int(max(0, round(y1))), int(min(h, round(y2)))
    if xa < xb and ya < yb:
        canvas[ya:yb, xa:xb] = color


def _iou(box: np.ndarray, boxes: list[np.ndarray]) -> float:
    if not boxes:
        return 0.0
    b = np.array(boxes)
    ix = np.clip(np.minimum(box[2], b[:, 2]) - np.maximum(box[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], b[:, 3]) - np.maximum(box[1], b[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return float(np.max(inter / (area + areas - inter + 1e-9)))


def _finish(canvas: np.ndarray, rng: np.random.Generator, brightness: float, tint, noise: float) -> np.ndarray:
    canvas = canvas * brightness * np.asarray(tint, dtype=np.float32)
    canvas += rng.normal(0.0, noise, size=canvas.shape).astype(np.float32)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _draw_brown_box(canvas, rng, x1, y1, x2, y2) -> None:
    base = np.array([150, 100, 55], dtype=np.float32) * rng.uniform(0.8, 1.15) + rng.normal(0, 8, 3)
    _fill(canvas, x1, y1, x2, y2, base)
    # Top face is lighter (lit from above); its depth varies with the view.
    top = (y2 - y1) * rng.uniform(0.15, 0.35)
    _fill(canvas, x1, y1, x2, y1 + top, base * 1.18)
    # Packing tape across the top, sometimes down the front.
    cx = (x1 + x2) / 2 + rng.uniform(-2, 2)
    tape = np.array([185, 160, 120], dtype=np.float32) * rng.uniform(0.9, 1.1)
    _fill(canvas, cx - 1.5, y1, cx + 1.5, y1 + top, tape)
    if rng.random() < 0.6:
        _fill(canvas, cx - 1.5, y1 + top, cx + 1.5, y2, tape * 0.9)
    # A shipping label, sometimes.
    if rng.random() < 0.5:
        lw, lh = (x2 - x1) * 0.3, (y2 - y1) * 0.2
        lx = rng.uniform(x1 + 1, max(x1 + 1, x2 - lw - 1))
        ly = rng.uniform(y1 + top + 1, max(y1 + top + 1, y2 - lh - 1))
        _fill(canvas, lx, ly, lx + lw, ly + lh, np.array([225, 225, 215], dtype=np.float32))
    # Dark edge lines.
    edge = base * 0.6
    _fill(canvas, x1, y1, x1 + 1, y2, edge)
    _fill(canvas, x2 - 1, y1, x2, y2, edge)
    _fill(canvas, x1, y1 + top, x2, y1 + top + 1, edge)


def _draw_envelope(canvas, rng, x1, y1, x2, y2) -> None:
    base = np.array([238, 236, 228], dtype=np.float32) * rng.uniform(0.85, 1.0) + rng.normal(0, 4, 3)
    _fill(canvas, x1, y1, x2, y2, base)
    # The flap's V: a darker line from both top corners to the middle.
    w, h = x2 - x1, y2 - y1
    steps = max(2, int(w))
    xs = np.linspace(x1, x2, steps)
    ys = y1 + h * 0.55 * (1 - np.abs((xs - x1) / max(w, 1e-6) * 2 - 1))
    hh, ww = canvas.shape[:2]
    xi = np.clip(xs.astype(int), 0, ww - 1)
    yi = np.clip(ys.astype(int), 0, hh - 1)
    canvas[yi, xi] = base * 0.75
    if rng.random() < 0.5:  # a stamp
        _fill(canvas, x2 - 4, y1 + 1, x2 - 1, y1 + 4, np.array([200, 60, 60], dtype=np.float32))


def _draw_yellow_box(canvas, rng, x1, y1, x2, y2) -> None:
    base = np.array([225, 190, 40], dtype=np.float32) * rng.uniform(0.8, 1.1) + rng.normal(0, 8, 3)
    _fill(canvas, x1, y1, x2, y2, base)
    top = (y2 - y1) * rng.uniform(0.15, 0.3)
    _fill(canvas, x1, y1, x2, y1 + top, base * 1.1)
    # A dark logo band, like a courier's branding.
    if rng.random() < 0.7:
        by = rng.uniform(y1 + top + 1, max(y1 + top + 1, y2 - 4))
        _fill(canvas, x1 + 1, by, x2 - 1, by + 2.5, np.array([150, 30, 30], dtype=np.float32))
    edge = base * 0.65
    _fill(canvas, x1, y1, x1 + 1, y2, edge)
    _fill(canvas, x2 - 1, y1, x2, y2, edge)


_DRAW = (_draw_brown_box, _draw_envelope, _draw_yellow_box)


def porch_scene(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a house-front porch with 0–4 parcels.

    The wall (siding texture, sometimes a window) fills the top, a plank
    floor the bottom, and a door stands on the right.  Objects are drawn
    back to front and overlap little (pairwise IoU < 0.1):

    * ``brown_box`` (60 %), 18–40 px, mostly on the left;
    * ``white_envelope`` (30 %), 14–26 x 9–16 px, anywhere;
    * ``yellow_box`` (10 %), 14–28 px, mostly in front of the door.

    A global brightness factor goes from sunny (1.15) to night (0.12); about
    a fifth of the scenes are very dark.  A brown doormat (not labeled) is a
    deliberate hard negative.  Sizes scale with ``size / 128``.

    Parameters
    ----------
    rng : np.random.Generator
        Source of randomness; the scene is a pure function of its state.
    size : int, default 128
        Side of the square image, ``>= 32``.

    Returns
    -------
    image : np.ndarray
        ``uint8`` ``(size, size, 3)`` RGB.
    boxes : np.ndarray
        ``float32`` ``(k, 4)`` xyxy pixels, clipped to the image, ``0 <= k <= 4``.
    labels : np.ndarray
        ``int64`` ``(k,)`` indices into :data:`PORCH_CLASSES`.
    """
    _check_args(rng, size)
    s = size / 128.0
    canvas = np.empty((size, size, 3), dtype=np.float32)

    # Wall with horizontal siding.
    wall = rng.uniform(120, 220, 3).astype(np.float32)
    wall = wall * 0.6 + wall.mean() * 0.4  # keep wall colours muted
    canvas[:] = wall
    floor_y = size * rng.uniform(0.55, 0.68)
    gap = max(3, int(round(rng.uniform(5, 8) * s)))
    canvas[np.arange(0, int(floor_y), gap)] *= 0.85
    # A window on the left part of the wall, sometimes.
    if rng.random() < 0.5:
        wx = rng.uniform(0.05, 0.35) * size
        wy = rng.uniform(0.08, 0.2) * size
        ww_, wh_ = rng.uniform(0.18, 0.28) * size, rng.uniform(0.15, 0.25) * size
        _fill(canvas, wx - 2 * s, wy - 2 * s, wx + ww_ + 2 * s, wy + wh_ + 2 * s, [235, 235, 235])
        _fill(canvas, wx, wy, wx + ww_, wy + wh_, rng.uniform(60, 140) * np.array([0.8, 0.9, 1.0]))
    # Floor: planks.
    floor = np.array([130, 110, 90], dtype=np.float32) * rng.uniform(0.6, 1.2) + rng.normal(0, 10, 3)
    fy = int(floor_y)
    canvas[fy:] = floor
    plank = max(4, int(round(rng.uniform(7, 11) * s)))
    for x in range(int(rng.integers(0, plank)), size, plank):
        canvas[fy:, x] *= 0.8
    canvas[fy : fy + max(1, int(2 * s))] *= 0.7  # skirting shadow
    # Door on the right.
    door_x1 = size * rng.uniform(0.64, 0.72)
    door_w = size * rng.uniform(0.2, 0.25)
    door_y1 = size * rng.uniform(0.12, 0.2)
    door_color = np.array(
        [[120, 40, 35], [40, 80, 50], [60, 50, 45], [200, 200, 195], [40, 60, 110]][int(rng.integers(5))],
        dtype=np.float32,
    ) * rng.uniform(0.85, 1.15)
    _fill(canvas, door_x1 - 2 * s, door_y1 - 2 * s, door_x1 + door_w + 2 * s, floor_y, [235, 230, 220])
    _fill(canvas, door_x1, door_y1, door_x1 + door_w, floor_y, door_color)
    _fill(
        canvas,
        door_x1 + 3 * s,
        door_y1 + 4 * s,
        door_x1 + door_w - 3 * s,
        door_y1 + 0.4 * (floor_y - door_y1),
        door_color * 0.8,
    )
    kx, ky = door_x1 + door_w * 0.8, door_y1 + 0.55 * (floor_y - door_y1)
    _fill(canvas, kx, ky, kx + 2 * s, ky + 2 * s, [200, 170, 60])
    door_cx = door_x1 + door_w / 2
    # Doormat: brown, flat, wide; a hard negative for brown_box.
    if rng.random() < 0.6:
        mw, mh = rng.uniform(26, 44) * s, rng.uniform(5, 9) * s
        mx = door_cx - mw / 2 + rng.uniform(-6, 6) * s
        my = floor_y + rng.uniform(3, 10) * s
        _fill(canvas, mx, my, mx + mw, my + mh, np.array([125, 85, 50], dtype=np.float32) * rng.uniform(0.8, 1.1))
    # Plant pot on the left, sometimes: another non-object blob.
    if rng.random() < 0.3:
        px = rng.uniform(0.02, 0.2) * size
        pw = rng.uniform(10, 16) * s
        py = floor_y - rng.uniform(0, 4) * s
        _fill(canvas, px, py - 14 * s, px + pw, py, [50, 120, 50])
        _fill(canvas, px + 2 * s, py, px + pw - 2 * s, py + 9 * s, [170, 80, 50])

    # Objects.
    n_obj = int(rng.choice(5, p=[0.12, 0.3, 0.28, 0.18, 0.12]))
    boxes: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(n_obj):
        cls = int(rng.choice(3, p=PORCH_CLASS_WEIGHTS))
        for _attempt in range(20):
            if cls == 0:
                w = rng.uniform(18, 40) * s
                h = w * rng.uniform(0.65, 1.1)
                cx = np.clip(rng.normal(0.3, 0.17), 0.05, 0.95) * size
                bottom = rng.uniform(floor_y + 4 * s, size - 1)
            elif cls == 1:
                w = rng.uniform(14, 26) * s
                h = rng.uniform(9, 16) * s
                cx = rng.uniform(0.05, 0.95) * size
                bottom = rng.uniform(0.3 * size, size - 1)
            else:
                w = rng.uniform(14, 28) * s
                h = w * rng.uniform(0.7, 1.05)
                cx = door_cx + rng.normal(0, 0.09) * size
                bottom = rng.uniform(floor_y + 4 * s, size - 1)
            box = np.array([cx - w / 2, bottom - h, cx + w / 2, bottom], dtype=np.float32)
            box = np.clip(box, 0, size)
            if box[2] - box[0] < 6 * s or box[3] - box[1] < 5 * s:
                continue
            if _iou(box, boxes) < 0.1:
                boxes.append(box)
                labels.append(cls)
                break
    order = np.argsort([b[3] for b in boxes], kind="stable")  # back to front
    for i in order:
        x1, y1, x2, y2 = boxes[i]
        if labels[i] != 1:  # a soft contact shadow under boxes
            _fill(
                canvas,
                x1 + 2 * s,
                y2 - 1,
                x2 + 3 * s,
                min(size, y2 + 2 * s),
                canvas[int(min(size - 1, y2)), int(min(size - 1, x1))] * 0.6,
            )
        _DRAW[labels[i]](canvas, rng, x1, y1, x2, y2)

    # Lighting: sunny to night; at night the porch light is warm.
    if rng.random() < 0.2:
        brightness = rng.uniform(0.12, 0.3)
        tint = (1.1, 1.0, 0.8)
    else:
        brightness = rng.uniform(0.45, 1.15)
        tint = (1.0, 1.0, 1.0)
    image = _finish(canvas, rng, brightness, tint, noise=rng.uniform(2, 7))
    if boxes:
        boxes_arr = np.stack(boxes).astype(np.float32)
    else:
        boxes_arr = np.zeros((0, 4), dtype=np.float32)
    return image, boxes_arr, np.array(labels, dtype=np.int64)


def pill_scene(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a tray with 0–20 small light pills (round or oval, rotated).

    Pills are 6–14 px long (scaled with ``size / 128``), white to cream or
    pale pink, with a soft shadow; they may touch but overlap little.
    Crumbs (tiny light specks, unlabeled) and tray texture make counting
    less trivial.

    Parameters
    ----------
    rng : np.random.Generator
        Source of randomness; the scene is a pure function of its state.
    size : int, default 128
        Side of the square image, ``>= 32``.

    Returns
    -------
    image : np.ndarray
        ``uint8`` ``(size, size, 3)`` RGB.
    boxes : np.ndarray
        ``float32`` ``(k, 4)`` xyxy pixels, ``0 <= k <= 20``.
    labels : np.ndarray
        ``int64`` ``(k,)``, all zeros (:data:`PILL_CLASSES` has one class).
    """
    _check_args(rng, size)
    s = size / 128.0
    table = rng.uniform(60, 160, 3).astype(np.float32)
    canvas = np.empty((size, size, 3), dtype=np.float32)
    canvas[:] = table
    tray = np.array(
        [[70, 100, 160], [90, 90, 95], [60, 130, 110], [150, 140, 120]][int(rng.integers(4))], dtype=np.float32
    )
    tray = tray * rng.uniform(0.8, 1.15)
    m = rng.uniform(3, 8) * s
    _fill(canvas, m, m, size - m, size - m, tray * 0.8)
    _fill(canvas, m + 3 * s, m + 3 * s, size - m - 3 * s, size - m - 3 * s, tray)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    canvas += (np.sin(xx * 0.7 + yy * 0.3) * 3)[..., None]  # fine tray texture

    lo, hi = m + 4 * s, size - m - 4 * s
    n = int(rng.integers(0, 21))
    boxes: list[np.ndarray] = []
    params = []
    for _ in range(n):
        for _attempt in range(30):
            a = rng.uniform(3.0, 7.0) * s  # semi-axes
            b = a * (1.0 if rng.random() < 0.5 else rng.uniform(0.45, 0.75))
            th = rng.uniform(0, np.pi)
            hx = np.sqrt((a * np.cos(th)) ** 2 + (b * np.sin(th)) ** 2)
            hy = np.sqrt((a * np.sin(th)) ** 2 + (b * np.cos(th)) ** 2)
            cx, cy = rng.uniform(lo + hx, hi - hx), rng.uniform(lo + hy, hi - hy)
            box = np.array([cx - hx, cy - hy, cx + hx, cy + hy], dtype=np.float32)
            if _iou(box, boxes) < 0.05:
                boxes.append(box)
                params.append((cx, cy, a, b, th))
                break
    colors = np.array([[245, 245, 240], [240, 225, 190], [240, 205, 205]], dtype=np.float32)
    for cx, cy, a, b, th in params:
        color = colors[int(rng.integers(3))] * rng.uniform(0.9, 1.0)
        x0, x1 = int(max(0, cx - a - 3)), int(min(size, cx + a + 4))
        y0, y1 = int(max(0, cy - a - 3)), int(min(size, cy + a + 4))
        px, py = xx[y0:y1, x0:x1], yy[y0:y1, x0:x1]
        # Shadow: same ellipse, offset down-right, darkening only.
        for ox, oy, col, shade in ((1.5 * s, 1.5 * s, None, 0.7), (0.0, 0.0, color, None)):
            dx, dy = px - cx - ox, py - cy - oy
            u = (dx * np.cos(th) + dy * np.sin(th)) / a
            v = (-dx * np.sin(th) + dy * np.cos(th)) / b
            r = np.sqrt(u * u + v * v)
            alpha = np.clip((1.0 - r) * a, 0.0, 1.0)[..., None]  # ~1 px antialiased edge
            region = canvas[y0:y1, x0:x1]
            if col is None:
                region *= 1 - alpha * (1 - shade)
            else:
                lit = col * (1.0 - 0.1 * np.clip(u + v, -1, 1))[..., None]  # lit from top-left
                region[:] = region * (1 - alpha) + lit * alpha
    for _ in range(int(rng.integers(0, 6))):  # crumbs: tiny, unlabeled
        cx, cy = rng.uniform(lo, hi), rng.uniform(lo, hi)
        _fill(canvas, cx, cy, cx + 1.5 * s, cy + 1.5 * s, [220, 215, 205])
    image = _finish(canvas, rng, rng.uniform(0.55, 1.15), (1.0, 1.0, 1.0), noise=rng.uniform(2, 6))
    boxes_arr = np.stack(boxes).astype(np.float32) if boxes else np.zeros((0, 4), dtype=np.float32)
    return image, boxes_arr, np.zeros(len(boxes), dtype=np.int64)


def make_detection_set(scene, n: int, seed: int, size: int = 128) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
    """Draw ``n`` scenes as a detection data set.

    Parameters
    ----------
    scene : callable
        :func:`porch_scene` or :func:`pill_scene` (any ``f(rng, size)``
        returning ``(image, boxes, labels)``).
    n : int
        Number of images, ``>= 0``.
    seed : int
        Seed of the ``np.random.Generator`` drawing all scenes in order.
    size : int, default 128
        Image side.

    Returns
    -------
    images : np.ndarray
        ``uint8`` ``(n, size, size, 3)``.
    targets : list of dict
        ``n`` dicts ``{"boxes": float32 (k, 4), "labels": int64 (k,)}``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    rng = np.random.default_rng(seed)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    targets = []
    for i in range(n):
        images[i], boxes, labels = scene(rng, size)
        targets.append({"boxes": boxes, "labels": labels})
    return images, targets


def dominant_class(boxes: np.ndarray, labels: np.ndarray, num_classes: int) -> int:
    """Class covering the largest total box area, or ``num_classes`` if none.

    Turns a detection scene into a classification example ("what is mostly on
    this porch?"), with an extra "nothing" class at index ``num_classes``.

    Parameters
    ----------
    boxes : np.ndarray
        ``(k, 4)`` xyxy.
    labels : np.ndarray
        ``int64`` ``(k,)`` in ``[0, num_classes)``.
    num_classes : int
        Number of object classes.

    Returns
    -------
    int
        In ``[0, num_classes]``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(boxes) != len(labels):
        raise ValueError("boxes and labels must have the same length")
    if len(labels) == 0:
        return int(num_classes)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes})")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return int(np.argmax(np.bincount(labels, weights=area, minlength=num_classes)))
