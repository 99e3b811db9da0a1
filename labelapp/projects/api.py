from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.accounts.api import UserOutputSerializer
from labelapp.accounts.models import User
from labelapp.core.errors import ConflictError
from labelapp.credits.selectors import balance_as_dict
from labelapp.labeling.selectors import balance_shown, gold_held_by, label_class_in_use

from . import services
from .models import HOTKEY_PATTERN, HOTKEY_RULE, LabelClass, Membership, Project, Role, TaskType
from .permissions import ProjectScopedMixin
from .settings_schema import ProjectSettingsSerializer, settings_with_defaults, strategies_for


class BalanceOutputSerializer(serializers.Serializer):
    granted = serializers.IntegerField()
    reserved = serializers.IntegerField()
    spent = serializers.IntegerField()
    available = serializers.IntegerField()


class LabelClassOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "hotkey", "order"]


def hotkey_field(**kwargs) -> serializers.RegexField:
    # Keys 1-9 are the only class keys the labeling page reads; any other key would either do
    # nothing or collide with a command (S skips, Z undoes, A accepts).
    return serializers.RegexField(
        HOTKEY_PATTERN,
        required=False,
        allow_blank=True,
        error_messages={"invalid": HOTKEY_RULE},
        **kwargs,
    )


class LabelClassInputSerializer(serializers.ModelSerializer):
    hotkey = hotkey_field(help_text="A digit 1-9, or empty for none.")

    class Meta:
        model = LabelClass
        fields = ["name", "color", "hotkey", "order"]
        extra_kwargs = {"color": {"required": False}, "order": {"required": False}}


class ProjectOutputSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()
    balance = serializers.SerializerMethodField()
    settings = serializers.SerializerMethodField()
    strategy_choices = serializers.SerializerMethodField(
        help_text="The sampling strategies that fit this project's task type, the default first."
    )
    label_classes = LabelClassOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "task_type",
            "my_role",
            "settings",
            "strategy_choices",
            "balance",
            "label_classes",
            "created_at",
            "archived_at",
        ]

    def get_my_role(self, project) -> str:
        return self.context["roles"].get(project.pk, "")

    @extend_schema_field(ProjectSettingsSerializer)
    def get_settings(self, project):
        return settings_with_defaults(project.settings)

    def get_strategy_choices(self, project) -> list[str]:
        return strategies_for(project.task_type)

    @extend_schema_field(BalanceOutputSerializer)
    def get_balance(self, project):
        held = self.context.get("gold_held", {}).get(project.pk, 0)
        return balance_shown(balance_as_dict(project=project), gold_held=held)


class ProjectClassInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$",
        required=False,
        error_messages={"invalid": "Use a #rrggbb colour."},
        help_text="Default: the colour named in the class name, else a distinct one.",
    )
    hotkey = hotkey_field(help_text="A digit 1-9. Default: the next free one.")


class ProjectCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    settings = ProjectSettingsSerializer(required=False)
    class_names = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
    classes = ProjectClassInputSerializer(many=True, required=False, default=list)
    budget = serializers.IntegerField(
        min_value=0,
        max_value=10_000_000,
        required=False,
        default=0,
        help_text="Credits granted at once (the first ledger entry); 0 = none yet.",
    )

    def validate(self, attrs):
        names = [*attrs["class_names"], *(spec["name"] for spec in attrs["classes"])]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise serializers.ValidationError(
                {"classes": f"Class names must be unique; repeated: {', '.join(duplicates)}."}
            )
        keys = [spec["hotkey"] for spec in attrs["classes"] if spec.get("hotkey")]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise serializers.ValidationError(
                {"classes": f"Each key selects one class; repeated: {', '.join(repeated)}."}
            )
        return attrs


class ProjectUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    settings = serializers.DictField(required=False, help_text="Changed keys only; merged into the current settings.")
    archived = serializers.BooleanField(
        required=False, help_text="true hides the project from the default list; false restores it."
    )


class ProjectDetailView(ProjectScopedMixin, APIView):
    @extend_schema(responses=ProjectOutputSerializer)
    def get(self, request, project_id):
        return Response(self._out(request))

    @extend_schema(request=ProjectUpdateInputSerializer, responses=ProjectOutputSerializer)
    def patch(self, request, project_id):
        data = ProjectUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = self.project
        for field in ("name", "description"):
            if field in data.validated_data:
                setattr(project, field, data.validated_data[field])
        project.save(update_fields=["name", "description"])
        if "settings" in data.validated_data:
            services.project_update_settings(project=project, changes=data.validated_data["settings"])
        if "archived" in data.validated_data:
            services.project_set_archived(project=project, archived=data.validated_data["archived"])
        return Response(self._out(request))

    @extend_schema(responses={204: None})
    def delete(self, request, project_id):
        services.project_delete(project=self.project)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _out(self, request):
        project = (
            Project.objects.select_related("credit_balance").prefetch_related("label_classes").get(pk=self.project.pk)
        )
        context = {"roles": {project.pk: self.role}, "gold_held": gold_held_by(user=request.user, project=project)}
        return ProjectOutputSerializer(project, context=context).data


