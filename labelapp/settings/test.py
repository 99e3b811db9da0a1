"""Settings for pytest: fast hashing, in-memory broker, media under a temp folder."""

import os
import tempfile

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes started by tests get the same media root and database through the environment.
MEDIA_ROOT = env("LABELAPP_MEDIA_ROOT", default=None) or tempfile.mkdtemp(prefix="labelapp-test-media-")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:, so a real Celery worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = "django-db"
LABELAPP_TRAINING_STALE_SECONDS = env.int("LABELAPP_TRAINING_STALE_SECONDS", default=180)
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": env("LABELAPP_LOGIN_RATE", default="1000/min")}}  # noqa: F405
