"""Issue 15 item 8: YOLO and CSV archives import like COCO ones (checked first, all or
nothing, in batches), and what the export writes imports back unchanged."""

import io
import zipfile

import pytest

from labelapp.images.models import Image
from labelapp.labeling.models import Annotation
from labelapp.projects.models import LabelClass
from labelapp.projects.services import project_create
from tests.conftest import jpeg_bytes
from tests.datasets.conftest import make_zip, post_import, run_import
from tests.datasets.test_import_export import assert_nothing_written, coco_zip

pytestmark = pytest.mark.django_db


def boxes_by_sha(project) -> dict:
    """Each labeled image's boxes as (class name, x, y, w, h), rounded to 1/100 pixel: YOLO
    stores six decimals of a fraction of the image."""
    names = dict(LabelClass.objects.filter(project=project).values_list("pk", "name"))
    return {
        a.image.sha256: sorted(
            (names[b["label_class"]], *(round(b[k], 2) for k in ("x", "y", "w", "h"))) for b in a.boxes
        )
        for a in Annotation.objects.filter(project=project).select_related("image")
    }


def test_yolo_export_imports_into_a_fresh_project_with_the_same_boxes(detection_project, users, client_for, media):
    """Issue 15 item 8: export → import round trip for YOLO."""
    admin = client_for("admin")
    assert run_import(admin, detection_project, coco_zip())["status"] == "succeeded"
    exported = admin.get(f"/api/projects/{detection_project.pk}/export?format=yolo").content
    fresh = project_create(name="Fresh", task_type="detection", created_by=users["admin"])

    job = run_import(admin, fresh, exported)

    assert (job["status"], job["created"], job["labels"], job["errors"]) == ("succeeded", 2, 2, []), job
    assert list(fresh.label_classes.values_list("name", flat=True)) == list(
        detection_project.label_classes.values_list("name", flat=True)
    )
    assert boxes_by_sha(fresh) == boxes_by_sha(detection_project)


def _csv_zip(admin, project, text: str, *, folder: str = "images/") -> bytes:
    """The CSV export beside the project's images, named as the CSV names them."""
    members = {"labels.csv": text.encode()}
    for image in Image.objects.filter(project=project):
        file = admin.get(f"/api/projects/{project.pk}/images/{image.pk}/file")
        members[f"{folder}{image.original_name}"] = b"".join(file.streaming_content)
    return make_zip(members)


def test_csv_export_with_its_images_imports_into_a_fresh_detection_project(detection_project, users, client_for, media):
    """Issue 15 item 8: export → import round trip for CSV (detection: one row per box)."""
    admin = client_for("admin")
    run_import(admin, detection_project, coco_zip())
    text = admin.get(f"/api/projects/{detection_project.pk}/export?format=csv").content.decode()
    fresh = project_create(name="Fresh", task_type="detection", created_by=users["admin"])

    job = run_import(admin, fresh, _csv_zip(admin, detection_project, text))

    assert (job["status"], job["created"], job["labels"]) == ("succeeded", 2, 2), job
    assert boxes_by_sha(fresh) == boxes_by_sha(detection_project)


def test_csv_export_with_its_images_imports_into_a_fresh_classification_project(
    classification_project, users, client_for, media
):
    """Issue 15 item 8: export → import round trip for CSV (classification: one row per image)."""
    admin = client_for("admin")
    run_import(admin, classification_project, make_zip({"cat/1.jpg": jpeg_bytes(301), "dog/2.jpg": jpeg_bytes(302)}))
    text = admin.get(f"/api/projects/{classification_project.pk}/export?format=csv").content.decode()
    fresh = project_create(name="Fresh", task_type="classification", created_by=users["admin"])

    job = run_import(admin, fresh, _csv_zip(admin, classification_project, text, folder=""))

    assert (job["status"], job["created"], job["labels"]) == ("succeeded", 2, 2), job
    names = dict(LabelClass.objects.filter(project=fresh).values_list("pk", "name"))
    assert {
        a.image.sha256: names[a.label_class_id]
        for a in Annotation.objects.filter(project=fresh).select_related("image")
    } == {
        a.image.sha256: a.label_class.name
        for a in Annotation.objects.filter(project=classification_project).select_related("image", "label_class")
    }


def _yolo(labels: dict[str, str], *, names=("brown_box", "red_bag"), images=("a", "b")) -> bytes:
    members = {"data.yaml": ("names:\n" + "".join(f"  - {n}\n" for n in names)).encode()}
    for n, stem in enumerate(images):
        members[f"images/train/{stem}.jpg"] = jpeg_bytes(600 + n)
    members.update({path: text.encode() for path, text in labels.items()})
    return make_zip(members)


