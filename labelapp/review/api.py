"""The data browser and the review queue: admins and reviewers only (an annotator sees only
their own labels elsewhere, and does not judge anyone's)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.core.fields import IdField, parse_query_ids
from labelapp.images.api import ImageOutputSerializer
from labelapp.images.models import Image, Source, Split, Status
from labelapp.labeling import api as labeling_api
from labelapp.labeling.api import BoxSerializer, PreAnnotationSerializer
from labelapp.labeling.models import GoldItem
from labelapp.projects.permissions import ADMINS, CURATORS, ProjectScopedMixin

from . import selectors, services, statistics
from .models import ReviewState, Verdict


class BrowserItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    thumbnail_url = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    split = serializers.ChoiceField(choices=Split.choices)
    source = serializers.ChoiceField(choices=Source.choices)
    priority = serializers.FloatField()
    created_at = serializers.DateTimeField()
    label_class = serializers.IntegerField(allow_null=True, help_text="Classification: the labeled class.")
    box_count = serializers.IntegerField(allow_null=True, help_text="Detection: boxes in the label.")
    annotator = serializers.CharField(allow_null=True)
    suspicion = serializers.FloatField(allow_null=True, help_text="0 = fine … 1 = surely wrong; null = not scored.")
    suspicion_reason = serializers.CharField(allow_blank=True)
    model_disagrees = serializers.BooleanField()
    review_state = serializers.CharField(allow_blank=True)
    near_duplicate_of = serializers.IntegerField(
        allow_null=True, help_text="The earlier image this one nearly duplicates (its group: `duplicate_group`)."
    )


class BrowserPageOutputSerializer(serializers.Serializer):
    results = BrowserItemOutputSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null at the end."
    )


class CurrentLabelOutputSerializer(serializers.Serializer):
    label_class = serializers.IntegerField(allow_null=True)
    boxes = BoxSerializer(many=True)
    annotator = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class LabelQualityOutputSerializer(serializers.Serializer):
    suspicion = serializers.FloatField()
    reason = serializers.CharField(allow_blank=True)
    model_disagrees = serializers.BooleanField()
    review_state = serializers.ChoiceField(choices=ReviewState.choices, allow_blank=True)


class HistoryEntryOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["revision", "review"])
    action = serializers.CharField(help_text="revision: labeled / edited / fixed; review: approve / fix / reject.")
    who = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    label_class = serializers.IntegerField(allow_null=True)
    boxes = BoxSerializer(many=True)
    reason = serializers.CharField(allow_blank=True)


class ConsensusPairOutputSerializer(serializers.Serializer):
    first_annotator = serializers.CharField(allow_null=True, help_text="Who gave the label the image keeps.")
    annotator = serializers.CharField(allow_null=True, help_text="The second, blind annotator.")
    label_class = serializers.IntegerField(allow_null=True, help_text="Classification: the second annotator's class.")
    boxes = BoxSerializer(many=True, help_text="Detection: the second annotator's boxes.")
    agreed = serializers.BooleanField(
        allow_null=True, help_text="null: the first label was rejected before the second came in."
    )
    reason = serializers.CharField(allow_blank=True, help_text="The disagreement in words.")
    answered_at = serializers.DateTimeField()


class ImageRecordOutputSerializer(serializers.Serializer):
    image = ImageOutputSerializer()
    gold = serializers.BooleanField(help_text="A gold item: annotators' answers on it are scored against its label.")
    label = CurrentLabelOutputSerializer(allow_null=True)
    prediction = PreAnnotationSerializer(allow_null=True)
    quality = LabelQualityOutputSerializer(allow_null=True)
    history = HistoryEntryOutputSerializer(many=True)
    consensus = ConsensusPairOutputSerializer(
        allow_null=True, help_text="The second, blind label of this image (consensus), if one was given."
    )


class LabelEditInputSerializer(serializers.Serializer):
    label_class = IdField(required=False, allow_null=True, help_text="Classification projects.")
    boxes = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        allow_null=True,
        help_text="Detection projects: [{x, y, w, h, label_class}].",
    )


class ReviewDecisionInputSerializer(LabelEditInputSerializer):
    image = IdField()
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Required to reject: what is wrong with the label."
    )


class ReviewDecisionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    image = serializers.IntegerField(source="image_id")
    verdict = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class ReviewNextOutputSerializer(serializers.Serializer):
    item = ImageRecordOutputSerializer(allow_null=True, help_text="null: nothing left to review.")


class BrowserQueryInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    label_class = IdField(required=False)
    annotator = IdField(required=False, help_text="User id.")
    created_from = serializers.DateTimeField(required=False)
    created_to = serializers.DateTimeField(required=False)
    disagreement = serializers.BooleanField(
        required=False, default=False, help_text="Only labels the model disagrees with."
    )
    suspected = serializers.BooleanField(required=False, default=False, help_text="Only suspected label errors.")
    near_duplicates = serializers.BooleanField(
        required=False, default=False, help_text="Only images flagged as a near-duplicate of an earlier one."
    )
    duplicate_group = IdField(
        required=False, help_text="Image id: that image and the images flagged as near-duplicates of it."
    )
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), required=False, default="newest")
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, default=60, min_value=1, max_value=selectors.MAX_PAGE_SIZE)


def _item(image: Image) -> dict:
    annotation = selectors.current_annotation(image)
    quality = getattr(image, "quality", None)
    return {
        "id": image.pk,
        "original_name": image.original_name,
        "thumbnail_url": f"/api/projects/{image.project_id}/images/{image.pk}/thumbnail",
        "status": image.status,
        "split": image.split,
        "source": image.source,
        "priority": image.priority,
        "created_at": image.created_at,
        "label_class": annotation.label_class_id if annotation else None,
        "box_count": len(annotation.boxes) if annotation and annotation.label_class_id is None else None,
        "annotator": annotation.annotator.username if annotation and annotation.annotator else None,
        "suspicion": quality.suspicion if quality and quality.scored_at else None,
        "suspicion_reason": quality.reason if quality else "",
        "model_disagrees": bool(quality and quality.model_disagrees),
        "review_state": quality.review_state if quality else "",
        "near_duplicate_of": image.near_duplicate_of_id,
    }


def image_record(image: Image) -> dict:
    """Everything the image view shows: the label, the model's prediction, the history."""
    from labelapp.labeling.models import Annotation

    annotation = Annotation.objects.filter(image=image).select_related("annotator").first()
    prediction = selectors.image_prediction(image=image)
    quality = getattr(image, "quality", None)
    return {
        "image": ImageOutputSerializer(image).data,
        "gold": GoldItem.objects.filter(image=image).exists(),
        "label": None
        if annotation is None
        else {
            "label_class": annotation.label_class_id,
            "boxes": annotation.boxes,
            "annotator": annotation.annotator.username if annotation.annotator else None,
            "created_at": annotation.created_at,
            "updated_at": annotation.updated_at,
        },
        "prediction": None
        if prediction is None
        else {
            "model_version": prediction.model_version.number,
            "score": prediction.score,
            "boxes": prediction.boxes,
            "probs": None
            if prediction.probs is None
            else {str(c): p for c, p in zip(prediction.model_version.classes, prediction.probs)},
        },
        "quality": None
        if quality is None
        else {
            "suspicion": quality.suspicion,
            "reason": quality.reason,
            "model_disagrees": quality.model_disagrees,
            "review_state": quality.review_state,
        },
        "history": selectors.image_history(image=image),
        "consensus": _consensus_pair(image),
    }


