"""Events the projects app sends for the apps above it to act on (it never calls up)."""

from django.dispatch import Signal

#: A setting that changes the pool's scores (the strategy, ...) was saved; keyword argument
#: `project_id: int`.
scoring_settings_changed = Signal()
