"""Issue 14 items 8 and 9: one coordinate system and one set of pixels from ingest on
(EXIF orientation, 16-bit, CMYK, palette, alpha), and no orphan files after a killed upload."""

import io
import os
import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PilImage

from labelapp.images.models import Image
from labelapp.images.services import images_ingest
from labelapp.learning.data import decode_rgb

pytestmark = pytest.mark.django_db


def _encode(image: PilImage.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _stored(image: Image) -> bytes:
    with image.file.open("rb") as handle:
        return handle.read()


def _thumbnail_size(image: Image) -> tuple[int, int]:
    with image.thumbnail.open("rb") as handle, PilImage.open(handle) as thumb:
        return thumb.size


def test_item8_exif_orientation_is_applied_once_at_ingest(detection_project, client_for):
    """A phone JPEG: 80×40 pixels with EXIF orientation 6 (shown rotated, 40 wide × 80 tall).
    A red mark in the raw top-left corner is at the top-right once rotated."""
    raw = np.zeros((40, 80, 3), dtype=np.uint8)
    raw[:10, :10] = (255, 0, 0)
    pil = PilImage.fromarray(raw)
    exif = pil.getexif()
    exif[0x0112] = 6
    data = _encode(pil, "JPEG", exif=exif.tobytes(), quality=95)

    [image] = images_ingest(project=detection_project, files=[("phone.jpg", data, "image/jpeg")]).created
    assert (image.width, image.height) == (40, 80)
    stored = _stored(image)
    with PilImage.open(io.BytesIO(stored)) as served:
        assert served.size == (40, 80)
        assert served.getexif().get(0x0112, 1) == 1, "no orientation left for the browser to apply again"
    assert _thumbnail_size(image)[0] < _thumbnail_size(image)[1]
    tensor = decode_rgb(stored)
    assert tensor.shape == (80, 40, 3)  # H×W as the browser shows it
    assert tensor[:8, -8:, 0].mean() > 200 and tensor[:8, :8, 0].mean() < 60
    # The stored size is what the labeling API checks boxes against: a box in the tall image is valid.
    from labelapp.credits.services import credit_grant

    credit_grant(project=detection_project, amount=1)
    annotator = client_for("annotator")
    assert annotator.post(f"/api/projects/{detection_project.pk}/queue/next").json()["image"]["id"] == image.pk
    box = {"x": 5, "y": 50, "w": 30, "h": 25, "label_class": detection_project.label_classes.first().pk}
    response = annotator.post(
        f"/api/projects/{detection_project.pk}/annotations", {"image": image.pk, "boxes": [box]}, format="json"
    )
    assert response.status_code == 201, response.content
    # Re-uploading the same phone file is still found as a duplicate.
    again = images_ingest(project=detection_project, files=[("phone.jpg", data, "image/jpeg")])
    assert again.duplicates == [image] and not again.created


def test_item8_16_bit_png_is_scaled_not_clipped(detection_project):
    gradient = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    data = _encode(PilImage.fromarray(gradient), "PNG")
    with PilImage.open(io.BytesIO(data)) as check:
        assert check.mode.startswith("I")  # really a 16-bit input

    [image] = images_ingest(project=detection_project, files=[("depth.png", data, "image/png")]).created
    tensor = decode_rgb(_stored(image))
    row = tensor[0, :, 0].astype(int)
    assert len(np.unique(row)) > 40, "a gradient, not black and white"
    assert abs(row[32] - 128) < 8 and row[0] < 5 and row[-1] > 250
    with image.thumbnail.open("rb") as handle, PilImage.open(handle) as thumb:
        assert len(np.unique(np.asarray(thumb.convert("L"))[0])) > 40


@pytest.mark.parametrize("kind", ["cmyk_jpeg", "palette_png", "rgba_png", "la_png", "palette_gif"])
def test_item8_cmyk_palette_and_alpha_inputs_agree_everywhere(detection_project, kind):
    rgb = np.zeros((30, 50, 3), dtype=np.uint8)
    rgb[:, :25] = (200, 30, 30)
    rgb[:, 25:] = (30, 30, 200)
    pil = PilImage.fromarray(rgb)
    data, name = {
        "cmyk_jpeg": lambda: (_encode(pil.convert("CMYK"), "JPEG", quality=95), "c.jpg"),
        "palette_png": lambda: (_encode(pil.convert("P"), "PNG"), "p.png"),
        "rgba_png": lambda: (_encode(pil.convert("RGBA"), "PNG"), "a.png"),
        "la_png": lambda: (_encode(pil.convert("LA"), "PNG"), "la.png"),
        "palette_gif": lambda: (_encode(pil.convert("P"), "GIF"), "g.gif"),
    }[kind]()
    [image] = images_ingest(project=detection_project, files=[(name, data, None)]).created
    assert (image.width, image.height) == (50, 30)
    tensor = decode_rgb(_stored(image))
    assert tensor.shape == (30, 50, 3)
    with image.thumbnail.open("rb") as handle, PilImage.open(handle) as thumb:
        thumbnail = np.asarray(thumb.convert("RGB"))
    assert thumbnail.shape[:2] == (30, 50)
    left, right = tensor[:, :20].mean(axis=(0, 1)), tensor[:, 30:].mean(axis=(0, 1))
    if kind == "la_png":
        assert abs(left[0] - left[2]) < 5  # greyscale stays grey
    else:
        assert left[0] > left[2] + 100 and right[2] > right[0] + 100
    # The thumbnail shows the same colours as the training tensor (palette inputs are dithered,
    # so halves are compared, not pixels).
    for half in (np.s_[:, :20], np.s_[:, 30:]):
        assert np.abs(thumbnail[half].mean(axis=(0, 1)) - tensor[half].mean(axis=(0, 1))).max() < 12


def _age(name: str, hours: float) -> None:
    path = default_storage.path(name)
    past = time.time() - hours * 3600
    os.utime(path, (past, past))


def test_item9_files_of_a_killed_upload_are_swept_after_the_grace_period(detection_project, pool, settings):
    """A web worker killed after writing an upload's files but before its commit leaves files
    with no row (103 of them in the report). The hourly sweep deletes them once they are older
    than the grace period, and never touches a file a row names or a young file (an upload
    still in progress)."""
    from labelapp.images.orphans import orphan_files_sweep
    from labelapp.images.tasks import sweep_orphan_files_task

    base = f"projects/{detection_project.pk}"
    orphan = default_storage.save(f"{base}/images/ab/{'ab' * 32}.jpg", ContentFile(b"x"))
    orphan_thumb = default_storage.save(f"{base}/thumbnails/ab/{'ab' * 32}.jpg", ContentFile(b"x"))
    deleted_project = default_storage.save(f"projects/999999/images/cd/{'cd' * 32}.jpg", ContentFile(b"x"))
    young = default_storage.save(f"{base}/images/ef/{'ef' * 32}.jpg", ContentFile(b"x"))
    for name in (orphan, orphan_thumb, deleted_project):
        _age(name, 7)
    kept = [image.file.name for image in pool] + [image.thumbnail.name for image in pool]
    for name in kept:
        _age(name, 7)

    settings.LABELAPP_ORPHAN_GRACE_SECONDS = 6 * 3600
    assert sweep_orphan_files_task.apply().get() == 3
    assert not any(default_storage.exists(name) for name in (orphan, orphan_thumb, deleted_project))
    assert default_storage.exists(young)
    assert all(default_storage.exists(name) for name in kept)
    orphan_files_sweep(grace=timedelta(0))  # once its grace is over, the young one goes too
    assert not default_storage.exists(young)
    assert all(default_storage.exists(name) for name in kept)
    assert Image.objects.filter(project=detection_project).count() == len(pool)


def test_item9_the_sweep_is_scheduled():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "labelapp.images.sweep_orphan_files" in tasks
