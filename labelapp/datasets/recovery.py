"""What the stale-work beat job does for imports (issue 14 item 3): an import whose worker
died is sent again, or failed with a reason when it cannot or should not run again, and
import archives no open job names are deleted after a grace period (up to 2 GB each).

A killed worker leaves its job `running`; Celery delivers an unacknowledged task again only
if the broker still has it, so without this the job stayed `running` forever and its archive
stayed on disk."""

import logging
import posixpath
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from labelapp.core.jobs import OPEN_STATUSES, JobStatus, stale_after
from labelapp.images.services import storage_cleanup

from .models import ImportJob

logger = logging.getLogger(__name__)

#: Claims after which a job whose worker keeps dying (out of memory on it, say) is failed
#: instead of sent again.
MAX_ATTEMPTS = 3
ARCHIVE_DIR = "imports"


def imports_recover() -> dict:
    """Send stale import jobs again (their worker is gone or silent, or their message was
    lost), or fail them when their archive is gone or they were tried MAX_ATTEMPTS times.
    Then sweep left-over archives. A live worker keeps its job: every change re-checks the
    row as it was read."""
    from .dataset_import import _queue

    now = timezone.now()
    requeued, failed = [], []
    for row in ImportJob.objects.stale(now - stale_after()):
        job = ImportJob.objects.filter(pk=row["pk"]).values("archive", "attempts", "done", "total").first()
        if job is None:
            continue
        reason = _give_up_reason(job)
        unchanged = Q(
            pk=row["pk"],
            status=row["status"],
            heartbeat_at=row["heartbeat_at"],
            owner_host=row["owner_host"],
            owner_pid=row["owner_pid"],
        )
        if reason is None:
            if ImportJob.objects.requeue(row):
                _queue(row["pk"])
                requeued.append(row["pk"])
        elif ImportJob.objects.filter(unchanged).update(
            status=JobStatus.FAILED, detail=reason, finished_at=now, heartbeat_at=now
        ):
            storage_cleanup([job["archive"]] if job["archive"] else [])
            logger.warning("import job %s failed by recovery: %s", row["pk"], reason)
            failed.append(row["pk"])
    return {"imports_requeued": requeued, "imports_failed": failed, "import_archives_swept": import_archives_sweep()}


def _give_up_reason(job: dict) -> str | None:
    stored = f"{job['done']} of {job['total'] or 0} images were stored; importing the same archive again adds the rest."
    if not job["archive"] or not default_storage.exists(job["archive"]):
        return f"The worker running this import stopped, and its archive is gone. {stored}"
    if job["attempts"] >= MAX_ATTEMPTS:
        return (
            f"The worker running this import stopped {job['attempts']} times (killed, or out of memory on this "
            f"archive); it is not tried again. {stored} A smaller archive may get through."
        )
    return None


def import_archives_sweep() -> list[str]:
    """Delete archives under imports/ that no queued or running job names and that are older
    than LABELAPP_IMPORT_ARCHIVE_GRACE_SECONDS: left by a worker that died between ending its
    job and deleting the file, or by a request that died between storing it and creating the
    job (the grace period covers that window)."""
    if not default_storage.exists(ARCHIVE_DIR):
        return []
    keep = set(ImportJob.objects.filter(status__in=OPEN_STATUSES).values_list("archive", flat=True))
    cutoff = timezone.now() - timedelta(seconds=settings.LABELAPP_IMPORT_ARCHIVE_GRACE_SECONDS)
    swept = []
    folders, files = default_storage.listdir(ARCHIVE_DIR)
    names = [posixpath.join(ARCHIVE_DIR, f) for f in files]
    for folder in folders:
        names += [posixpath.join(ARCHIVE_DIR, folder, f) for f in default_storage.listdir(f"{ARCHIVE_DIR}/{folder}")[1]]
    for name in names:
        if name in keep or default_storage.get_modified_time(name) >= cutoff:
            continue
        storage_cleanup([name])
        swept.append(name)
    if swept:
        logger.info("deleted %d import archives no open job names", len(swept))
    return swept
