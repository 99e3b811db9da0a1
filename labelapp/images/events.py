"""Events the images app sends for the apps above it to act on (it never calls up)."""

from django.dispatch import Signal

#: New images are stored in a project; keyword arguments `project_id: int`, `image_ids: list[int]`.
images_added = Signal()
