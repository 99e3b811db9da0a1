"""The next batch, planned on the backbone's embeddings (labelapp.learning.selection):
typical, covering picks while the model is weak, uncertainty plus diversity once it is not,
never two near-duplicates in a batch, and a reason for every pick.

Runs after every rescore and, before the first model, as the cold start. The planned images
get priorities above every scored one (below the production loop's pinned images); the rest
of the pool keeps its scores, so annotators who outrun the batch still get a sensible order.
"""

import numpy as np
from django.db import transaction

from labelapp.images.models import PINNED_REASONS, Image, Source, Split, Status
from labelapp.labeling.models import Annotation
from labelapp.projects.models import TaskType

from . import embeddings, engine

#: Planned picks sit at PLANNED_PRIORITY + (batch - rank): above scores, below PINNED_PRIORITY.
PLANNED_PRIORITY = 1000.0
#: Pool images the planner looks at: a uniform sample beyond this (plus the best-scored),
#: so a pool of millions is planned in bounded memory (the sample's vectors only).
PLAN_CANDIDATES = 20_000
_NEXT_IN_LINE = "next in line after the planned batch"


def batch_size(project) -> int:
    """Two retrain intervals: annotators who label faster than a retrain still get planned picks."""
    return 2 * (project.config["auto_retrain_every"] or 20)


def _candidates(project, rng: np.random.Generator, extra: int) -> list[int]:
    pool = (
        Image.objects.filter(project=project, status=Status.UNLABELED)
        .exclude(score_reason__in=PINNED_REASONS)
        .exclude(source=Source.SYNTHETIC)
    )
    ids = list(pool.order_by("id").values_list("pk", flat=True))
    if len(ids) <= PLAN_CANDIDATES:
        return ids
    sample = set(rng.choice(ids, PLAN_CANDIDATES, replace=False).tolist())
    # The current scores' best: where an uncertainty batch would come from.
    sample.update(pool.order_by("-priority", "id").values_list("pk", flat=True)[:extra])
    return sorted(sample)


def _labeled(project, class_index: dict[int, int]):
    """Training labels' vectors and classes (detection: the image's most frequent class)."""
    annotations = list(
        Annotation.objects.filter(project=project, image__status=Status.LABELED, image__split=Split.TRAIN)
        .select_related("image")
        .order_by("image_id")
    )
    vectors = embeddings.embeddings_for(project, [a.image for a in annotations])
    if project.task_type == TaskType.CLASSIFICATION:
        classes = [class_index.get(a.label_class_id, 0) for a in annotations]
    else:
        classes = [
            class_index.get(
                max({b["label_class"] for b in a.boxes} or {0}, key=[b["label_class"] for b in a.boxes].count), 0
            )
            for a in annotations
        ]
    return vectors, np.array(classes, dtype=np.int64)


def plan_next_batch(*, project, version=None) -> list[int] | None:
    """Plan and write the next batch; returns its image ids, best first, or None when there
    is no backbone (the caller keeps its own ordering). For detection only the covering
    phase is planned here: once the model is strong enough, its uncertainty scores rank."""
    from labelapp.learning.duplicates import drop_near_duplicates
    from labelapp.learning.selection import choose_phase, plan_batch

    if embeddings.backbone() is None:
        return None
    classes = list(project.label_classes.order_by("id"))
    class_index = {c.pk: i for i, c in enumerate(classes)}
    k = batch_size(project)
    rng = np.random.default_rng([project.pk, version.pk if version else 0])
    ids = _candidates(project, rng, extra=5 * k)
    if not ids or not classes:
        return []
    pool_vectors = embeddings.vectors_by_ids(project, ids)
    labeled_vectors, labeled_classes = _labeled(project, class_index)
    num_classes = max(2, len(classes))  # a one-class detector still plans coverage
    probs = None
    if version is not None and project.task_type == TaskType.CLASSIFICATION:
        model = engine.load_version(version)
        if engine.reads_vectors(model):
            probs = model.predict_vectors(pool_vectors).probs
        else:
            # A fine-tuned network reads pixels: its rescore stored a prediction per pool image.
            ids, pool_vectors, probs = _stored_probs(version, ids, pool_vectors)
            if not ids:
                return []
    elif version is not None and choose_phase(labeled_classes, num_classes, True) == "uncertainty":
        return None
    plan = plan_batch(
        pool_vectors,
        labeled_vectors,
        labeled_classes,
        probs,
        k,
        rng,
        num_classes=num_classes,
        class_names=[c.name for c in classes] if len(classes) >= 2 else None,
        **_class_evidence(version, classes),
    )
    reasons = dict(zip(plan.order.tolist(), plan.reasons))
    ranked = np.argsort(-plan.scores, kind="stable")[: 3 * k]
    picks = drop_near_duplicates(ranked, pool_vectors, k, avoid=labeled_vectors)
    _write(project, ids, picks, plan, reasons, version=version)
    if probs is not None:
        _store_predictions(version, [ids[i] for i in picks], probs[picks], plan.scores[picks])
    return [ids[i] for i in picks]


