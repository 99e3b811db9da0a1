from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.core.errors import ServiceError
from labelapp.core.fields import NULLABLE_RESPONSE, parse_query_ids
from labelapp.core.jobs import JobStatus
from labelapp.projects.permissions import ADMINS, ALL_ROLES, ProjectScopedMixin
from labelapp.projects.task_types import task_type_spec

from . import selectors
from .models import LearningCurve, ModelVersion, RescoreJob, TrainingRun
from .runs import training_request


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "number",
            "model_name",
            "is_active",
            "labels_seen",
            "auto_labels_seen",
            "credits_spent",
            "input_size",
            "strategy",
            "metrics",
            "created_at",
        ]


class TrainingRunOutputSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    model_version = serializers.SlugRelatedField(
        slug_field="number",
        read_only=True,
        allow_null=True,
        help_text="Version number it made; null until it succeeds.",
    )

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "trigger",
            "epoch",
            "epochs_max",
            "loss",
            "val_metric",
            "progress",
            "history",
            "error",
            "labels_at_start",
            "model_version",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, run) -> float:
        if run.status == JobStatus.SUCCEEDED:
            return 1.0
        return round(run.epoch / run.epochs_max, 3) if run.epochs_max else 0.0


class RescoreJobOutputSerializer(serializers.ModelSerializer):
    model_version = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = RescoreJob
        fields = [
            "id",
            "model_version",
            "status",
            "chunks_done",
            "chunks_total",
            "images_total",
            "created_at",
            "finished_at",
        ]


class LearningCurveOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LearningCurve
        fields = ["id", "strategy", "metric", "points", "created_at"]


class LiveLearningCurveOutputSerializer(LearningCurveOutputSerializer):
    created_at = serializers.DateTimeField(
        allow_null=True, help_text="When its newest point was made; null before the first model version."
    )


class LearningCurvesOutputSerializer(serializers.Serializer):
    live = LiveLearningCurveOutputSerializer(help_text="This project's own model versions: credits spent → metric.")
    runs = LearningCurveOutputSerializer(many=True, help_text="Stored simulations (active vs random).")


class ModelVersionListView(ProjectScopedMixin, generics.ListAPIView):
    serializer_class = ModelVersionOutputSerializer
    queryset = ModelVersion.objects.none()
    read_roles = ALL_ROLES

    def project_queryset(self):
        return ModelVersion.objects.filter(project=self.project).order_by("-number")


class TrainingRunListCreateView(ProjectScopedMixin, generics.ListAPIView):
    """Training runs, newest first; POST starts one now (admins). 409 if one is already open."""

    serializer_class = TrainingRunOutputSerializer
    queryset = TrainingRun.objects.none()
    read_roles = ADMINS
    write_roles = ADMINS

    def project_queryset(self):
        return TrainingRun.objects.filter(project=self.project).select_related("model_version").order_by("-id")

    @extend_schema(request=None, responses={201: TrainingRunOutputSerializer})
    def post(self, request, project_id):
        run = training_request(project=self.project, user=request.user, trigger="manual")
        return Response(TrainingRunOutputSerializer(run).data, status=status.HTTP_201_CREATED)


class TrainingRunDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    serializer_class = TrainingRunOutputSerializer
    queryset = TrainingRun.objects.none()
    lookup_url_kwarg = "run_id"
    read_roles = ADMINS

    def project_queryset(self):
        return TrainingRun.objects.filter(project=self.project)


class RescoreProgressView(ProjectScopedMixin, APIView):
    """The latest rescore of the pool: chunks done / total."""

    read_roles = ADMINS

    @extend_schema(responses=RescoreJobOutputSerializer, extensions={NULLABLE_RESPONSE: True})
    def get(self, request, project_id):
        # The newest version's pool rescore, not the one-image jobs that score new uploads.
        job = (
            RescoreJob.objects.filter(project=self.project)
            .select_related("model_version")
            .order_by("-model_version__number", "-images_total", "-id")
            .first()
        )
        # JSON `null` (not an empty body) before the first rescore, as the schema says.
        return JsonResponse(RescoreJobOutputSerializer(job).data if job else None, safe=False)


class LearningCurveView(ProjectScopedMixin, APIView):
    read_roles = ADMINS

    @extend_schema(responses=LearningCurvesOutputSerializer)
    def get(self, request, project_id):
        metric = task_type_spec(self.project.task_type).headline_metric
        versions = list(ModelVersion.objects.filter(project=self.project).order_by("number"))
        live = {
            "id": 0,
            "strategy": "live",
            "metric": metric,
            "created_at": versions[-1].created_at if versions else None,
            "points": [
                {
                    "credits_spent": v.credits_spent,
                    "labels": v.labels_seen,
                    "model_version": v.number,
                    **{
                        f"{split}{suffix}": (v.metrics.get(split) or {}).get(key)
                        for split in ("val", "test")
                        for suffix, key in (("", metric), ("_images", "images"), ("_interval", "interval"))
                    },
                }
                for v in versions
            ],
        }
        runs = LearningCurve.objects.filter(project=self.project).order_by("-id")[:10]
        return Response({"live": live, "runs": LearningCurveOutputSerializer(runs, many=True).data})


class BackboneStatusSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    name = serializers.CharField(allow_null=True)
    detail = serializers.CharField(help_text="Where the weights came from, or why the from-scratch models are used.")


class EvaluationSampleSerializer(serializers.Serializer):
    share = serializers.FloatField(help_text="Share of hand-outs drawn uniformly from the pool for evaluation.")
    val_images = serializers.IntegerField()
    test_images = serializers.IntegerField()
    credits_spent = serializers.IntegerField(help_text="Credits spent on evaluation picks so far.")


class ValidationFigureSerializer(serializers.Serializer):
    accuracy = serializers.FloatField(allow_null=True)
    images = serializers.IntegerField()
    interval = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="95 % Wilson interval.")


class ClassifierChoiceSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="The active version this choice made.")
    chosen = serializers.CharField(help_text="embedding_classifier (the head) or mobilenet_finetune.")
    tried = serializers.BooleanField(help_text="Whether a fine-tune was trained at all.")
    reason = serializers.CharField()
    head = ValidationFigureSerializer(help_text="The embedding head on the validation sample.")
    finetuned = ValidationFigureSerializer(allow_null=True, help_text="The fine-tuned model on the same images.")
    wins = serializers.IntegerField(required=False, help_text="Validation images only the fine-tuned model got right.")
    losses = serializers.IntegerField(required=False, help_text="Validation images only the head got right.")
    p_value = serializers.FloatField(required=False, help_text="One-sided sign test on wins against losses.")
    finetune_cpu_seconds = serializers.FloatField(required=False)
    finetune_images = serializers.IntegerField(required=False)
    finetune_epochs = serializers.IntegerField(required=False)


class EngineStatusSerializer(serializers.Serializer):
    backbone = BackboneStatusSerializer()
    model = serializers.CharField(help_text="The model the next training uses.")
    finetune = serializers.ChoiceField(choices=["auto", "off"], help_text="The project's fine-tuning setting.")
    classifier_choice = ClassifierChoiceSerializer(
        allow_null=True, help_text="Classification: how the active version chose between the head and a fine-tune."
    )
    evaluation = EvaluationSampleSerializer()


class EngineStatusView(ProjectScopedMixin, APIView):
    """The learning engine: pretrained backbone or from-scratch fallback, and the evaluation sample."""

    read_roles = ALL_ROLES

    @extend_schema(responses=EngineStatusSerializer)
    def get(self, request, project_id):
        return Response(selectors.engine_status(project=self.project))


class HealthView(ProjectScopedMixin, APIView):
    """Dataset health: class balance, box-position heatmaps, box sizes, brightness, recommendations."""

    read_roles = ADMINS

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, project_id):
        return Response(selectors.project_health(project=self.project))


#: Image ids one near-duplicate report covers (an upload request's worth, many times over).
MAX_REPORT_IDS = 1000


class NearDuplicateSerializer(serializers.Serializer):
    image = serializers.IntegerField()
    name = serializers.CharField(help_text="The uploaded file's name.")
    duplicate_of = serializers.IntegerField(help_text="The earlier image it looks like.")
    duplicate_of_name = serializers.CharField()
    similarity = serializers.FloatField(help_text="Cosine similarity of the two embeddings.")


class UploadDuplicatesReportSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="False without the pretrained backbone: nothing is checked.")
    threshold = serializers.FloatField(help_text="Cosine similarity from which two images count as near-duplicates.")
    checked = serializers.IntegerField(help_text="Images of the request the worker has checked.")
    pending = serializers.ListField(child=serializers.IntegerField(), help_text="Images not checked yet (ask again).")
    near_duplicates = NearDuplicateSerializer(many=True)


class UploadDuplicatesReportView(ProjectScopedMixin, APIView):
    """Near-duplicates among uploaded images: the worker embeds new images shortly after an
    upload and compares them with every earlier one; ask with the ids the upload returned."""

    read_roles = ALL_ROLES

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "ids", str, required=True, description=f"Comma-separated image ids (at most {MAX_REPORT_IDS})."
            )
        ],
        responses=UploadDuplicatesReportSerializer,
    )
    def get(self, request, project_id):
        ids = sorted(set(parse_query_ids(request.query_params.get("ids", ""), name="ids", max_count=MAX_REPORT_IDS)))
        if not ids:
            raise ServiceError("Give the image ids to report on: ?ids=4,7,9.", code="invalid_ids")
        return Response(selectors.upload_duplicates_report(project=self.project, image_ids=ids))
