import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """StreamHold moves here from the production app. Only the model state moves: the
    table `production_streamhold` (created by production 0001) and its rows stay as they are."""

    dependencies = [
        ("credits", "0003_credit_counters_64bit"),
        ("images", "0001_initial"),
        ("projects", "0001_initial"),
        ("production", "0004_stream_holds_to_credits"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StreamHold",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[("held", "Held"), ("claimed", "Claimed"), ("released", "Released")],
                                default="held",
                                max_length=8,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("released_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "credit_entry",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="stream_hold",
                                to="credits.creditentry",
                            ),
                        ),
                        (
                            "image",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="stream_hold",
                                to="images.image",
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="projects.project"
                            ),
                        ),
                    ],
                    options={"db_table": "production_streamhold"},
                ),
            ],
            database_operations=[],
        ),
    ]
