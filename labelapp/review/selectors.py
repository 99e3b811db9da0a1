"""Reads for the data browser and the review queue.

The browser pages with a keyset cursor (the last row's sort value and id), never OFFSET:
page 10,000 costs what page 1 costs, and a fixed number of queries whatever the page size."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from labelapp.core.errors import ServiceError
from labelapp.images.models import Image, Status
from labelapp.labeling.models import Annotation, ConsensusAnnotation, ConsensusState
from labelapp.training.models import ModelVersion, Prediction

from .models import LabelRevision, ReviewDecision, ReviewState, RevisionAction

SORTS = {
    # name: (the ordered column, its tie-breaker: both walk one index, image_browse_priority_idx
    # or quality_suspicion_idx, so a page is an index range scan, never a sort of the project)
    "newest": (None, "id"),
    "priority": ("priority", "id"),
    "suspicion": ("quality__suspicion", "quality__image_id"),
}
MAX_PAGE_SIZE = 200


@dataclass
class BrowserFilters:
    status: str | None = None
    split: str | None = None
    source: str | None = None
    label_class: int | None = None
    annotator: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    disagreement: bool = False
    suspected: bool = False
    near_duplicates: bool = False
    duplicate_group: int | None = None


def _encode_cursor(value, image_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, image_id]).encode()).decode()


def _decode_cursor(cursor: str, sort: str):
    try:
        value, image_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(image_id, int) or (sort != "newest" and not isinstance(value, (int, float))):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise ServiceError("cursor is not one this API gave out: start again without it.", code="bad_cursor") from None
    return value, image_id


def images_browse(
    *,
    project,
    filters: BrowserFilters,
    sort: str = "newest",
    cursor: str | None = None,
    page_size: int = 60,
    suspect_threshold: float = 0.5,
) -> tuple[list[Image], str | None]:
    """One page of images, newest / highest priority / most suspect first, and the cursor of
    the next page (None at the end)."""
    if sort not in SORTS:
        raise ServiceError(f"sort must be one of {', '.join(SORTS)}.", code="bad_sort")
    queryset: QuerySet = Image.objects.filter(project=project)
    for field in ("status", "split", "source"):
        value = getattr(filters, field)
        if value:
            queryset = queryset.filter(**{field: value})
    if filters.label_class is not None:
        queryset = queryset.filter(annotations__class_index__contains=f",{filters.label_class},")
    if filters.annotator is not None:
        queryset = queryset.filter(annotations__annotator_id=filters.annotator)
    if filters.created_from:
        queryset = queryset.filter(created_at__gte=filters.created_from)
    if filters.created_to:
        queryset = queryset.filter(created_at__lte=filters.created_to)
    if filters.disagreement:
        queryset = queryset.filter(quality__model_disagrees=True)
    if filters.suspected:
        queryset = queryset.filter(quality__suspicion__gte=suspect_threshold)
    if filters.near_duplicates:
        queryset = queryset.filter(near_duplicate_of__isnull=False)
    if filters.duplicate_group is not None:
        # An image and the images flagged as near-duplicates of it (each points at its most
        # similar earlier image, so the group of an original is one index lookup).
        queryset = queryset.filter(Q(pk=filters.duplicate_group) | Q(near_duplicate_of=filters.duplicate_group))
    column, tie = SORTS[sort]
    if sort == "suspicion":
        # Only scored labels have a suspicion: the sort lists those, read from LabelQuality's
        # index (its project column too, so the planner can start there).
        queryset = queryset.filter(quality__project=project)
    if cursor:
        value, last_id = _decode_cursor(cursor, sort)
        if column is None:
            queryset = queryset.filter(**{f"{tie}__lt": last_id})
        else:
            # The redundant `<= value` is the bound an index scan starts from: without it the OR
            # is a filter, and page N walks (and drops) the N-1 pages before it.
            queryset = queryset.filter(
                Q(**{f"{column}__lte": value}),
                Q(**{f"{column}__lt": value}) | Q(**{column: value, f"{tie}__lt": last_id}),
            )
    ordering = [F(tie).desc()] if column is None else [F(column).desc(), F(tie).desc()]
    rows = list(
        queryset.select_related("quality")
        .order_by(*ordering)
        .prefetch_related("annotations__annotator")[: page_size + 1]
    )
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        value = last.pk if column is None else (last.priority if sort == "priority" else last.quality.suspicion)
        next_cursor = _encode_cursor(value, last.pk)
    return rows, next_cursor


def current_annotation(image: Image) -> Annotation | None:
    """The prefetched current label of a browsed image, if any."""
    annotations = list(image.annotations.all())
    return annotations[0] if annotations else None


def image_prediction(*, image: Image) -> Prediction | None:
    """The active model's prediction on the image (the newest version that scored it otherwise)."""
    active = ModelVersion.objects.filter(project_id=image.project_id, is_active=True).first()
    predictions = Prediction.objects.filter(image=image).select_related("model_version")
    if active is not None:
        prediction = predictions.filter(model_version=active).first()
        if prediction is not None:
            return prediction
    return predictions.order_by("-model_version__number").first()


