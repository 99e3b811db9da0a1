"""Classes created before colours followed the name (the demo drew `yellow_box` in blue) get the
colour their name says, but only where the stored colour is still the old positional default:
a colour someone picked is kept."""

import re

from django.db import migrations

OLD_DEFAULTS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4"]
# labelapp.projects.colors.NAMED_COLORS as of this migration (a migration must not follow later edits).
NAMED = {
    "red": "#e6194b",
    "green": "#3cb44b",
    "yellow": "#ffe119",
    "blue": "#4363d8",
    "orange": "#f58231",
    "purple": "#911eb4",
    "violet": "#8b5cf6",
    "cyan": "#42d4f4",
    "magenta": "#f032e6",
    "pink": "#fabed4",
    "lime": "#bfef45",
    "teal": "#469990",
    "brown": "#9a6324",
    "maroon": "#800000",
    "navy": "#000075",
    "olive": "#808000",
    "beige": "#fffac8",
    "gold": "#d4a017",
    "silver": "#c0c0c0",
    "white": "#f8fafc",
    "black": "#111827",
    "gray": "#a9a9a9",
    "grey": "#a9a9a9",
}


def recolour(apps, schema_editor):
    LabelClass = apps.get_model("projects", "LabelClass")
    for label_class in LabelClass.objects.all().iterator():
        named = next((NAMED[w] for w in re.split(r"[^a-z]+", label_class.name.lower()) if w in NAMED), None)
        untouched = label_class.color.lower() == OLD_DEFAULTS[label_class.order % len(OLD_DEFAULTS)]
        if named and untouched and label_class.color.lower() != named:
            label_class.color = named
            label_class.save(update_fields=["color"])


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_project_archived_at")]

    operations = [migrations.RunPython(recolour, migrations.RunPython.noop)]
