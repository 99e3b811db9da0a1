from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.core.fields import NULLABLE_RESPONSE
from labelapp.projects.permissions import ADMINS, ALL_ROLES, ProjectScopedMixin

from . import selectors, services
from .models import LearningCurve, ModelVersion, RescoreJob, TrainingRun


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
        if run.status == "succeeded":
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
        run = services.training_request(project=self.project, user=request.user, trigger="manual")
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
        metric = "map50" if self.project.task_type == "detection" else "accuracy"
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


class EngineStatusSerializer(serializers.Serializer):
    backbone = BackboneStatusSerializer()
    model = serializers.CharField(help_text="The model the next training uses.")
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