def test_yolo_lines_are_converted_from_normalised_centres(detection_project, client_for, media):
    """Issue 15 item 8: `cls cx cy w h` as fractions of the 64×48 image become pixel boxes;
    an empty label file is an image without objects; an image without one is reported."""
    archive = _yolo(
        {"labels/train/a.txt": "1 0.5 0.5 0.25 0.5\n", "labels/train/b.txt": ""}, images=("a", "b", "unlabeled")
    )

    job = run_import(client_for("admin"), detection_project, archive)

    assert (job["status"], job["created"], job["labels"]) == ("succeeded", 2, 2), job
    assert "1 image files in the archive are not named in a labels/ file" in job["detail"]
    red_bag = LabelClass.objects.get(project=detection_project, name="red_bag").pk
    boxes = {a.image.original_name: a.boxes for a in Annotation.objects.filter(project=detection_project)}
    assert boxes == {"a.jpg": [{"x": 24.0, "y": 12.0, "w": 16.0, "h": 24.0, "label_class": red_bag}], "b.jpg": []}


def _wrong_yolo():
    return [
        pytest.param(
            _yolo({"labels/train/a.txt": "0 0.5 0.5 0.25\n", "labels/train/b.txt": ""}),
            {
                "file": "images/train/a.jpg",
                "annotation": None,
                "detail": "labels/train/a.txt line 1: expected 'class cx cy w h' (got '0 0.5 0.5 0.25').",
            },
            id="four-values",
        ),
        pytest.param(
            _yolo({"labels/train/a.txt": "\n2 0.5 0.5 0.2 0.2\n", "labels/train/b.txt": ""}),
            {
                "file": "images/train/a.jpg",
                "annotation": None,
                "detail": "labels/train/a.txt line 2: class 2 is not in data.yaml (2 classes).",
            },
            id="class-out-of-range",
        ),
        pytest.param(
            _yolo({"labels/train/a.txt": "0 0.9 0.5 0.5 0.5\n", "labels/train/b.txt": ""}),
            {
                "file": "images/train/a.jpg",
                "annotation": None,
                "detail": "labels/train/a.txt line 1: the box (41.6, 12, 32×24) lies outside the 64×48 image.",
            },
            id="box-outside",
        ),
        pytest.param(
            _yolo({"labels/train/a.txt": "", "labels/train/b.txt": "", "labels/train/c.txt": ""}),
            {
                "file": "labels/train/c.txt",
                "annotation": None,
                "detail": "labels/train/c.txt: a label file with no image of the same name in images/.",
            },
            id="label-without-image",
        ),
        pytest.param(
            make_zip({"data.yaml": b"names: 3\n", "images/a.jpg": jpeg_bytes(1), "labels/a.txt": b""}),
            {
                "file": "data.yaml",
                "annotation": None,
                "detail": "'names' must be a list of class names, or a mapping from 0, 1, 2... to names.",
            },
            id="names-not-a-list",
        ),
    ]


@pytest.mark.parametrize("archive, error", _wrong_yolo())
def test_wrong_yolo_archives_fail_naming_file_and_line_and_nothing_is_written(
    detection_project, client_for, media, archive, error
):
    """Issue 15 item 8 (with issue 14 item 4's rule: every problem names where it is)."""
    before = detection_project.label_classes.count()

    job = run_import(client_for("admin"), detection_project, archive)

    assert job["status"] == "failed" and job["errors"] == [error], job
    assert_nothing_written(detection_project, media, before)


def _wrong_csv():
    header = "file_name,label_class,x,y,w,h\n"
    return [
        pytest.param(
            "file_name,x,y,w,h\na.jpg,1,1,2,2\n",
            {
                "file": "labels.csv",
                "annotation": None,
                "detail": "the header needs the columns file_name, label_class, x, y, w, h; missing label_class.",
            },
            id="no-label-column",
        ),
        pytest.param(
            header + "a.jpg,brown_box,1,one,2,2\n",
            {
                "file": "images/a.jpg",
                "annotation": None,
                "detail": "labels.csv line 2: x, y, w and h must be numbers (got 1, one, 2, 2).",
            },
            id="not-a-number",
        ),
        pytest.param(
            header + "a.jpg,brown_box,1,1,2,2\nmissing.jpg,brown_box,1,1,2,2\n",
            {
                "file": "labels.csv",
                "annotation": None,
                "detail": "labels.csv line 3: file_name 'missing.jpg' is not an image in the archive.",
            },
            id="unknown-file",
        ),
        pytest.param(
            header + "a.jpg,brown_box,60,1,20,2\n",
            {
                "file": "images/a.jpg",
                "annotation": None,
                "detail": "labels.csv line 2: the box (60, 1, 20×2) lies outside the 64×48 image.",
            },
            id="box-outside",
        ),
        pytest.param(
            header + "a.jpg,,1,1,2,2\n",
            {"file": "images/a.jpg", "annotation": None, "detail": "labels.csv line 2: a box without a label_class."},
            id="box-without-class",
        ),
    ]


