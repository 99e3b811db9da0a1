from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("images", "0007_import_jobs_to_datasets"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="duplicates_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
