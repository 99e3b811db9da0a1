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


def _labeled(project):
    return Annotation.objects.filter(project=project).select_related("image", "label_class").order_by("image_id")


def export_coco(*, project) -> dict:
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
        if project.task_type == TaskType.DETECTION:
            for box in annotation.boxes:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image.pk,
                        "category_id": box["label_class"],
                        "bbox": [box["x"], box["y"], box["w"], box["h"]],
                        "area": box["w"] * box["h"],
                        "iscrowd": 0,
                    }
                )
        else:
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image.pk, "category_id": annotation.label_class_id}
            )
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
    writer.writerow(["image_id", "file_name", "width", "height", "split", "label_class", "x", "y", "w", "h"])
    for annotation in _labeled(project):
        image = annotation.image
        head = [image.pk, image.original_name, image.width, image.height, image.split]
        if project.task_type == TaskType.DETECTION:
            for box in annotation.boxes:
                writer.writerow([*head, names.get(box["label_class"], ""), box["x"], box["y"], box["w"], box["h"]])
            if not annotation.boxes:
                writer.writerow([*head, "", "", "", "", ""])
        else:
            writer.writerow([*head, annotation.label_class.name, "", "", "", ""])
    return out.getvalue()


def export_yolo(*, project) -> bytes:
    """Ultralytics layout: images/<split>/, labels/<split>/ with normalised `cls cx cy w h`, data.yaml."""
    classes = list(project.label_classes.all())
    index = {c.pk: i for i, c in enumerate(classes)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for annotation in _labeled(project):
            image = annotation.image
            split = image.split if image.split != Split.POOL else Split.TRAIN
            stem = f"{image.pk}_{posixpath.splitext(image.original_name)[0]}"
            suffix = posixpath.splitext(image.file.name)[1] or ".jpg"
            with image.file.open("rb") as handle:
                archive.writestr(f"images/{split}/{stem}{suffix}", handle.read())
            if project.task_type == TaskType.DETECTION:
                lines = [
                    f"{index[b['label_class']]} {(b['x'] + b['w'] / 2) / image.width:.6f} {(b['y'] + b['h'] / 2) / image.height:.6f} "
                    f"{b['w'] / image.width:.6f} {b['h'] / image.height:.6f}"
                    for b in annotation.boxes
                ]
            else:
                lines = [str(index[annotation.label_class_id])]
            archive.writestr(f"labels/{split}/{stem}.txt", "\n".join(lines) + ("\n" if lines else ""))
        names = "\n".join(f"  {i}: {json.dumps(c.name)}" for i, c in enumerate(classes))
        archive.writestr(
            "data.yaml", f"path: .\ntrain: images/train\nval: images/val\ntest: images/test\nnames:\n{names}\n"
        )
    return buffer.getvalue()
