from django.conf import settings as django_settings
from django.core.validators import RegexValidator
from django.db import models


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification"
    DETECTION = "detection"


class Role(models.TextChoices):
    ADMIN = "admin"
    ANNOTATOR = "annotator"
    VERIFIER = "verifier"
    REVIEWER = "reviewer"


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=20, choices=TaskType.choices)
    settings = models.JSONField(default=dict, blank=True, help_text="Validated by ProjectSettingsSerializer.")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when archived: hidden from the default project list, restorable."
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def config(self) -> dict:
        """The settings with every default filled in."""
        from .settings_schema import settings_with_defaults

        return settings_with_defaults(self.settings)


#: A class key: one digit 1-9 or none. The labeling page reads only these digits as class keys.
HOTKEY_PATTERN = r"^[1-9]?$"
HOTKEY_RULE = "A class key is one digit from 1 to 9 (or empty for none)."


class LabelClass(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_classes")
    name = models.CharField(max_length=100)
    color = models.CharField(
        max_length=7,
        default="#3b82f6",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a #rrggbb colour.")],
    )
    hotkey = models.CharField(max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_class_name_per_project"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.project}"
