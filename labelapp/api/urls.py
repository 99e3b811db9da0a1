"""One router for the whole API, so there is one OpenAPI schema.

Every route accepts an optional trailing slash: `/api/projects/1/queue/next` and
`/api/projects/1/queue/next/` are the same endpoint (POSTs cannot follow a slash redirect)."""

import re

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from labelapp.accounts import api as accounts
from labelapp.api import projects as project_views
from labelapp.credits import api as credits
from labelapp.datasets import api as datasets
from labelapp.images import api as images
from labelapp.labeling import api as labeling
from labelapp.production import api as production
from labelapp.projects import api as projects
from labelapp.review import api as review
from labelapp.training import api as training


def route(pattern: str, view, name: str):
    """`projects/<int:project_id>/x` → a regex route with an optional trailing slash.

    Ids have at most 18 digits, so every id that matches fits the database's 64-bit integers;
    a longer one matches no route and gets the JSON 404 (issue 14 item 5)."""
    regex = re.sub(r"<int:(\w+)>", r"(?P<\1>[0-9]{1,18})", pattern)
    return re_path(rf"^{regex}/?$", view, name=name)


P = "projects/<int:project_id>"
urlpatterns = [
    route("schema", SpectacularAPIView.as_view(), "schema"),
    route("docs", SpectacularSwaggerView.as_view(url_name="schema"), "docs"),
    route("redoc", SpectacularRedocView.as_view(url_name="schema"), "redoc"),
    route("auth/csrf", accounts.CsrfView.as_view(), "auth-csrf"),
    route("auth/login", accounts.LoginView.as_view(), "auth-login"),
    route("auth/logout", accounts.LogoutView.as_view(), "auth-logout"),
    route("auth/me", accounts.MeView.as_view(), "auth-me"),
    route("auth/tokens", accounts.TokenListCreateView.as_view(), "token-list"),
    route("auth/tokens/<int:token_id>", accounts.TokenDestroyView.as_view(), "token-detail"),
    route("auth/set-password", accounts.SetPasswordView.as_view(), "auth-set-password"),
    route("users", accounts.UserListCreateView.as_view(), "user-list"),
    route("users/<int:user_id>", accounts.UserDetailView.as_view(), "user-detail"),
    route("users/<int:user_id>/reset-password", accounts.UserResetPasswordView.as_view(), "user-reset-password"),
    route("projects", project_views.ProjectListCreateView.as_view(), "project-list"),
    route(P, projects.ProjectDetailView.as_view(), "project-detail"),
    route(f"{P}/stats", project_views.ProjectStatsView.as_view(), "project-stats"),
    route(f"{P}/classes", projects.LabelClassListCreateView.as_view(), "class-list"),
    route(f"{P}/classes/<int:class_id>", projects.LabelClassDetailView.as_view(), "class-detail"),
    route(f"{P}/members", projects.MembershipListCreateView.as_view(), "member-list"),
    route(f"{P}/members/<int:membership_id>", projects.MembershipDetailView.as_view(), "member-detail"),
    route(f"{P}/member-candidates", projects.MemberCandidateListView.as_view(), "member-candidates"),
    route(f"{P}/images", images.ImageListCreateView.as_view(), "image-list"),
    route(f"{P}/images/near-duplicates", training.UploadDuplicatesReportView.as_view(), "upload-duplicates-report"),
    route(f"{P}/images/<int:image_id>", images.ImageDetailView.as_view(), "image-detail"),
    route(f"{P}/images/<int:image_id>/file", images.ImageFileView.as_view(), "image-file"),
    route(f"{P}/images/<int:image_id>/thumbnail", images.ImageThumbnailView.as_view(), "image-thumbnail"),
    route(f"{P}/import", datasets.DatasetImportView.as_view(), "dataset-import"),
    route(f"{P}/imports", datasets.ImportJobListView.as_view(), "import-list"),
    route(f"{P}/imports/<int:job_id>", datasets.ImportJobDetailView.as_view(), "import-detail"),
    route(f"{P}/export", datasets.DatasetExportView.as_view(), "dataset-export"),
    route(f"{P}/queue/next", labeling.QueueNextView.as_view(), "queue-next"),
    route(f"{P}/queue/skip", labeling.QueueSkipView.as_view(), "queue-skip"),
    route(f"{P}/annotations", labeling.AnnotationListCreateView.as_view(), "annotation-list"),
    route(f"{P}/annotations/<int:annotation_id>", review.AnnotationDetailView.as_view(), "annotation-detail"),
    route(f"{P}/credits", credits.CreditBalanceView.as_view(), "credit-balance"),
    route(f"{P}/credits/grant", credits.CreditGrantView.as_view(), "credit-grant"),
    route(f"{P}/credits/ledger", credits.CreditLedgerView.as_view(), "credit-ledger"),
    route(f"{P}/model-versions", training.ModelVersionListView.as_view(), "model-version-list"),
    route(f"{P}/training-runs", training.TrainingRunListCreateView.as_view(), "training-run-list"),
    route(f"{P}/training-runs/<int:run_id>", training.TrainingRunDetailView.as_view(), "training-run-detail"),
    route(f"{P}/train", training.TrainingRunListCreateView.as_view(), "train-now"),
    route(f"{P}/rescore", training.RescoreProgressView.as_view(), "rescore-progress"),
    route(f"{P}/learning-curve", training.LearningCurveView.as_view(), "learning-curve"),
    route(f"{P}/health", training.HealthView.as_view(), "health"),
    route(f"{P}/engine", training.EngineStatusView.as_view(), "engine"),
    route(f"{P}/predict", production.PredictView.as_view(), "predict"),
    route(f"{P}/stream", production.StreamView.as_view(), "stream"),
    route(f"{P}/verifications", production.VerificationCreateView.as_view(), "verification-list"),
    route(f"{P}/verifications/next", production.VerificationNextView.as_view(), "verification-next"),
    route(f"{P}/verifications/stats", production.VerificationStatsView.as_view(), "verification-stats"),
    route(f"{P}/synthesis", production.SynthesisJobListCreateView.as_view(), "synthesis-list"),
    route(f"{P}/synthesis/<int:job_id>", production.SynthesisJobDetailView.as_view(), "synthesis-detail"),
    route(f"{P}/data", review.DataBrowseView.as_view(), "data-browse"),
    route(f"{P}/data/<int:image_id>", review.DataRecordView.as_view(), "data-record"),
    route(f"{P}/data/<int:image_id>/label", review.DataLabelEditView.as_view(), "data-label-edit"),
    route(f"{P}/review/next", review.ReviewNextView.as_view(), "review-next"),
    route(f"{P}/review", review.ReviewDecisionView.as_view(), "review-decide"),
    route(f"{P}/data/<int:image_id>/gold", review.GoldItemView.as_view(), "gold-item"),
    route(f"{P}/annotator-stats", review.AnnotatorStatsView.as_view(), "annotator-stats"),
    route(f"{P}/annotator-stats/csv", review.AnnotatorStatsCsvView.as_view(), "annotator-stats-csv"),
]
