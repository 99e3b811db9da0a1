"""Storing images: validated first, then written in one transaction; files written for a
transaction that rolls back are deleted again, so nothing is half-stored."""

import io
import logging
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image as PilImage

from labelapp.core.events import send_on_commit

from .events import images_added
from .models import Image, Source, Split, Status
from .validation import UploadRejected, ValidImage, validate_image_bytes

logger = logging.getLogger(__name__)
THUMBNAIL_SIZE = 256


@dataclass
class IngestResult:
    created: list[Image] = field(default_factory=list)
    duplicates: list[Image] = field(default_factory=list)


def make_thumbnail(data: bytes) -> bytes:
    with PilImage.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def images_validate(files: list[tuple[str, bytes, str | None]]) -> list[ValidImage]:
    """Validate every (name, bytes, content_type); raise one UploadRejected listing each bad file."""
    valid, errors = [], []
    for name, data, content_type in files:
        try:
            valid.append(validate_image_bytes(name, data, content_type=content_type))
        except UploadRejected as exc:
            errors.append({"file": name, "detail": exc.message, "code": exc.code})
    if errors:
        count = len(errors)
        summary = errors[0]["detail"] if count == 1 else f"{count} files were rejected; nothing was stored."
        raise UploadRejected(summary, extra={"errors": errors})
    if not valid:
        raise UploadRejected("No files were sent: use the multipart field 'files'.", code="no_files")
    return valid


def image_store(
    *,
    project,
    item: ValidImage,
    source: str = Source.UPLOAD,
    written: list | None = None,
    split: str = Split.POOL,
    status: str = Status.UNLABELED,
) -> tuple[Image, bool]:
    """Store one validated image, or return the existing one with the same content.
    Appends the storage names it writes to `written` so a rollback can delete them."""
    existing = Image.objects.filter(project=project, sha256=item.sha256).first()
    if existing is not None:
        return existing, False
    image = Image(
        project=project,
        sha256=item.sha256,
        width=item.width,
        height=item.height,
        original_name=item.name,
        source=source,
        split=split,
        status=status,
    )
    image.file.save(item.name, ContentFile(item.data), save=False)
    if written is not None:
        written.append(image.file.name)
    image.thumbnail.save("thumb.jpg", ContentFile(make_thumbnail(item.data)), save=False)
    if written is not None:
        written.append(image.thumbnail.name)
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # Same content uploaded concurrently: keep the first one, and delete the files this
        # attempt wrote (storage gave them their own names, so the winner's are untouched).
        mine = [image.file.name, image.thumbnail.name]
        storage_cleanup(mine)
        if written is not None:
            written[:] = [name for name in written if name not in mine]
        return Image.objects.get(project=project, sha256=item.sha256), False
    return image, True


def images_ingest(*, project, files: list[tuple[str, bytes, str | None]], source: str = Source.UPLOAD) -> IngestResult:
    items = images_validate(files)
    result = IngestResult()
    written: list[str] = []
    seen: dict[str, Image] = {}
    try:
        with transaction.atomic():
            for item in items:
                if item.sha256 in seen:
                    result.duplicates.append(seen[item.sha256])
                    continue
                image, created = image_store(project=project, item=item, source=source, written=written)
                seen[item.sha256] = image
                (result.created if created else result.duplicates).append(image)
            if result.created:
                created_ids = [image.pk for image in result.created]
                send_on_commit(images_added, project_id=project.pk, image_ids=created_ids)
    except Exception:
        storage_cleanup(written)
        raise
    return result


def storage_cleanup(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete %s after a failed ingest", name)


def thumbnail_ensure(*, image: Image) -> None:
    with image.file.open("rb") as handle:
        data = handle.read()
    image.thumbnail.save("thumb.jpg", ContentFile(make_thumbnail(data)), save=False)
    Image.objects.filter(pk=image.pk).update(thumbnail=image.thumbnail.name)
