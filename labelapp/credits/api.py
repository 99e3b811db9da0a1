from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.labeling.selectors import balance_seen_by
from labelapp.projects.api import BalanceOutputSerializer
from labelapp.projects.permissions import ADMINS, ALL_ROLES, ProjectScopedMixin

from . import services
from .models import CreditEntry


class CreditEntryOutputSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who; null for the system (expiries, beat jobs).",
    )

    class Meta:
        model = CreditEntry
        fields = ["id", "kind", "amount", "actor", "image", "note", "created_at"]


class CreditGrantInputSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1, max_value=services.MAX_GRANT)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CreditBalanceView(ProjectScopedMixin, APIView):
    read_roles = ALL_ROLES

    @extend_schema(responses=BalanceOutputSerializer)
    def get(self, request, project_id):
        return Response(balance_seen_by(project=self.project, user=request.user))


class CreditGrantView(ProjectScopedMixin, APIView):
    write_roles = ADMINS

    @extend_schema(request=CreditGrantInputSerializer, responses={201: BalanceOutputSerializer})
    def post(self, request, project_id):
        data = CreditGrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.credit_grant(project=self.project, actor=request.user, **data.validated_data)
        return Response(services.balance_get(project=self.project).as_dict(), status=status.HTTP_201_CREATED)


class CreditLedgerView(ProjectScopedMixin, generics.ListAPIView):
    """The append-only ledger, newest first. Admins only: it shows who labeled what."""

    serializer_class = CreditEntryOutputSerializer
    read_roles = ADMINS

    queryset = CreditEntry.objects.none()

    def project_queryset(self):
        return CreditEntry.objects.filter(project=self.project).select_related("actor").order_by("-id")
