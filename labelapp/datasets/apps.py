from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "labelapp.datasets"
