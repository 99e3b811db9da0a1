"""Every image gets a uniform random evaluation key. Existing rows are given distinct keys in
one UPDATE: AddField's default is evaluated once, which would give all of them the same."""

from django.db import migrations, models

import labelapp.images.models


def spread_keys(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("images", "Image")._meta.db_table)
    uniform = (
        "random()" if schema_editor.connection.vendor == "postgresql" else "(abs(random()) % 1000000007) / 1000000007.0"
    )
    schema_editor.execute(f"UPDATE {table} SET eval_key = {uniform}")


class Migration(migrations.Migration):
    dependencies = [
        ("images", "0002_initial"),
        ("projects", "0001_initial"),
        ("training", "0003_modelversion_auto_labels_seen"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="eval_key",
            field=models.FloatField(default=labelapp.images.models.random_eval_key),
        ),
        migrations.RunPython(spread_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["project", "status", "eval_key"], name="image_eval_idx"),
        ),
    ]
