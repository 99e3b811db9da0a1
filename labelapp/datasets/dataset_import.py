"""Import of labeled data as free labels (no credit), as a job run by a Celery worker.

Formats: detection, a ZIP with one COCO JSON and the images it names; classification, a ZIP
with one folder per class.

- The web request (`import_start`) stores the upload (Django has already streamed it to a
  temporary file), checks the archive's directory (paths, links, sizes, compression ratio,
  layout) and queues the job: a bad archive is a 400 before anything is queued.
- The worker (`import_run`) checks everything else before it writes anything: the COCO file,
  every image, every box. Any problem fails the job with a list of errors, each naming the
  image file and the COCO annotation id; nothing is written.
- Then it stores the images in batches of short transactions, updating `done`, so neither
  memory (one member at a time) nor the database write lock grows with the archive.

Class names are matched to the project's classes case-insensitively (`Apple` in the archive
labels with the existing class `apple`); each such match is listed in the job's
`class_mapping` and `detail`. Re-importing an archive is harmless: images already in the
project are counted as duplicates and labels are never replaced."""

import csv
import io
import json
import logging
import math
import posixpath
import tempfile
import time
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field

import yaml
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labelapp.core import liveness
from labelapp.core.events import send_on_commit
from labelapp.core.jobs import JobStatus
from labelapp.images.events import images_added
from labelapp.images.models import Source, Status
from labelapp.images.services import image_store, storage_cleanup
from labelapp.images.validation import UploadRejected, ValidImage, validate_image_bytes
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.labeling.services import image_label, labels_announce
from labelapp.labeling.validation import InvalidAnnotation, clean_boxes
from labelapp.projects.models import LabelClass, TaskType
from labelapp.projects.services import label_class_create

from .archives import ArchiveRejected, Member, archive_members, open_zip, read_member
from .models import ImportJob

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
CLASS_NAME_MAX = LabelClass._meta.get_field("name").max_length
YOLO_CLASS_FILES = {"data.yaml", "data.yml", "classes.txt"}
LABEL_FILE_KINDS = {"coco": "COCO JSON", "yolo": "YOLO class list (data.yaml or classes.txt)", "csv": "CSV"}
DETECTION_LAYOUTS = (
    "Detection imports need one of: a COCO JSON file and its images; a YOLO dataset (data.yaml or "
    "classes.txt, images/ and labels/*.txt); or a CSV file (file_name, label_class, x, y, w, h) and its images."
)
#: Columns a CSV import reads (the CSV export writes these and more: image_id, width, height, split).
CSV_COLUMNS = {
    TaskType.CLASSIFICATION: ("file_name", "label_class"),
    TaskType.DETECTION: ("file_name", "label_class", "x", "y", "w", "h"),
}
MAX_ERRORS = 200
#: A batch ends at whichever comes first; it is one transaction, so these bound how long
#: the SQLite write lock is held (file and thumbnail writes happen inside it).
BATCH_IMAGES = 50
BATCH_BYTES = 16 * 1024 * 1024
#: Progress (and the heartbeat that tells a live job from a dead one) is written this often.
PROGRESS_EVERY = 200
PROGRESS_SECONDS = 10.0


class ImportFailed(Exception):
    """Problems found while checking; the job fails with these and nothing is written."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors[0]["detail"] if errors else "import failed")
        self.errors = errors


@dataclass
class PlannedImage:
    path: str  # archive member
    image_id: object = None  # COCO image id (detection)
    # {x, y, w, h, name, annotation (COCO id or None), where (YOLO, CSV: file and line), normalized (YOLO: 0..1)}
    boxes: list[dict] = field(default_factory=list)
    class_name: str = ""  # classification
    # Filled by the checking pass:
    name: str = ""  # the file name as validated
    normalized: bool = False  # validation re-encodes it (EXIF rotation, 16 bits): store that
    sha256: str = ""
    width: int = 0
    height: int = 0
    format: str = ""
    duplicate: bool = False


@dataclass
class Plan:
    images: list[PlannedImage]
    declared: list[str]  # every class name in the archive, in file order
    unlisted: int = 0  # image files the labels do not name
    labels_source: str = "the COCO file"  # what names the images, for the report


# --- the web request -------------------------------------------------------------------------


def import_start(*, project, user, upload) -> ImportJob:
    """Check the archive's directory and queue the import. `upload` is a Django UploadedFile."""
    limit = settings.LABELAPP_MAX_IMPORT_BYTES
    if upload.size > limit:
        raise ArchiveRejected(f"The archive is over the import limit of {limit} bytes.", code="too_large")
    upload.seek(0)
    with open_zip(upload) as archive:
        _layout_check(project, archive_members(archive))
    upload.seek(0)
    # A temporary upload file is moved, not copied, into a file system storage. A name never
    # used before: a freed name reused by a later upload could be taken for a lost job's archive.
    stored = default_storage.save(f"imports/project-{project.pk}/{uuid.uuid4().hex}.zip", upload)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                project=project, requested_by=user, archive=stored, archive_name=upload.name[:255]
            )
            transaction.on_commit(lambda: _queue(job.pk))
    except Exception:
        storage_cleanup([stored])
        raise
    return job