def _stored_probs(version, ids: list[int], vectors: np.ndarray):
    """(ids, vectors, probs) of the candidates a version's rescore stored predictions for."""
    from .models import Prediction

    stored = {}
    for start in range(0, len(ids), 10_000):  # SQLite binds at most 32,766 parameters
        stored.update(
            Prediction.objects.filter(model_version=version, image_id__in=ids[start : start + 10_000]).values_list(
                "image_id", "probs"
            )
        )
    keep = [i for i, pk in enumerate(ids) if stored.get(pk)]
    probs = np.array([stored[ids[i]] for i in keep], dtype=np.float32).reshape(len(keep), len(version.classes))
    return [ids[i] for i in keep], vectors[keep], probs


def _store_predictions(version, image_ids: list[int], probs: np.ndarray, scores: np.ndarray) -> None:
    """The planned batch's pre-annotations, so that handing it out needs no model in the web
    process (rescoring a pool from the vector cache stores none)."""
    from .models import Prediction

    rows = [
        Prediction(
            image_id=pk,
            model_version=version,
            probs=[round(float(p), 6) for p in row],
            confidence=float(row.max()),
            score=float(score),
            counts={str(version.classes[int(row.argmax())]): 1},
        )
        for pk, row, score in zip(image_ids, probs, scores)
    ]
    Prediction.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["image", "model_version"],
        update_fields=["probs", "counts", "confidence", "score"],
    )


def _class_evidence(version, classes) -> dict:
    """Per-class recall and support on the random validation sample, for weak-class weighting
    (the planner ignores classes with too little evidence)."""
    per_class = ((version.metrics.get("val") or {}).get("per_class") or {}) if version is not None else {}
    if not per_class or "recall" not in next(iter(per_class.values()), {}):
        return {}
    recall = np.array(
        [np.nan if per_class.get(c.name, {}).get("recall") is None else per_class[c.name]["recall"] for c in classes],
        dtype=float,
    )
    support = np.array([per_class.get(c.name, {}).get("support") or 0 for c in classes], dtype=np.int64)
    return {"class_recall": recall, "class_support": support} if len(classes) >= 2 else {}


def _write(project, ids: list[int], picks: np.ndarray, plan, reasons: dict, *, version) -> None:
    from .rescoring import set_priorities

    k = len(picks)
    pool = Image.objects.filter(project=project, status=Status.UNLABELED).exclude(score_reason__in=PINNED_REASONS)
    with transaction.atomic():
        # The last plan's picks that nobody labeled become ordinary pool images again.
        pool.filter(priority__gte=PLANNED_PRIORITY).update(priority=0.0)
        pool.exclude(pick_reason="").update(pick_reason="")
        if version is None:
            # Cold start: the planner's own scores rank the sample, in [0, 1).
            scores = np.asarray(plan.scores, dtype=float)
            low, span = scores.min(), float(np.ptp(scores)) or 1.0
            set_priorities(ids, (scores - low) / span * 0.999, version=None, reason=f"plan:{plan.phase}")
        for rank, index in enumerate(picks.tolist()):
            pool.filter(pk=ids[index]).update(
                priority=PLANNED_PRIORITY + (k - rank),
                score_reason=f"plan:{plan.phase}",
                pick_reason=reasons.get(index, _NEXT_IN_LINE)[:200],
            )
