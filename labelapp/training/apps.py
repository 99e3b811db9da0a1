from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "labelapp.training"

    def ready(self) -> None:
        # Listens for the events of the apps below (new images, new labels, scoring settings):
        # they never call up into this one.
        from . import receivers  # noqa: F401
