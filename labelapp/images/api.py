import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.core.fields import ID_SCHEMA, IdFilter
from labelapp.projects.permissions import ALL_ROLES, LABELERS, ProjectScopedMixin

from . import services
from .models import Image, Source, Split, Status


class ImageOutputSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "project",
            "original_name",
            "width",
            "height",
            "sha256",
            "split",
            "source",
            "status",
            "priority",
            "score_reason",
            "scored_by",
            "file_url",
            "thumbnail_url",
            "created_at",
            "labeled_at",
        ]

    def get_file_url(self, image) -> str:
        return f"/api/projects/{image.project_id}/images/{image.pk}/file"

    def get_thumbnail_url(self, image) -> str:
        return f"/api/projects/{image.project_id}/images/{image.pk}/thumbnail"


class ImageUploadInputSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), help_text="One or many image files.")


class ImageUploadOutputSerializer(serializers.Serializer):
    created = ImageOutputSerializer(many=True)
    duplicates = ImageOutputSerializer(many=True)
    near_duplicates_report = serializers.CharField(
        allow_null=True,
        help_text="Where to ask, shortly after the upload, which new images look like earlier ones "
        "(the worker checks them after preprocessing); null when nothing was created.",
    )


class ImageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    split = django_filters.ChoiceFilter(choices=Split.choices)
    source = django_filters.ChoiceFilter(choices=Source.choices)
    label_class = IdFilter(method="filter_label_class", label="Labeled with this class id")
    ordering = django_filters.OrderingFilter(fields=["id", "priority", "created_at"])

    class Meta:
        model = Image
        fields = ["status", "split", "source"]

    @extend_schema_field({**ID_SCHEMA, "description": "Labeled with this class id."})
    def filter_label_class(self, queryset, name, value):
        return queryset.filter(annotations__class_index__contains=f",{value},")


class ImageListCreateView(ProjectScopedMixin, generics.ListAPIView):
    """List images (filters: status, split, source, label_class) or upload one or many files."""

    serializer_class = ImageOutputSerializer
    filterset_class = ImageFilter
    parser_classes = [MultiPartParser, FormParser]
    write_roles = LABELERS

    queryset = Image.objects.none()

    def project_queryset(self):
        return Image.objects.filter(project=self.project).order_by("id")

    @extend_schema(
        request={"multipart/form-data": ImageUploadInputSerializer},
        responses={201: ImageUploadOutputSerializer, 200: ImageUploadOutputSerializer},
    )  # 200: all duplicates
    def post(self, request, project_id):
        uploads = request.FILES.getlist("files") or request.FILES.getlist("file")
        files = [(f.name, f.read(), f.content_type) for f in uploads]
        result = services.images_ingest(project=self.project, files=files)
        body = {
            "created": ImageOutputSerializer(result.created, many=True).data,
            "duplicates": ImageOutputSerializer(result.duplicates, many=True).data,
            "near_duplicates_report": (
                f"/api/projects/{self.project.pk}/images/near-duplicates?ids="
                + ",".join(str(image.pk) for image in result.created)
            )
            if result.created
            else None,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ImageDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    serializer_class = ImageOutputSerializer
    lookup_url_kwarg = "image_id"
    read_roles = ALL_ROLES

    queryset = Image.objects.none()

    def project_queryset(self):
        return Image.objects.filter(project=self.project)


class ImageFileView(ProjectScopedMixin, APIView):
    """The stored image bytes (or its JPEG thumbnail)."""

    thumbnail = False

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request, project_id, image_id):
        image = generics.get_object_or_404(Image, project=self.project, pk=image_id)
        if self.thumbnail:
            if not image.thumbnail:
                services.thumbnail_ensure(image=image)
            field = image.thumbnail
        else:
            field = image.file
        response = FileResponse(field.open("rb"))
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ImageThumbnailView(ImageFileView):
    thumbnail = True
