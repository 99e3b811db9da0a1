"""Production endpoints: predict, stream, verification.

Who may call what:
- predict: every member (admin, annotator, verifier). Programs call it with the token of an
  admin or, better, of a dedicated member (a verifier role is enough and can label nothing).
- stream: admins and annotators, like uploads: a streamed image may reserve a credit.
- verifications (next, record, stats): verifiers and admins.
- synthesis jobs (start, list, detail): admins, like training runs and the health check
  (a job spends credits and reports val metrics).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labelapp.core.fields import MAX_INT32, IdField
from labelapp.core.jobs import JobStatus
from labelapp.labeling.api import ScoredBoxSerializer
from labelapp.projects.models import Role, TaskType
from labelapp.projects.permissions import ADMINS, ALL_ROLES, LABELERS, ProjectScopedMixin

from . import selectors, synthesis
from .collection import PredictResult, prediction_make
from .models import SynthesisJob, VerificationState
from .stream import stream_image_ingest
from .verification import VERIFIABLE, verification_next, verification_record

VERIFIERS = frozenset({Role.ADMIN, Role.VERIFIER})


def _upload(request):
    upload = request.FILES.get("file")
    return None if upload is None else (upload.name, upload.read(), upload.content_type)


def _counts_by_name(counts: dict, class_names: dict[int, str]) -> dict[str, int]:
    return {class_names.get(int(class_id), str(class_id)): n for class_id, n in counts.items()}


# --- predict -----------------------------------------------------------------------------


class PredictInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="One image, validated like an upload.")


class ClassProbabilityOutputSerializer(serializers.Serializer):
    label_class = serializers.IntegerField()
    name = serializers.CharField()
    probability = serializers.FloatField()


class CollectionRuleHitOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the rule in the project's collection_rules.")
    kind = serializers.CharField()


class CollectionOutcomeOutputSerializer(serializers.Serializer):
    kept = serializers.BooleanField(help_text="The image was added to the labeling pool.")
    kept_by = CollectionRuleHitOutputSerializer(many=True, help_text="Every rule that kept it (within its quota).")
    image = serializers.IntegerField(allow_null=True, help_text="The stored image (kept, or already in the project).")
    duplicate = serializers.BooleanField(help_text="The same content is already in the project: not kept again.")
    verification = serializers.BooleanField(help_text="A verification item was created for verifiers.")


class PredictOutputSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="Version number of the active model.")
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    label_class = serializers.IntegerField(allow_null=True, help_text="Classification: the most probable class id.")
    probabilities = ClassProbabilityOutputSerializer(
        many=True, allow_null=True, help_text="Classification, model order."
    )
    boxes = ScoredBoxSerializer(many=True, allow_null=True, help_text="Detection: boxes in image pixels, every score.")
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Class name → count (detection: boxes at or above the detection threshold).",
    )
    counts_by_id = serializers.DictField(child=serializers.IntegerField(), help_text="Class id → count.")
    total_count = serializers.IntegerField()
    confidence = serializers.FloatField()
    collection = CollectionOutcomeOutputSerializer()


def _prediction_body(result: PredictResult, *, task_type: str) -> dict:
    prediction, version = result.run.prediction, result.run.version
    probabilities = label_class = None
    if prediction.probs is not None:
        probabilities = [
            {"label_class": class_id, "name": result.class_names.get(class_id, str(class_id)), "probability": p}
            for class_id, p in zip(version.classes, prediction.probs)
        ]
        label_class = max(probabilities, key=lambda row: row["probability"])["label_class"]
    return {
        "model_version": version.number,
        "task_type": task_type,
        "label_class": label_class,
        "probabilities": probabilities,
        "boxes": prediction.boxes,
        "counts": _counts_by_name(prediction.counts, result.class_names),
        "counts_by_id": prediction.counts,
        "total_count": sum(prediction.counts.values()),
        "confidence": prediction.confidence,
        "collection": {
            "kept": result.kept,
            "kept_by": [{"index": hit["index"], "kind": hit["kind"]} for hit in result.kept_by] if result.kept else [],
            "image": result.image.pk if result.image is not None else None,
            "duplicate": result.duplicate,
            "verification": result.verification is not None,
        },
    }


class PredictView(ProjectScopedMixin, APIView):
    """Run the active model on one image (409 `no_active_model` without one) and apply the
    project's collection rules: the answer says whether the image was kept and by which rule."""

    write_roles = ALL_ROLES
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": PredictInputSerializer}, responses={200: PredictOutputSerializer})
    def post(self, request, project_id):
        result = prediction_make(project=self.project, upload=_upload(request))
        return Response(_prediction_body(result, task_type=self.project.task_type))


