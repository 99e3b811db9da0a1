"""Membership query synthesis: new labeled images made from labeled ones.

Each transform takes ``(image, boxes, labels)`` and returns the transformed
triple, so labels are carried over exactly:

* ``image``: ``uint8`` ``(H, W, 3)``;
* ``boxes``: ``float32`` ``(k, 4)`` xyxy in continuous pixel coordinates
  (pixel ``i`` covers ``[i, i + 1)``; box area = ``(x2 - x1) * (y2 - y1)``);
* ``labels``: ``int64`` ``(k,)``.

Visibility rule (every geometric transform): a box is kept when at least
``min_visibility`` (default 0.5) of its area is still visible in the new frame
(for :func:`paste_object`, also not covered by the pasted patch); kept boxes
are clipped to the frame, others are dropped together with their label.
A zero-area box counts as fully visible when it lies inside the frame.

:func:`plan_synthesis` turns the health statistics from
:func:`labelapp.learning.health.health_stats` into a list of
:class:`SynthesisItem`; :func:`augment` applies an item's ``ops`` to a source
image that contains the item's class. Every synthetic image costs one credit
and is confirmed by an annotator before it trains anything (app side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "SynthesisItem",
    "adjust_brightness",
    "adjust_contrast",
    "augment",
    "crop_zoom",
    "darken",
    "hflip",
    "move_to_cell",
    "paste_object",
    "plan_synthesis",
    "translate",
]

Triple = tuple[np.ndarray, np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- helpers


def _check(image: Any, boxes: Any, labels: Any) -> Triple:
    im = np.asarray(image)
    if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (H, W, 3), got {im.dtype} {im.shape}")
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4), np.float32)
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(b) != len(lab):
        raise ValueError(f"{len(b)} boxes but {len(lab)} labels")
    if not np.all(np.isfinite(b)) or np.any(b[:, 2] < b[:, 0]) or np.any(b[:, 3] < b[:, 1]):
        raise ValueError("boxes must be finite xyxy with x2 >= x1, y2 >= y1")
    return im, b, lab


def _area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def _clip_filter(
    boxes: np.ndarray, labels: np.ndarray, width: float, height: float, min_visibility: float
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the visibility rule for a frame ``[0, width] x [0, height]``."""
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError("min_visibility must be in [0, 1]")
    if len(boxes) == 0:
        return boxes.astype(np.float32).reshape(0, 4), labels
    clipped = boxes.copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, width)
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, height)
    area = _area(boxes)
    inside = (boxes[:, 0] >= 0) & (boxes[:, 2] <= width) & (boxes[:, 1] >= 0) & (boxes[:, 3] <= height)
    with np.errstate(divide="ignore", invalid="ignore"):
        vis = np.where(area > 0, _area(clipped) / np.where(area > 0, area, 1), inside.astype(float))
    keep = vis >= min_visibility
    if min_visibility > 0:
        keep &= vis > 0
    return clipped[keep].astype(np.float32), labels[keep]


