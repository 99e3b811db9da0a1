"""Labeling-queue benchmark: latency of next/submit under concurrent annotators.

Served by gunicorn (several workers) against the database in DATABASE_URL (run it through
`.ci/with-postgres` for PostgreSQL; without DATABASE_URL it uses a fresh SQLite file).
Pools of unlabeled rows with random priorities share one stored image file. Each client is
a separate process and a distinct annotator looping next → submit for --seconds.

Prints p50/p95/p99 of next and submit, cycles per second, and how many images were handed
to two annotators (must be 0).

    .ci/with-postgres .venv/bin/python benchmarks/bench_queue.py --pools 50000 1000000 --clients 1 8
    .venv/bin/python benchmarks/bench_queue.py --pools 50000 --clients 1 4          # SQLite default
"""

import argparse
import hashlib
import io
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def build_pool(size: int, annotators: int) -> tuple[int, list[str]]:
    """A project with `size` unlabeled rows sharing one stored JPEG, and annotator tokens."""
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image as PilImage

    from labelapp.accounts.models import ApiToken, User
    from labelapp.credits.services import credit_grant
    from labelapp.images.models import Image
    from labelapp.projects.models import Membership, Role
    from labelapp.projects.services import project_create

    owner, _ = User.objects.get_or_create(username="bench-owner")
    project = project_create(
        name=f"bench-{size}",
        task_type="detection",
        created_by=owner,
        class_names=["box"],
        settings={"auto_retrain_every": 0},
    )
    out = io.BytesIO()
    PilImage.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(out, format="JPEG")
    name = default_storage.save(f"bench/shared-{project.pk}.jpg", ContentFile(out.getvalue()))
    rng = np.random.default_rng(size)
    priorities = rng.random(size)
    batch = 20_000
    for start in range(0, size, batch):
        Image.objects.bulk_create(
            [
                Image(
                    project=project,
                    file=name,
                    sha256=hashlib.sha256(f"{project.pk}-{i}".encode()).hexdigest(),
                    width=64,
                    height=64,
                    original_name=f"{i}.jpg",
                    priority=float(priorities[i]),
                )
                for i in range(start, min(size, start + batch))
            ],
            batch_size=batch,
        )
    credit_grant(project=project, amount=size)
    tokens = []
    for i in range(annotators):
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{i}")
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
        tokens.append(ApiToken.issue(user=user, name="bench")[1])
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE images_image")
    return project.pk, tokens


def client_loop(base: str, project_id: int, class_id: int, token: str, seconds: float, queue) -> None:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    next_ms, submit_ms, handed, errors = [], [], [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        response = session.post(f"{base}/api/projects/{project_id}/queue/next")
        t1 = time.perf_counter()
        if response.status_code not in (200, 201):
            errors += 1
            continue
        image = response.json()["image"]["id"]
        handed.append(image)
        t2 = time.perf_counter()
        response = session.post(
            f"{base}/api/projects/{project_id}/annotations",
            json={"image": image, "boxes": [{"x": 1, "y": 1, "w": 8, "h": 8, "label_class": class_id}]},
        )
        t3 = time.perf_counter()
        if response.status_code != 201:
            errors += 1
            continue
        next_ms.append((t1 - t0) * 1000)
        submit_ms.append((t3 - t2) * 1000)
    queue.put({"next": next_ms, "submit": submit_ms, "handed": handed, "errors": errors})


def percentiles(values):
    import numpy as np

    if not values:
        return "n/a"
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return f"p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f} ms"


def run_load(base, project_id, class_id, tokens, clients, seconds):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=client_loop, args=(base, project_id, class_id, tokens[i], seconds, queue))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    next_ms = [v for r in results for v in r["next"]]
    submit_ms = [v for r in results for v in r["submit"]]
    handed = [i for r in results for i in r["handed"]]
    doubles = len(handed) - len(set(handed))
    errors = sum(r["errors"] for r in results)
    return next_ms, submit_ms, len(next_ms) / seconds, doubles, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--web-workers", type=int, default=4)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="labelapp-bench-queue-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "labelapp.settings.local",
        "LABELAPP_VAR_DIR": str(tmp),
        "LABELAPP_MEDIA_ROOT": str(tmp / "media"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.sqlite'}",
    }
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    database = (
        "postgresql" if os.environ.get("DATABASE_URL", env.get("DATABASE_URL", "")).startswith("postgres") else "sqlite"
    )
    setup_django(env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"queue benchmark on {database}, gunicorn with {args.web_workers} workers, {args.seconds:.0f} s per run, "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    print(f"{'pool':>9} {'clients':>7}  {'next':<36} {'submit':<36} {'cycles/s':>8} {'double':>6} {'errors':>6}")
    for size in args.pools:
        t0 = time.perf_counter()
        project_id, tokens = build_pool(size, max(args.clients))
        from labelapp.projects.models import LabelClass

        class_id = LabelClass.objects.get(project_id=project_id).pk
        print(f"  (built a pool of {size} rows in {time.perf_counter() - t0:.0f} s)", flush=True)
        port = free_port()
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "labelapp.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.web_workers),
                "--log-level",
                "warning",
            ],
            env={**os.environ, **env},
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            import requests

            for _ in range(100):
                try:
                    requests.get(f"{base}/api/auth/csrf", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            for clients in args.clients:
                next_ms, submit_ms, rate, doubles, errors = run_load(
                    base, project_id, class_id, tokens, clients, args.seconds
                )
                print(
                    f"{size:>9} {clients:>7}  {percentiles(next_ms):<36} {percentiles(submit_ms):<36} {rate:>8.1f} {doubles:>6} {errors:>6}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
