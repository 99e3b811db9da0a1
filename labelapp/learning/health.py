"""Dataset health statistics: what the labeled set is missing.

:func:`health_stats` summarises the labeled images of a project -- class
balance, where the objects sit in the frame, how large they are, how many
images have no object, optionally how bright the images are -- and turns the
gaps into ``recommendations`` that the admin UI shows and that
:func:`labelapp.learning.synthesis.plan_synthesis` acts on.

Everything returned is JSON-serialisable (lists, ints, floats, strings).
Coordinates are normalised by the image size, so images of different sizes
pool together; grids are indexed ``[row][col]`` = ``[y][x]``, row 0 at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "DARK_LEVEL",
    "DEFAULT_SIZE_BINS",
    "REGION_NAMES",
    "health_stats",
]

#: Edges of the relative box-size histogram, size = sqrt(box area / image area).
#: The last bin is closed and also takes sizes above 1 (should not happen).
DEFAULT_SIZE_BINS = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0)

#: Mean pixel value (0-255) under which an image counts as dark.
DARK_LEVEL = 64.0

#: Human names of the thirds used in messages.
REGION_NAMES = {"x": ("left", "middle", "right"), "y": ("top", "middle", "bottom")}


def _labels_of(ann: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(ann, dict) and "boxes" in ann:
        boxes = np.asarray(ann["boxes"], dtype=np.float64).reshape(-1, 4)
        labels = np.asarray(ann["labels"]).reshape(-1).astype(np.int64)
        if len(boxes) != len(labels):
            raise ValueError("an annotation has different numbers of boxes and labels")
        return boxes, labels
    raise ValueError("detection annotations must be dicts with 'boxes' and 'labels'")


def _class_label(ann: Any) -> int:
    if isinstance(ann, dict):
        if "label" not in ann:
            raise ValueError("classification annotations must be ints or dicts with 'label'")
        ann = ann["label"]
    if isinstance(ann, (bool, np.bool_)) or int(ann) != ann:
        raise ValueError(f"bad class label {ann!r}")
    return int(ann)


def _name(class_names: Sequence[str], k: int) -> str:
    return str(class_names[k])


def health_stats(
    annotations: Sequence[Any],
    image_sizes: Any,
    num_classes: int,
    *,
    task: str = "detection",
    grid: int = 8,
    regions: int = 3,
    size_bins: Sequence[float] = DEFAULT_SIZE_BINS,
    brightness: Any = None,
    class_names: Sequence[str] | None = None,
    imbalance_ratio: float = 3.0,
    min_boxes_for_regions: int = 10,
    rare_region_fraction: float = 0.05,
    min_dark_fraction: float = 0.1,
) -> dict:
    """Health statistics and recommendations for a labeled set.

    Parameters
    ----------
    annotations : sequence of length N
        Detection: ``{"boxes": (k, 4) xyxy pixels, "labels": (k,) int}`` per
        image. Classification: an int class per image, or ``{"label": int}``.
    image_sizes : array-like, shape (N, 2), or list of (w, h); None for classification
        Image width and height in pixels.
    num_classes : int
        ``C``; labels must lie in ``[0, C)``.
    task : {"detection", "classification"}
        Classification computes class counts (and brightness) only.
    grid : int, default 8
        Side of the per-class box-centre heatmap.
    regions : int, default 3
        Side of the coarse region grid (thirds) used for ``region_counts``,
        recommendations and the synthesis planner.
    size_bins : sequence of float
        Increasing edges of the relative size histogram (``sqrt(area_box /
        area_image)``), starting at 0.
    brightness : array-like, shape (N,), optional
        Mean pixel value (0-255) per image; enables ``brightness`` stats and
        the ``few_dark_images`` recommendation.
    class_names : sequence of str, optional
        Used in messages; defaults to ``"class 0"``, ...
    imbalance_ratio : float, default 3
        A class with at least this many times fewer examples than the largest
        class gets a ``class_imbalance`` recommendation.
    min_boxes_for_regions : int, default 10
        Region recommendations only for classes with at least this many boxes
        (below that, gaps are noise).
    rare_region_fraction : float, default 0.05
        A third of the frame holding less than this fraction of a class's
        boxes gets a ``region_gap`` recommendation.
    min_dark_fraction : float, default 0.1
        Fewer dark images than this fraction -> ``few_dark_images``.

    Returns
    -------
    dict
        Always: ``task``, ``num_images``, ``num_classes``, ``class_names``,
        ``class_counts`` (C ints: boxes per class, or images per class),
        ``recommendations`` (list of dicts with ``code``, ``class`` (int or
        None), ``class_name``, ``severity`` ("high" | "medium" | "low"),
        ``message`` and code-specific fields).
        Detection adds ``images_per_class`` (C ints), ``images_without_boxes``
        (int), ``boxes_per_image`` (float mean), ``grid``, ``heatmap``
        (C x grid x grid ints), ``regions``, ``region_counts`` (C x regions x
        regions ints), ``size_bins`` (edges), ``size_hist`` (C x bins ints).
        With ``brightness``: ``brightness`` = ``{"mean", "dark_level",
        "dark_fraction", "hist", "bins"}``.

    Raises
    ------
    ValueError
        On inconsistent lengths, labels outside ``[0, C)``, bad sizes or bins.
    """
    if task not in ("detection", "classification"):
        raise ValueError(f"unknown task {task!r}")
    c = int(num_classes)
    if c < 1:
        raise ValueError("num_classes must be >= 1")
    if grid < 1 or regions < 1:
        raise ValueError("grid and regions must be >= 1")
    names = list(class_names) if class_names is not None else [f"class {k}" for k in range(c)]
    if len(names) != c:
        raise ValueError("class_names must have num_classes entries")
    n = len(annotations)
    out: dict = {"task": task, "num_images": n, "num_classes": c, "class_names": names}
    recs: list[dict] = []

    if task == "classification":
        labels = np.array([_class_label(a) for a in annotations], dtype=np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= c):
            raise ValueError(f"labels must be in [0, {c})")
        counts = np.bincount(labels, minlength=c)
    else:
        sizes = np.asarray(image_sizes if image_sizes is not None else [], dtype=np.float64)
        if sizes.size == 0:
            sizes = sizes.reshape(0, 2)
        if sizes.shape != (n, 2):
            raise ValueError(f"image_sizes must have shape (N={n}, 2), got {sizes.shape}")
        if n and sizes.min() <= 0:
            raise ValueError("image sizes must be positive")
        edges = np.asarray(size_bins, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("size_bins must be at least 2 increasing edges")
        counts = np.zeros(c, dtype=np.int64)
        per_image = np.zeros(c, dtype=np.int64)
        heat = np.zeros((c, grid, grid), dtype=np.int64)
        coarse = np.zeros((c, regions, regions), dtype=np.int64)
        size_hist = np.zeros((c, len(edges) - 1), dtype=np.int64)
        empty = 0
        total_boxes = 0
        for i, ann in enumerate(annotations):
            boxes, labels = _labels_of(ann)
            if labels.size and (labels.min() < 0 or labels.max() >= c):
                raise ValueError(f"annotation {i}: labels must be in [0, {c})")
            if len(labels) == 0:
                empty += 1
                continue
            total_boxes += len(labels)
            w, h = sizes[i]
            cx = np.clip((boxes[:, 0] + boxes[:, 2]) / 2 / w, 0.0, 1.0)
            cy = np.clip((boxes[:, 1] + boxes[:, 3]) / 2 / h, 0.0, 1.0)
            # A centre exactly on the right/bottom edge belongs to the last cell.
            gx = np.minimum((cx * grid).astype(np.int64), grid - 1)
            gy = np.minimum((cy * grid).astype(np.int64), grid - 1)
            rx = np.minimum((cx * regions).astype(np.int64), regions - 1)
            ry = np.minimum((cy * regions).astype(np.int64), regions - 1)
            area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
            rel = np.sqrt(area / (w * h))
            sb = np.clip(np.searchsorted(edges, rel, side="right") - 1, 0, len(edges) - 2)
            np.add.at(counts, labels, 1)
            np.add.at(heat, (labels, gy, gx), 1)
            np.add.at(coarse, (labels, ry, rx), 1)
            np.add.at(size_hist, (labels, sb), 1)
            per_image[np.unique(labels)] += 1
        out.update(
            {
                "images_per_class": per_image.tolist(),
                "images_without_boxes": int(empty),
                "boxes_per_image": float(total_boxes / n) if n else 0.0,
                "grid": int(grid),
                "heatmap": heat.tolist(),
                "regions": int(regions),
                "region_counts": coarse.tolist(),
                "size_bins": [float(e) for e in edges],
                "size_hist": size_hist.tolist(),
            }
        )
    out["class_counts"] = counts.tolist()
    unit = "boxes" if task == "detection" else "images"

    # Class balance: missing classes first (nothing to synthesise from), then rare ones.
    top = int(np.argmax(counts)) if counts.size else 0
    for k in range(c):
        if counts[k] == 0:
            recs.append(
                {
                    "code": "class_missing",
                    "class": k,
                    "class_name": _name(names, k),
                    "severity": "high",
                    "message": f"no {_name(names, k)} examples yet: collect and label some",
                }
            )
        elif counts[top] >= imbalance_ratio * counts[k]:
            ratio = counts[top] / counts[k]
            recs.append(
                {
                    "code": "class_imbalance",
                    "class": k,
                    "class_name": _name(names, k),
                    "severity": "high" if ratio >= 3 * imbalance_ratio else "medium",
                    "ratio": float(ratio),
                    "reference_class": top,
                    "message": (
                        f"{_name(names, k)} has {ratio:.0f}\u00d7 fewer {unit} than "
                        f"{_name(names, top)}: synthesize or collect more"
                    ),
                }
            )

    if task == "detection":
        coarse_arr = np.asarray(out["region_counts"])
        all_cols = coarse_arr.sum(axis=(0, 1))
        all_rows = coarse_arr.sum(axis=(0, 2))
        for k in range(c):
            if counts[k] < min_boxes_for_regions:
                continue
            # Column sums give counts per horizontal third (x), row sums per vertical one (y).
            # A third where objects of *any* class are rare (e.g. the sky) is a property
            # of the scene, not a gap: only report thirds other classes do occupy.
            for axis_name, along, overall in (
                ("x", coarse_arr[k].sum(axis=0), all_cols),
                ("y", coarse_arr[k].sum(axis=1), all_rows),
            ):
                for j, cnt in enumerate(along):
                    if cnt >= rare_region_fraction * counts[k]:
                        continue
                    if overall[j] < 2 * rare_region_fraction * overall.sum():
                        continue
                    if regions == 3:
                        place = f"the {REGION_NAMES[axis_name][j]} third of the image"
                    else:
                        place = f"{axis_name} region {j} of {regions}"
                    lead = "no" if cnt == 0 else f"only {int(cnt)}"
                    noun = "example" if cnt == 1 else "examples"
                    recs.append(
                        {
                            "code": "region_gap",
                            "class": k,
                            "class_name": _name(names, k),
                            "severity": "medium" if cnt == 0 else "low",
                            "axis": axis_name,
                            "index": j,
                            "count": int(cnt),
                            "message": f"{lead} {_name(names, k)} {noun} in {place}",
                        }
                    )
            hist = np.asarray(out["size_hist"][k])
            if np.count_nonzero(hist) == 1:
                b = int(np.flatnonzero(hist)[0])
                lo, hi = out["size_bins"][b], out["size_bins"][b + 1]
                recs.append(
                    {
                        "code": "size_narrow",
                        "class": k,
                        "class_name": _name(names, k),
                        "severity": "low",
                        "bin": b,
                        "message": (
                            f"all {_name(names, k)} boxes have the same relative size "
                            f"({lo:.2f}-{hi:.2f}): crop/zoom to vary it"
                        ),
                    }
                )
        if n >= 20 and out["images_without_boxes"] == 0:
            recs.append(
                {
                    "code": "no_empty_images",
                    "class": None,
                    "class_name": None,
                    "severity": "low",
                    "message": "no labeled images without objects: add some so the model learns what is not an object",
                }
            )

    if brightness is not None:
        b = np.asarray(brightness, dtype=np.float64).reshape(-1)
        if len(b) != n:
            raise ValueError("brightness must have one value per image")
        if b.size and (not np.all(np.isfinite(b)) or b.min() < 0 or b.max() > 255):
            raise ValueError("brightness values must be in [0, 255]")
        bins = np.linspace(0, 256, 9)
        dark = float(np.mean(b < DARK_LEVEL)) if n else 0.0
        out["brightness"] = {
            "mean": float(b.mean()) if n else float("nan"),
            "dark_level": DARK_LEVEL,
            "dark_fraction": dark,
            "bins": [float(v) for v in bins],
            "hist": np.histogram(b, bins=bins)[0].tolist(),
        }
        if n and dark < min_dark_fraction:
            recs.append(
                {
                    "code": "few_dark_images",
                    "class": None,
                    "class_name": None,
                    "severity": "medium",
                    "dark_fraction": dark,
                    "message": (
                        f"few dark images ({dark:.0%} below brightness {DARK_LEVEL:.0f}): "
                        f"synthesize darkened copies or collect night-time images"
                    ),
                }
            )
    out["recommendations"] = recs
    return out
