"""The dataset import and export endpoints (URLs under the project, like the images')."""

import json
from types import SimpleNamespace

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.projects.permissions import ADMINS, ProjectScopedMixin

from . import dataset_export, dataset_import
from .models import ImportJob


class DatasetImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "A ZIP of labeled images. Detection: one COCO JSON file and its images; or a YOLO dataset "
            "(data.yaml or classes.txt, images/, labels/*.txt); or one CSV file (file_name, label_class, x, y, w, h) "
            "and its images. Classification: one folder per class, or one CSV file (file_name, label_class) and "
            "its images."
        )
    )


class ImportErrorSerializer(serializers.Serializer):
    file = serializers.CharField(
        help_text="The archive member (image, or the labels file) the problem is in; the detail names the line."
    )
    annotation = serializers.IntegerField(
        allow_null=True, help_text="The COCO annotation id, when the problem is in one."
    )
    detail = serializers.CharField()


class ImportJobOutputSerializer(serializers.ModelSerializer):
    created = serializers.IntegerField(source="images_created", help_text="Images added to the project.")
    labels = serializers.IntegerField(source="labels_created", help_text="Free labels added.")
    duplicates = serializers.IntegerField(help_text="Images already in the project, or repeated in the archive.")
    done = serializers.IntegerField(help_text="Images stored so far.")
    total = serializers.IntegerField(
        allow_null=True, help_text="Images the archive lists; null until the worker has read it."
    )
    checked = serializers.IntegerField(help_text="Images checked so far (phase `checking`, before anything is stored).")
    errors = ImportErrorSerializer(many=True)
    class_mapping = serializers.DictField(
        child=serializers.CharField(),
        help_text="Class name in the archive → the existing class it was matched to (case ignored).",
    )

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "status",
            "phase",
            "done",
            "total",
            "checked",
            "created",
            "duplicates",
            "labels",
            "classes_created",
            "class_mapping",
            "errors",
            "detail",
            "archive_name",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class DatasetImportView(ProjectScopedMixin, APIView):
    """Start an import of labeled data as free labels (no credit is spent). The archive is
    checked and stored, and a worker imports it: 202 with the job, then follow
    `/imports/{job_id}`. All or nothing: if any image or label is wrong, the job fails and
    lists each problem, and nothing is imported."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": DatasetImportInputSerializer}, responses={202: ImportJobOutputSerializer}
    )
    def post(self, request, project_id):
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"detail": "Send the archive in the multipart field 'file'.", "code": "no_file"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        job = dataset_import.import_start(project=self.project, user=request.user, upload=upload)
        return Response(ImportJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobListView(ProjectScopedMixin, generics.ListAPIView):
    """The project's import jobs, newest first."""

    serializer_class = ImportJobOutputSerializer
    read_roles = ADMINS
    queryset = ImportJob.objects.none()

    def project_queryset(self):
        return ImportJob.objects.filter(project=self.project).order_by("-id")


class ImportJobDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    """One import job: status, progress (`done` of `total`), counts, and every problem found."""

    serializer_class = ImportJobOutputSerializer
    read_roles = ADMINS
    lookup_url_kwarg = "job_id"
    queryset = ImportJob.objects.none()

    def project_queryset(self):
        return ImportJob.objects.filter(project=self.project)


class ExportFormatNegotiation(DefaultContentNegotiation):
    """On the export `?format=` names the export format (coco, yolo, csv), not a DRF renderer;
    DRF's default negotiation would look for a renderer called `coco` and answer 404."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class DatasetExportView(ProjectScopedMixin, APIView):
    """Export the labels: `format=coco` (JSON), `yolo` (ZIP with images) or `csv`. Admins only,
    like import: an export carries every label and (YOLO) every image of the project."""

    read_roles = ADMINS
    content_negotiation_class = ExportFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["coco", "yolo", "csv"], default="coco")],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/zip"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request, project_id):
        fmt = request.query_params.get("format", "coco")
        slug = f"project-{self.project.pk}"
        if fmt == "coco":
            response = HttpResponse(
                json.dumps(dataset_export.export_coco(project=self.project)), content_type="application/json"
            )
            response["Content-Disposition"] = f'attachment; filename="{slug}-coco.json"'
        elif fmt == "csv":
            response = HttpResponse(dataset_export.export_csv(project=self.project), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
        elif fmt == "yolo":
            response = HttpResponse(dataset_export.export_yolo(project=self.project), content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{slug}-yolo.zip"'
        else:
            return Response(
                {"detail": "format must be one of coco, yolo, csv.", "code": "bad_format"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return response
