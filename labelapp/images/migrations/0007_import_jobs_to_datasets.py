from django.db import migrations


class Migration(migrations.Migration):
    """ImportJob now belongs to the datasets app (datasets/0001 takes it over); its table
    `images_importjob` stays as it is, rows and all."""

    dependencies = [
        ("images", "0006_import_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ImportJob")],
            database_operations=[],
        ),
    ]
