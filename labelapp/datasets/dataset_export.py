"""Export of the labels: COCO JSON, YOLO (ZIP), CSV. (Import: dataset_import.)"""

import csv
import io
import json
import posixpath
import zipfile

from django.utils import timezone

from labelapp.images.models import Split
from labelapp.labeling.models import Annotation
from labelapp.projects.models import LabelClass, TaskType


class ClassificationRows:
    """One row per image: its class."""

    @staticmethod
    def coco(annotation) -> list[dict]:
        return [{"category_id": annotation.label_class_id}]

    @staticmethod
    def csv(annotation, names: dict[int, str]) -> list[list]:
        return [[annotation.label_class.name, "", "", "", ""]]

    @staticmethod
    def yolo(annotation, index: dict[int, int]) -> list[str]:
        return [str(index[annotation.label_class_id])]


class DetectionRows:
    """One row per box; in CSV an image without boxes still gets an empty row."""

    @staticmethod
    def coco(annotation) -> list[dict]:
        return [
            {
                "category_id": box["label_class"],
                "bbox": [box["x"], box["y"], box["w"], box["h"]],
                "area": box["w"] * box["h"],
                "iscrowd": 0,
            }
            for box in annotation.boxes
        ]

    @staticmethod
    def csv(annotation, names: dict[int, str]) -> list[list]:
        if not annotation.boxes:
            return [["", "", "", "", ""]]
        return [[names.get(b["label_class"], ""), b["x"], b["y"], b["w"], b["h"]] for b in annotation.boxes]

    @staticmethod
    def yolo(annotation, index: dict[int, int]) -> list[str]:
        width, height = annotation.image.width, annotation.image.height
        return [
            f"{index[b['label_class']]} {(b['x'] + b['w'] / 2) / width:.6f} {(b['y'] + b['h'] / 2) / height:.6f} "
            f"{b['w'] / width:.6f} {b['h'] / height:.6f}"
            for b in annotation.boxes
        ]


#: Task type → its rows in each export format (see projects.task_types).
EXPORT_ROWS = {TaskType.CLASSIFICATION: ClassificationRows, TaskType.DETECTION: DetectionRows}


def _labeled(project):
    return Annotation.objects.filter(project=project).select_related("image", "label_class").order_by("image_id")


def export_coco(*, project) -> dict:
    rows = EXPORT_ROWS[project.task_type]
    classes = list(project.label_classes.all())
    images, annotations = [], []
    for annotation in _labeled(project):
        image = annotation.image
        images.append(
            {
                "id": image.pk,
                "file_name": image.original_name,
                "width": image.width,
                "height": image.height,
                "split": image.split,
                "sha256": image.sha256,
            }
        )
        for row in rows.coco(annotation):
            annotations.append({"id": len(annotations) + 1, "image_id": image.pk, **row})
    return {
        "info": {"description": project.name, "date_created": timezone.now().isoformat()},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c.pk, "name": c.name} for c in classes],
    }


def export_csv(*, project) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = dict(LabelClass.objects.filter(project=project).values_list("pk", "name"))
    rows = EXPORT_ROWS[project.task_type]
    writer.writerow(["image_id", "file_name", "width", "height", "split", "label_class", "x", "y", "w", "h"])
    for annotation in _labeled(project):
        image = annotation.image
        head = [image.pk, image.original_name, image.width, image.height, image.split]
        writer.writerows([*head, *row] for row in rows.csv(annotation, names))
    return out.getvalue()


def export_yolo(*, project) -> bytes:
    """Ultralytics layout: images/<split>/, labels/<split>/ with normalised `cls cx cy w h`, data.yaml."""
    classes = list(project.label_classes.all())
    index = {c.pk: i for i, c in enumerate(classes)}
    rows = EXPORT_ROWS[project.task_type]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for annotation in _labeled(project):
            image = annotation.image
            split = image.split if image.split != Split.POOL else Split.TRAIN
            stem = f"{image.pk}_{posixpath.splitext(image.original_name)[0]}"
            suffix = posixpath.splitext(image.file.name)[1] or ".jpg"
            with image.file.open("rb") as handle:
                archive.writestr(f"images/{split}/{stem}{suffix}", handle.read())
            lines = rows.yolo(annotation, index)
            archive.writestr(f"labels/{split}/{stem}.txt", "\n".join(lines) + ("\n" if lines else ""))
        names = "\n".join(f"  {i}: {json.dumps(c.name)}" for i, c in enumerate(classes))
        archive.writestr(
            "data.yaml", f"path: .\ntrain: images/train\nval: images/val\ntest: images/test\nnames:\n{names}\n"
        )
    return buffer.getvalue()
