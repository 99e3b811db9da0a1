from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("images", "0006_import_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="duplicates_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
