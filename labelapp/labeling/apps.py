from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labelapp.labeling"

    def ready(self) -> None:
        # Clears this app's rows from a project being deleted (the projects app never calls up).
        from . import receivers  # noqa: F401