def image_history(*, image: Image) -> list[dict]:
    """Who changed the label, when, and to what; reviewers' decisions in between; oldest first.
    The current label is the last entry (it is a revision of its own once it changes)."""
    entries = [
        {
            "kind": "revision",
            "action": r.action,
            "who": r.author.username if r.author else None,
            "at": r.created_at,
            "label_class": r.label_class_id,
            "boxes": r.boxes,
            "reason": "",
            "_key": (r.annotation_id, r.pk),
        }
        for r in LabelRevision.objects.filter(image=image).select_related("author")
    ]
    seen = {entry["_key"][0] for entry in entries}
    current = Annotation.objects.filter(image=image).select_related("annotator").first()
    if current is not None and current.pk not in seen:
        entries.append(
            {
                "kind": "revision",
                "action": RevisionAction.LABELED,
                "who": current.annotator.username if current.annotator else None,
                "at": current.created_at,
                "label_class": current.label_class_id,
                "boxes": current.boxes,
                "reason": "",
            }
        )
    entries += [
        {
            "kind": "review",
            "action": d.verdict,
            "who": d.reviewer.username if d.reviewer else None,
            "at": d.created_at,
            "label_class": None,
            "boxes": [],
            "reason": d.reason,
        }
        for d in ReviewDecision.objects.filter(image=image).select_related("reviewer")
    ]
    for entry in entries:
        entry.pop("_key", None)
    return sorted(entries, key=lambda e: e["at"])


def _in_share(queryset: QuerySet, share: float) -> QuerySet:
    """A fixed pseudo-random share of images by id (Knuth's multiplicative hash), so the same
    images are in the sample on every call and on every database."""
    return queryset.annotate(_bucket=(F("id") * 2654435761) % 1000).filter(_bucket__lt=round(share * 1000))


def review_next(*, project, skip: list[int] | None = None) -> Image | None:
    """The next label to review: labeled, not yet approved or fixed, chosen by the project's
    review mode — or, whatever the mode, a label a consensus second annotator disagreed with —
    consensus disagreements first, then most suspect first (then oldest)."""
    config = project.config
    queryset = Image.objects.filter(project=project, status=Status.LABELED).exclude(
        quality__review_state__in=[ReviewState.APPROVED, ReviewState.FIXED]
    )
    if skip:
        queryset = queryset.exclude(pk__in=skip)
    mode = config["review_mode"]
    # The pair compared the current label only while its first annotation still exists (a
    # rejected label's row is deleted: the re-label is a new label, judged by the mode alone).
    disputed = Q(consensus__agreed=False, consensus__first_annotation__isnull=False)
    if mode == "share":
        queryset = queryset.filter(disputed | Q(pk__in=_in_share(queryset, config["review_share"]).values("pk")))
    elif mode == "suspects":
        queryset = queryset.filter(disputed | Q(quality__suspicion__gte=config["suspect_threshold"]))
    return (
        queryset.select_related("quality")
        .annotate(_disputed=Case(When(disputed, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-_disputed", F("quality__suspicion").desc(nulls_last=True), "id")
        .first()
    )


def consensus_of(*, image: Image) -> ConsensusAnnotation | None:
    """The image's answered consensus pair, for the reviewer (who may see both labels)."""
    return (
        ConsensusAnnotation.objects.filter(image=image, state=ConsensusState.ANSWERED)
        .select_related("annotator", "first_annotator")
        .first()
    )