def _consensus_pair(image: Image) -> dict | None:
    pair = selectors.consensus_of(image=image)
    if pair is None:
        return None
    return {
        "first_annotator": pair.first_annotator.username if pair.first_annotator else None,
        "annotator": pair.annotator.username if pair.annotator else None,
        "label_class": pair.label_class_id,
        "boxes": pair.boxes,
        "agreed": pair.agreed,
        "reason": pair.reason,
        "answered_at": pair.answered_at,
    }


def _fresh_image(project, image_id: int) -> Image:
    return get_object_or_404(Image.objects.select_related("quality"), project=project, pk=image_id)


class DataBrowseView(ProjectScopedMixin, APIView):
    """A page of the project's images with their labels and suspicion, filtered and sorted;
    keyset-paginated (`next_cursor`), so any page costs the same."""

    read_roles = CURATORS

    @extend_schema(
        operation_id="projects_data_list",
        parameters=[BrowserQueryInputSerializer],
        responses=BrowserPageOutputSerializer,
    )
    def get(self, request, project_id):
        query = BrowserQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = dict(query.validated_data)
        sort, cursor, page_size = values.pop("sort"), values.pop("cursor", None), values.pop("page_size")
        rows, next_cursor = selectors.images_browse(
            project=self.project,
            filters=selectors.BrowserFilters(**values),
            sort=sort,
            cursor=cursor,
            page_size=page_size,
            suspect_threshold=self.project.config["suspect_threshold"],
        )
        return Response({"results": [_item(image) for image in rows], "next_cursor": next_cursor})


class DataRecordView(ProjectScopedMixin, APIView):
    """One image: its label, the model's prediction beside it, and its history."""

    read_roles = CURATORS

    @extend_schema(responses=ImageRecordOutputSerializer)
    def get(self, request, project_id, image_id):
        return Response(image_record(_fresh_image(self.project, image_id)))


class DataLabelEditView(ProjectScopedMixin, APIView):
    """Change an image's label: a new revision (the old one stays in the history)."""

    write_roles = CURATORS

    @extend_schema(request=LabelEditInputSerializer, responses=ImageRecordOutputSerializer)
    def post(self, request, project_id, image_id):
        data = LabelEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        image = _fresh_image(self.project, image_id)
        services.label_edit(
            project=self.project,
            image_id=image.pk,
            user=request.user,
            label_class=data.validated_data.get("label_class"),
            boxes=data.validated_data.get("boxes"),
        )
        return Response(image_record(_fresh_image(self.project, image_id)))


MAX_SKIP_IDS = 1000


