"""Project roles, resolved once per request.

Non-members get 404 for anything inside a project (its existence is not revealed);
members whose role is not allowed get 403.
"""

from django.shortcuts import get_object_or_404
from rest_framework import permissions
from rest_framework.exceptions import NotFound

from .models import Membership, Project, Role

ALL_ROLES = frozenset(Role.values)
LABELERS = frozenset({Role.ADMIN, Role.ANNOTATOR})
ADMINS = frozenset({Role.ADMIN})
#: Who may read every label, edit one as a new revision, and review: not annotators, whose
#: own labels would be the ones judged.
CURATORS = frozenset({Role.ADMIN, Role.REVIEWER})


def project_for_member(request, project_id) -> tuple[Project, str]:
    """The project and the caller's role in it, cached on the request; 404 for non-members."""
    cache = request.__dict__.setdefault("_project_roles", {})
    key = str(project_id)
    if key not in cache:
        if not request.user.is_authenticated:
            raise NotFound()
        membership = (
            Membership.objects.select_related("project").filter(project_id=project_id, user=request.user).first()
        )
        if membership is None:
            raise NotFound("No such project, or you are not a member of it.")
        cache[key] = (membership.project, membership.role)
    return cache[key]


class ProjectRolePermission(permissions.BasePermission):
    """Views declare `roles_by_method` (or `read_roles`/`write_roles`) and get `self.project`."""

    message = "Your role in this project does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        project_id = view.kwargs.get("project_id")
        if project_id is None:
            return True
        project, role = project_for_member(request, project_id)
        view.project, view.role = project, role
        allowed = view.allowed_roles(request)
        return role in allowed


class ProjectScopedMixin:
    """Shared by every view under /api/projects/{project_id}/."""

    permission_classes = [ProjectRolePermission]
    read_roles = ALL_ROLES
    write_roles = ADMINS
    project: Project
    role: str

    def allowed_roles(self, request):
        return self.read_roles if request.method in permissions.SAFE_METHODS else self.write_roles

    def get_queryset(self):
        # Schema generation runs without a request project: describe the model only.
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.project_queryset()


def get_project_or_404(project_id) -> Project:
    return get_object_or_404(Project, pk=project_id)