@pytest.mark.parametrize("text, error", _wrong_csv())
def test_wrong_csv_archives_fail_naming_file_and_line_and_nothing_is_written(
    detection_project, client_for, media, text, error
):
    """Issue 15 item 8."""
    before = detection_project.label_classes.count()
    archive = make_zip({"labels.csv": text.encode(), "images/a.jpg": jpeg_bytes(11)})

    job = run_import(client_for("admin"), detection_project, archive)

    assert job["status"] == "failed" and job["errors"] == [error], job
    assert_nothing_written(detection_project, media, before)


def test_a_classification_csv_naming_one_image_with_two_classes_fails(classification_project, client_for, media):
    """Issue 15 item 8."""
    archive = make_zip({"labels.csv": b"file_name,label_class\na.jpg,cat\na.jpg,dog\n", "a.jpg": jpeg_bytes(12)})

    job = run_import(client_for("admin"), classification_project, archive)

    assert job["status"] == "failed"
    assert job["errors"] == [
        {
            "file": "a.jpg",
            "annotation": None,
            "detail": "labels.csv line 3: the image is listed again with another class ('cat', now 'dog').",
        }
    ]


def test_the_box_cap_holds_for_yolo_too(detection_project, client_for, media):
    """Issue 14 item 4 through the YOLO path: 1,001 valid lines for one image fail the check."""
    from labelapp.labeling.validation import MAX_BOXES

    archive = _yolo({"labels/train/a.txt": "0 0.5 0.5 0.1 0.1\n" * (MAX_BOXES + 1), "labels/train/b.txt": ""})

    job = run_import(client_for("admin"), detection_project, archive)

    assert job["status"] == "failed"
    assert job["errors"] == [
        {
            "file": "images/train/a.jpg",
            "annotation": None,
            "detail": f"{MAX_BOXES + 1} boxes: an annotation holds at most {MAX_BOXES}.",
        }
    ]
    assert not Image.objects.filter(project=detection_project).exists()


def test_an_archive_with_two_label_formats_is_refused_before_a_job(detection_project, client_for, media):
    """Issue 15 item 8: the format comes from the archive's files; two formats are ambiguous."""
    buffer = io.BytesIO(_yolo({"labels/train/a.txt": ""}))
    with zipfile.ZipFile(buffer, "a") as both:
        both.writestr("labels.csv", "file_name,label_class,x,y,w,h\n")
    archive = buffer.getvalue()

    response = post_import(client_for("admin"), detection_project, archive)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_layout"
    assert "several formats (data.yaml, labels.csv)" in response.json()["detail"]


def test_csv_imports_unused_header_columns_and_a_bom(detection_project, client_for, media):
    """Issue 15 item 8: a spreadsheet's CSV (byte order mark, columns in another order, extra ones)."""
    text = "\ufeffnote,h,w,y,x,label_class,file_name\nhi,10,20,4,4,Brown_Box,a.jpg\n"
    archive = make_zip({"export/labels.csv": text.encode(), "export/images/a.jpg": jpeg_bytes(13)})

    job = run_import(client_for("admin"), detection_project, archive)

    assert job["status"] == "succeeded", job
    assert job["class_mapping"] == {"Brown_Box": "brown_box"}
    [annotation] = Annotation.objects.filter(project=detection_project)
    assert [(b["x"], b["y"], b["w"], b["h"]) for b in annotation.boxes] == [(4.0, 4.0, 20.0, 10.0)]


@pytest.mark.parametrize(
    "class_file, content",
    [
        pytest.param("classes.txt", "red_bag\nbrown_box\n", id="classes-txt"),
        pytest.param("dataset/data.yaml", "path: .\nnames:\n  0: red_bag\n  1: brown_box\n", id="names-mapping"),
    ],
)
def test_yolo_class_names_from_classes_txt_or_a_names_mapping(
    detection_project, client_for, media, class_file, content
):
    """Issue 15 item 8: both ways Ultralytics datasets name their classes."""
    prefix = "dataset/" if class_file.startswith("dataset/") else ""
    archive = make_zip(
        {
            class_file: content.encode(),
            f"{prefix}images/a.jpg": jpeg_bytes(21),
            f"{prefix}labels/a.txt": b"1 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.1 0.1\n",
        }
    )

    job = run_import(client_for("admin"), detection_project, archive)

    assert job["status"] == "succeeded", job
    names = dict(LabelClass.objects.filter(project=detection_project).values_list("pk", "name"))
    [annotation] = Annotation.objects.filter(project=detection_project)
    assert sorted(names[b["label_class"]] for b in annotation.boxes) == ["brown_box", "red_bag"]