class ReviewNextView(ProjectScopedMixin, APIView):
    """The next label to review (most suspect first), or `item: null`."""

    read_roles = CURATORS

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "skip",
                str,
                description=f"Comma-separated image ids to pass over this session (at most {MAX_SKIP_IDS}).",
            )
        ],
        responses=ReviewNextOutputSerializer,
    )
    def get(self, request, project_id):
        skip = parse_query_ids(request.query_params.get("skip", ""), name="skip", max_count=MAX_SKIP_IDS)
        image = selectors.review_next(project=self.project, skip=skip)
        return Response({"item": image_record(image) if image else None})


class ReviewDecisionView(ProjectScopedMixin, APIView):
    """Approve, fix (send the new label) or reject (send a reason) an image's label."""

    write_roles = CURATORS

    @extend_schema(request=ReviewDecisionInputSerializer, responses={201: ReviewDecisionOutputSerializer})
    def post(self, request, project_id):
        data = ReviewDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        image = _fresh_image(self.project, values["image"])
        decision = services.review_decide(
            project=self.project,
            image_id=image.pk,
            reviewer=request.user,
            verdict=values["verdict"],
            reason=values.get("reason", ""),
            label_class=values.get("label_class"),
            boxes=values.get("boxes"),
        )
        return Response(ReviewDecisionOutputSerializer(decision).data, status=status.HTTP_201_CREATED)


class GoldItemView(ProjectScopedMixin, APIView):
    """Admins mark a labeled image as a gold item (its current label is the truth), or unmark it."""

    write_roles = ADMINS

    @extend_schema(request=None, responses=ImageRecordOutputSerializer)
    def post(self, request, project_id, image_id):
        image = _fresh_image(self.project, image_id)
        services.gold_mark(project=self.project, image_id=image.pk, user=request.user)
        return Response(image_record(_fresh_image(self.project, image_id)))

    # 200 with the record (a DELETE is documented as 204 unless said otherwise).
    @extend_schema(request=None, responses={200: ImageRecordOutputSerializer})
    def delete(self, request, project_id, image_id):
        image = _fresh_image(self.project, image_id)
        services.gold_unmark(project=self.project, image_id=image.pk)
        return Response(image_record(_fresh_image(self.project, image_id)))


class AnnotatorStatsAnnotatorSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    username = serializers.CharField()
    labels = serializers.IntegerField()
    labels_per_day = serializers.ListField(
        child=serializers.DictField(), help_text='[{"day": "2026-11-28", "labels": 12}] for every day in `days`.'
    )
    median_seconds = serializers.FloatField(allow_null=True)
    reviewed = serializers.IntegerField(help_text="Their labels a reviewer decided on.")
    rejection_rate = serializers.FloatField(allow_null=True)
    agreement_with_reviewers = serializers.FloatField(
        allow_null=True, help_text="Share of reviewed labels approved as they were."
    )
    gold_answers = serializers.IntegerField()
    gold_score = serializers.FloatField(
        allow_null=True, help_text="Mean class accuracy or box F1 at IoU 0.5 on gold items."
    )
    consensus_pairs = serializers.IntegerField(
        help_text="Consensus pairs (two blind labels of one image, compared) they gave one of the labels in."
    )
    consensus_agreement = serializers.FloatField(
        allow_null=True, help_text="Share of their consensus pairs whose two labels agreed."
    )


class AnnotatorStatsOutputSerializer(serializers.Serializer):
    days = serializers.ListField(child=serializers.CharField())
    annotators = AnnotatorStatsAnnotatorSerializer(many=True)


class AnnotatorStatsView(ProjectScopedMixin, APIView):
    """Per annotator: labels per day, median seconds per label, gold score, rejection rate,
    agreement with reviewers and consensus agreement."""

    read_roles = ADMINS

    @extend_schema(responses=AnnotatorStatsOutputSerializer)
    def get(self, request, project_id):
        return Response(statistics.annotator_statistics(project=self.project))


class AnnotatorStatsCsvView(ProjectScopedMixin, APIView):
    """The annotator statistics as CSV (one row per annotator, then a column per day)."""

    read_roles = ADMINS

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, project_id):
        response = HttpResponse(statistics.annotator_statistics_csv(project=self.project), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="project-{self.project.pk}-annotators.csv"'
        return response


class AnnotationDetailView(labeling_api.AnnotationDetailView):
    """One label (an annotator's own; an admin's any). PATCH: its annotator corrects it, a new
    revision in its history; 409 `label_reviewed` once a reviewer approved or fixed it (then
    only curators change it, in the data browser)."""

    @extend_schema(
        request=labeling_api.AnnotationUpdateInputSerializer, responses=labeling_api.AnnotationOutputSerializer
    )
    def patch(self, request, project_id, annotation_id):
        annotation = self.get_object()
        data = labeling_api.AnnotationUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        annotation = services.annotation_revise_own(
            project=self.project,
            annotation=annotation,
            user=request.user,
            label_class=values.get("label_class", annotation.label_class_id if "boxes" not in values else None),
            boxes=values.get("boxes", annotation.boxes if "label_class" not in values else None),
            seconds_spent=values.get("seconds_spent"),
        )
        return Response(labeling_api.AnnotationOutputSerializer(annotation).data)
