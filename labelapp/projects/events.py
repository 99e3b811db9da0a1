"""Events the projects app sends for the apps above it to act on (it never calls up)."""

from django.dispatch import Signal

#: A setting that changes the pool's scores (the strategy, ...) was saved; keyword argument
#: `project_id: int`.
scoring_settings_changed = Signal()

#: A project is about to be deleted; keyword argument `project`. Sent at once, inside the
#: deletion's transaction (not on commit): receivers delete their rows that PROTECT against the
#: cascade, which Django's collector refuses even when they would go in the same cascade.
project_deleting = Signal()
