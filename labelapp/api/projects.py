"""Project endpoints that combine several apps, so they live above all of them: creating a
project grants its first budget (credits); its stats count images and labels."""

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.credits.services import credit_grant
from labelapp.images.models import Image
from labelapp.labeling.models import Annotation
from labelapp.labeling.selectors import gold_held_by
from labelapp.projects import services
from labelapp.projects.api import ProjectCreateInputSerializer, ProjectOutputSerializer
from labelapp.projects.models import Membership, Project, Role
from labelapp.projects.permissions import ProjectScopedMixin


def _roles(user) -> dict:
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


class ProjectListCreateView(generics.ListCreateAPIView):
    """Projects I am a member of, with my role; archived ones only with `?archived=true`.
    Anyone signed in may create a project and becomes its admin."""

    permission_classes = [IsAuthenticated]
    serializer_class = ProjectOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        archived = self.request.query_params.get("archived", "").lower() in ("1", "true", "yes")
        return (
            Project.objects.filter(memberships__user=self.request.user, archived_at__isnull=not archived)
            .select_related("credit_balance")
            .prefetch_related("label_classes")
            .order_by("id")
        )

    def get_serializer_context(self):
        if getattr(self, "swagger_fake_view", False):
            return super().get_serializer_context()
        user = self.request.user
        return {**super().get_serializer_context(), "roles": _roles(user), "gold_held": gold_held_by(user=user)}

    @extend_schema(
        parameters=[OpenApiParameter("archived", bool, description="true: list the archived projects instead.")]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ProjectCreateInputSerializer, responses={201: ProjectOutputSerializer})
    def post(self, request):
        data = ProjectCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        settings_in = request.data.get("settings") or {}
        values.pop("settings", None)
        budget = values.pop("budget")
        with transaction.atomic():
            project = services.project_create(created_by=request.user, settings=settings_in, **values)
            if budget:
                credit_grant(project=project, amount=budget, actor=request.user, note="first budget")
        project = Project.objects.select_related("credit_balance").prefetch_related("label_classes").get(pk=project.pk)
        return Response(
            ProjectOutputSerializer(project, context={"roles": {project.pk: Role.ADMIN}}).data,
            status=status.HTTP_201_CREATED,
        )


class ProjectStatsView(ProjectScopedMixin, APIView):
    """Counts for dashboards: images per status and split, and my labels today."""

    @extend_schema(
        responses=inline_serializer(
            "ProjectStatsOutput",
            {
                "images_by_status": serializers.DictField(child=serializers.IntegerField()),
                "images_by_split": serializers.DictField(child=serializers.IntegerField()),
                "labeled_today_by_me": serializers.IntegerField(),
                "labeled_total_by_me": serializers.IntegerField(),
            },
        )
    )
    def get(self, request, project_id):
        images = Image.objects.filter(project=self.project)
        by_status = dict(images.values_list("status").annotate(n=Count("id")).order_by())
        by_split = dict(images.values_list("split").annotate(n=Count("id")).order_by())
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        mine = Annotation.objects.filter(project=self.project, annotator=request.user)
        return Response(
            {
                "images_by_status": by_status,
                "images_by_split": by_split,
                "labeled_today_by_me": mine.filter(created_at__gte=midnight).count(),
                "labeled_total_by_me": mine.count(),
            }
        )