class LabelClassListCreateView(ProjectScopedMixin, generics.ListCreateAPIView):
    serializer_class = LabelClassOutputSerializer
    pagination_class = None

    queryset = LabelClass.objects.none()

    def project_queryset(self):
        return LabelClass.objects.filter(project=self.project)

    @extend_schema(request=LabelClassInputSerializer, responses={201: LabelClassOutputSerializer})
    def post(self, request, project_id):
        data = LabelClassInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        label_class = services.label_class_create(
            project=self.project, name=values["name"], color=values.get("color"), hotkey=values.get("hotkey", "")
        )
        return Response(LabelClassOutputSerializer(label_class).data, status=status.HTTP_201_CREATED)


class LabelClassDetailView(ProjectScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = LabelClassOutputSerializer
    lookup_url_kwarg = "class_id"
    http_method_names = ["get", "patch", "delete"]

    queryset = LabelClass.objects.none()

    def project_queryset(self):
        return LabelClass.objects.filter(project=self.project)

    @extend_schema(request=LabelClassInputSerializer, responses=LabelClassOutputSerializer)
    def patch(self, request, project_id, class_id):
        """Rename, recolour, rekey or reorder: labels keep pointing at the class by id."""
        label_class = self.get_object()
        data = LabelClassInputSerializer(label_class, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.label_class_update(label_class=label_class, changes=dict(data.validated_data))
        return Response(LabelClassOutputSerializer(label_class).data)

    def perform_destroy(self, instance):
        if label_class_in_use(label_class=instance):
            raise ConflictError("This class is used by labels; rename it instead of deleting it.", code="class_in_use")
        instance.delete()


class MembershipOutputSerializer(serializers.ModelSerializer):
    user = UserOutputSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]


class MembershipCreateInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipListCreateView(ProjectScopedMixin, generics.ListCreateAPIView):
    serializer_class = MembershipOutputSerializer
    pagination_class = None

    queryset = Membership.objects.none()

    def project_queryset(self):
        return Membership.objects.filter(project=self.project).select_related("user")

    @extend_schema(request=MembershipCreateInputSerializer, responses={201: MembershipOutputSerializer})
    def post(self, request, project_id):
        data = MembershipCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username=data.validated_data["username"], is_active=True).first()
        if user is None:
            return Response(
                {"detail": "No active user with that username.", "code": "unknown_user", "field": "username"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        membership, created = Membership.objects.get_or_create(
            project=self.project, user=user, defaults={"role": data.validated_data["role"]}
        )
        if not created:
            return Response(
                {"detail": f"{user.username} is already a member ({membership.role}).", "code": "already_member"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetailView(ProjectScopedMixin, generics.RetrieveDestroyAPIView):
    serializer_class = MembershipOutputSerializer
    lookup_url_kwarg = "membership_id"

    queryset = Membership.objects.none()

    def project_queryset(self):
        return Membership.objects.filter(project=self.project).select_related("user")

    @extend_schema(request=MembershipUpdateInputSerializer, responses=MembershipOutputSerializer)
    def patch(self, request, project_id, membership_id):
        membership = self.get_object()
        data = MembershipUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.membership_change_role(membership=membership, role=data.validated_data["role"])
        return Response(MembershipOutputSerializer(membership).data)

    def perform_destroy(self, instance):
        services.membership_remove(membership=instance)


class UserCandidateOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name"]


class MemberCandidateListView(ProjectScopedMixin, generics.ListAPIView):
    """Active users who are not members yet, matching `?search=` in username or names (at most
    20): what the members form offers. For the project's admins only, who see usernames and
    names, nothing else."""

    serializer_class = UserCandidateOutputSerializer
    pagination_class = None
    read_roles = frozenset({Role.ADMIN})
    queryset = User.objects.none()
    LIMIT = 20

    @extend_schema(parameters=[OpenApiParameter("search", str, description="Part of a username, first or last name.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def project_queryset(self):
        from django.db.models import Q

        users = User.objects.filter(is_active=True).exclude(memberships__project=self.project).order_by("username")
        search = self.request.query_params.get("search", "").strip()
        if search:
            users = users.filter(
                Q(username__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
            )
        return users[: self.LIMIT]
