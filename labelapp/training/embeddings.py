"""Embeddings: every image's backbone vector, computed once (at ingest) and cached beside
the pool tensors, for heads, strategies, near-duplicates and label-error checks."""

import logging
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from . import engine

logger = logging.getLogger(__name__)
_CACHES: dict[tuple[int, str], object] = {}
_state: dict = {}


def backbone():
    """The process's backbone, or None when it is switched off or its weights are missing or
    fail their check (then :func:`backbone_status` says why, and the small from-scratch
    models are used)."""
    if "backbone" not in _state:
        from labelapp.learning.backbone import (
            MOBILENET_V2_SHA256,
            BackboneUnavailable,
            configure_backbone,
            shared_backbone,
        )

        _state["backbone"], _state["detail"] = None, "switched off (LABELAPP_BACKBONE=none)"
        if settings.LABELAPP_BACKBONE != "none":
            weights = settings.LABELAPP_BACKBONE_WEIGHTS
            configure_backbone(weights, settings.LABELAPP_BACKBONE_SHA256 or (None if weights else MOBILENET_V2_SHA256))
            try:
                _state["backbone"] = shared_backbone(settings.LABELAPP_EMBED_SIZE)
                _state["detail"] = f"{_state['backbone'].name} from {weights or 'the shipped ImageNet weights'}"
            except BackboneUnavailable as exc:
                _state["detail"] = f"unavailable: {exc}"
                logger.warning("pretrained backbone unavailable, falling back to from-scratch models: %s", exc)
    return _state["backbone"]


def backbone_status() -> dict:
    """What the admin page and the API show: is the pretrained engine on, and if not why."""
    current = backbone()
    return {"available": current is not None, "name": current.name if current else None, "detail": _state["detail"]}


def reset() -> None:
    """Forget the loaded backbone (tests switch settings)."""
    _state.clear()
    _CACHES.clear()


def vector_cache(project, current):
    """The project's VectorCache for the current backbone (one directory per backbone, so
    vectors of two backbones never mix)."""
    from labelapp.learning.data import VectorCache

    key = (project.pk, current.name)
    directory = engine.project_cache_dir(project) / f"embed-{current.name.replace('@', '-')}"
    cache = _CACHES.get(key)
    if cache is None or cache.directory != Path(directory):
        cache = _CACHES[key] = VectorCache(directory, current.dim)
    return cache


def embeddings_for(project, images: list) -> np.ndarray | None:
    """``float32`` ``(N, D)`` unit vectors for Image rows in their order, or None without a
    backbone. Misses are decoded at the backbone's size, embedded and cached once."""
    current = backbone()
    if current is None:
        return None
    if not images:
        return np.empty((0, current.dim), dtype=np.float32)
    cache = vector_cache(project, current)
    ids = np.array([image.pk for image in images], dtype=np.int64)
    for _ in range(2):
        try:
            return cache.get_many(ids).astype(np.float32)
        except KeyError:
            cache.refresh()  # another worker may have written chunks since
    index = cache.index()
    missing = [image for image in images if image.pk not in index]
    if missing:
        # The same chunk sizes as the pool cache: a batch of ingest, embedded together.
        for start in range(0, len(missing), 256):
            part = missing[start : start + 256]
            prepared = np.stack(
                [engine.decode_prepared(image, size=current.embed_size, task=project.task_type)[0] for image in part]
            )
            vectors = current.embed(prepared).astype(np.float16)
            cache.write_chunk(f"b{part[0].pk}_{part[-1].pk}_{len(part)}", np.array([i.pk for i in part]), vectors)
    cache.refresh()
    return cache.get_many(ids).astype(np.float32)


def vectors_by_ids(project, ids: list[int]) -> np.ndarray:
    """Like :func:`embeddings_for` for image ids, without loading their rows when every
    vector is cached (the rescore of a large pool)."""
    cache = vector_cache(project, backbone())
    try:
        return cache.get_many(np.asarray(ids, dtype=np.int64)).astype(np.float32)
    except KeyError:
        pass
    from labelapp.images.models import Image

    rows = []
    for start in range(0, len(ids), 10_000):  # SQLite binds at most 32,766 parameters
        rows += list(Image.objects.filter(pk__in=ids[start : start + 10_000]))
    by_id = {image.pk: image for image in rows}
    return embeddings_for(project, [by_id[i] for i in ids])


def near_duplicates_flag(project, images: list) -> int:
    """Point each new image at its most similar earlier image when their embeddings are nearly
    the same (one pass over the project's cached vectors, chunk by chunk). Returns how many
    were flagged."""
    from labelapp.images.models import Image
    from labelapp.learning.duplicates import NEAR_DUPLICATE_SIMILARITY, nearest_existing

    vectors = embeddings_for(project, images)
    if vectors is None or not images:
        return 0
    cache = vector_cache(project, backbone())
    ids = np.array([image.pk for image in images], dtype=np.int64)
    best_ids, best = nearest_existing(ids, vectors, (cache.read_chunk(name) for name in cache.chunk_names()))
    flagged = 0
    for image_id, other, similarity in zip(ids.tolist(), best_ids.tolist(), best.tolist()):
        if similarity >= NEAR_DUPLICATE_SIMILARITY:
            flagged += Image.objects.filter(pk=image_id).update(
                near_duplicate_of_id=other, near_duplicate_similarity=round(similarity, 4)
            )
    # The upload report tells "checked, none found" from "not checked yet" by this.
    Image.objects.filter(pk__in=ids.tolist()).update(duplicates_checked_at=timezone.now())
    return flagged