def _queue(job_id: int) -> None:
    from .tasks import import_dataset_task

    import_dataset_task.delay(job_id)


def archive_format(project, members: list[Member]) -> str:
    """Which format the archive is in, from its directory alone: `coco`, `yolo`, `csv` or
    `folders`. One rule for the request and the worker; an archive that fits none, or
    several, is refused with what each format needs."""
    visible = [m for m in members if not _hidden(m.path)]
    found = {
        "coco": [m for m in visible if m.path.lower().endswith(".json")],
        "yolo": [m for m in visible if posixpath.basename(m.path).lower() in YOLO_CLASS_FILES],
        "csv": [m for m in visible if m.path.lower().endswith(".csv")],
    }
    accepted = ["csv", "folders"] if project.task_type == TaskType.CLASSIFICATION else ["coco", "yolo", "csv"]
    present = [name for name in accepted if name != "folders" and found[name]]
    if len(present) > 1:
        files = ", ".join(found[name][0].path for name in present)
        raise ArchiveRejected(
            f"The archive holds labels in several formats ({files}); keep the files of one format.",
            code="bad_layout",
        )
    if not present:
        if "folders" in accepted:
            return "folders"
        raise ArchiveRejected(f"{DETECTION_LAYOUTS} None was found.", code="bad_layout")
    fmt = present[0]
    if len(found[fmt]) != 1:
        raise ArchiveRejected(
            f"The archive holds {len(found[fmt])} {LABEL_FILE_KINDS[fmt]} files "
            f"({', '.join(m.path for m in found[fmt][:3])}); it needs exactly one.",
            code="bad_layout",
        )
    return fmt


def _layout_check(project, members: list[Member]) -> None:
    """What the archive's directory alone shows: its format, the labels file's size, images
    where the format needs them."""
    visible = [m for m in members if not _hidden(m.path)]
    images = [m for m in visible if _is_image(m.path)]
    fmt = archive_format(project, members)
    if fmt == "folders":
        loose = [m.path for m in images if "/" not in m.path]
        if loose:
            raise ArchiveRejected(
                f"{loose[0]}: classification imports need one folder per class (class_name/image.jpg), "
                "or one CSV file naming each image's class.",
                code="bad_layout",
            )
    else:
        labels_file = next(m for m in visible if _labels_file_of(fmt, m.path))
        limit = settings.LABELAPP_MAX_LABELS_FILE_BYTES
        if labels_file.size > limit:
            raise ArchiveRejected(
                f"{labels_file.path}: the {LABEL_FILE_KINDS[fmt]} file is {labels_file.size} bytes, over the limit "
                f"of {limit} bytes (LABELAPP_MAX_LABELS_FILE_BYTES).",
                code="too_large",
            )
    if not images:
        raise ArchiveRejected("The archive holds no images.", code="empty_import")
    limit = settings.LABELAPP_MAX_UPLOAD_BYTES
    big = next((m for m in images if m.size > limit), None)
    if big is not None:
        raise ArchiveRejected(
            f"{big.path}: {big.size} bytes is over the upload limit of {limit} bytes.", code="too_large"
        )


# --- the worker ------------------------------------------------------------------------------


def import_run(*, job_id: int) -> str:
    """Run one import job to its end; idempotent (a job that already ended is left alone, a
    re-delivered one whose worker is gone or silent is taken over, and images already stored
    count as duplicates). A worker that loses its job (taken over, or the project deleted)
    stops at its next progress write without committing the batch in hand."""
    owner = liveness.current_owner()
    if not _claim(job_id, owner):
        return "skipped"
    job = ImportJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None:  # its project was deleted just now
        return "skipped"
    job.owner = owner  # whose progress writes these are (_set): not a field, this run's only
    try:
        with _local_archive(job.archive, beat=lambda: _set(job)) as path, open_zip(path) as archive:
            members = archive_members(archive)
            plan = _plan(job.project, archive, members)
            _set(job, total=len(plan.images), phase="checking")
            classes, mapping = _resolve_classes(job.project, plan)
            _check(job, archive, {m.path: m for m in members}, plan, classes)
            _set(job, phase="importing", class_mapping=mapping)
            _store(job, archive, {m.path: m for m in members}, plan, classes)
    except liveness.JobStopped:
        logger.info("import job %s is no longer this worker's: stopped", job_id)
        return "lost"
    except ImportFailed as failed:
        _finish(job, JobStatus.FAILED, errors=failed.errors[:MAX_ERRORS], detail=_failure_summary(failed.errors))
        return "failed"
    except (ArchiveRejected, zipfile.BadZipFile) as exc:
        _finish(job, JobStatus.FAILED, detail=getattr(exc, "message", None) or f"The archive cannot be read ({exc}).")
        return "failed"
    except Exception:
        if not ImportJob.objects.filter(pk=job_id).exists():  # its project was deleted meanwhile
            logger.info("import job %s ended: its project was deleted", job_id)
            return "lost"
        logger.exception("import job %s failed", job_id)
        job.refresh_from_db()
        _finish(job, JobStatus.FAILED, detail=_stopped_summary(job, "on an internal error"))
        raise
    _finish(job, JobStatus.SUCCEEDED, detail=_success_summary(job, plan, mapping))
    return "succeeded"