# --- stream ------------------------------------------------------------------------------


class StreamInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="One image from the stream.")


class StreamCountersOutputSerializer(serializers.Serializer):
    seen = serializers.IntegerField()
    queried = serializers.IntegerField()
    accepted = serializers.IntegerField()
    expected_remaining = serializers.IntegerField()


class StreamDecisionOutputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=["query", "accept", "duplicate"],
        help_text="query: a credit is reserved and the image is at the top of the labeling queue; "
        "accept: the model's output is kept as an auto label; duplicate: already in the project, nothing done.",
    )
    reason = serializers.CharField(
        help_text="below_threshold, above_threshold, exploration, no_credits, hard_cap, already_in_project."
    )
    mode = serializers.CharField(help_text="threshold or pacing (project setting stream_mode).")
    confidence = serializers.FloatField()
    threshold = serializers.FloatField(
        allow_null=True, help_text="The threshold in force; null when every image is queried."
    )
    credits_left = serializers.IntegerField(help_text="Available credits after this decision.")
    image = serializers.IntegerField()
    image_status = serializers.CharField()
    model_version = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Class name → count.")
    stream = StreamCountersOutputSerializer(allow_null=True)


class StreamView(ProjectScopedMixin, APIView):
    """Decide one streamed image on arrival (threshold or pacing mode, hard cap, never over
    the budget)."""

    write_roles = LABELERS
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": StreamInputSerializer},
        responses={201: StreamDecisionOutputSerializer, 200: StreamDecisionOutputSerializer},
    )
    def post(self, request, project_id):
        result = stream_image_ingest(project=self.project, user=request.user, upload=_upload(request))
        counters = None
        if result.sampler is not None:
            state = result.sampler.state
            counters = {
                "seen": state["seen"],
                "queried": state["queried"],
                "accepted": result.sampler.accepted,
                "expected_remaining": state["expected_remaining"],
            }
        class_names = dict(self.project.label_classes.values_list("id", "name"))
        body = {
            "decision": result.decision,
            "reason": result.reason,
            "mode": self.project.config["stream_mode"],
            "confidence": result.confidence,
            "threshold": result.threshold,
            "credits_left": result.credits_left,
            "image": result.image.pk,
            "image_status": result.image.status,
            "model_version": result.run.version.number,
            "counts": _counts_by_name(result.run.prediction.counts, class_names),
            "stream": counters,
        }
        created = result.decision != "duplicate"
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- verification ------------------------------------------------------------------------


class VerificationImageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class VerificationPredictionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The prediction id to send back with the verdict.")
    image = VerificationImageOutputSerializer()
    boxes = ScoredBoxSerializer(
        many=True,
        help_text="The counted detection boxes (score at or above the detection threshold), image pixels; [] for classification.",
    )
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Class name → count.")
    total_count = serializers.IntegerField()
    label_class = serializers.IntegerField(allow_null=True, help_text="Classification: the predicted class id.")
    model_version = serializers.IntegerField(help_text="Version number.")


class VerificationNextOutputSerializer(serializers.Serializer):
    prediction = VerificationPredictionOutputSerializer()
    lease_expires_at = serializers.DateTimeField(help_text="The prediction is yours alone until then.")


class VerificationRecordInputSerializer(serializers.Serializer):
    prediction = IdField()
    verdict = serializers.ChoiceField(choices=list(VERIFIABLE))
    true_count = serializers.IntegerField(
        min_value=0,
        max_value=MAX_INT32,
        required=False,
        allow_null=True,
        help_text="The real count; one that differs from the prediction makes it incorrect.",
    )


class VerificationRecordOutputSerializer(serializers.Serializer):
    prediction = serializers.IntegerField()
    state = serializers.ChoiceField(choices=VerificationState.choices, help_text="The outcome.")
    verdict = serializers.CharField(help_text="What the verifier said.")
    true_count = serializers.IntegerField(allow_null=True)
    predicted_count = serializers.IntegerField()
    label_created = serializers.BooleanField(help_text="correct: a verified label was created.")
    queued_for_labeling = serializers.BooleanField(
        help_text="incorrect: the image is at the top of the labeling queue."
    )


