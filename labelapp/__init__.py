"""labelapp: active-learning image labeling.

Kept import-free so that `labelapp.learning` loads without Django or Celery; the Celery
app is loaded by `labelapp.core.apps.CoreConfig.ready`.
"""