def _claim(job_id: int, owner: liveness.Owner) -> bool:
    """A queued job, or a running one whose worker is gone or silent (killed: the task is
    delivered again because it acknowledges late, or the stale-work beat job sends it again).
    Progress starts over: the images a dead worker stored are found again as duplicates."""
    if not ImportJob.objects.claim(job_id, owner, take_over=True):
        return False
    ImportJob.objects.held_by(owner, pk=job_id).update(
        attempts=F("attempts") + 1,
        phase="",
        checked=0,
        done=0,
        images_created=0,
        duplicates=0,
        labels_created=0,
        classes_created=0,
    )
    return True


def _set(job: ImportJob, **fields) -> None:
    """Write progress (and so the heartbeat) while this worker still holds the job; if it
    does not, stop (liveness.JobStopped) rather than write over its new owner's."""
    for name, value in fields.items():
        setattr(job, name, value)
    job.heartbeat_at = timezone.now()
    if not ImportJob.objects.held_by(job.owner, pk=job.pk).update(heartbeat_at=job.heartbeat_at, **fields):
        raise liveness.JobStopped("lost")


def _finish(job: ImportJob, status: str, *, detail: str, errors: list | None = None) -> None:
    # The archive goes once the job is ended, and only by its owner; if this process dies in
    # between, the archive sweep (recovery.import_archives_sweep) deletes it later.
    try:
        _set(job, status=status, detail=detail, errors=errors or [], finished_at=timezone.now())
    except liveness.JobStopped:
        return
    if job.archive:
        storage_cleanup([job.archive])


@contextmanager
def _local_archive(name: str, *, beat):
    """A local path of the stored ZIP: the file itself on a file system storage, else a
    temporary copy made in pieces (S3), calling `beat` every PROGRESS_SECONDS: copying 2 GB
    can outlast the stale limit, and a silent job would be taken over."""
    try:
        local = default_storage.path(name)
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp, default_storage.open(name, "rb") as source:
        beaten = time.monotonic()
        for piece in iter(lambda: source.read(1024 * 1024), b""):
            tmp.write(piece)
            if time.monotonic() - beaten > PROGRESS_SECONDS:
                beat()
                beaten = time.monotonic()
        tmp.flush()
        yield tmp.name


# --- planning: what the archive says -------------------------------------------------------------


def _labels_file_of(fmt: str, path: str) -> bool:
    if _hidden(path):
        return False
    if fmt == "yolo":
        return posixpath.basename(path).lower() in YOLO_CLASS_FILES
    return path.lower().endswith({"coco": ".json", "csv": ".csv"}[fmt])


def _plan(project, archive, members: list[Member]) -> Plan:
    fmt = archive_format(project, members)
    if fmt == "coco":
        return _plan_coco(archive, members)
    if fmt == "yolo":
        return _plan_yolo(archive, members)
    if fmt == "csv":
        return _plan_csv(project, archive, members)
    return _plan_folders(members)


def _plan_folders(members: list[Member]) -> Plan:
    """The request checked that every image sits in a folder; the folder names the class."""
    images = [
        PlannedImage(path=m.path, class_name=m.path.split("/")[-2])
        for m in members
        if _is_image(m.path) and not _hidden(m.path)
    ]
    return Plan(images=images, declared=sorted({image.class_name for image in images}))


