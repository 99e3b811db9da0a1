"""The bridge from Django rows to labelapp.learning arrays: decoding, the pool cache,
label targets, and loading model versions once per worker process."""

import math
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
from django.conf import settings

from labelapp.projects.task_types import task_type_spec

_LOADED: "OrderedDict[int, object]" = OrderedDict()
_LOADED_MAX = 2


def default_model(task_type: str) -> str:
    """The pretrained models when the backbone is installed, the from-scratch ones otherwise."""
    from .embeddings import backbone

    spec = task_type_spec(task_type)
    return spec.pretrained_model if backbone() is not None else spec.from_scratch_model


#: Registered models that read cached embeddings (by name, for code that must not import torch).
VECTOR_MODELS = frozenset({"embedding_classifier"})


def reads_vectors(model) -> bool:
    """Whether a model reads cached embeddings (the fast path) instead of pixels."""
    return hasattr(model, "predict_vectors")


def input_size_for(project) -> int:
    return project.config.get("input_size") or task_type_spec(project.task_type).input_size


_CACHES: dict[tuple[int, int], object] = {}


def project_cache_dir(project) -> Path:
    """Where a project's caches live. The creation time tells apart projects whose ids a
    reset database handed out again."""
    incarnation = int(project.created_at.timestamp() * 1e6)
    return Path(settings.VAR_DIR) / "cache" / f"project-{project.pk}-{incarnation}"


def pool_cache(project, size: int):
    """The process's PoolCache for a project and input size. Kept per process so its id
    index is built once, not rescanned from every chunk file by every rescore task; a miss
    refreshes it (another worker may have written chunks since)."""
    from labelapp.learning.data import PoolCache

    key = (project.pk, size)
    directory = project_cache_dir(project) / f"size-{size}"
    cache = _CACHES.get(key)
    if cache is None or cache.directory != directory:
        cache = _CACHES[key] = PoolCache(directory, size)
    return cache


def decode_prepared(image, *, size: int, task: str):
    """(prepared uint8 (S,S,3), Letterbox or None) for one Image row, read from storage."""
    from labelapp.learning.data import decode_rgb, prepare

    with image.file.open("rb") as handle:
        data = handle.read()
    return prepare(decode_rgb(data), size, task)


def prepared_images(project, images: list, *, size: int) -> np.ndarray:
    """Prepared tensors for Image rows, from the pool cache; misses are decoded once and cached."""
    cache = pool_cache(project, size)
    if not images:
        return np.empty((0, size, size, 3), dtype=np.uint8)
    ids = np.array([image.pk for image in images], dtype=np.int64)
    try:
        return cache.get_many(ids)
    except KeyError:
        cache.refresh()
    try:
        return cache.get_many(ids)
    except KeyError:
        pass
    index = cache.index()
    missing = [image for image in images if image.pk not in index]
    if missing:
        arrays = np.stack([decode_prepared(image, size=size, task=project.task_type)[0] for image in missing])
        cache.write_chunk(
            f"b{missing[0].pk}_{missing[-1].pk}_{len(missing)}", np.array([i.pk for i in missing]), arrays
        )
    cache.refresh()
    return cache.get_many(ids)


def letterbox_for(image, size: int):
    """The letterbox transform of an image from its stored size alone (no decoding)."""
    from labelapp.learning.data import Letterbox

    scale = min(size / image.width, size / image.height)
    new_w, new_h = round(image.width * scale), round(image.height * scale)
    return Letterbox(scale=scale, pad_x=(size - new_w) / 2, pad_y=(size - new_h) / 2, size=size)


def detection_target(annotation_boxes: list[dict], class_index: dict[int, int], transform) -> dict:
    if not annotation_boxes:
        return {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros((0,), np.int64)}
    xyxy = np.array([[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]] for b in annotation_boxes], dtype=np.float32)
    labels = np.array([class_index[b["label_class"]] for b in annotation_boxes], dtype=np.int64)
    return {"boxes": transform.to_input(xyxy).astype(np.float32), "labels": labels}


def load_version(version):
    """The model of a ModelVersion, loaded once per process (a small LRU)."""
    from labelapp.learning.models import load_model

    if version.pk in _LOADED:
        _LOADED.move_to_end(version.pk)
        return _LOADED[version.pk]
    with version.checkpoint.open("rb") as handle, tempfile.NamedTemporaryFile(suffix=".pt") as tmp:
        tmp.write(handle.read())
        tmp.flush()
        model = load_model(tmp.name)
    _LOADED[version.pk] = model
    while len(_LOADED) > _LOADED_MAX:
        _LOADED.popitem(last=False)
    return model


def finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def jsonable(obj):
    """Metrics dicts with NaN → None, numpy → Python, so they store as JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return finite_or_none(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
