from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "labelapp.core"

    def ready(self) -> None:
        # Load the Celery app with Django so @shared_task binds to it everywhere.
        from labelapp import celery  # noqa: F401
