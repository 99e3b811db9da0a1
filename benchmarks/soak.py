"""Soak: the whole product under mixed load through the real web and worker path.

For --seconds (default 120), against gunicorn (several workers) and a real
`celery -A labelapp.celery worker` process on the same database, media and broker:

- --annotators (default 16) annotator processes, each a distinct user with its own token,
  looping queue/next → annotation submit (the kept true boxes, or any valid box), with an
  occasional skip, at most --rate cycles a second each (the pool is sized so that they
  can never empty it: a 409 pool_empty or budget_exhausted counts as an error);
- one uploader process uploading new distinct generated porch scenes in small batches and
  re-uploading some it already sent;
- one streaming client posting generated images to /api/projects/{id}/stream;
- at half time a retrain through the API (`POST /api/projects/{id}/train` as admin), whose
  rescore of the pool runs on the worker while the load goes on.

The uploader and the streamer also send the same "overlap" images at the same instants,
so the two ingest paths race on identical content.

At the end (after the retrain and its rescore have finished) it checks and prints:
errors (any HTTP status not expected for the request), double hand-outs (client side: an
image handed to two annotators; server side: an image with two reservations), the credit
ledger against the balance counters (and spent + reserved ≤ granted, reserved = active
reservations + stream holds), every sent image stored exactly once (rows and files), the
labels and skips the clients saw against the database, the training and the rescore, and
request counts with p50/p99 latencies per kind. Exit code 0 only if every invariant holds.

Database: DATABASE_URL if set, else a temp SQLite file; broker: REDIS_URL if set, else
the embedded SQLAlchemy broker on a temp SQLite file. So::

    .venv/bin/python benchmarks/soak.py                                     # SQLite + SQLA
    .ci/with-postgres .ci/with-redis .venv/bin/python benchmarks/soak.py    # PostgreSQL + Redis
    .venv/bin/python benchmarks/soak.py --seconds 25 --annotators 6         # short (tests/system/test_soak.py)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_OK = "SOAK OK: every invariant holds"
SUMMARY_FAILED = "SOAK FAILED"

#: HTTP statuses each request kind may answer with under this soak; anything else is an error.
EXPECTED = {
    "next": {200, 201},
    "submit": {201},
    "skip": {200},
    "upload": {200, 201},
    "stream": {200, 201},
    "train": {201},
}
OVERLAP_EVERY = 10.0  # seconds between the overlap images both ingest clients send


def log(message: str) -> None:
    print(message, flush=True)


# --- environment and processes -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(root: Path) -> dict:
    """The environment every process of the soak shares (this one, gunicorn, the worker)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "labelapp.settings.local",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{root / 'db.sqlite3'}",
        "CELERY_BROKER_URL": os.environ.get("REDIS_URL") or f"sqla+sqlite:///{root / 'broker.sqlite'}",
        "LABELAPP_VAR_DIR": str(root / "var"),
        "LABELAPP_MEDIA_ROOT": str(root / "media"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        "LABELAPP_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Process:
    """A child process (worker or gunicorn) in its own session, logging to a file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - the process writes to it until stop() closes it
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.alive():
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self.log.close()


def start_worker(root: Path, env: dict, concurrency: int) -> Process:
    argv = [
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
        f"soak-{os.getpid()}@%h",
    ]
    worker = Process("worker", argv, root / "worker.log", {**env, "LABELAPP_LOG_LEVEL": "INFO"})
    wait_until(lambda: "ready." in worker.output(), timeout=120, what="the worker to start", processes=[worker])
    return worker


def start_web(root: Path, env: dict, workers: int) -> tuple[Process, str]:
    import requests

    port = free_port()
    argv = [
        str(ROOT / ".venv/bin/gunicorn"),
        "labelapp.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    web = Process("gunicorn", argv, root / "web.log", env)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/api/auth/csrf", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout=60, what="gunicorn to answer", processes=[web])
    return web, base


def wait_until(condition, *, timeout: float, what: str, processes=(), interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for process in processes:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited while waiting for {what}:\n{process.output()[-3000:]}")
        time.sleep(interval)
    tails = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in processes)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


# --- set-up ------------------------------------------------------------------------------


def build_project(*, images: int, free: int, credits: int, epochs: int, annotators: int, seed: int = 2026):
    """The porch demo project, the annotator users and every token the clients use."""
    from labelapp.accounts.models import ApiToken, User
    from labelapp.demo.data import demo_project, demo_users
    from labelapp.images.models import KeptTruth
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene
    from labelapp.projects.models import Membership, Role

    users = demo_users()
    project = demo_project(
        name="Soak porch",
        description="soak",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=images,
        free_labels=free,
        credits=credits,
        seed=seed,
        users=users,
        settings={"auto_retrain_every": 0, "max_epochs": epochs},
    )
    tokens = {"annotators": []}
    for i in range(annotators):
        user, _ = User.objects.get_or_create(username=f"soak-annotator-{i:02d}")
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
        tokens["annotators"].append(ApiToken.issue(user=user, name="soak")[1])
    for name in ("uploader", "streamer"):
        user, _ = User.objects.get_or_create(username=f"soak-{name}")
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
        tokens[name] = ApiToken.issue(user=user, name="soak")[1]
    tokens["admin"] = ApiToken.issue(user=users["admin"], name="soak")[1]
    truths = dict(KeptTruth.objects.filter(image__project=project).values_list("image_id", "boxes"))
    class_ids = list(project.label_classes.order_by("order").values_list("pk", flat=True))
    return project, tokens, truths, class_ids


def train_and_rescore(project, user, *, timeout: float, processes=()):
    """Queue a training on the worker, wait for it and for the rescore of its version."""
    from labelapp.training.runs import training_request

    run = training_request(project=project, user=user, trigger="soak")
    return wait_training(run.pk, timeout=timeout, processes=processes)


def wait_training(run_id: int, *, timeout: float, processes=()):
    from labelapp.core.jobs import JobStatus
    from labelapp.training.models import RescoreJob, TrainingRun

    done = (JobStatus.SUCCEEDED, JobStatus.FAILED)
    run = wait_until(
        lambda: TrainingRun.objects.filter(pk=run_id, status__in=done).first(),
        timeout=timeout,
        what=f"training run {run_id}",
        processes=processes,
    )
    if run.status != JobStatus.SUCCEEDED:
        return run, None
    # The rescore of a new version is the job covering the pool (not a preprocess job for
    # freshly uploaded images, which the worker also records as a RescoreJob of one chunk).
    job = wait_until(
        lambda: (
            RescoreJob.objects.filter(model_version_id=run.model_version_id, status__in=done).order_by("id").first()
        ),
        timeout=timeout,
        what=f"the rescore of version {run.model_version_id}",
        processes=processes,
    )
    return run, job


# --- clients (separate processes) --------------------------------------------------------


def _session(token: str):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


class Recorder:
    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def call(self, kind: str, method, url: str, **kwargs):
        started = time.perf_counter()
        try:
            response = method(url, timeout=120, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a refused or dropped connection is an error too
            self.latency[kind].append((time.perf_counter() - started) * 1000)
            self.statuses[kind][-1] += 1
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return None
        self.latency[kind].append((time.perf_counter() - started) * 1000)
        self.statuses[kind][response.status_code] += 1
        if response.status_code not in EXPECTED[kind]:
            self.errors.append(f"{kind}: HTTP {response.status_code} {response.text[:300]}")
            return None
        return response

    def result(self, **extra) -> dict:
        return {
            "latency": dict(self.latency),
            "errors": self.errors,
            "statuses": {k: dict(v) for k, v in self.statuses.items()},
            **extra,
        }


def _wait_start(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def annotator_loop(base, project_id, token, truths, class_id, start_at, seconds, skip_rate, rate, seed, out):
    rng = random.Random(seed)
    session, rec = _session(token), Recorder()
    handed, submitted, skipped = [], 0, 0
    _wait_start(start_at)
    deadline = start_at + seconds
    cycle_started = 0.0
    while time.time() < deadline:
        # At most `rate` cycles a second: on an idle machine 16 loops would otherwise empty
        # any pool the set-up can afford; under load the cycle is slower and never waits.
        time.sleep(max(0.0, cycle_started + 1.0 / rate - time.monotonic()))
        cycle_started = time.monotonic()
        response = rec.call("next", session.post, f"{base}/api/projects/{project_id}/queue/next")
        if response is None:
            continue
        image = response.json()["image"]
        if response.status_code == 201:
            handed.append(image["id"])
        if rng.random() < skip_rate:
            if rec.call(
                "skip", session.post, f"{base}/api/projects/{project_id}/queue/skip", json={"image": image["id"]}
            ):
                skipped += 1
            continue
        boxes = truths.get(image["id"]) or [
            {"x": 1, "y": 1, "w": min(8, image["width"] - 2), "h": min(8, image["height"] - 2), "label_class": class_id}
        ]
        body = {"image": image["id"], "boxes": boxes, "seconds_spent": round(rng.uniform(1, 9), 2)}
        if rec.call("submit", session.post, f"{base}/api/projects/{project_id}/annotations", json=body):
            submitted += 1
    out.put(rec.result(role="annotator", handed=handed, submitted=submitted, skipped=skipped))


def _scene_jpeg(seed_text: str) -> bytes:
    import numpy as np
    from PIL import Image as PilImage

    from labelapp.learning.scenes import porch_scene

    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "big")
    array, _, _ = porch_scene(np.random.default_rng(seed))
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _overlap_due(start_at: float, sent: int) -> bool:
    return time.time() >= start_at + OVERLAP_EVERY * (sent + 0.5)


def uploader_loop(base, project_id, token, start_at, seconds, interval, run_id, out):
    rng = random.Random(11)
    session, rec = _session(token), Recorder()
    sent: dict[str, int] = {}  # sha256 → times sent
    previous: list[bytes] = []
    new = overlap = mismatches = 0
    _wait_start(start_at)
    deadline = start_at + seconds
    while time.time() < deadline:
        files, fresh = [], []
        if _overlap_due(start_at, overlap):
            # Slept to the instant the streamer sends the same bytes.
            time.sleep(max(0.0, start_at + OVERLAP_EVERY * (overlap + 0.5) - time.time()))
            files.append(_scene_jpeg(f"{run_id}-overlap-{overlap}"))
            overlap += 1
        else:
            for _ in range(rng.randint(1, 3)):
                fresh.append(_scene_jpeg(f"{run_id}-upload-{new}"))
                new += 1
            files.extend(fresh)
            if previous and rng.random() < 0.3:
                files.append(rng.choice(previous))  # a re-upload: must come back as a duplicate
        shas = [hashlib.sha256(data).hexdigest() for data in files]
        payload = [("files", (f"soak-{sha[:12]}.jpg", data, "image/jpeg")) for sha, data in zip(shas, files)]
        response = rec.call("upload", session.post, f"{base}/api/projects/{project_id}/images", files=payload)
        if response is not None:
            body = response.json()
            answered = {row["sha256"] for row in body["created"]} | {row["sha256"] for row in body["duplicates"]}
            if answered != set(shas) or len(body["created"]) + len(body["duplicates"]) != len(shas):
                mismatches += 1
                rec.errors.append(
                    f"upload: answer does not match the files sent: {len(shas)} sent, "
                    f"{len(body['created'])} created, {len(body['duplicates'])} duplicates"
                )
            for sha in shas:
                if sha in sent and sha not in {row["sha256"] for row in body["duplicates"]}:
                    mismatches += 1
                    rec.errors.append(f"upload: {sha[:12]} was sent before but came back as created")
        for sha in shas:
            sent[sha] = sent.get(sha, 0) + 1
        previous.extend(fresh)
        time.sleep(interval * rng.uniform(0.5, 1.5))
    out.put(rec.result(role="uploader", sent=sent, mismatches=mismatches))


def streamer_loop(base, project_id, token, start_at, seconds, interval, run_id, out):
    rng = random.Random(13)
    session, rec = _session(token), Recorder()
    sent: dict[str, int] = {}
    decisions: dict[str, int] = defaultdict(int)
    new = overlap = 0
    _wait_start(start_at)
    deadline = start_at + seconds
    while time.time() < deadline:
        if _overlap_due(start_at, overlap):
            time.sleep(max(0.0, start_at + OVERLAP_EVERY * (overlap + 0.5) - time.time()))
            data = _scene_jpeg(f"{run_id}-overlap-{overlap}")
            overlap += 1
        else:
            data = _scene_jpeg(f"{run_id}-stream-{new}")
            new += 1
        sha = hashlib.sha256(data).hexdigest()
        response = rec.call(
            "stream",
            session.post,
            f"{base}/api/projects/{project_id}/stream",
            files={"file": (f"stream-{sha[:12]}.jpg", data, "image/jpeg")},
        )
        if response is not None:
            decisions[response.json()["decision"]] += 1
        sent[sha] = sent.get(sha, 0) + 1
        time.sleep(interval * rng.uniform(0.5, 1.5))
    out.put(rec.result(role="streamer", sent=sent, decisions=dict(decisions)))


# --- checks ------------------------------------------------------------------------------


def percentiles(values: list[float]) -> str:
    import numpy as np

    if not values:
        return "n/a"
    p50, p99 = np.percentile(values, [50, 99])
    return f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {max(values):7.1f} ms"


def check(
    project, results: list[dict], train_result: dict, media_root: Path, logs: dict[str, str]
) -> list[tuple[str, bool, str]]:
    """Every invariant as (name, holds, figures)."""
    from django.db.models import Count

    from labelapp.core.jobs import JobStatus
    from labelapp.credits.models import HoldState, StreamHold
    from labelapp.credits.services import balance_get, ledger_totals
    from labelapp.images.models import Image
    from labelapp.labeling.models import Annotation, AnnotationKind, Reservation, ReservationState
    from labelapp.training.models import ModelVersion, RescoreJob

    checks = []
    errors = [e for r in results for e in r["errors"]] + train_result.get("errors", [])
    checks.append(("zero errors", not errors, f"{len(errors)} errors" + "".join(f"\n      {e}" for e in errors[:15])))

    handed = [i for r in results if r["role"] == "annotator" for i in r["handed"]]
    client_doubles = len(handed) - len(set(handed))
    server_doubles = (
        Reservation.objects.filter(project=project).values("image").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    active_per_image = (
        Reservation.objects.filter(project=project, state=ReservationState.ACTIVE)
        .values("image")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    checks.append(
        (
            "zero double hand-outs",
            client_doubles == 0 and server_doubles == 0 and active_per_image == 0,
            f"{len(handed)} hand-outs, {client_doubles} images handed twice (clients), {server_doubles} images "
            f"with two reservations (database), {active_per_image} with two active",
        )
    )

    balance = balance_get(project=project).as_dict()
    ledger = ledger_totals(project=project)
    active = Reservation.objects.filter(project=project, state=ReservationState.ACTIVE).count()
    held = StreamHold.objects.filter(project=project, state=HoldState.HELD).count()
    checks.append(("ledger == balance", ledger == balance, f"ledger {ledger}, balance {balance}"))
    checks.append(
        (
            "spent + reserved <= granted",
            balance["spent"] + balance["reserved"] <= balance["granted"],
            f"{balance['spent']} + {balance['reserved']} <= {balance['granted']}",
        )
    )
    checks.append(
        (
            "reserved == active reservations + stream holds",
            balance["reserved"] == active + held,
            f"reserved {balance['reserved']}, {active} active reservations, {held} stream holds",
        )
    )

    submitted = sum(r.get("submitted", 0) for r in results)
    skipped = sum(r.get("skipped", 0) for r in results)
    users = [f"soak-annotator-{i:02d}" for i in range(len([r for r in results if r["role"] == "annotator"]))]
    labels = Annotation.objects.filter(
        project=project, kind=AnnotationKind.HUMAN, annotator__username__in=users
    ).count()
    released = Reservation.objects.filter(
        project=project, state=ReservationState.RELEASED, user__username__in=users
    ).count()
    spent_by_labels = Reservation.objects.filter(project=project, state=ReservationState.SUBMITTED).count()
    checks.append(
        (
            "labels and skips seen == stored",
            labels == submitted and released == skipped and spent_by_labels == balance["spent"],
            f"{submitted} submits answered 201, {labels} human labels stored; {skipped} skips answered 200, "
            f"{released} reservations released; {spent_by_labels} submitted reservations, {balance['spent']} spent",
        )
    )

    sent: dict[str, int] = defaultdict(int)
    for r in results:
        for sha, n in r.get("sent", {}).items():
            sent[sha] += n
    shas = list(sent)
    rows = 0
    for start in range(0, len(shas), 500):
        rows += Image.objects.filter(project=project, sha256__in=shas[start : start + 500]).count()
    duplicated = Image.objects.filter(project=project).values("sha256").annotate(n=Count("id")).filter(n__gt=1).count()
    total_rows = Image.objects.filter(project=project).count()
    stored_files = [p for p in (media_root / f"projects/{project.pk}/images").rglob("*") if p.is_file()]
    stored_thumbs = [p for p in (media_root / f"projects/{project.pk}/thumbnails").rglob("*") if p.is_file()]
    per_sha = defaultdict(int)
    for path in stored_files:
        per_sha[path.name[:64]] += 1
    files_off = [sha for sha in shas if per_sha.get(sha, 0) != 1]
    resent = sum(n - 1 for n in sent.values())
    rows_with_thumbs = Image.objects.filter(project=project).exclude(thumbnail="").count()
    checks.append(
        (
            "every sent image stored exactly once",
            rows == len(shas)
            and duplicated == 0
            and not files_off
            and len(stored_files) == total_rows
            and len(stored_thumbs) == rows_with_thumbs,
            f"{len(shas)} distinct images sent ({resent} re-sends), {rows} rows with those sha256, "
            f"{duplicated} sha256 stored twice; {len(stored_files)} image files for {total_rows} rows, "
            f"{len(stored_thumbs)} thumbnails for {rows_with_thumbs} rows, {len(files_off)} sent images "
            f"without exactly one file",
        )
    )

    run, job = train_result.get("run"), train_result.get("job")
    ok = (
        run is not None
        and run.status == JobStatus.SUCCEEDED
        and job is not None
        and job.status == JobStatus.SUCCEEDED
        and job.chunks_done == job.chunks_total
        and job.images_total > 0
        and ModelVersion.objects.filter(project=project, is_active=True).values_list("pk", flat=True).first()
        == run.model_version_id
    )
    figures = (
        "no training"
        if run is None
        else (
            f"run {run.pk} {run.status} ({run.epoch}/{run.epochs_max} epochs, {train_result['train_s']:.1f}s after the "
            f"request) {run.error or ''}".strip()
        )
    )
    if job is not None:
        figures += (
            f"; rescore of v{job.model_version.number}: {job.status}, {job.chunks_done}/{job.chunks_total} chunks, "
            f"{job.images_total} images, done {train_result['rescore_s']:.1f}s after the request"
        )
    checks.append(("mid-soak retrain and rescore succeeded", ok, figures))

    open_jobs = RescoreJob.objects.filter(project=project).exclude(status=JobStatus.SUCCEEDED).count()
    all_jobs = RescoreJob.objects.filter(project=project).count()
    checks.append(
        (
            "every rescore job (incl. new-image scoring) finished",
            open_jobs == 0,
            f"{all_jobs} jobs, {open_jobs} not succeeded",
        )
    )

    bad_lines = []
    for name, text in logs.items():
        for line in text.splitlines():
            if "Traceback" in line or " ERROR" in line or "CRITICAL" in line or "[ERROR]" in line:
                bad_lines.append(f"{name}: {line[:200]}")
    checks.append(
        (
            "no error in the worker and web logs",
            not bad_lines,
            f"{len(bad_lines)} lines" + "".join(f"\n      {line}" for line in bad_lines[:10]),
        )
    )
    return checks


def warm_up(base: str, project_id: int, token: str, web_workers: int) -> None:
    """Predictions (collection rules are off: nothing is stored) so that the gunicorn workers
    have imported torch and loaded the model before the clock starts."""
    from concurrent.futures import ThreadPoolExecutor

    data = _scene_jpeg("warm-up")

    def one(_):
        response = _session(token).post(
            f"{base}/api/projects/{project_id}/predict", timeout=120, files={"file": ("warm.jpg", data, "image/jpeg")}
        )
        if response.status_code != 200 or response.json()["collection"]["kept"]:
            raise RuntimeError(f"warm-up predict: HTTP {response.status_code} {response.text[:300]}")

    started = time.monotonic()
    with ThreadPoolExecutor(web_workers) as pool:
        list(pool.map(one, range(web_workers * 3)))
    log(f"  gunicorn warmed up ({web_workers * 3} predictions) in {time.monotonic() - started:.1f}s")


# --- the soak ----------------------------------------------------------------------------


def run_soak(args) -> bool:
    root = Path(tempfile.mkdtemp(prefix="labelapp-soak-"))
    env = environment(root)
    database = "postgresql" if env["DATABASE_URL"].startswith("postgres") else "sqlite"
    broker = "redis" if env["CELERY_BROKER_URL"].startswith("redis") else "sqla+sqlite"
    processes: list[Process] = []
    clients: list = []
    try:
        setup_django()
        from labelapp.accounts.models import User
        from labelapp.core.jobs import JobStatus

        log(
            f"soak: {args.seconds:.0f} s, {args.annotators} annotators + 1 uploader + 1 streamer, database {database}, "
            f"broker {broker}, gunicorn {args.web_workers} workers, celery worker concurrency {args.worker_concurrency}, "
            f"{os.cpu_count()} CPUs, temp {root}"
        )
        started = time.monotonic()
        project, tokens, truths, class_ids = build_project(
            images=args.images, free=args.free, credits=args.credits, epochs=args.epochs, annotators=args.annotators
        )
        log(
            f"  project {project.pk}: {args.images} porch images ({args.free} free labels), {args.credits} credits, "
            f"max_epochs {args.epochs}, auto-retrain off ({time.monotonic() - started:.1f}s)"
        )

        worker = start_worker(root, env, args.worker_concurrency)
        processes.append(worker)
        started = time.monotonic()
        admin = User.objects.get(username="admin")
        run, job = train_and_rescore(project, admin, timeout=args.timeout, processes=[worker])
        if run.status != JobStatus.SUCCEEDED or job is None or job.status != JobStatus.SUCCEEDED:
            raise RuntimeError(f"the first training failed: {run.status} {run.error}\n{worker.output()[-3000:]}")
        log(
            f"  model v1 trained and the pool rescored on the worker in {time.monotonic() - started:.1f}s "
            f"({job.images_total} images)"
        )

        web, base = start_web(root, env, args.web_workers)
        processes.append(web)
        warm_up(base, project.pk, tokens["admin"], args.web_workers)

        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        start_at = time.time() + 3.0  # every client starts its clock at the same instant
        run_id = hashlib.sha256(str(root).encode()).hexdigest()[:8]
        for i, token in enumerate(tokens["annotators"]):
            clients.append(
                ctx.Process(
                    target=annotator_loop,
                    args=(
                        base,
                        project.pk,
                        token,
                        truths,
                        class_ids[0],
                        start_at,
                        args.seconds,
                        args.skip_rate,
                        args.rate,
                        i,
                        out,
                    ),
                )
            )
        clients.append(
            ctx.Process(
                target=uploader_loop,
                args=(base, project.pk, tokens["uploader"], start_at, args.seconds, args.upload_interval, run_id, out),
            )
        )
        clients.append(
            ctx.Process(
                target=streamer_loop,
                args=(base, project.pk, tokens["streamer"], start_at, args.seconds, args.stream_interval, run_id, out),
            )
        )
        for client in clients:
            client.start()

        # The retrain at half time, through the API, as the admin.
        train_result: dict = {"errors": []}
        time.sleep(max(0.0, start_at + args.seconds / 2 - time.time()))
        rec = Recorder()
        response = rec.call("train", _session(tokens["admin"]).post, f"{base}/api/projects/{project.pk}/train")
        train_result["errors"] = rec.errors
        log(
            f"  t={time.time() - start_at:.0f}s: POST /train → {response.status_code if response is not None else 'error'}"
        )

        results = [out.get(timeout=args.seconds + 300) for _ in clients]
        for client in clients:
            client.join(timeout=30)
        results.append(rec.result(role="admin"))
        soak_end = time.monotonic()
        log("  load finished; waiting for the retrain and its rescore")

        if response is not None:
            from labelapp.training.models import RescoreJob

            run_pk = response.json()["id"]
            run, job = wait_training(run_pk, timeout=args.timeout, processes=[worker])
            train_result.update(run=run, job=job)
            train_result["train_s"] = (run.finished_at - run.created_at).total_seconds() if run.finished_at else 0
            train_result["rescore_s"] = (
                (job.finished_at - run.created_at).total_seconds() if job is not None and job.finished_at else 0
            )
            # New images keep being scored by the worker after the load stops: let it drain.
            wait_until(
                lambda: not RescoreJob.objects.filter(project=project).exclude(status=JobStatus.SUCCEEDED).exists(),
                timeout=args.timeout,
                what="the worker to finish scoring new images",
                processes=[worker],
            )
        log(f"  settled {time.monotonic() - soak_end:.1f}s after the load\n")

        # Figures.
        latency: dict[str, list[float]] = defaultdict(list)
        statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for r in results:
            for kind, values in r["latency"].items():
                latency[kind].extend(values)
            for kind, counts in r["statuses"].items():
                for code, n in counts.items():
                    statuses[kind][int(code)] += n
        log(f"requests over {args.seconds:.0f} s:")
        for kind in ("next", "submit", "skip", "upload", "stream", "train"):
            values = latency.get(kind, [])
            codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses[kind].items()))
            log(
                f"  {kind:<7} {len(values):>6}  ({len(values) / args.seconds:6.1f}/s)  {percentiles(values)}  [{codes}]"
            )
        annotators = [r for r in results if r["role"] == "annotator"]
        cycles = sum(r["submitted"] + r["skipped"] for r in annotators)
        log(
            f"  labels: {sum(r['submitted'] for r in annotators)} submitted, {sum(r['skipped'] for r in annotators)} "
            f"skipped ({cycles / args.seconds:.1f} cycles/s)"
        )
        stream = next(r for r in results if r["role"] == "streamer")
        log(f"  stream decisions: {stream['decisions']}")
        log("")

        logs = {"worker": worker.output(), "web": web.output()}
        checks = check(project, results, train_result, Path(env["LABELAPP_MEDIA_ROOT"]), logs)
        log("invariants:")
        for name, holds, figures in checks:
            log(f"  [{'ok' if holds else 'FAIL'}] {name}: {figures}")
        ok = all(holds for _, holds, _ in checks)
        log("")
        log(SUMMARY_OK if ok else f"{SUMMARY_FAILED}: {', '.join(n for n, h, _ in checks if not h)}")
        return ok
    finally:
        for client in clients:
            if client.is_alive():
                client.terminate()
                client.join(timeout=10)
        for process in reversed(processes):
            # Everything is checked by now: no graceful drain of the worker (it waits ~20 s).
            process.stop(signal.SIGKILL if process.name == "worker" else signal.SIGTERM)
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--annotators", type=int, default=16)
    parser.add_argument(
        "--images",
        type=int,
        default=None,
        help="porch demo images (default: free + annotators × seconds × rate + 60, so the "
        "annotators can never empty the pool)",
    )
    parser.add_argument("--free", type=int, default=60, help="of which imported with free labels")
    parser.add_argument("--credits", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=3, help="max_epochs of every training")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.75,
        help="at most this many next → submit cycles a second per annotator (default 0.75)",
    )
    parser.add_argument("--skip-rate", type=float, default=0.08)
    parser.add_argument("--upload-interval", type=float, default=0.5, help="mean pause between uploads (s)")
    parser.add_argument("--stream-interval", type=float, default=0.25, help="mean pause between streamed images (s)")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="bound on each wait for the worker")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, database, media)")
    args = parser.parse_args(argv)
    if args.images is None:
        args.images = args.free + int(args.annotators * args.seconds * args.rate) + 60
    try:
        return 0 if run_soak(args) else 1
    except Exception as exc:  # noqa: BLE001 - the soak reports, then fails
        import traceback

        traceback.print_exc()
        log(f"{SUMMARY_FAILED}: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