def _resize_bilinear(image: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Bilinear resize with pixel-centre alignment (like OpenCV INTER_LINEAR)."""
    h, w = image.shape[:2]
    ys = np.clip((np.arange(out_h) + 0.5) * h / out_h - 0.5, 0, h - 1)
    xs = np.clip((np.arange(out_w) + 0.5) * w / out_w - 0.5, 0, w - 1)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    wy = (ys - y0)[:, None, None]
    wx = (xs - x0)[None, :, None]
    im = image.astype(np.float32)
    top = im[y0][:, x0] * (1 - wx) + im[y0][:, x1] * wx
    bot = im[y1][:, x0] * (1 - wx) + im[y1][:, x1] * wx
    return np.clip(np.rint(top * (1 - wy) + bot * wy), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- photometric


def adjust_brightness(image: Any, boxes: Any, labels: Any, delta: float) -> Triple:
    """Add ``delta`` (pixel units, -255..255) to every channel, clipped to 0..255.

    Boxes and labels are unchanged (copied).
    """
    im, b, lab = _check(image, boxes, labels)
    if not -255 <= delta <= 255:
        raise ValueError("delta must be in [-255, 255]")
    out = np.clip(im.astype(np.float32) + float(delta), 0, 255)
    return np.rint(out).astype(np.uint8), b.copy(), lab.copy()


def adjust_contrast(image: Any, boxes: Any, labels: Any, factor: float) -> Triple:
    """Scale deviations from the image's mean grey level by ``factor`` (>= 0).

    ``factor`` < 1 flattens, > 1 strengthens contrast; 1 is the identity.
    """
    im, b, lab = _check(image, boxes, labels)
    if factor < 0:
        raise ValueError("factor must be >= 0")
    x = im.astype(np.float32)
    mean = float((x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean())
    out = np.clip((x - mean) * float(factor) + mean, 0, 255)
    return np.rint(out).astype(np.uint8), b.copy(), lab.copy()


def darken(image: Any, boxes: Any, labels: Any, factor: float = 0.35, gamma: float = 1.0) -> Triple:
    """Simulate low light: ``255 * factor * (x / 255) ** gamma``.

    Parameters
    ----------
    factor : float in (0, 1]
        Overall light level.
    gamma : float > 0, default 1
        > 1 crushes shadows more than highlights (a night look).
    """
    im, b, lab = _check(image, boxes, labels)
    if not 0 < factor <= 1:
        raise ValueError("factor must be in (0, 1]")
    if gamma <= 0:
        raise ValueError("gamma must be > 0")
    out = 255.0 * factor * (im.astype(np.float32) / 255.0) ** gamma
    return np.rint(out).astype(np.uint8), b.copy(), lab.copy()


# --------------------------------------------------------------------------- geometric


def hflip(image: Any, boxes: Any, labels: Any) -> Triple:
    """Mirror left-right: ``x1' = W - x2``, ``x2' = W - x1``."""
    im, b, lab = _check(image, boxes, labels)
    w = im.shape[1]
    nb = b.copy()
    nb[:, 0] = w - b[:, 2]
    nb[:, 2] = w - b[:, 0]
    return im[:, ::-1].copy(), nb, lab.copy()


def translate(
    image: Any, boxes: Any, labels: Any, dx: int, dy: int, *, fill: int = 0, min_visibility: float = 0.5
) -> Triple:
    """Shift the content by whole pixels ``(dx, dy)`` (right / down positive).

    Uncovered pixels take the value ``fill``; boxes move by ``(dx, dy)`` and
    then follow the visibility rule.
    """
    im, b, lab = _check(image, boxes, labels)
    if int(dx) != dx or int(dy) != dy:
        raise ValueError("dx and dy must be whole pixels")
    dx, dy = int(dx), int(dy)
    h, w = im.shape[:2]
    out = np.full_like(im, fill)
    xs_dst, xs_src = slice(max(dx, 0), min(w + dx, w)), slice(max(-dx, 0), min(w - dx, w))
    ys_dst, ys_src = slice(max(dy, 0), min(h + dy, h)), slice(max(-dy, 0), min(h - dy, h))
    if abs(dx) < w and abs(dy) < h:
        out[ys_dst, xs_dst] = im[ys_src, xs_src]
    nb = b + np.array([dx, dy, dx, dy], dtype=np.float32)
    nb, lab = _clip_filter(nb, lab, w, h, min_visibility)
    return out, nb, lab


def crop_zoom(
    image: Any,
    boxes: Any,
    labels: Any,
    crop_xyxy: Sequence[int],
    out_size: Sequence[int],
    *,
    min_visibility: float = 0.5,
) -> Triple:
    """Crop a region and resize it to ``out_size``.

    Parameters
    ----------
    crop_xyxy : (x1, y1, x2, y2) ints
        Crop in pixels, ``0 <= x1 < x2 <= W``, ``0 <= y1 < y2 <= H``.
    out_size : (width, height) ints
        Output size; bilinear resampling.
    min_visibility : float, default 0.5
        See the module's visibility rule (visibility inside the crop).

    Returns
    -------
    image ``(height, width, 3)``, boxes mapped by
    ``x' = (x - x1) * width / (x2 - x1)``, ``y' = (y - y1) * height / (y2 - y1)``,
    labels of the kept boxes.
    """
    im, b, lab = _check(image, boxes, labels)
    h, w = im.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in crop_xyxy)
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        raise ValueError(f"crop {crop_xyxy} must lie inside the {w}x{h} image and be non-empty")
    ow, oh = (int(v) for v in out_size)
    if ow < 1 or oh < 1:
        raise ValueError("out_size must be positive")
    cw, ch = x2 - x1, y2 - y1
    nb = b - np.array([x1, y1, x1, y1], dtype=np.float32)
    nb, lab = _clip_filter(nb, lab, cw, ch, min_visibility)
    nb = (nb.astype(np.float64) * np.array([ow / cw, oh / ch, ow / cw, oh / ch])).astype(np.float32)
    return _resize_bilinear(im[y1:y2, x1:x2], ow, oh), nb, lab


def paste_object(
    image: Any,
    boxes: Any,
    labels: Any,
    index: int,
    dest_xy: Sequence[int],
    *,
    min_visibility: float = 0.5,
) -> Triple:
    """Copy the pixels of box ``index`` to a new top-left corner ``dest_xy``.

    The copy becomes a new box (appended last, same label), clipped to the
    frame. Existing boxes covered by the pasted patch follow the visibility
    rule (visible = not covered). Box corners are rounded outward to whole
    pixels for the copy; the new box is the pasted patch.
    """
    im, b, lab = _check(image, boxes, labels)
    if not 0 <= index < len(b):
        raise ValueError(f"index {index} out of range for {len(b)} boxes")
    h, w = im.shape[:2]
    sx1, sy1 = int(np.floor(max(b[index, 0], 0))), int(np.floor(max(b[index, 1], 0)))
    sx2, sy2 = int(np.ceil(min(b[index, 2], w))), int(np.ceil(min(b[index, 3], h)))
    if sx2 <= sx1 or sy2 <= sy1:
        raise ValueError("the source box has no pixels inside the image")
    dx1, dy1 = (int(v) for v in dest_xy)
    pw, ph = sx2 - sx1, sy2 - sy1
    # Paste only the part that lands inside the frame.
    cx1, cy1 = max(dx1, 0), max(dy1, 0)
    cx2, cy2 = min(dx1 + pw, w), min(dy1 + ph, h)
    if cx2 <= cx1 or cy2 <= cy1:
        raise ValueError("the destination lies outside the image")
    out = im.copy()
    out[cy1:cy2, cx1:cx2] = im[sy1 + (cy1 - dy1) : sy1 + (cy2 - dy1), sx1 + (cx1 - dx1) : sx1 + (cx2 - dx1)]
    new_box = np.array([cx1, cy1, cx2, cy2], dtype=np.float32)
    # Occlusion: visible area of each old box = area minus overlap with the patch.
    area = _area(b)
    iw = np.clip(np.minimum(b[:, 2], cx2) - np.maximum(b[:, 0], cx1), 0, None)
    ih = np.clip(np.minimum(b[:, 3], cy2) - np.maximum(b[:, 1], cy1), 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        vis = np.where(area > 0, 1.0 - iw * ih / np.where(area > 0, area, 1), 1.0)
    keep = vis >= min_visibility
    nb = np.concatenate([b[keep], new_box[None]]).astype(np.float32)
    nl = np.concatenate([lab[keep], lab[index : index + 1]])
    return out, nb, nl


def move_to_cell(
    image: Any,
    boxes: Any,
    labels: Any,
    class_index: int,
    cell: Sequence[int],
    regions: int,
    rng: np.random.Generator,
    *,
    mode: str = "paste",
    min_visibility: float = 0.5,
) -> Triple:
    """Put an object of ``class_index`` into region cell ``(row, col)``.

    The cell is one of ``regions x regions`` equal parts of the frame (as in
    ``health_stats``'s ``region_counts``). A random box of the class is
    chosen and its centre is placed at a random point of the cell (as far as
    the box fits in the frame).

    Parameters
    ----------
    mode : {"paste", "translate"}
        ``"paste"`` copies the object's pixels there (the scene stays put, one
        more box); ``"translate"`` shifts the whole image (black borders).

    Raises
    ------
    ValueError
        If the image has no box of ``class_index``.
    """
    im, b, lab = _check(image, boxes, labels)
    if mode not in ("paste", "translate"):
        raise ValueError(f"unknown mode {mode!r}")
    cand = np.flatnonzero(lab == class_index)
    if cand.size == 0:
        raise ValueError(f"image has no box of class {class_index}")
    r, c = (int(v) for v in cell)
    if not (0 <= r < regions and 0 <= c < regions):
        raise ValueError(f"cell {cell} outside a {regions}x{regions} grid")
    h, w = im.shape[:2]
    i = int(rng.choice(cand))
    bw, bh = float(b[i, 2] - b[i, 0]), float(b[i, 3] - b[i, 1])
    tx = rng.uniform(c * w / regions, (c + 1) * w / regions)
    ty = rng.uniform(r * h / regions, (r + 1) * h / regions)
    # Keep the whole object in frame when it fits, so the new box stays visible.
    tx = float(np.clip(tx, min(bw / 2, w / 2), max(w - bw / 2, w / 2)))
    ty = float(np.clip(ty, min(bh / 2, h / 2), max(h - bh / 2, h / 2)))
    if mode == "paste":
        return paste_object(
            im, b, lab, i, (int(round(tx - bw / 2)), int(round(ty - bh / 2))), min_visibility=min_visibility
        )
    dx = int(round(tx - (b[i, 0] + b[i, 2]) / 2))
    dy = int(round(ty - (b[i, 1] + b[i, 3]) / 2))
    return translate(im, b, lab, dx, dy, min_visibility=min_visibility)


# --------------------------------------------------------------------------- augment


def _param(spec: dict, key: str, default: Any, rng: np.random.Generator) -> Any:
    """A number, or ``[lo, hi]`` meaning uniform in that range."""
    v = spec.get(key, default)
    if isinstance(v, (list, tuple)) and len(v) == 2 and key not in ("crop", "cell", "out_size", "dest"):
        return float(rng.uniform(float(v[0]), float(v[1])))
    return v


def augment(image: Any, boxes: Any, labels: Any, ops: Sequence[dict], rng: np.random.Generator) -> Triple:
    """Apply a list of op specs in order.

    Each spec is a dict with ``"op"`` and its parameters; a numeric parameter
    given as ``[lo, hi]`` is drawn uniformly with ``rng``; an optional ``"p"``
    applies the op with that probability. Ops:

    * ``{"op": "brightness", "delta": d}``
    * ``{"op": "contrast", "factor": f}``
    * ``{"op": "darken", "factor": f, "gamma": g}``
    * ``{"op": "hflip"}``
    * ``{"op": "translate", "dx": int, "dy": int}`` (drawn values are rounded)
    * ``{"op": "crop_zoom", "crop": [x1, y1, x2, y2], "out_size": [w, h]}`` or
      ``{"op": "crop_zoom", "scale": s}``: a random crop of ``s`` times the
      image side (kept at the input size)
    * ``{"op": "move_to_cell", "class": k, "cell": [row, col], "regions": R,
      "mode": "paste" | "translate"}``

    Raises
    ------
    ValueError
        On an unknown op or bad parameters.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    im, b, lab = _check(image, boxes, labels)
    for spec in ops:
        if not isinstance(spec, dict) or "op" not in spec:
            raise ValueError(f"bad op spec {spec!r}")
        p = float(spec.get("p", 1.0))
        if p < 1.0 and rng.random() >= p:
            continue
        op = spec["op"]
        mv = float(spec.get("min_visibility", 0.5))
        if op == "brightness":
            im, b, lab = adjust_brightness(im, b, lab, _param(spec, "delta", 0.0, rng))
        elif op == "contrast":
            im, b, lab = adjust_contrast(im, b, lab, _param(spec, "factor", 1.0, rng))
        elif op == "darken":
            im, b, lab = darken(im, b, lab, _param(spec, "factor", 0.35, rng), _param(spec, "gamma", 1.0, rng))
        elif op == "hflip":
            im, b, lab = hflip(im, b, lab)
        elif op == "translate":
            dx = int(round(_param(spec, "dx", 0, rng)))
            dy = int(round(_param(spec, "dy", 0, rng)))
            im, b, lab = translate(im, b, lab, dx, dy, min_visibility=mv)
        elif op == "crop_zoom":
            h, w = im.shape[:2]
            if "crop" in spec:
                crop = spec["crop"]
                out_size = spec.get("out_size", (w, h))
            else:
                s = float(_param(spec, "scale", 0.8, rng))
                if not 0 < s <= 1:
                    raise ValueError("crop_zoom scale must be in (0, 1]")
                cw, ch = max(1, int(round(w * s))), max(1, int(round(h * s)))
                x1 = int(rng.integers(0, w - cw + 1))
                y1 = int(rng.integers(0, h - ch + 1))
                crop, out_size = (x1, y1, x1 + cw, y1 + ch), (w, h)
            im, b, lab = crop_zoom(im, b, lab, crop, out_size, min_visibility=mv)
        elif op == "move_to_cell":
            im, b, lab = move_to_cell(
                im,
                b,
                lab,
                int(spec["class"]),
                spec["cell"],
                int(spec.get("regions", 3)),
                rng,
                mode=spec.get("mode", "paste"),
                min_visibility=mv,
            )
        else:
            raise ValueError(f"unknown op {op!r}")
    return im, b, lab


# --------------------------------------------------------------------------- planner


@dataclass(frozen=True)
class SynthesisItem:
    """``count`` synthetic images of ``class_index`` aimed at region ``cell``.

    Attributes
    ----------
    class_index : int
        The class to add examples of; the source image must contain it.
    cell : tuple (row, col) or None
        Target cell of the ``regions x regions`` grid; None = anywhere.
    ops : list of dict
        Op specs for :func:`augment` (random ranges are drawn per image).
    count : int
        Number of images (= credits).
    reason : str
        Recommendation code(s) this item answers.
    """

    class_index: int
    cell: tuple | None
    ops: list = field(default_factory=list)
    count: int = 1
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "class_index": int(self.class_index),
            "cell": list(self.cell) if self.cell is not None else None,
            "ops": self.ops,
            "count": int(self.count),
            "reason": self.reason,
        }


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` summing to ``total`` (weights > 0 somewhere)."""
    share = weights / weights.sum() * total
    out = np.floor(share).astype(np.int64)
    rest = total - int(out.sum())
    if rest > 0:
        # Stable tie-break by index keeps the plan deterministic.
        order = np.argsort(-(share - out), kind="stable")
        out[order[:rest]] += 1
    return out


def _water_fill(counts: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Add ``total`` units one at a time to the currently smallest entry (random ties)."""
    alloc = np.zeros_like(counts)
    level = counts.astype(np.float64).copy()
    for _ in range(total):
        m = level.min()
        j = int(rng.choice(np.flatnonzero(level == m)))
        alloc[j] += 1
        level[j] += 1
    return alloc


def plan_synthesis(
    health: dict,
    allowance: int,
    rng: np.random.Generator,
    *,
    photometric: bool = True,
) -> list[SynthesisItem]:
    """Plan how to spend ``allowance`` synthetic images (credits).

    1. Classes: the allowance first closes the gap of each class to the
       largest one (``max(count) - count_c``), proportionally when it does not
       suffice; any rest goes to classes in proportion to ``1 / count_c``.
       Classes with no example at all are skipped: there is nothing to
       synthesise from (the ``class_missing`` recommendation asks to collect).
    2. Cells (detection): within a class, images go one by one to the region
       cell with the fewest boxes of that class so far (water filling), among
       the cells where *some* class has been seen -- a cell no object ever
       occupies (the sky) is not a plausible target.
    3. Ops: ``move_to_cell`` for the target cell, mild random brightness and
       contrast, and a 50 % chance of ``darken`` when the health report says
       ``few_dark_images``.

    Parameters
    ----------
    health : dict
        Output of :func:`labelapp.learning.health.health_stats`.
    allowance : int
        Maximum number of synthetic images (>= 0); the plan never exceeds it.
    rng : numpy.random.Generator
        Breaks ties between equally empty cells.
    photometric : bool, default True
        Add the random brightness/contrast ops.

    Returns
    -------
    list of SynthesisItem
        ``sum(item.count) <= allowance``; items with count 0 are omitted.
    """
    if int(allowance) != allowance or allowance < 0:
        raise ValueError("allowance must be a non-negative integer")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    try:
        counts = np.asarray(health["class_counts"], dtype=np.int64)
    except KeyError:
        raise ValueError("health must come from health_stats (no 'class_counts')") from None
    allowance = int(allowance)
    usable = counts > 0
    if allowance == 0 or not usable.any():
        return []
    deficit = np.where(usable, counts.max() - counts, 0)
    if deficit.sum() >= allowance:
        per_class = _largest_remainder(deficit.astype(np.float64), allowance) if deficit.sum() else deficit
    else:
        rest = allowance - int(deficit.sum())
        inv = np.where(usable, 1.0 / np.maximum(counts, 1), 0.0)
        per_class = deficit + _largest_remainder(inv, rest)

    codes = {r.get("code") for r in health.get("recommendations", [])}
    base_ops: list[dict] = []
    if photometric:
        base_ops += [{"op": "brightness", "delta": [-25, 25]}, {"op": "contrast", "factor": [0.85, 1.15]}]
    if "few_dark_images" in codes:
        base_ops.append({"op": "darken", "factor": [0.15, 0.45], "p": 0.5})

    items: list[SynthesisItem] = []
    region_counts = health.get("region_counts")
    for k in np.flatnonzero(per_class):
        n_k = int(per_class[k])
        reason = "class_imbalance" if deficit[k] > 0 else "class_balance"
        if region_counts is None:  # classification: no positions
            items.append(SynthesisItem(int(k), None, list(base_ops), n_k, reason))
            continue
        rc = np.asarray(region_counts, dtype=np.int64)
        regions = rc.shape[1]
        plausible = rc.sum(axis=0) > 0
        if not plausible.any():  # inconsistent input: no positions known
            items.append(SynthesisItem(int(k), None, list(base_ops), n_k, reason))
            continue
        cells = np.argwhere(plausible)
        alloc = _water_fill(rc[k][plausible], n_k, rng)
        for (r, c), m in zip(cells, alloc):
            if m == 0:
                continue
            ops = [{"op": "move_to_cell", "class": int(k), "cell": [int(r), int(c)], "regions": int(regions)}]
            why = reason + ("+region_gap" if rc[k, r, c] == 0 else "")
            items.append(SynthesisItem(int(k), (int(r), int(c)), ops + list(base_ops), int(m), why))
    return items
