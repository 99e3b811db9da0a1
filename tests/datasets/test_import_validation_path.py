"""Issue 14 item 4: the import checks every label the way it is stored, before it stores
anything, so a job never fails half-way with some images committed."""

import json

import pytest

from labelapp.labeling.validation import MAX_BOXES
from tests.conftest import jpeg_bytes
from tests.datasets.conftest import make_zip, run_import
from tests.datasets.test_import_export import assert_nothing_written

pytestmark = pytest.mark.django_db


def test_an_image_over_the_box_cap_fails_the_check_and_nothing_is_stored(detection_project, client_for, media):
    """Issue 14 item 4: 60 images, the last with 1,001 boxes (each box valid alone). Before the
    fix the check passed, 50 images were committed and the job failed with an internal error."""
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 64, "height": 48} for i in range(1, 61)]
    annotations = [{"id": 100 + i, "image_id": i, "category_id": 1, "bbox": [1, 1, 10, 10]} for i in range(1, 60)] + [
        {"id": 1000 + n, "image_id": 60, "category_id": 1, "bbox": [1, 1, 10, 10]} for n in range(MAX_BOXES + 1)
    ]
    coco = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "brown_box"}]}
    members = {"annotations.json": json.dumps(coco).encode()}
    members.update({f"images/{i}.jpg": jpeg_bytes(4000 + i) for i in range(1, 61)})
    classes_before = detection_project.label_classes.count()

    job = run_import(client_for("admin"), detection_project, make_zip(members))

    assert job["status"] == "failed", job
    assert job["errors"] == [
        {
            "file": "images/60.jpg",
            "annotation": None,
            "detail": f"{MAX_BOXES + 1} boxes: an annotation holds at most {MAX_BOXES}.",
        }
    ]
    assert job["detail"].startswith("Nothing was imported: images/60.jpg:"), job["detail"]
    assert job["done"] == 0
    assert_nothing_written(detection_project, media, classes_before)


def test_an_imported_phone_photo_is_stored_as_checked_rotated_by_its_exif(detection_project, client_for, media):
    """Issue 14 item 4 (one validation path) with item 8: the check reads an 80×40 JPEG with
    EXIF orientation 6 as 40×80 and accepts a box in the tall image; before the fix the import
    stored the raw 80×40 file under the checked 40×80 size."""
    import io

    import numpy as np
    from PIL import Image as PilImage

    from labelapp.images.models import Image

    pil = PilImage.fromarray(np.full((40, 80, 3), 128, dtype=np.uint8))
    exif = pil.getexif()
    exif[0x0112] = 6
    out = io.BytesIO()
    pil.save(out, format="JPEG", exif=exif.tobytes())
    coco = {
        "images": [{"id": 1, "file_name": "phone.jpg", "width": 40, "height": 80}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [5, 50, 30, 25]}],
        "categories": [{"id": 1, "name": "brown_box"}],
    }
    archive = make_zip({"annotations.json": json.dumps(coco).encode(), "images/phone.jpg": out.getvalue()})

    job = run_import(client_for("admin"), detection_project, archive)

    assert job["status"] == "succeeded", job
    image = Image.objects.get(project=detection_project)
    assert (image.width, image.height) == (40, 80)
    with image.file.open("rb") as handle, PilImage.open(handle) as stored:
        assert stored.size == (40, 80)
        assert stored.getexif().get(0x0112, 1) == 1


def _coco_with_boxes(images: int, boxes_per_image: int) -> bytes:
    coco = {
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(images)],
        "annotations": [
            {
                "id": i * boxes_per_image + n,
                "image_id": i,
                "category_id": 1 + n % 3,
                "bbox": [12.5 + n, 40.25, 100.0, 80.5],
                "area": 8050.0,
                "iscrowd": 0,
            }
            for i in range(images)
            for n in range(boxes_per_image)
        ],
        "categories": [{"id": c, "name": f"class_{c}"} for c in (1, 2, 3)],
    }
    return json.dumps(coco).encode()


def test_a_coco_file_over_the_limit_is_refused_before_a_job(detection_project, client_for, media, settings):
    """Issue 14 item 3: the COCO file is parsed whole, so its size is capped by a setting."""
    from tests.datasets.conftest import post_import

    coco = _coco_with_boxes(20, 5)
    settings.LABELAPP_MAX_LABELS_FILE_BYTES = len(coco) - 1
    archive = make_zip({"annotations.json": coco, **{f"images/{i}.jpg": jpeg_bytes(i) for i in range(20)}})

    response = post_import(client_for("admin"), detection_project, archive)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "too_large"
    assert f"over the limit of {len(coco) - 1} bytes (LABELAPP_MAX_LABELS_FILE_BYTES)" in body["detail"]


# A tracemalloc bound: run apart from the e2e tests (see the `isolated` marker).
@pytest.mark.isolated
def test_the_default_coco_limit_bounds_the_worker_memory_for_it(settings):
    """Issue 14 item 3: the worker's memory for planning from the COCO file (parse plus plan),
    measured per byte of COCO (about 7.5), times the default limit stays under 600 MiB. The old
    limit (512 MiB of COCO) meant nearly 4 GiB."""
    import tracemalloc
    import zipfile
    from io import BytesIO

    from labelapp.datasets.archives import archive_members
    from labelapp.datasets.dataset_import import _plan_coco

    coco = _coco_with_boxes(2000, 10)
    archive_bytes = make_zip({"annotations.json": coco, **{f"images/{i}.jpg": b"x" for i in range(2000)}})
    with zipfile.ZipFile(BytesIO(archive_bytes)) as archive:
        members = archive_members(archive)
        tracemalloc.start()
        try:
            plan = _plan_coco(archive, members)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert sum(len(image.boxes) for image in plan.images) == 20_000
    per_byte = peak / len(coco)
    assert per_byte * settings.LABELAPP_MAX_LABELS_FILE_BYTES < 600 * 1024**2, per_byte
