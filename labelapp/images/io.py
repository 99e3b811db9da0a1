"""Import of labeled data (free labels: no credit) and export of the labels.

Import formats: detection, a ZIP with one COCO JSON and the images it names; classification,
a ZIP with one folder per class. Export formats: COCO JSON, YOLO (ZIP), CSV."""

import csv
import io
import json
import posixpath
import zipfile

from django.db import transaction
from django.utils import timezone

from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.labeling.services import split_for
from labelapp.labeling.validation import clean_boxes
from labelapp.projects.models import LabelClass, TaskType
from labelapp.projects.services import label_class_create

from .archives import ArchiveRejected, read_zip
from .models import Image, Source, Status
from .services import image_store, images_validate, storage_cleanup

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def dataset_import(*, project, archive: bytes) -> dict:
    """Import a labeled dataset. All-or-nothing: any bad image or label rejects the whole archive."""
    members = read_zip(archive)
    if project.task_type == TaskType.DETECTION:
        plan, declared = _plan_coco(members)
    else:
        plan, declared = _plan_folders(members), []
    if not plan:
        raise ArchiveRejected("The archive holds no labeled images.", code="empty_import")
    valid = images_validate([(posixpath.basename(path), data, None) for path, data, _ in plan])
    config = project.config
    written: list[str] = []
    counts = {"images_created": 0, "labels_created": 0, "already_labeled": 0, "classes_created": 0}
    try:
        with transaction.atomic():
            classes = {c.name: c for c in project.label_classes.all()}
            # Every declared COCO category (in file order) becomes a class, used or not, so an
            # export re-imported elsewhere keeps its whole label schema; then any other used name.
            used = sorted({n for _, _, label in plan for n in _class_names(label)})
            for name in dict.fromkeys([*declared, *used]):
                if name not in classes:
                    classes[name] = label_class_create(project=project, name=name)
                    counts["classes_created"] += 1
            for (path, _, label), item in zip(plan, valid):
                image, created = image_store(project=project, item=item, source=Source.IMPORT, written=written)
                counts["images_created"] += int(created)
                if image.status in (Status.LABELED, Status.RESERVED) or Annotation.objects.filter(image=image).exists():
                    counts["already_labeled"] += 1
                    continue
                annotation = Annotation(project=project, image=image, kind=AnnotationKind.IMPORTED, is_free=True)
                if project.task_type == TaskType.DETECTION:
                    boxes = [{**box, "label_class": classes[box["label_class"]].pk} for box in label]
                    annotation.boxes = clean_boxes(
                        boxes=boxes, class_ids={c.pk for c in classes.values()}, width=image.width, height=image.height
                    )
                else:
                    annotation.label_class = classes[label]
                annotation.save()
                image.status = Status.LABELED
                image.split = split_for(sha256=image.sha256, val_fraction=config["val_fraction"], test_fraction=config["test_fraction"])
                image.labeled_at = timezone.now()
                image.save(update_fields=["status", "split", "labeled_at"])
                counts["labels_created"] += 1
    except Exception:
        storage_cleanup(written)
        raise
    return counts


def _class_names(label) -> list[str]:
    return [box["label_class"] for box in label] if isinstance(label, list) else [label]


def _plan_folders(members) -> list[tuple[str, bytes, str]]:
    plan = []
    for member in members:
        parts = member.path.split("/")
        if posixpath.splitext(member.path)[1].lower() not in IMAGE_SUFFIXES or _hidden(parts):
            continue
        if len(parts) < 2:
            raise ArchiveRejected(
                f"{member.path}: classification imports need one folder per class (class_name/image.jpg).",
                code="bad_layout",
            )
        plan.append((member.path, member.data, parts[-2]))
    return plan


def _plan_coco(members) -> tuple[list[tuple[str, bytes, list[dict]]], list[str]]:
    """(path, bytes, boxes with class names) per COCO image, and the declared category names."""
    jsons = [m for m in members if m.path.lower().endswith(".json") and not _hidden(m.path.split("/"))]
    if len(jsons) != 1:
        raise ArchiveRejected(f"Detection imports need exactly one COCO JSON file in the archive; found {len(jsons)}.", code="bad_layout")
    try:
        coco = json.loads(jsons[0].data)
        categories = {c["id"]: str(c["name"]) for c in coco["categories"]}
        by_id = {img["id"]: img["file_name"] for img in coco["images"]}
        annotations = coco.get("annotations", [])
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveRejected(f"{jsons[0].path}: not a valid COCO file ({exc}).", code="bad_coco") from None
    files = {m.path: m for m in members}
    by_base = {posixpath.basename(m.path): m for m in members}
    boxes: dict[int, list[dict]] = {image_id: [] for image_id in by_id}
    for ann in annotations:
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
            boxes[ann["image_id"]].append({"x": x, "y": y, "w": w, "h": h, "label_class": categories[ann["category_id"]]})
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveRejected(f"COCO annotation {ann.get('id')!r} is invalid ({exc}).", code="bad_coco") from None
    plan = []
    base_dir = posixpath.dirname(jsons[0].path)
    for image_id, file_name in by_id.items():
        member = files.get(posixpath.normpath(posixpath.join(base_dir, "images", file_name))) or files.get(
            posixpath.normpath(posixpath.join(base_dir, file_name))
        ) or by_base.get(posixpath.basename(file_name))
        if member is None:
            raise ArchiveRejected(f"COCO image {file_name!r} is not in the archive.", code="missing_image")
        plan.append((member.path, member.data, boxes[image_id]))
    return plan, list(categories.values())


def _hidden(parts: list[str]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _labeled(project):
    return (
        Annotation.objects.filter(project=project)
        .select_related("image", "label_class")
        .order_by("image_id")
    )


def export_coco(*, project) -> dict:
    classes = list(project.label_classes.all())
    images, annotations = [], []
    for annotation in _labeled(project):
        image = annotation.image
        images.append({"id": image.pk, "file_name": image.original_name, "width": image.width, "height": image.height,
                       "split": image.split, "sha256": image.sha256})
        if project.task_type == TaskType.DETECTION:
            for box in annotation.boxes:
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image.pk, "category_id": box["label_class"],
                    "bbox": [box["x"], box["y"], box["w"], box["h"]], "area": box["w"] * box["h"], "iscrowd": 0,
                })
        else:
            annotations.append({"id": len(annotations) + 1, "image_id": image.pk, "category_id": annotation.label_class_id})
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
            split = image.split if image.split != "pool" else "train"
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
        archive.writestr("data.yaml", f"path: .\ntrain: images/train\nval: images/val\ntest: images/test\nnames:\n{names}\n")
    return buffer.getvalue()
