from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "labelapp.review"

    def ready(self) -> None:
        # Listens for the training app's "a model version is active" event (a lower app
        # never calls up into this one).
        from . import receivers  # noqa: F401
