"""Local development (`make run`): a fixed dev secret is acceptable only here."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY", default="local-dev-only-not-secret")
