"""Rescore a large pool through the real worker path, and the label → new-queue latency.

A benchmark that prints figures, not a test. Everything happens in a temporary folder:
a SQLite database (migrated here), the media and var folders and the embedded broker,
all passed to a real `celery -A labelapp.celery worker` process through the environment,
so the developer's var/ is never touched.

Set-up: a detection project with N pool Image rows (default 100,000) that share a few
dozen stored JPEGs (distinct porch scenes), 60 free labels, the pool cache filled directly
with N entries (`engine.pool_cache(...).write_chunk`), and one model version trained here.

Measured:
1. `rescore_start` → RescoreJob succeeded, with 1 worker process (and 2 with
   `--workers 1,2`): images/s, database writes included (Predictions upserted, priorities).
2. The bare forward pass (`model.predict`) over the same cached arrays, in this process,
   same chunk size: images/s, and the ratio rescore / forward (target ≥ 0.7).
3. Peak RSS (VmHWM of /proc/<pid>/status) of the worker process and its pool children,
   sampled while they live (target ≤ 1.5 GB each).
4. Latency from the K-th training label to a queue ordered by the new model: labels are
   submitted through `annotation_submit` until the auto-retrain fires; the clock runs until
   the rescore of the new version has finished (training + rescore of the whole pool).

Usage::

    .venv/bin/python benchmarks/bench_rescore.py --images 5000
    .venv/bin/python benchmarks/bench_rescore.py                  # 100,000
    .venv/bin/python benchmarks/bench_rescore.py --images 20000 --workers 1,2 --retrain-every 10
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# --- shared with bench_loop.py ------------------------------------------------------------


def temp_environment(root: Path) -> None:
    """Point Django, the broker and every worker started later at `root`; set up and migrate."""
    root.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "labelapp.settings.local",
            "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
            "LABELAPP_VAR_DIR": str(root / "var"),
            "LABELAPP_MEDIA_ROOT": str(root / "media"),
            "CELERY_BROKER_URL": f"sqla+sqlite:///{root / 'broker.sqlite'}",
            "DJANGO_DEBUG": "false",
            "LABELAPP_LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert str(settings.VAR_DIR).startswith(str(root)) and str(settings.DATABASES["default"]["NAME"]).startswith(
        str(root)
    )
    call_command("migrate", verbosity=0)


class Worker:
    """A real Celery worker process (and its pool children) on the temp environment."""

    def __init__(self, root: Path, *, concurrency: int = 1, name: str = "bench", extra_env: dict | None = None):
        self.log_path = root / f"worker-{name}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - the worker writes to it until stop() closes it
        env = {**os.environ, "LABELAPP_LOG_LEVEL": "INFO", **(extra_env or {})}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "labelapp.celery",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"{name}-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError("worker not ready")

    def pids(self) -> list[int]:
        """The worker process and all its descendants (pool children)."""
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        found, frontier = [self.process.pid], [self.process.pid]
        while frontier:
            children = [pid for pid, ppid in parents.items() if ppid in frontier]
            found += children
            frontier = children
        return found

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
                role = "main" if pid == self.process.pid else "child"
                if hwm > self.peak.get(pid, ("", 0))[1]:
                    self.peak[pid] = (role, hwm)
            self._stop.wait(0.5)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) so far of the worker and its pool children: a figure that a
        busy shared machine distorts far less than wall-clock time."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def peak_text(self) -> str:
        return ", ".join(f"{role} {pid}: {kb / 1024:.0f} MB" for pid, (role, kb) in sorted(self.peak.items()))

    def max_peak_mb(self) -> float:
        return max((kb for _, kb in self.peak.values()), default=0) / 1024

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


def wait_until(condition, *, timeout: float, what: str, worker: Worker | None = None, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            raise RuntimeError(f"worker died while waiting for {what}:\n{worker.log_path.read_text()[-3000:]}")
        time.sleep(interval)
    tail = worker.log_path.read_text(errors="replace")[-3000:] if worker else ""
    raise RuntimeError(f"timed out waiting for {what}\n{tail}")


# --- set-up ------------------------------------------------------------------------------


def build_project(*, images: int, scenes: int, free: int, epochs: int, progress=print):
    """The project, its N rows sharing `scenes` stored JPEGs, the filled pool cache, and the
    truth boxes per scene (returned for labeling)."""
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from labelapp.demo.data import _jpeg, demo_users
    from labelapp.images.models import Image, Split
    from labelapp.labeling.models import AnnotationKind
    from labelapp.labeling.services import image_label
    from labelapp.learning.data import decode_rgb, prepare
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene
    from labelapp.projects.models import Membership, Role
    from labelapp.projects.services import project_create
    from labelapp.training import engine

    users = demo_users()
    project = project_create(
        name="Rescore bench",
        task_type="detection",
        created_by=users["admin"],
        class_names=PORCH_CLASSES,
        settings={"auto_retrain_every": 0, "max_epochs": epochs},
    )
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    class_ids = list(project.label_classes.order_by("order").values_list("pk", flat=True))
    size = engine.input_size_for(project)
    rng = np.random.default_rng(5)
    names, prepared, truths, shape = [], [], [], None
    for s in range(scenes):
        array, boxes, labels = porch_scene(rng)
        data = _jpeg(array)
        names.append(default_storage.save(f"projects/{project.pk}/images/bench/scene-{s:03d}.jpg", ContentFile(data)))
        prepared.append(prepare(decode_rgb(data), size, "detection")[0])
        truths.append(
            [
                {
                    "x": float(x1),
                    "y": float(y1),
                    "w": float(x2 - x1),
                    "h": float(y2 - y1),
                    "label_class": class_ids[int(c)],
                }
                for (x1, y1, x2, y2), c in zip(boxes, labels)
            ]
        )
        shape = array.shape
    prepared = np.stack(prepared)
    started = time.monotonic()
    batch = []
    for i in range(images):
        sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
        batch.append(
            Image(
                project=project,
                file=names[i % scenes],
                sha256=sha,
                width=shape[1],
                height=shape[0],
                original_name=f"bench-{i:06d}.jpg",
            )
        )
        if len(batch) == 5000 or i == images - 1:
            Image.objects.bulk_create(batch)
            batch = []
    ids = np.array(Image.objects.filter(project=project).order_by("id").values_list("pk", flat=True), dtype=np.int64)
    progress(f"  {images} Image rows in {time.monotonic() - started:.1f}s")
    labeled = Image.objects.filter(pk__in=ids[:free].tolist())
    for image in labeled:
        boxes = truths[int(np.searchsorted(ids, image.pk)) % scenes]
        # Not announced: the benchmark starts what follows itself.
        image_label(project=project, image=image, kind=AnnotationKind.IMPORTED, boxes=boxes, announce=False)
    started = time.monotonic()
    cache = engine.pool_cache(project, size)
    step = 4096
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        cache.write_chunk(f"bench{start // step:05d}", chunk, prepared[np.arange(start, start + len(chunk)) % scenes])
    progress(
        f"  pool cache: {len(ids)} entries of {size}x{size}x3 in {time.monotonic() - started:.1f}s "
        f"({len(ids) * size * size * 3 / 1e9:.2f} GB)"
    )
    assert Image.objects.filter(project=project, split=Split.POOL).count() == images - free
    return project, ids, truths


def train_version(project, *, epochs: int, progress=print):
    """One model version trained here on the free labels (the rescore timing needs a model;
    the latency part below trains on the worker)."""
    import io

    import torch
    from django.core.files.base import ContentFile

    from labelapp.core.jobs import JobStatus
    from labelapp.images.models import Split
    from labelapp.learning.models import create_model
    from labelapp.learning.training import TrainConfig
    from labelapp.training import engine
    from labelapp.training.models import ModelVersion, TrainingRun
    from labelapp.training.training_data import training_data

    classes = list(project.label_classes.order_by("id"))
    class_index = {c.pk: i for i, c in enumerate(classes)}
    size = engine.input_size_for(project)
    x, y = training_data(project, Split.TRAIN, class_index, size)
    vx, vy = training_data(project, Split.VAL, class_index, size)
    started = time.monotonic()
    model = create_model(
        "centernet_detector", classes=[c.name for c in classes], input_size=size, detection_threshold=0.3
    )
    model.fit(x, y, vx, vy, config=TrainConfig(seed=1, max_epochs=epochs, patience=5))
    buffer = io.BytesIO()
    torch.save(model.checkpoint(), buffer)
    version = ModelVersion(
        project=project,
        number=1,
        model_name="centernet_detector",
        classes=[c.pk for c in classes],
        input_size=size,
        labels_seen=len(x),
        strategy="detection_mean",
        is_active=True,
    )
    version.checkpoint.save(f"project-{project.pk}/v1.pt", ContentFile(buffer.getvalue()), save=False)
    version.save()
    # As if the worker had trained it: the auto-retrain counts new labels from this run on.
    TrainingRun.objects.create(
        project=project,
        status=JobStatus.SUCCEEDED,
        trigger="bench",
        model_version=version,
        labels_at_start=len(x),
        epoch=epochs,
        epochs_max=epochs,
    )
    progress(f"  model v1 trained here on {len(x)} labels, {epochs} epochs, in {time.monotonic() - started:.1f}s")
    return version


# --- measurements ------------------------------------------------------------------------


def time_rescore(version, worker: Worker, *, timeout: float) -> tuple[float, object]:
    from labelapp.core.jobs import JobStatus
    from labelapp.training.models import RescoreJob
    from labelapp.training.rescoring import rescore_start

    started = time.monotonic()
    job = rescore_start(version_id=version.pk)
    job = wait_until(
        lambda: RescoreJob.objects.filter(pk=job.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        timeout=timeout,
        what="the rescore",
        worker=worker,
    )
    return time.monotonic() - started, job


def time_forward(project, version, ids, *, chunk_size: int, limit: int | None) -> tuple[float, int]:
    """The bare forward pass over the cached arrays, chunk by chunk; reading the cache untimed."""
    from labelapp.training import engine

    model = engine.load_version(version)
    cache = engine.pool_cache(project, version.input_size)
    todo = ids if limit is None else ids[:limit]
    spent = 0.0
    for start in range(0, len(todo), chunk_size):
        arrays = cache.get_many(todo[start : start + chunk_size])
        t = time.perf_counter()
        model.predict(arrays)
        spent += time.perf_counter() - t
    return spent, len(todo)


def time_label_to_queue(project, label_for, worker: Worker, *, every: int, timeout: float, progress=print):
    """Submit labels (``label_for(image_id)`` gives annotation_submit's label keywords) until
    the auto-retrain fires; time from then until the new version's rescore has finished."""
    from django.db.models import Max

    from labelapp.core.jobs import JobStatus
    from labelapp.credits.services import credit_grant
    from labelapp.demo.simulation import simulator_user
    from labelapp.labeling.services import annotation_submit, image_reserve_next
    from labelapp.projects.services import project_update_settings
    from labelapp.training.models import RescoreJob, TrainingRun

    project = project_update_settings(project=project, changes={"auto_retrain_every": every})
    credit_grant(project=project, amount=every * 3, note="bench")
    user = simulator_user(project)
    last = TrainingRun.objects.filter(project=project).aggregate(n=Max("id"))["n"] or 0
    submitted = 0
    while True:
        item = image_reserve_next(project=project, user=user)
        annotation_submit(project=project, user=user, image_id=item.image.pk, **label_for(item.image.pk))
        submitted += 1
        run = TrainingRun.objects.filter(project=project, pk__gt=last).first()
        if run is not None:
            break
        if submitted > every * 3:
            raise RuntimeError("no auto-retrain fired")
    started, cpu_started = time.monotonic(), worker.cpu_seconds()
    progress(f"  label {submitted} ({run.labels_at_start} labels) queued training run {run.pk}")
    run = wait_until(
        lambda: TrainingRun.objects.filter(pk=run.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        timeout=timeout,
        what="the training",
        worker=worker,
    )
    trained = time.monotonic() - started
    if run.status != JobStatus.SUCCEEDED:
        raise RuntimeError(f"training failed: {run.error}")
    job = wait_until(
        lambda: RescoreJob.objects.filter(
            model_version_id=run.model_version_id, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
        ).first(),
        timeout=timeout,
        what="the rescore after training",
        worker=worker,
    )
    total = time.monotonic() - started
    return {
        "labels": submitted,
        "train_s": trained,
        "rescore_s": total - trained,
        "total_s": total,
        "job": job,
        "run": run,
        "cpu_s": worker.cpu_seconds() - cpu_started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000, help="pool Image rows (default 100,000)")
    parser.add_argument("--scenes", type=int, default=64, help="distinct stored JPEGs the rows share")
    parser.add_argument("--workers", default="1", help="worker process counts to time, e.g. 1,2")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the model trained for the rescore")
    parser.add_argument("--retrain-every", type=int, default=20, help="K for the label → queue latency (0: skip)")
    parser.add_argument("--latency-epochs", type=int, default=5, help="max_epochs of the worker's retrain")
    parser.add_argument(
        "--forward-limit", type=int, default=None, help="time the bare forward pass on the first n only"
    )
    parser.add_argument("--timeout", type=float, default=3 * 3600)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="labelapp-bench-rescore-"))
    workers: list[Worker] = []
    try:
        temp_environment(root)
        import torch
        from django.conf import settings

        from labelapp.training.models import Prediction

        print(
            f"bench_rescore: N={args.images}, chunk size {settings.LABELAPP_RESCORE_CHUNK_SIZE}, "
            f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), temp {root}"
        )
        project, ids, truths = build_project(images=args.images, scenes=args.scenes, free=60, epochs=args.epochs)
        version = train_version(project, epochs=args.epochs)
        pool = args.images - 60
        results = {}
        for count in [int(c) for c in args.workers.split(",") if c.strip()]:
            worker = Worker(root, concurrency=count, name=f"w{count}")
            workers.append(worker)
            worker.wait_ready()
            seconds, job = time_rescore(version, worker, timeout=args.timeout)
            results[count] = seconds
            print(
                f"rescore, {count} worker process(es): {job.images_total} images in {seconds:.1f}s = "
                f"{job.images_total / seconds:.0f} images/s ({job.chunks_total} chunks, {job.status}); "
                f"peak RSS {worker.peak_text()}"
            )
            assert Prediction.objects.filter(model_version=version).count() == pool
            worker.stop()
            workers.remove(worker)
        if 1 in results:
            forward, n = time_forward(
                project, version, ids[60:], chunk_size=settings.LABELAPP_RESCORE_CHUNK_SIZE, limit=args.forward_limit
            )
            rate = n / forward
            print(f"bare forward pass here: {n} images in {forward:.1f}s = {rate:.0f} images/s")
            for count, seconds in results.items():
                print(
                    f"  ratio rescore/forward with {count} worker process(es): {pool / seconds / rate:.2f} (target ≥ 0.7)"
                )
        if args.retrain_every:
            import numpy as np

            from labelapp.projects.services import project_update_settings

            worker = Worker(root, concurrency=1, name="latency")
            workers.append(worker)
            worker.wait_ready()
            project_update_settings(project=project, changes={"max_epochs": args.latency_epochs})
            lat = time_label_to_queue(
                project,
                lambda pk: {"boxes": truths[int(np.searchsorted(ids, pk)) % len(truths)]},
                worker,
                every=args.retrain_every,
                timeout=args.timeout,
            )
            print(
                f"label → queue ordered by the new model: {lat['total_s']:.1f}s after the label that triggered the "
                f"retrain (K={args.retrain_every}, {args.latency_epochs} max epochs): training {lat['train_s']:.1f}s, "
                f"rescore of {lat['job'].images_total} images {lat['rescore_s']:.1f}s; peak RSS {worker.peak_text()}"
            )
    finally:
        for worker in workers:
            worker.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
