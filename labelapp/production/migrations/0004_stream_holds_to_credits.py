from django.db import migrations


class Migration(migrations.Migration):
    """StreamHold is a credits model now (credits 0004 takes it over); its table and rows stay."""

    dependencies = [
        ("production", "0003_holds_expire_synthesis_heartbeat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StreamHold")],
            database_operations=[],
        ),
    ]
