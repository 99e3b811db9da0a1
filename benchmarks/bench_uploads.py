"""Worker time of an upload burst (issue 14 item 2).

A benchmark that prints figures, not a test. Everything happens in a temporary folder (see
bench_rescore.temp_environment) with one real `celery worker` process (concurrency 1).

1. Burst: N generated small images (JPEG, 96×72, shapes on a background) are uploaded in
   batches of 16, the CLI's default, through `images_ingest` — the service call the upload
   API makes, so each batch queues its preprocessing task exactly as a request would. The
   HTTP layer is left out: it runs in the web process and costs the worker nothing. The
   clock stops when every image has been preprocessed and the pool carries cold-start
   priorities from a ranking that started after the last upload.
2. Baseline: the same images stored in a second project without any dispatch, then put in
   its preprocessing backlog at once: one preprocessing task over all of them, plus the one
   cold-start ranking it asks for.

Worker seconds are the task runtimes the worker logs ("Task … succeeded in Xs"), summed, and
the CPU seconds of the worker's pool process (steadier on a shared machine). The figure is
burst ÷ baseline (target ≤ 1.5).

Usage::

    .venv/bin/python benchmarks/bench_uploads.py                 # 10,000 images, detection (128 px tensors)
    .venv/bin/python benchmarks/bench_uploads.py --images 2000 --task classification
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rescore import Worker, temp_environment, wait_until

CLI_BATCH = 16
TASK_LINE = re.compile(r"Task (labelapp\.[\w.]+)\[[^\]]+\] succeeded in ([0-9.e-]+)s")


def image_bytes(index: int) -> bytes:
    import numpy as np
    from PIL import Image as PilImage
    from PIL import ImageDraw

    rng = np.random.default_rng(index)
    background = tuple(int(v) for v in rng.integers(40, 220, 3))
    image = PilImage.new("RGB", (96, 72), background)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        x, y = int(rng.integers(0, 70)), int(rng.integers(0, 50))
        w, h = int(rng.integers(8, 26)), int(rng.integers(8, 22))
        draw.rectangle([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    noise = rng.integers(-12, 12, (72, 96, 3))
    pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    PilImage.fromarray(pixels).save(out, format="JPEG", quality=85)
    return out.getvalue()


def task_seconds(log: str) -> Counter:
    seconds: Counter = Counter()
    for name, runtime in TASK_LINE.findall(log):
        seconds[name.rsplit(".", 1)[1]] += float(runtime)
    return seconds


def task_counts(log: str) -> Counter:
    return Counter(name.rsplit(".", 1)[1] for name, _ in TASK_LINE.findall(log))


def worker_cpu_seconds(worker: Worker) -> float:
    """CPU time (user + system) of the worker's pool processes: the tasks' own work, without
    the main process's broker polling and unaffected by other load on the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in worker.pids():
        if pid == worker.process.pid:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--task", choices=["detection", "classification"], default="detection")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="labelapp-bench-uploads-"))
    temp_environment(root)
    from django.conf import settings
    from django.db import transaction

    from labelapp.accounts.models import User
    from labelapp.images.models import Image, Source, Status
    from labelapp.images.services import image_store, images_ingest, images_validate
    from labelapp.projects.services import project_create
    from labelapp.training.models import PoolUpkeep, PreprocessBacklog
    from labelapp.training.pool_upkeep import preprocess_request

    admin = User.objects.create_user(username="bench", password="bench-password")
    classes = ["a", "b"]
    print(f"generating {args.images} images ...", flush=True)
    files = [(f"img{i:06d}.jpg", image_bytes(i), "image/jpeg") for i in range(args.images)]
    print(
        f"  {sum(len(f[1]) for f in files) / args.images / 1024:.1f} KB each; cold start delay "
        f"{settings.LABELAPP_COLD_START_DELAY_SECONDS:g} s, spacing ×{settings.LABELAPP_COLD_START_SPACING:g}",
        flush=True,
    )

    worker = Worker(root, concurrency=1, name="uploads")
    try:
        worker.wait_ready()
        burst = project_create(name="Burst", task_type=args.task, created_by=admin, class_names=classes)
        batches = [files[i : i + CLI_BATCH] for i in range(0, len(files), CLI_BATCH)]
        started = time.monotonic()
        for number, batch in enumerate(batches, start=1):
            images_ingest(project=burst, files=batch)
            if number % 100 == 0:
                print(f"  uploaded {number * CLI_BATCH} images, {time.monotonic() - started:.0f} s", flush=True)
        uploaded = time.monotonic()
        pool = Image.objects.filter(project=burst, status=Status.UNLABELED)

        def idle(project, log: str) -> bool:
            upkeep = PoolUpkeep.objects.filter(project=project).first()
            return (
                upkeep is not None
                and not upkeep.preprocess_pending
                and not upkeep.cold_start_pending
                and upkeep.cold_start_runs > 0
                and not PreprocessBacklog.objects.filter(project=project).exists()
                and log.count("] received") == sum(task_counts(log).values())
            )

        def burst_done() -> bool:
            log = worker.log_path.read_text(errors="replace")
            return idle(burst, log) and not pool.filter(score_reason="").exists()

        wait_until(
            burst_done, timeout=6 * 3600, what="the burst to be preprocessed and ranked", worker=worker, interval=1.0
        )
        finished = time.monotonic()
        burst_log = worker.log_path.read_text(errors="replace")
        burst_seconds = task_seconds(burst_log)
        burst_counts = task_counts(burst_log)
        rankings = PoolUpkeep.objects.get(project=burst).cold_start_runs
        burst_cpu = worker_cpu_seconds(worker)

        baseline = project_create(name="Baseline", task_type=args.task, created_by=admin, class_names=classes)
        ids = []
        for batch in batches:
            with transaction.atomic():
                for item in images_validate(batch):
                    ids.append(image_store(project=baseline, item=item, source=Source.UPLOAD)[0].pk)
        offset = len(burst_log)
        preprocess_request(project_id=baseline.pk, image_ids=ids)
        wait_until(
            lambda: idle(baseline, worker.log_path.read_text(errors="replace")[offset:]),
            timeout=6 * 3600,
            what="the baseline",
            worker=worker,
            interval=1.0,
        )
        baseline_seconds = task_seconds(worker.log_path.read_text(errors="replace")[offset:])
        baseline_cpu = worker_cpu_seconds(worker) - burst_cpu
    finally:
        worker.stop()

    total_burst, total_base = sum(burst_seconds.values()), sum(baseline_seconds.values())
    print(f"\n{args.images} images, {args.task}, {len(batches)} batches of {CLI_BATCH} (CLI default); 1 worker process")
    print(
        f"upload burst: uploads took {uploaded - started:.0f} s; worker done {finished - uploaded:.0f} s after the last upload"
    )
    print(
        f"  worker seconds: {total_burst:.1f} = preprocess {burst_seconds['preprocess_backlog']:.1f} "
        f"({burst_counts['preprocess_backlog']} tasks) + cold-start ranking {burst_seconds['cold_start']:.1f} "
        f"({rankings} rankings)"
    )
    print(
        f"baseline (one task over all {args.images} images, then one ranking): {total_base:.1f} worker seconds = "
        f"preprocess {baseline_seconds['preprocess_backlog']:.1f} + ranking {baseline_seconds['cold_start']:.1f}"
    )
    print(
        f"burst ÷ baseline: {total_burst / total_base:.2f} in task seconds; "
        f"{burst_cpu:.1f} ÷ {baseline_cpu:.1f} = {burst_cpu / baseline_cpu:.2f} in CPU seconds of the pool process  (target ≤ 1.5)"
    )
    if args.keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
