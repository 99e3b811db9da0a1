"""Events the training app sends for the apps above it to act on (it never calls up)."""

from django.dispatch import Signal

#: Sent on commit once a new model version is active; keyword argument `version_id`.
model_version_activated = Signal()
