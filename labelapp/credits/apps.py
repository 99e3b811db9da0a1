from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "labelapp.credits"

    def ready(self) -> None:
        # Creates the balance row of each new project (the projects app never calls up).
        from . import receivers  # noqa: F401