class VerificationVersionStatsOutputSerializer(serializers.Serializer):
    model_version = serializers.IntegerField()
    pending = serializers.IntegerField()
    correct = serializers.IntegerField()
    incorrect = serializers.IntegerField()
    affirmed = serializers.IntegerField()
    corrected_counts = serializers.IntegerField(help_text="Incorrect verdicts that came with a true count.")
    flag_rate = serializers.FloatField(
        allow_null=True, help_text="incorrect / (correct + incorrect); null before any verdict."
    )


class VerificationStatsOutputSerializer(serializers.Serializer):
    versions = VerificationVersionStatsOutputSerializer(many=True)


class VerificationNextView(ProjectScopedMixin, APIView):
    """The next prediction to verify, leased to me for a few minutes; 409 `nothing_to_verify`
    when there is none (like the labeling queue's 409 `pool_empty`)."""

    read_roles = VERIFIERS

    @extend_schema(responses={200: VerificationNextOutputSerializer})
    def get(self, request, project_id):
        item = verification_next(project=self.project, user=request.user)
        prediction, image = item.prediction, item.image
        class_names = dict(self.project.label_classes.values_list("id", "name"))
        label_class = None
        if prediction.probs is not None:
            label_class = item.model_version.classes[
                max(range(len(prediction.probs)), key=prediction.probs.__getitem__)
            ]
        body = {
            "prediction": {
                "id": prediction.pk,
                "image": {
                    "id": image.pk,
                    "file_url": f"/api/projects/{image.project_id}/images/{image.pk}/file",
                    "width": image.width,
                    "height": image.height,
                },
                # Only the boxes that make the count: the verifier judges "the model counted N".
                "boxes": [
                    b for b in prediction.boxes or [] if b["score"] >= self.project.config["detection_threshold"]
                ],
                "counts": _counts_by_name(prediction.counts, class_names),
                "total_count": sum(prediction.counts.values()),
                "label_class": label_class,
                "model_version": item.model_version.number,
            },
            "lease_expires_at": item.lease_expires_at,
        }
        return Response(VerificationNextOutputSerializer(body).data)


class VerificationCreateView(ProjectScopedMixin, APIView):
    """Record a verdict: correct → a verified label; incorrect (or another true count) → the
    image goes to the top of the labeling queue."""

    write_roles = VERIFIERS

    @extend_schema(request=VerificationRecordInputSerializer, responses={201: VerificationRecordOutputSerializer})
    def post(self, request, project_id):
        data = VerificationRecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = verification_record(
            project=self.project,
            user=request.user,
            prediction_id=values["prediction"],
            verdict=values["verdict"],
            true_count=values.get("true_count"),
        )
        item = outcome.item
        body = {
            "prediction": item.prediction_id,
            "state": item.state,
            "verdict": item.verdict,
            "true_count": item.true_count,
            "predicted_count": item.predicted_count,
            "label_created": outcome.label_created,
            "queued_for_labeling": outcome.queued,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class VerificationStatsView(ProjectScopedMixin, APIView):
    """Verdicts and the flag rate per model version."""

    read_roles = VERIFIERS

    @extend_schema(responses={200: VerificationStatsOutputSerializer})
    def get(self, request, project_id):
        return Response({"versions": selectors.verification_stats(project=self.project)})


# --- membership query synthesis ----------------------------------------------------------


class SynthesisStartInputSerializer(serializers.Serializer):
    allowance = serializers.IntegerField(
        min_value=1, max_value=MAX_INT32, help_text="At most this many synthetic images, one credit each."
    )


class SynthesisPlanItemOutputSerializer(serializers.Serializer):
    class_id = serializers.IntegerField()
    class_name = serializers.CharField()
    cell = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Target (row, col) of the 3×3 region grid; null = anywhere.",
    )
    ops = serializers.ListField(child=serializers.DictField(), help_text="Augmentation op specs, in order.")
    count = serializers.IntegerField(help_text="Planned images.")
    made = serializers.IntegerField(help_text="Images actually made.")
    reason = serializers.CharField(help_text="The health-check recommendation(s) this item answers.")


class SynthesisClassReportOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    before = serializers.FloatField(allow_null=True)
    after = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(allow_null=True)


