"""From the K-th label to a queue ordered by the new model, on a large classification pool,
with the embedding-first engine (a softmax head on cached backbone vectors), through a real
Celery worker. Also prints the backbone's embedding throughput at ingest.

A benchmark that prints figures, not a test. Everything happens in a temporary folder
(SQLite database, media, var, embedded broker), as in bench_rescore.py.

Set-up: a classification project with 10 classes and N pool Image rows (default 100,000)
that share `--scenes` stored JPEGs (generated: one colour and shape per class, varied). The
backbone embeds the distinct JPEGs once; each row's cached vector is its scene's vector plus
a little noise (re-normalised), written straight into the vector cache — embedding 100,000
images at ingest is measured separately (images/s below), not repeated here. 60 free labels.

Measured: labels are submitted through `annotation_submit` until the auto-retrain fires
(K = `--retrain-every`); the clock runs from then until the rescore of the new version has
finished, which includes planning the next batch (training + rescore + plan).

Usage::

    .venv/bin/python benchmarks/bench_label_to_queue.py --images 10000
    .venv/bin/python benchmarks/bench_label_to_queue.py                  # 100,000
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rescore import Worker, temp_environment, time_label_to_queue

CLASSES = [f"class_{i}" for i in range(10)]


def scene(rng, label: int):
    """A 96 px image: a background and one shape whose colour and form depend on the class."""
    import numpy as np
    from PIL import Image, ImageDraw

    hue = np.array(
        [
            (255, 60, 60),
            (60, 255, 60),
            (60, 60, 255),
            (255, 255, 60),
            (255, 60, 255),
            (60, 255, 255),
            (255, 160, 40),
            (140, 80, 40),
            (200, 200, 200),
            (40, 40, 40),
        ][label]
    )
    background = tuple(int(v) for v in rng.integers(60, 200, 3))
    image = Image.new("RGB", (96, 96), background)
    draw = ImageDraw.Draw(image)
    x, y, r = (int(v) for v in (rng.integers(20, 76), rng.integers(20, 76), rng.integers(12, 24)))
    colour = tuple(int(v) for v in np.clip(hue + rng.normal(0, 20, 3), 0, 255))
    (draw.ellipse if label % 2 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def build_project(*, images: int, scenes: int, free: int, progress=print):
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from labelapp.demo.data import demo_users
    from labelapp.images.models import Image, Split, Status
    from labelapp.labeling.models import Annotation, AnnotationKind
    from labelapp.learning.data import decode_rgb, prepare
    from labelapp.projects.models import Membership, Role
    from labelapp.projects.services import project_create
    from labelapp.training import embeddings

    users = demo_users()
    project = project_create(
        name="Label-to-queue bench",
        task_type="classification",
        created_by=users["admin"],
        class_names=CLASSES,
        settings={"auto_retrain_every": 0},
    )
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    class_ids = list(project.label_classes.order_by("id").values_list("pk", flat=True))
    backbone = embeddings.backbone()
    rng = np.random.default_rng(5)
    names, labels, prepared = [], [], []
    for s in range(scenes):
        label = s % len(CLASSES)
        data = scene(rng, label)
        names.append(default_storage.save(f"projects/{project.pk}/images/bench/scene-{s:04d}.jpg", ContentFile(data)))
        labels.append(label)
        prepared.append(prepare(decode_rgb(data), backbone.embed_size, "classification")[0])
    started, cpu = time.perf_counter(), time.process_time()
    scene_vectors = backbone.embed(np.stack(prepared))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    progress(
        f"  embedding at ingest: {scenes} images in {wall:.1f}s wall = {scenes / wall:.0f} images/s "
        f"({cpu / scenes * 1000:.1f} ms CPU per image, {backbone.embed_size} px, {os.cpu_count()} cores); "
        f"{backbone.dim * 2} bytes per image cached (float16)"
    )
    batch = []
    for i in range(images):
        sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
        batch.append(
            Image(
                project=project,
                file=names[i % scenes],
                sha256=sha,
                width=96,
                height=96,
                original_name=f"bench-{i:06d}.jpg",
            )
        )
        if len(batch) == 5000 or i == images - 1:
            Image.objects.bulk_create(batch)
            batch = []
    ids = np.array(Image.objects.filter(project=project).order_by("id").values_list("pk", flat=True), dtype=np.int64)
    cache = embeddings.vector_cache(project, backbone)
    for start in range(0, len(ids), 20_000):
        chunk = ids[start : start + 20_000]
        vectors = scene_vectors[np.arange(start, start + len(chunk)) % scenes]
        vectors = vectors + rng.normal(0, 0.01, vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cache.write_chunk(f"bench{start // 20_000:04d}", chunk, vectors.astype(np.float16))
    truth = {int(pk): class_ids[labels[i % scenes]] for i, pk in enumerate(ids)}
    for pk in ids[:free].tolist():
        Annotation.objects.create(
            project=project, image_id=pk, label_class_id=truth[pk], kind=AnnotationKind.IMPORTED, is_free=True
        )
    Image.objects.filter(pk__in=ids[:free].tolist()).update(status=Status.LABELED, split=Split.TRAIN)
    progress(f"  {images} Image rows, {len(ids)} cached vectors, {free} free labels")
    return project, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000, help="pool Image rows (default 100,000)")
    parser.add_argument("--scenes", type=int, default=400, help="distinct stored JPEGs the rows share")
    parser.add_argument("--retrain-every", type=int, default=20, help="K")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="labelapp-bench-l2q-"))
    worker = None
    try:
        temp_environment(root)
        from labelapp.images.models import Image
        from labelapp.training.models import ModelVersion

        print(f"bench_label_to_queue: N={args.images}, K={args.retrain_every}, {os.cpu_count()} CPUs, temp {root}")
        project, truth = build_project(images=args.images, scenes=args.scenes, free=60)
        worker = Worker(root, concurrency=1, name="l2q")
        worker.wait_ready()
        # A first version, so the measured retrain replaces an active model as in production.
        label = lambda pk: {"label_class": truth[pk]}  # noqa: E731
        first = time_label_to_queue(project, label, worker, every=args.retrain_every, timeout=args.timeout)
        print(f"  first model: {first['total_s']:.1f}s (training {first['train_s']:.1f}s)")
        lat = time_label_to_queue(project, label, worker, every=args.retrain_every, timeout=args.timeout)
        version = ModelVersion.objects.get(pk=lat["run"].model_version_id)
        top = Image.objects.filter(project=project, status="unlabeled").order_by("-priority").first()
        print(
            f"label → queue ordered by the new model: {lat['total_s']:.1f}s after the label that triggered the retrain "
            f"(target ≤ 15 s): training {lat['train_s']:.1f}s ({version.model_name}, {version.labels_seen} labels), "
            f"rescore + plan of {lat['job'].images_total} images {lat['rescore_s']:.1f}s "
            f"({lat['job'].chunks_total} chunks); worker CPU time {lat['cpu_s']:.1f}s; "
            f"queue head: {top.score_reason} — {top.pick_reason!r}"
        )
        print(
            f"  peak RSS: worker {worker.peak_text()}; this process "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
    finally:
        if worker is not None:
            worker.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
