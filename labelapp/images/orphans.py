"""Orphan files: image and thumbnail files no row points to (issue 14 item 9).

An upload writes its files before its transaction commits; a web worker killed in between
(or a database error the cleanup could not follow) leaves files with no row. Rows are the
truth, so a beat job deletes files under `projects/<id>/images|thumbnails/` that no Image
row names once they are older than a grace period, longer than any upload or import
transaction. It also removes the files of deleted projects. Works on any Django storage
(local folder or S3)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from .models import Image

logger = logging.getLogger(__name__)
FIELD_BY_FOLDER = {"images": "file", "thumbnails": "thumbnail"}


def orphan_files_sweep(*, now=None, grace: timedelta | None = None) -> int:
    """Delete orphan files older than `grace` (default LABELAPP_ORPHAN_GRACE_SECONDS). Returns how many."""
    now = now or timezone.now()
    cutoff = now - (grace if grace is not None else timedelta(seconds=settings.LABELAPP_ORPHAN_GRACE_SECONDS))
    removed = 0
    for project_folder in _folders("projects"):
        for folder, field in FIELD_BY_FOLDER.items():
            base = f"projects/{project_folder}/{folder}"
            for shard in _folders(base):
                try:
                    removed += _sweep_folder(f"{base}/{shard}", field, cutoff)
                except Exception:
                    # One unreadable folder must not stop the sweep of the others.
                    logger.exception("sweeping orphan files failed in %s/%s", base, shard)
    if removed:
        logger.info("deleted %s orphan image files", removed)
    return removed


def _folders(path: str) -> list[str]:
    try:
        folders, _ = default_storage.listdir(path)
    except FileNotFoundError:
        return []
    return sorted(folders)


def _sweep_folder(folder: str, field: str, cutoff) -> int:
    _, files = default_storage.listdir(folder)
    names = [f"{folder}/{name}" for name in files]
    known = set(Image.objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
    removed = 0
    for name in names:
        if name in known or default_storage.get_modified_time(name) > cutoff:
            continue
        # Re-checked right before the delete: a row may have committed since the listing.
        if Image.objects.filter(**{field: name}).exists():
            continue
        default_storage.delete(name)
        removed += 1
    return removed