def _plan_coco(archive, members: list[Member]) -> Plan:
    """Read and check the COCO file: structure, types, references; every problem is listed."""
    coco_member = next(m for m in members if m.path.lower().endswith(".json") and not _hidden(m.path))
    where = coco_member.path
    try:
        coco = json.loads(read_member(archive, coco_member, limit=settings.LABELAPP_MAX_LABELS_FILE_BYTES))
    except RecursionError:
        raise ImportFailed([_error(where, None, "not a valid COCO file: the JSON is nested too deeply.")]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFailed([_error(where, None, f"not a valid COCO file ({exc}).")]) from None
    if not isinstance(coco, dict):
        raise ImportFailed([_error(where, None, "not a valid COCO file: the top level must be an object.")])
    for key, required in (("images", True), ("categories", True), ("annotations", False)):
        if (key in coco or required) and not isinstance(coco.get(key), list):
            raise ImportFailed([_error(where, None, f"not a valid COCO file: '{key}' must be a list.")])
    errors: list[dict] = []

    categories: dict[int, str] = {}
    for index, category in enumerate(coco["categories"]):
        if (
            not isinstance(category, dict)
            or not _is_int(category.get("id"))
            or not isinstance(category.get("name"), str)
        ):
            errors.append(
                _error(where, None, f"categories[{index}] must be an object with an integer 'id' and a string 'name'.")
            )
            continue
        name = category["name"].strip()
        if not name or len(name) > CLASS_NAME_MAX:
            errors.append(
                _error(
                    where,
                    None,
                    f"category {category['id']}: the name must be 1 to {CLASS_NAME_MAX} characters (got {len(name)}).",
                )
            )
            continue
        if category["id"] in categories:
            errors.append(_error(where, None, f"category id {category['id']} is declared twice."))
            continue
        categories[category["id"]] = name

    files = {m.path: m for m in members}
    by_base: dict[str, list[Member]] = {}
    for member in members:
        by_base.setdefault(posixpath.basename(member.path), []).append(member)
    base_dir = posixpath.dirname(where)
    planned: dict[int, PlannedImage] = {}
    member_of: dict[str, object] = {}
    bad_images: set[int] = set()  # their annotations are not reported again
    for index, entry in enumerate(coco["images"]):
        _stop_at_limit(errors)
        if not isinstance(entry, dict) or not _is_int(entry.get("id")):
            errors.append(_error(where, None, f"images[{index}] must be an object with an integer 'id'."))
            continue
        image_id, file_name = entry["id"], entry.get("file_name")
        if not isinstance(file_name, str) or not file_name.strip():
            bad_images.add(image_id)
            errors.append(
                _error(
                    where, None, f"image {image_id}: 'file_name' must be a non-empty string (got {_short(file_name)})."
                )
            )
            continue
        if image_id in planned:
            errors.append(
                _error(
                    file_name,
                    None,
                    f"image id {image_id} is used by two images ({planned[image_id].path} and {file_name}).",
                )
            )
            continue
        member = _find_member(file_name, base_dir, files, by_base)
        if member is None:
            bad_images.add(image_id)
            errors.append(_error(file_name, None, f"COCO image {file_name!r} (id {image_id}) is not in the archive."))
            continue
        if member.path in member_of:
            errors.append(
                _error(member.path, None, f"images {member_of[member.path]} and {image_id} both name this file.")
            )
            continue
        member_of[member.path] = image_id
        planned[image_id] = PlannedImage(path=member.path, image_id=image_id)

    for index, ann in enumerate(coco.get("annotations") or []):
        _stop_at_limit(errors)
        if not isinstance(ann, dict):
            errors.append(_error(where, None, f"annotations[{index}] must be an object, not {_short(ann)}."))
            continue
        ann_id = ann.get("id") if _is_int(ann.get("id")) else None
        label = f"annotation {ann_id}" if ann_id is not None else f"annotations[{index}]"
        image_id = ann.get("image_id")
        target = planned.get(image_id) if _is_int(image_id) else None
        file = target.path if target else where
        if target is None:
            if image_id not in bad_images:
                errors.append(
                    _error(where, ann_id, f"{label}: image_id {_short(image_id)} is not an image of this COCO file.")
                )
            continue
        category_id = ann.get("category_id")
        if not _is_int(category_id) or category_id not in categories:
            errors.append(
                _error(file, ann_id, f"{label}: category_id {_short(category_id)} is not a category of this COCO file.")
            )
            continue
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
            errors.append(
                _error(file, ann_id, f"{label}: 'bbox' must be [x, y, width, height] numbers (got {_short(bbox)}).")
            )
            continue
        x, y, w, h = (float(v) for v in bbox)
        target.boxes.append(
            # No `where` string per box: a COCO box is named by its id, and the plan is held whole.
            {"x": x, "y": y, "w": w, "h": h, "name": categories[category_id], "annotation": ann_id}
        )
    if errors:
        raise ImportFailed(errors)
    listed = {image.path for image in planned.values()}
    unlisted = sum(1 for m in members if _is_image(m.path) and not _hidden(m.path) and m.path not in listed)
    return Plan(images=list(planned.values()), declared=list(categories.values()), unlisted=unlisted)


def _plan_yolo(archive, members: list[Member]) -> Plan:
    """Ultralytics layout: the class list (data.yaml `names`, or classes.txt one per line), and
    for each image under an `images` folder a `labels` twin with one `class cx cy w h` line per
    box, normalised to the image size (an empty file: no objects). An image without a label
    file is reported, not imported: Ultralytics would take it for an image without objects,
    and a forgotten labels folder would then teach the model that nothing is there."""
    class_member = next(m for m in members if _labels_file_of("yolo", m.path))
    where = class_member.path
    raw = read_member(archive, class_member, limit=settings.LABELAPP_MAX_LABELS_FILE_BYTES)
    names = _yolo_names(where, raw)
    errors: list[dict] = []
    label_members = {m.path: m for m in members if m.path.lower().endswith(".txt") and not _hidden(m.path)}
    label_members.pop(where, None)
    used_labels: set[str] = set()
    images: list[PlannedImage] = []
    unlisted = 0
    for member in members:
        if not _is_image(member.path) or _hidden(member.path):
            continue
        label_path = _yolo_label_path(member.path)
        label = label_members.get(label_path) if label_path else None
        if label is None:
            unlisted += 1
            continue
        used_labels.add(label_path)
        planned = PlannedImage(path=member.path)
        try:
            text = read_member(archive, label, limit=settings.LABELAPP_MAX_LABELS_FILE_BYTES).decode("utf-8")
        except UnicodeDecodeError:
            errors.append(_error(member.path, None, f"{label_path}: not a UTF-8 text file."))
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            line_where = f"{label_path} line {number}"
            values = line.split()
            try:
                index, numbers = int(values[0]), [float(v) for v in values[1:]]
            except ValueError:
                numbers = []
            if len(values) != 5 or len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
                errors.append(
                    _error(member.path, None, f"{line_where}: expected 'class cx cy w h' (got {_short(line[:60])}).")
                )
                continue
            if not 0 <= index < len(names):
                errors.append(
                    _error(member.path, None, f"{line_where}: class {index} is not in {where} ({len(names)} classes).")
                )
                continue
            cx, cy, w, h = numbers
            planned.boxes.append(
                {
                    "x": cx,
                    "y": cy,
                    "w": w,
                    "h": h,
                    "name": names[index],
                    "annotation": None,
                    "where": line_where,
                    "normalized": True,
                }
            )
            _stop_at_limit(errors)
        images.append(planned)
        _stop_at_limit(errors)
    for path in sorted(set(label_members) - used_labels):
        if "labels" in path.split("/")[:-1]:  # other text files (a README) are not labels
            errors.append(_error(path, None, f"{path}: a label file with no image of the same name in images/."))
            _stop_at_limit(errors)
    if not images and not errors:
        errors.append(_error(where, None, "no image under an images/ folder has a label file in labels/."))
    if errors:
        raise ImportFailed(errors)
    return Plan(images=images, declared=names, unlisted=unlisted, labels_source="a labels/ file")


def _yolo_label_path(image_path: str) -> str | None:
    """images/train/a.jpg → labels/train/a.txt (the last `images` folder becomes `labels`)."""
    parts = image_path.split("/")
    folders = parts[:-1]
    if "images" not in folders:
        return None
    at = len(folders) - 1 - folders[::-1].index("images")
    parts[at] = "labels"
    return posixpath.splitext("/".join(parts))[0] + ".txt"


def _yolo_names(where: str, raw: bytes) -> list[str]:
    """Class names by index, from data.yaml (`names:` a list, or a mapping 0..n-1) or classes.txt."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailed([_error(where, None, "not a UTF-8 text file.")]) from None
    if where.lower().endswith(".txt"):
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ImportFailed([_error(where, None, f"not valid YAML ({_short(str(exc))}).")]) from None
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict) and sorted(names) == list(range(len(names))):
            names = [names[i] for i in range(len(names))]
        if not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names):
            raise ImportFailed(
                [_error(where, None, "'names' must be a list of class names, or a mapping from 0, 1, 2... to names.")]
            )
        names = [str(n).strip() for n in names]
    errors = [
        _error(where, None, f"class {i}: the name must be 1 to {CLASS_NAME_MAX} characters (got {len(n)}).")
        for i, n in enumerate(names)
        if not n or len(n) > CLASS_NAME_MAX
    ]
    if not names:
        errors.append(_error(where, None, "no class names."))
    if errors:
        raise ImportFailed(errors[:MAX_ERRORS])
    return names


def _plan_csv(project, archive, members: list[Member]) -> Plan:
    """The columns the CSV export writes (image_id, width, height and split are ignored): for
    classification one row per image with its class; for detection one row per box, and an
    image without boxes as one row with label_class and the box columns empty."""
    csv_member = next(m for m in members if _labels_file_of("csv", m.path))
    where = csv_member.path
    raw = read_member(archive, csv_member, limit=settings.LABELAPP_MAX_LABELS_FILE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed([_error(where, None, "not a UTF-8 text file.")]) from None
    detection = project.task_type == TaskType.DETECTION
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(rows, [])]
    missing = [c for c in CSV_COLUMNS[project.task_type] if c not in header]
    if missing:
        raise ImportFailed(
            [
                _error(
                    where,
                    None,
                    f"the header needs the columns {', '.join(CSV_COLUMNS[project.task_type])}; "
                    f"missing {', '.join(missing)}.",
                )
            ]
        )
    column = {name: header.index(name) for name in CSV_COLUMNS[project.task_type]}
    files = {m.path: m for m in members}
    by_base: dict[str, list[Member]] = {}
    for member in members:
        by_base.setdefault(posixpath.basename(member.path), []).append(member)
    base_dir = posixpath.dirname(where)
    planned: dict[str, PlannedImage] = {}
    declared: dict[str, None] = {}
    errors: list[dict] = []
    try:
        for number, row in enumerate(rows, start=2):
            _stop_at_limit(errors)
            if not any(cell.strip() for cell in row):
                continue
            line = f"{where} line {number}"
            if len(row) < len(header):
                errors.append(_error(where, None, f"{line}: {len(row)} values for {len(header)} columns."))
                continue
            value = {name: row[index].strip() for name, index in column.items()}
            member = _find_member(value["file_name"], base_dir, files, by_base) if value["file_name"] else None
            if member is None or not _is_image(member.path):
                errors.append(
                    _error(
                        where, None, f"{line}: file_name {_short(value['file_name'])} is not an image in the archive."
                    )
                )
                continue
            name = value["label_class"]
            if len(name) > CLASS_NAME_MAX:
                errors.append(_error(member.path, None, f"{line}: the class name is over {CLASS_NAME_MAX} characters."))
                continue
            image = planned.get(member.path)
            if not detection:
                if not name:
                    errors.append(_error(member.path, None, f"{line}: label_class is empty."))
                elif image is not None and image.class_name != name:
                    errors.append(
                        _error(
                            member.path,
                            None,
                            f"{line}: the image is listed again with another class "
                            f"({image.class_name!r}, now {name!r}).",
                        )
                    )
                elif image is None:
                    planned[member.path] = PlannedImage(path=member.path, class_name=name)
                    declared[name] = None
                continue
            image = planned.setdefault(member.path, PlannedImage(path=member.path))
            box_values = [value[k] for k in ("x", "y", "w", "h")]
            if not name:
                if any(box_values):
                    errors.append(_error(member.path, None, f"{line}: a box without a label_class."))
                continue
            try:
                x, y, w, h = (float(v) for v in box_values)
            except ValueError:
                errors.append(
                    _error(member.path, None, f"{line}: x, y, w and h must be numbers (got {', '.join(box_values)}).")
                )
                continue
            declared[name] = None
            image.boxes.append({"x": x, "y": y, "w": w, "h": h, "name": name, "annotation": None, "where": line})
    except csv.Error as exc:
        errors.append(_error(where, None, f"not a valid CSV file ({exc})."))
    if errors:
        raise ImportFailed(errors)
    listed = set(planned)
    unlisted = sum(1 for m in members if _is_image(m.path) and not _hidden(m.path) and m.path not in listed)
    return Plan(images=list(planned.values()), declared=list(declared), unlisted=unlisted, labels_source=f"{where}")


def _find_member(file_name: str, base_dir: str, files: dict, by_base: dict) -> Member | None:
    clean = file_name.replace("\\", "/")
    for candidate in (posixpath.join(base_dir, "images", clean), posixpath.join(base_dir, clean)):
        member = files.get(posixpath.normpath(candidate))
        if member is not None:
            return member
    same_name = by_base.get(posixpath.basename(clean), [])
    return same_name[0] if len(same_name) == 1 else None


def _resolve_classes(project, plan: Plan) -> tuple[dict[str, object], dict[str, str]]:
    """Archive class name → an existing LabelClass, or the name of a class to create. Matching
    ignores case; the returned mapping lists the names that differ from the class they matched."""
    existing = list(project.label_classes.all())
    exact = {c.name: c for c in existing}
    folded: dict[str, list] = {}
    for label_class in existing:
        folded.setdefault(label_class.name.casefold(), []).append(label_class)
    classes: dict[str, object] = {}
    mapping: dict[str, str] = {}
    created_as: dict[str, str] = {}  # casefold → the first spelling, for names that are new
    errors = []
    for name in dict.fromkeys(plan.declared):
        if len(name) > CLASS_NAME_MAX:
            errors.append(_error("", None, f"class name {name[:40]!r}… is longer than {CLASS_NAME_MAX} characters."))
            continue
        if name in exact:
            classes[name] = exact[name]
            continue
        matches = folded.get(name.casefold(), [])
        if len(matches) == 1:
            classes[name] = matches[0]
            mapping[name] = matches[0].name
        elif len(matches) > 1:
            errors.append(
                _error(
                    "",
                    None,
                    f"class {name!r} matches several classes of the project when case is ignored "
                    f"({', '.join(sorted(c.name for c in matches))}); rename it in the archive.",
                )
            )
        elif name.casefold() in created_as:
            classes[name] = created_as[name.casefold()]
            mapping[name] = created_as[name.casefold()]
        else:
            classes[name] = created_as[name.casefold()] = name
    if errors:
        raise ImportFailed(errors)
    return classes, mapping


# --- checking: every image and box, nothing written ----------------------------------------------


def _check(job: ImportJob, archive, members: dict[str, Member], plan: Plan, classes: dict) -> None:
    errors: list[dict] = []
    keys = {name: index for index, name in enumerate(classes)}
    seen: set[str] = set()
    limit = settings.LABELAPP_MAX_UPLOAD_BYTES
    reported = time.monotonic()
    for count, planned in enumerate(plan.images, start=1):
        try:
            data = read_member(archive, members[planned.path], limit=limit)
            valid = validate_image_bytes(posixpath.basename(planned.path), data)
        except (ArchiveRejected, UploadRejected) as exc:
            errors.append(_error(planned.path, None, exc.message))
        else:
            planned.name, planned.sha256, planned.width, planned.height, planned.format = (
                valid.name,
                valid.sha256,
                valid.width,
                valid.height,
                valid.format,
            )
            planned.normalized = valid.data is not data
            planned.duplicate = valid.sha256 in seen
            seen.add(valid.sha256)
            errors.extend(_clean_label(planned, keys))
        if len(errors) >= MAX_ERRORS:
            break
        if count % PROGRESS_EVERY == 0 or time.monotonic() - reported > PROGRESS_SECONDS:
            _set(job, checked=count)
            reported = time.monotonic()
    if errors:
        raise ImportFailed(errors)
    _set(job, checked=len(plan.images))


def _clean_label(planned: PlannedImage, keys: dict[str, int]) -> list[dict]:
    """Check an image's whole label with the labeling rules (the same call the API makes, so
    every limit that applies to a label, such as the box cap, is met here) and keep the
    cleaned boxes for storing, which checks nothing again. Returns the problems found, each
    naming the image file and, when one box is at fault, its COCO annotation id."""
    if not planned.boxes:
        return []
    for box in planned.boxes:
        if box.pop("normalized", False):  # YOLO: centre and size as fractions of the image
            box["w"], box["h"] = box["w"] * planned.width, box["h"] * planned.height
            box["x"], box["y"] = box["x"] * planned.width - box["w"] / 2, box["y"] * planned.height - box["h"] / 2
    try:
        cleaned = clean_boxes(
            boxes=[{**box, "label_class": keys[box["name"]]} for box in planned.boxes],
            class_ids=set(keys.values()),
            width=planned.width,
            height=planned.height,
        )
    except InvalidAnnotation as whole:
        # Which boxes are at fault, each alone; none alone means the list as a whole is wrong.
        errors = []
        for box in planned.boxes:
            try:
                clean_boxes(
                    boxes=[{**box, "label_class": keys[box["name"]]}],
                    class_ids=set(keys.values()),
                    width=planned.width,
                    height=planned.height,
                )
            except InvalidAnnotation as exc:
                detail = exc.message.replace("boxes[0]", "the box", 1)
                where = box.get("where") or f"annotation {box['annotation']}"
                errors.append(_error(planned.path, box["annotation"], f"{where}: {detail}"))
        return errors or [_error(planned.path, None, whole.message)]
    names = list(keys)
    planned.boxes = [
        {**{k: box[k] for k in ("x", "y", "w", "h")}, "name": names[box["label_class"]]} for box in cleaned
    ]
    return []


# --- storing: short transactions -----------------------------------------------------------------


def _store(job: ImportJob, archive, members: dict[str, Member], plan: Plan, classes: dict) -> None:
    project = job.project
    with transaction.atomic():
        new = {
            name: label_class_create(project=project, name=name)
            for name in dict.fromkeys(c for c in classes.values() if isinstance(c, str))
        }
        _set(job, classes_created=len(new))
    classes = {name: new[c] if isinstance(c, str) else c for name, c in classes.items()}
    batch: list[PlannedImage] = []
    batch_bytes = 0
    labeled_ids: list[int] = []
    for planned in plan.images:
        if planned.duplicate:
            job.duplicates += 1
            job.done += 1
            continue
        batch.append(planned)
        batch_bytes += members[planned.path].size
        if len(batch) >= BATCH_IMAGES or batch_bytes >= BATCH_BYTES:
            _store_batch(job, archive, members, batch, classes, labeled_ids)
            batch, batch_bytes = [], 0
    _store_batch(job, archive, members, batch, classes, labeled_ids)
    if labeled_ids:
        # Once, for the whole archive: an auto-retrain should see all of it, not its first batch.
        labels_announce(project_id=project.pk, image_ids=labeled_ids, kind=AnnotationKind.IMPORTED)


def _store_batch(
    job: ImportJob,
    archive,
    members: dict[str, Member],
    batch: list[PlannedImage],
    classes: dict,
    labeled_ids: list[int],
) -> None:
    """One transaction for the batch; members are read one at a time, so memory holds one.
    The ids of the images it labels are added to `labeled_ids`."""
    project = job.project
    written: list[str] = []
    created_ids: list[int] = []
    batch_labeled: list[int] = []
    counts = {"images_created": 0, "duplicates": 0, "labels_created": 0}
    try:
        with transaction.atomic():
            for planned in batch:
                data = read_member(archive, members[planned.path], limit=settings.LABELAPP_MAX_UPLOAD_BYTES)
                if planned.normalized:
                    # The same call as the check (so it cannot fail here), for the bytes it stores;
                    # only these images pay for a second decode, and none is held from the check.
                    item = validate_image_bytes(posixpath.basename(planned.path), data)
                else:
                    item = ValidImage(
                        name=planned.name,
                        data=data,
                        sha256=planned.sha256,
                        width=planned.width,
                        height=planned.height,
                        format=planned.format,
                    )
                image, created = image_store(project=project, item=item, source=Source.IMPORT, written=written)
                if created:
                    counts["images_created"] += 1
                    created_ids.append(image.pk)
                else:
                    counts["duplicates"] += 1
                if image.status in (Status.LABELED, Status.RESERVED) or Annotation.objects.filter(image=image).exists():
                    continue
                if project.task_type == TaskType.DETECTION:
                    # Cleaned by the check (_clean_label); only the class names become ids here.
                    label = {
                        "boxes": [
                            {**{k: b[k] for k in ("x", "y", "w", "h")}, "label_class": classes[b["name"]].pk}
                            for b in planned.boxes
                        ]
                    }
                else:
                    label = {"label_class_id": classes[planned.class_name].pk}
                image_label(project=project, image=image, kind=AnnotationKind.IMPORTED, announce=False, **label)
                batch_labeled.append(image.pk)
                counts["labels_created"] += 1
            for name, value in counts.items():
                setattr(job, name, getattr(job, name) + value)
            job.done += len(batch)
            _set(
                job,
                done=job.done,
                images_created=job.images_created,
                duplicates=job.duplicates,
                labels_created=job.labels_created,
            )
            if created_ids:
                send_on_commit(images_added, project_id=project.pk, image_ids=created_ids)
    except Exception:
        storage_cleanup(written)
        raise
    labeled_ids.extend(batch_labeled)


# --- reports ---------------------------------------------------------------------------------------


def _success_summary(job: ImportJob, plan: Plan, mapping: dict[str, str]) -> str:
    parts = [
        f"Imported {job.images_created} images and {job.labels_created} labels; "
        f"{job.duplicates} images were already in the project or repeated in the archive."
    ]
    if mapping:
        pairs = ", ".join(f"{name!r} → {target!r}" for name, target in mapping.items())
        parts.append(f"Class names matched to existing classes ignoring case: {pairs}.")
    if plan.unlisted:
        parts.append(
            f"{plan.unlisted} image files in the archive are not named in {plan.labels_source} and were not imported."
        )
    return " ".join(parts)


def _stopped_summary(job: ImportJob, how: str) -> str:
    return (
        f"The import stopped {how} after storing {job.done} of {job.total or 0} images; "
        "importing the same archive again adds the rest."
    )


def _failure_summary(errors: list[dict]) -> str:
    first = errors[0]
    where = first["file"] + (f" (annotation {first['annotation']})" if first["annotation"] is not None else "")
    more = f" and {len(errors) - 1} more problems" if len(errors) > 1 else ""
    head = f"{where}: " if first["file"] else ""
    return f"Nothing was imported: {head}{first['detail']}{more}. Fix the archive and import it again."


def _error(file: str, annotation, detail: str) -> dict:
    return {"file": file, "annotation": annotation, "detail": detail}


def _stop_at_limit(errors: list[dict]) -> None:
    if len(errors) >= MAX_ERRORS:
        raise ImportFailed(errors)


def _short(value) -> str:
    """A value for a message: scalars as they are, containers by kind and length."""
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'object'} of {len(value)} items"
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_image(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in IMAGE_SUFFIXES


def _hidden(path: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.split("/"))
