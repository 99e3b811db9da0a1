"""Settings shared by every environment; each value comes from the environment.

Every variable read here is documented in `.env.example`.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("LABELAPP_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "labelapp.core",
    "labelapp.accounts",
    "labelapp.projects",
    "labelapp.credits",
    "labelapp.images",
    "labelapp.labeling",
    "labelapp.datasets",
    "labelapp.training",
    "labelapp.production",
    "labelapp.review",
    "labelapp.demo",
]

MIDDLEWARE = [
    # Outermost, so its request id exists when a later middleware or a view fails.
    "labelapp.core.middleware.JsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "labelapp.urls"
WSGI_APPLICATION = "labelapp.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [FRONTEND_DIST],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'labelapp.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the Celery worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Reuse server connections across requests: opening one costs more than a queue request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("LABELAPP_DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("LABELAPP_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("LABELAPP_MEDIA_ROOT", default=str(VAR_DIR / "media")))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# S3-compatible storage (MinIO in docker-compose) when a bucket is configured.
AWS_STORAGE_BUCKET_NAME = env("LABELAPP_S3_BUCKET", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_ENDPOINT_URL = env("LABELAPP_S3_ENDPOINT_URL", default=None)
    AWS_ACCESS_KEY_ID = env("LABELAPP_S3_ACCESS_KEY", default=None)
    AWS_SECRET_ACCESS_KEY = env("LABELAPP_S3_SECRET_KEY", default=None)
    AWS_S3_REGION_NAME = env("LABELAPP_S3_REGION", default="us-east-1")
    AWS_QUERYSTRING_AUTH = True

# Uploads: per-file limit checked by the validator, request limit by Django.
LABELAPP_MAX_UPLOAD_BYTES = env.int("LABELAPP_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
LABELAPP_MAX_IMAGE_PIXELS = env.int("LABELAPP_MAX_IMAGE_PIXELS", default=40_000_000)
# Dataset imports: the ZIP as uploaded (streamed to disk), and everything it unpacks to.
LABELAPP_MAX_IMPORT_BYTES = env.int("LABELAPP_MAX_IMPORT_BYTES", default=2 * 1024**3)
LABELAPP_MAX_IMPORT_UNPACKED_BYTES = env.int("LABELAPP_MAX_IMPORT_UNPACKED_BYTES", default=4 * 1024**3)
# Image files no row names (an upload killed before its commit) are deleted after this long.
LABELAPP_ORPHAN_GRACE_SECONDS = env.int("LABELAPP_ORPHAN_GRACE_SECONDS", default=6 * 3600)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("LABELAPP_MAX_FILES_PER_REQUEST", default=200)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so anonymous API calls get 401 with a WWW-Authenticate header.
        "labelapp.accounts.authentication.HeaderTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only, so the schema offers no form bodies that cannot carry nested fields
    # (settings, boxes); the upload views declare multipart themselves (issue 14 item 12).
    "DEFAULT_PARSER_CLASSES": ["labelapp.core.parsers.DepthSafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "labelapp.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "labelapp.core.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env("LABELAPP_LOGIN_RATE", default="10/min")},
    # X-Forwarded-For is trusted only as far as this many reverse proxies of ours reach
    # (0: never; a client can put anything in it).
    "NUM_PROXIES": env.int("LABELAPP_NUM_PROXIES", default=0),
}

# Login throttling counts here: one cache shared by every web process (a per-process cache
# lets N processes take N times the rate). The database table works with no extra server;
# it is created by `migrate` (labelapp.accounts.apps).
CACHES = {"default": env.cache_url("LABELAPP_CACHE_URL", default="dbcache://labelapp_cache")}

SPECTACULAR_SETTINGS = {
    "TITLE": "labelapp API",
    "DESCRIPTION": "Active-learning image labeling: projects, images, the labeling queue, "
    "annotations, credits, training and production predictions.",
    "VERSION": "0.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the app's own static files: the docs work without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "labelapp.api.schema.add_error_responses",
        "labelapp.api.schema.add_links",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ImageStatusEnum": "labelapp.images.models.Status",
        "RunStatusEnum": "labelapp.core.jobs.JobStatus",
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite'}")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="django-db")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "release-expired-reservations": {
        "task": "labelapp.labeling.release_expired_reservations",
        "schedule": 30.0,
    },
    "recover-stale-work": {
        "task": "labelapp.training.recover_stale_work",
        "schedule": 30.0,
    },
    "release-expired-held-credits": {
        "task": "labelapp.credits.release_expired_held_credits",
        "schedule": 300.0,
    },
    "recover-stale-synthesis": {
        "task": "labelapp.production.recover_stale_synthesis",
        "schedule": 30.0,
    },
    "sweep-orphan-files": {
        "task": "labelapp.images.sweep_orphan_files",
        "schedule": 3600.0,
    },
    "affirm-unflagged-predictions": {
        "task": "labelapp.production.affirm_unflagged",
        "schedule": 300.0,
    },
}

CSRF_FAILURE_VIEW = "labelapp.core.views.csrf_failure"  # JSON like every other error
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the SPA reads it to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LABELAPP_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

LABELAPP_RESCORE_CHUNK_SIZE = env.int("LABELAPP_RESCORE_CHUNK_SIZE", default=512)
# A training or rescore with no progress for this long lost its worker and is resumed.
LABELAPP_TRAINING_STALE_SECONDS = env.int("LABELAPP_TRAINING_STALE_SECONDS", default=180)

# The pretrained backbone every image is embedded with at ingest (see the README's Models
# section). "none" falls back to the small from-scratch models. A weights file you bring
# (LABELAPP_BACKBONE_WEIGHTS) must be a MobileNetV2 state dict with torchvision's names; give
# its sha256 to have it checked, as the shipped file always is.
LABELAPP_BACKBONE = env("LABELAPP_BACKBONE", default="mobilenet_v2")
LABELAPP_BACKBONE_WEIGHTS = env("LABELAPP_BACKBONE_WEIGHTS", default=None)
LABELAPP_BACKBONE_SHA256 = env("LABELAPP_BACKBONE_SHA256", default=None)
LABELAPP_EMBED_SIZE = env.int("LABELAPP_EMBED_SIZE", default=112)
# A head on cached embeddings scores thousands of images per millisecond: bigger chunks.
LABELAPP_RESCORE_VECTOR_CHUNK_SIZE = env.int("LABELAPP_RESCORE_VECTOR_CHUNK_SIZE", default=20000)

# After uploads, preprocessing starts this long after a batch arrives and takes every batch
# that arrived meanwhile. Cold-start ranking (no model yet) starts COLD_START_DELAY after,
# and later ones at least COLD_START_SPACING times the last ranking's duration apart, so
# ranking never takes more than a small share of the worker.
LABELAPP_PREPROCESS_DELAY_SECONDS = env.float("LABELAPP_PREPROCESS_DELAY_SECONDS", default=5.0)
LABELAPP_COLD_START_DELAY_SECONDS = env.float("LABELAPP_COLD_START_DELAY_SECONDS", default=10.0)
LABELAPP_COLD_START_SPACING = env.float("LABELAPP_COLD_START_SPACING", default=10.0)
