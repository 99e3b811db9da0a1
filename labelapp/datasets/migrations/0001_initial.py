import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_type_to(app_label: str):
    """Move ImportJob's content type (and so its permissions) to `app_label`."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        other = "images" if app_label == "datasets" else "datasets"
        if not ContentType.objects.filter(app_label=app_label, model="importjob").exists():
            ContentType.objects.filter(app_label=other, model="importjob").update(app_label=app_label)

    return move


class Migration(migrations.Migration):
    """Takes over ImportJob from the images app (images/0007 lets it go) without touching the
    database: the model keeps the table `images_importjob` and its rows."""

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("images", "0006_import_jobs"),
        ("projects", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "archive",
                            models.CharField(
                                blank=True,
                                help_text="Storage name of the uploaded ZIP; removed when the job ends.",
                                max_length=300,
                            ),
                        ),
                        ("archive_name", models.CharField(blank=True, max_length=255)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=10,
                            ),
                        ),
                        ("phase", models.CharField(blank=True, help_text="checking, then importing.", max_length=10)),
                        ("checked", models.PositiveIntegerField(default=0)),
                        ("done", models.PositiveIntegerField(default=0)),
                        ("total", models.PositiveIntegerField(blank=True, null=True)),
                        ("images_created", models.PositiveIntegerField(default=0)),
                        ("duplicates", models.PositiveIntegerField(default=0)),
                        ("labels_created", models.PositiveIntegerField(default=0)),
                        ("classes_created", models.PositiveIntegerField(default=0)),
                        (
                            "class_mapping",
                            models.JSONField(
                                blank=True,
                                default=dict,
                                help_text="Name in the archive → existing class it was matched to.",
                            ),
                        ),
                        ("errors", models.JSONField(blank=True, default=list)),
                        ("detail", models.TextField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="import_jobs",
                                to="projects.project",
                            ),
                        ),
                        (
                            "requested_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "images_importjob", "ordering": ["-id"]},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_type_to("datasets"), _content_type_to("images")),
    ]
