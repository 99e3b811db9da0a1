"""Production: SECRET_KEY has no default, HTTPS hardening on (configurable behind a proxy)."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY")
SECURE_SSL_REDIRECT = env.bool("LABELAPP_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("LABELAPP_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