class SynthesisImagesOutputSerializer(serializers.Serializer):
    confirmed = serializers.IntegerField(help_text="Labeled by an annotator (the credit is spent).")
    skipped = serializers.IntegerField(help_text="Skipped by an annotator (the credit was released).")
    pending = serializers.IntegerField(help_text="Waiting at the top of the labeling queue (the credit is reserved).")


class SynthesisJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    allowance = serializers.IntegerField()
    images_made = serializers.IntegerField()
    images = SynthesisImagesOutputSerializer()
    stop_reason = serializers.CharField(
        help_text="budget_exhausted, sources_exhausted, nothing_to_synthesize, or empty."
    )
    error = serializers.CharField()
    requested_by = serializers.CharField(allow_null=True)
    metric = serializers.CharField(
        help_text="The per-class val metric compared: ap50 (detection) or f1 (classification)."
    )
    model_version_before = serializers.IntegerField(allow_null=True)
    model_version_after = serializers.IntegerField(
        allow_null=True, help_text="The first version trained after the job's last confirmed image; null until then."
    )
    ap_before = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Class name → val metric."
    )
    ap_after = serializers.DictField(child=serializers.FloatField(allow_null=True), allow_null=True)
    classes = SynthesisClassReportOutputSerializer(many=True, help_text="Before and after per class.")
    plan = SynthesisPlanItemOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class SynthesisJobListOutputSerializer(serializers.Serializer):
    results = SynthesisJobOutputSerializer(many=True)


def _synthesis_body(job: SynthesisJob) -> dict:
    job = synthesis.synthesis_report_refresh(job=job)
    after = job.ap_after
    names = list(job.ap_before) + [name for name in (after or {}) if name not in job.ap_before]
    classes = []
    for name in names:
        before, later = job.ap_before.get(name), (after or {}).get(name)
        delta = later - before if before is not None and later is not None else None
        classes.append({"name": name, "before": before, "after": later, "delta": delta})
    return {
        "id": job.pk,
        "status": job.status,
        "allowance": job.allowance,
        "images_made": job.images_made,
        "images": synthesis.synthesis_image_counts(job=job),
        "stop_reason": job.stop_reason,
        "error": job.error,
        "requested_by": job.requested_by.username if job.requested_by else None,
        "metric": job.metric,
        "model_version_before": job.version_before.number if job.version_before else None,
        "model_version_after": job.version_after.number if job.version_after else None,
        "ap_before": job.ap_before,
        "ap_after": after,
        "classes": classes,
        "plan": [
            {key: item[key] for key in ("class_id", "class_name", "cell", "ops", "count", "made", "reason")}
            for item in job.plan
        ],
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _jobs(project):
    return SynthesisJob.objects.filter(project=project).select_related(
        "requested_by", "version_before", "version_after"
    )


class SynthesisJobListCreateView(ProjectScopedMixin, APIView):
    """Start a synthesis job with a credit allowance (409 `budget_exhausted` above the
    available credits, 400 `no_source_images` without labeled images), or list the jobs."""

    read_roles = ADMINS
    write_roles = ADMINS

    @extend_schema(operation_id="projects_synthesis_list", responses={200: SynthesisJobListOutputSerializer})
    def get(self, request, project_id):
        return Response(
            SynthesisJobListOutputSerializer({"results": [_synthesis_body(job) for job in _jobs(self.project)]}).data
        )

    @extend_schema(request=SynthesisStartInputSerializer, responses={201: SynthesisJobOutputSerializer})
    def post(self, request, project_id):
        data = SynthesisStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = synthesis.synthesis_start(
            project=self.project, user=request.user, allowance=data.validated_data["allowance"]
        )
        job = _jobs(self.project).get(pk=job.pk)
        return Response(SynthesisJobOutputSerializer(_synthesis_body(job)).data, status=status.HTTP_201_CREATED)


class SynthesisJobDetailView(ProjectScopedMixin, APIView):
    """One job: its plan, the images made and what annotators did with them, and the
    per-class val metric before and after the next retrain."""

    read_roles = ADMINS

    @extend_schema(responses={200: SynthesisJobOutputSerializer})
    def get(self, request, project_id, job_id):
        job = _jobs(self.project).filter(pk=job_id).first()
        if job is None:
            raise NotFound("This project has no synthesis job with this id.")
        return Response(SynthesisJobOutputSerializer(_synthesis_body(job)).data)
