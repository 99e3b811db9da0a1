from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.core.fields import IdField, parse_query_id
from labelapp.credits.services import balance_get
from labelapp.images.api import ImageOutputSerializer
from labelapp.images.models import Split, Status
from labelapp.projects.api import BalanceOutputSerializer
from labelapp.projects.permissions import LABELERS, ProjectScopedMixin
from labelapp.training.selectors import prediction_for_labeling

from . import services
from .models import Annotation, Reservation
from .validation import MAX_BOXES


class BoxSerializer(serializers.Serializer):
    x = serializers.FloatField(help_text="Left edge, image pixels.")
    y = serializers.FloatField(help_text="Top edge, image pixels.")
    w = serializers.FloatField()
    h = serializers.FloatField()
    label_class = serializers.IntegerField()


class ScoredBoxSerializer(BoxSerializer):
    score = serializers.FloatField()


class ReservationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reservation
        fields = ["id", "expires_at", "created_at"]


class PreAnnotationSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="Version number.")
    probs = serializers.DictField(child=serializers.FloatField(), allow_null=True, help_text="Class id → probability.")
    boxes = ScoredBoxSerializer(many=True, allow_null=True)
    score = serializers.FloatField()


class ReasonSerializer(serializers.Serializer):
    strategy = serializers.CharField()
    score = serializers.FloatField()
    explanation = serializers.CharField(
        allow_null=True,
        help_text='Why this image, in words: "typical of cluster 12 of 40 (85 images, none labeled)", '
        '"margin 0.04 (dog vs cat)", or an evaluation draw.',
    )


class QueueNextOutputSerializer(serializers.Serializer):
    reservation = ReservationOutputSerializer()
    image = ImageOutputSerializer()
    prediction = PreAnnotationSerializer(allow_null=True)
    reason = ReasonSerializer()
    balance = BalanceOutputSerializer()


class QueueSkipInputSerializer(serializers.Serializer):
    image = IdField()


class AnnotationOutputSerializer(serializers.ModelSerializer):
    annotator = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="null for labels no person made (imported, affirmed).",
    )
    boxes = BoxSerializer(many=True)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "image",
            "label_class",
            "boxes",
            "annotator",
            "seconds_spent",
            "kind",
            "is_free",
            "created_at",
            "updated_at",
        ]


class AnnotationSubmitInputSerializer(serializers.Serializer):
    image = IdField()
    label_class = IdField(required=False, allow_null=True, help_text="Classification projects.")
    boxes = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        allow_null=True,
        max_length=MAX_BOXES,
        help_text="Detection projects: [{x, y, w, h, label_class}].",
    )
    seconds_spent = serializers.FloatField(required=False, default=0, min_value=0, max_value=86400)


class AnnotationUpdateInputSerializer(serializers.Serializer):
    label_class = IdField(required=False, allow_null=True)
    boxes = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True, max_length=MAX_BOXES)
    seconds_spent = serializers.FloatField(required=False, min_value=0, max_value=86400)


#: How a consensus second pass's image is shown: as a reserved pool image nobody scored.
BLIND_IMAGE_FIELDS = {
    "status": Status.RESERVED,
    "split": Split.POOL,
    "priority": 0.0,
    "score_reason": "",
    "scored_by": None,
    "labeled_at": None,
}


class QueueNextView(ProjectScopedMixin, APIView):
    """Reserve the most useful unlabeled image (and one credit) for me; 409 when the budget
    or the pool is exhausted (`code` says which). Asking again returns the image I hold."""

    write_roles = LABELERS

    @extend_schema(request=None, responses={200: QueueNextOutputSerializer, 201: QueueNextOutputSerializer})
    def post(self, request, project_id):
        item = services.image_reserve_next(project=self.project, user=request.user)
        image = ImageOutputSerializer(item.image).data
        if item.blind:
            # A consensus second pass looks like an unscored pool image: nothing about it may
            # hint at the first label (its status, split, or a prediction that learnt it).
            image.update(BLIND_IMAGE_FIELDS)
        body = {
            "reservation": ReservationOutputSerializer(item.reservation).data,
            "image": image,
            # Neither a consensus second pass nor a gold item shows the model's pre-annotation:
            # a model that learnt the first label, or the gold label, would give the answer away.
            "prediction": None if item.blind or item.gold else prediction_for_labeling(image=item.image),
            "reason": {
                "strategy": "unscored" if item.blind else item.reservation.reason or "unscored",
                "score": item.reservation.score,
                "explanation": None if item.blind else services.pick_explanation(item),
            },
            # A gold item sets the balance its annotator is shown; a plain one holds no gold item.
            "balance": item.balance or balance_get(project=self.project).as_dict(),
        }
        return Response(body, status=status.HTTP_201_CREATED if item.created else status.HTTP_200_OK)


class QueueSkipView(ProjectScopedMixin, APIView):
    """Give back an image I hold; its credit is released and it is not handed out again."""

    write_roles = LABELERS

    @extend_schema(request=QueueSkipInputSerializer, responses=BalanceOutputSerializer)
    def post(self, request, project_id):
        data = QueueSkipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.image_skip(project=self.project, user=request.user, image_id=data.validated_data["image"])
        return Response(balance_get(project=self.project).as_dict())  # the skip ended what they held


class AnnotationListCreateView(ProjectScopedMixin, generics.ListAPIView):
    """Annotators see their own labels; admins see everyone's."""

    serializer_class = AnnotationOutputSerializer
    read_roles = LABELERS
    write_roles = LABELERS

    queryset = Annotation.objects.none()

    def project_queryset(self):
        queryset = Annotation.objects.filter(project=self.project).select_related("annotator")
        if self.role != "admin" or self.request.query_params.get("mine") in ("true", "1"):
            queryset = queryset.filter(annotator=self.request.user)
        if self.request.query_params.get("today") in ("true", "1"):
            midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
            queryset = queryset.filter(created_at__gte=midnight)
        image = self.request.query_params.get("image")
        if image:
            queryset = queryset.filter(image_id=parse_query_id(image, name="image"))
        return queryset.order_by("-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("mine", bool, description="Only my labels (always on for annotators)."),
            OpenApiParameter("today", bool, description="Only labels made today."),
            OpenApiParameter("image", int, description="Only labels of this image."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=AnnotationSubmitInputSerializer, responses={201: AnnotationOutputSerializer})
    def post(self, request, project_id):
        data = AnnotationSubmitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        annotation = services.annotation_submit(
            project=self.project,
            user=request.user,
            image_id=values["image"],
            label_class=values.get("label_class"),
            boxes=values.get("boxes"),
            seconds_spent=values.get("seconds_spent", 0),
        )
        return Response(AnnotationOutputSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    """One label; its annotator edits it through the review app's subclass (an edit is a revision)."""

    serializer_class = AnnotationOutputSerializer
    lookup_url_kwarg = "annotation_id"
    read_roles = LABELERS
    write_roles = LABELERS

    queryset = Annotation.objects.none()

    def project_queryset(self):
        queryset = Annotation.objects.filter(project=self.project).select_related("annotator", "image", "project")
        return queryset if self.role == "admin" else queryset.filter(annotator=self.request.user)
