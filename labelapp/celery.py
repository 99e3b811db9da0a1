import os

from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqlalchemy

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelapp.settings.local")

# The embedded SQLite broker polls; 0.1 s keeps the loop responsive. It must be set on the
# class: kombu passes broker_transport_options to create_engine(), where this key crashes.
kombu_sqlalchemy.Transport.polling_interval = 0.1

app = Celery("labelapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
