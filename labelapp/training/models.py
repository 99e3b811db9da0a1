from django.conf import settings
from django.db import models
from django.db.models import Q

from labelapp.core.jobs import Job, JobStatus


class ModelVersion(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    model_name = models.CharField(max_length=60)
    checkpoint = models.FileField(upload_to="checkpoints/", max_length=300)
    classes = models.JSONField(default=list, help_text="Label class ids in model output order.")
    input_size = models.PositiveIntegerField()
    is_active = models.BooleanField(default=False)
    labels_seen = models.PositiveIntegerField(default=0, help_text="Labeled training images it was trained on.")
    auto_labels_seen = models.PositiveIntegerField(
        default=0, help_text="Stream-accepted images it also trained on (train_on_auto_labels), with its own labels."
    )
    credits_spent = models.PositiveIntegerField(default=0, help_text="Project credits spent when training started.")
    metrics = models.JSONField(default=dict, blank=True, help_text='{"val": {...}, "test": {...}} per class.')
    strategy = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_version_number"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_active=True), name="one_active_model_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"


class TrainingRun(Job):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="training_runs")
    trigger = models.CharField(max_length=10, default="manual")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    epoch = models.PositiveIntegerField(default=0)
    epochs_max = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    val_metric = models.FloatField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True)
    model_version = models.OneToOneField(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_run"
    )
    labels_at_start = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Never two trainings of one project at once.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]),
                name="one_open_training_per_project",
            ),
        ]


class Prediction(models.Model):
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions")
    probs = models.JSONField(null=True, blank=True, help_text="Classification: probability per class, model order.")
    boxes = models.JSONField(
        null=True, blank=True, help_text="Detection: [{x, y, w, h, label_class, score}] in image pixels."
    )
    counts = models.JSONField(default=dict, blank=True, help_text="Boxes above the detection threshold, per class id.")
    confidence = models.FloatField(default=1.0)
    score = models.FloatField(default=0.0, help_text="Informativeness under the project's strategy.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["image", "model_version"], name="one_prediction_per_image_and_version"),
        ]


class RescoreJob(Job):
    """Scores the pool with a new version in chunks, on any number of workers at once (a
    Celery chord): it has no single owner, so recovery judges it by its heartbeat alone."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="rescore_jobs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="rescore_jobs")
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    images_total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]


class LearningCurve(models.Model):
    """A stored learning curve: credits spent → val/test metric per model version, from a
    `manage.py simulate` run (active strategy or the random baseline)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="learning_curves")
    strategy = models.CharField(max_length=40)
    metric = models.CharField(max_length=20, default="map50")
    points = models.JSONField(default=list, help_text='[{"credits_spent", "labels", "val", "test", "model_version"}]')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]


class PoolUpkeep(models.Model):
    """Per project, at most one pending preprocessing task and one pending cold-start
    ranking. An upload burst sends one batch every fraction of a second; each asks for both,
    and every ask that arrives while one is pending is served by it (pool_upkeep.py)."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, primary_key=True, related_name="+")
    preprocess_pending = models.BooleanField(default=False)
    preprocess_queued_at = models.DateTimeField(null=True, blank=True)
    cold_start_pending = models.BooleanField(default=False)
    cold_start_queued_at = models.DateTimeField(null=True, blank=True)
    cold_start_seconds = models.FloatField(default=0.0, help_text="How long the last ranking took.")
    cold_start_runs = models.PositiveIntegerField(default=0)


class PreprocessBacklog(models.Model):
    """New images waiting for preprocessing: one row per upload batch, deleted once done."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    image_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
