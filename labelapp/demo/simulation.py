"""The end-to-end proof of the loop: play the annotators with the kept-aside ground truth.

`simulate()` drives a project exactly as people would, through the same services
(`image_reserve_next`, `annotation_submit`, `image_skip`); every label may trigger the
auto-retrain (`training_maybe_start`), and the training, evaluation, activation and chord
rescore run on the real Celery worker. Nothing is trained in this process: after each
label that triggered a training the simulator waits for that training and for the rescore
of the new model version to finish, so the next image it reserves is the top of a queue
ordered by the new model (as it would be for an annotator who comes back a bit later).

The learning curve (credits spent → val and test metric per model version) is stored as a
`LearningCurve` row on the simulated project AND, when the simulation ran on a copy, on the
source project as well: the admin page of the demo project then shows the active strategy
and the random baseline side by side (GET /api/projects/{id}/learning-curve → `runs`).

Copies (`project_copy`): a new project with new Image rows that share the stored files
(no bytes are copied; deleting a project never deletes files), the same label classes,
memberships, free (imported) labels and KeptTruth, and the source's granted credits.
Human labels of the source are not copied: their images go back to the copy's pool, so a
copy always starts where the source started, whatever has been labeled there since.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from labelapp.core.errors import ConflictError, ServiceError
from labelapp.core.jobs import OPEN_STATUSES, JobStatus
from labelapp.credits.services import balance_get, credit_grant
from labelapp.images.models import Image, KeptTruth, Source, Split, Status
from labelapp.labeling.models import Annotation, class_index_for
from labelapp.labeling.services import annotation_submit, image_reserve_next, image_skip
from labelapp.projects.models import LabelClass, Membership, Project, Role, TaskType
from labelapp.projects.services import project_create, project_update_settings
from labelapp.projects.task_types import task_type_spec
from labelapp.training.models import LearningCurve, ModelVersion, RescoreJob, TrainingRun

SIMULATOR_USERNAME = "simulator"


class SimulationError(ServiceError):
    pass


@dataclass
class SimulationResult:
    project: Project
    source: Project
    strategy: str
    curve: LearningCurve
    credits_spent: int = 0
    skipped: int = 0
    versions: list[int] = field(default_factory=list)
    seconds: float = 0.0


def metric_name(project) -> str:
    return task_type_spec(project.task_type).headline_metric


def project_strategy(project) -> str:
    from labelapp.projects.settings_schema import default_strategy

    return project.config.get("strategy") or default_strategy(project.task_type)


def simulator_user(project):
    """The simulated annotator: its own user, so it never takes over a person's reservation."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(username=SIMULATOR_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
    return user


# --- copies ----------------------------------------------------------------------------


def _map_boxes(boxes, class_map: dict[int, int]) -> list:
    return [
        {**box, "label_class": class_map[box["label_class"]]} if "label_class" in box else dict(box)
        for box in boxes or []
    ]


@transaction.atomic
def project_copy(*, source: Project, settings: dict | None = None, name: str | None = None) -> Project:
    """A simulation copy of `source` (see the module docstring). `settings` override the
    source's settings (e.g. {"strategy": "random"})."""
    merged = {**(source.settings or {}), **(settings or {})}
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    name = name or f"{source.name} · simulation {merged.get('strategy') or project_strategy(source)} {stamp}"
    copy = project_create(
        name=name[:200],
        task_type=source.task_type,
        created_by=source.created_by,
        description=f"Simulation copy of project {source.pk} ({source.name}).",
        settings=merged,
    )
    class_map = {}
    for label_class in source.label_classes.order_by("order", "id"):
        new = LabelClass.objects.create(
            project=copy,
            name=label_class.name,
            color=label_class.color,
            hotkey=label_class.hotkey,
            order=label_class.order,
        )
        class_map[label_class.pk] = new.pk
    for membership in source.memberships.exclude(user_id=copy.created_by_id):
        Membership.objects.get_or_create(project=copy, user_id=membership.user_id, defaults={"role": membership.role})

    free = {a.image_id: a for a in Annotation.objects.filter(project=source, is_free=True)}
    images = list(Image.objects.filter(project=source).exclude(source=Source.SYNTHETIC).order_by("id"))
    rows = []
    for image in images:
        labeled = image.pk in free
        rows.append(
            Image(
                project=copy,
                file=image.file.name,
                thumbnail=image.thumbnail.name,
                sha256=image.sha256,
                width=image.width,
                height=image.height,
                original_name=image.original_name,
                source=image.source,
                split=image.split if labeled else Split.POOL,
                status=Status.LABELED if labeled else Status.UNLABELED,
                labeled_at=image.labeled_at if labeled else None,
            )
        )
    Image.objects.bulk_create(rows, batch_size=1000)
    new_ids = dict(Image.objects.filter(project=copy).values_list("sha256", "pk"))
    old_to_new = {image.pk: new_ids[image.sha256] for image in images}

    annotations = []
    for a in free.values():
        if a.image_id not in old_to_new:
            continue
        boxes, label_class_id = _map_boxes(a.boxes, class_map), class_map.get(a.label_class_id)
        annotations.append(
            Annotation(
                project=copy,
                image_id=old_to_new[a.image_id],
                boxes=boxes,
                label_class_id=label_class_id,
                kind=a.kind,
                is_free=True,
                annotator_id=a.annotator_id,
                seconds_spent=a.seconds_spent,
                class_index=class_index_for(label_class_id, boxes),
            )
        )
    Annotation.objects.bulk_create(annotations, batch_size=1000)
    KeptTruth.objects.bulk_create(
        [
            KeptTruth(
                image_id=old_to_new[t.image_id],
                boxes=_map_boxes(t.boxes, class_map),
                label_class_id=class_map.get(t.label_class_id),
            )
            for t in KeptTruth.objects.filter(image__project=source)
            if t.image_id in old_to_new
        ],
        batch_size=1000,
    )
    granted = balance_get(project=source).granted
    if granted:
        credit_grant(project=copy, amount=granted, note=f"simulation copy of project {source.pk}")
    return copy


# --- waiting on the worker -------------------------------------------------------------


class Waiter:
    """Polls the database for work done by the Celery worker (never does the work itself)."""

    def __init__(
        self, *, progress: Callable[[str], None], queued_timeout: float, timeout: float, interval: float = 0.25
    ):
        self.progress, self.queued_timeout, self.timeout, self.interval = progress, queued_timeout, timeout, interval

    def training(self, run_id: int) -> ModelVersion | None:
        started = time.monotonic()
        last_epoch = -1
        while True:
            run = TrainingRun.objects.get(pk=run_id)
            elapsed = time.monotonic() - started
            if run.status == JobStatus.SUCCEEDED:
                version = ModelVersion.objects.get(pk=run.model_version_id)
                self.progress(
                    f"    trained v{version.number} in {elapsed:.1f}s on {version.labels_seen} train labels: "
                    f"{_metric_text(version)}"
                )
                return version
            if run.status == JobStatus.FAILED:
                self.progress(f"    training run {run_id} FAILED: {run.error}")
                return None
            if run.status == JobStatus.QUEUED and elapsed > self.queued_timeout:
                raise SimulationError(
                    f"No Celery worker picked up training run {run_id} within {self.queued_timeout:.0f}s. Start one "
                    "(`make run`, or `.venv/bin/celery -A labelapp.celery worker`) and run simulate again.",
                    code="no_worker",
                )
            if elapsed > self.timeout:
                raise SimulationError(
                    f"Training run {run_id} did not finish within {self.timeout:.0f}s.", code="timeout"
                )
            if run.status == JobStatus.RUNNING and run.epoch != last_epoch and run.epoch:
                last_epoch = run.epoch
                loss = f"{run.loss:.4f}" if run.loss is not None else "-"
                self.progress(f"    training run {run_id}: epoch {run.epoch}/{run.epochs_max} loss {loss}")
            time.sleep(self.interval)

    def rescore(self, version: ModelVersion) -> RescoreJob | None:
        started = time.monotonic()
        while True:
            job = RescoreJob.objects.filter(model_version=version).order_by("-id").first()
            elapsed = time.monotonic() - started
            if job is not None and job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                self.progress(
                    f"    rescored {job.images_total} pool images with v{version.number} "
                    f"({job.chunks_done}/{job.chunks_total} chunks) in {elapsed:.1f}s: {job.status}"
                )
                return job
            if job is None and not ModelVersion.objects.filter(pk=version.pk, is_active=True).exists():
                return None  # a newer version replaced it before its rescore started
            if job is None and elapsed > self.queued_timeout:
                raise SimulationError(
                    f"The rescore of v{version.number} never started within {self.queued_timeout:.0f}s.",
                    code="no_worker",
                )
            if elapsed > self.timeout:
                raise SimulationError(
                    f"The rescore of v{version.number} did not finish within {self.timeout:.0f}s.", code="timeout"
                )
            time.sleep(self.interval)

    def run_and_rescore(self, run_id: int) -> ModelVersion | None:
        version = self.training(run_id)
        if version is not None:
            self.rescore(version)
        return version

    def idle(self, project) -> None:
        """Wait for trainings and rescores already under way (e.g. the demo's first training)."""
        for run_id in TrainingRun.objects.filter(project=project, status__in=OPEN_STATUSES).values_list(
            "pk", flat=True
        ):
            self.progress(f"  waiting for training run {run_id}, already under way")
            self.run_and_rescore(run_id)
        for job in RescoreJob.objects.filter(project=project, status=JobStatus.RUNNING).select_related("model_version"):
            if job.model_version.is_active:
                self.progress(f"  waiting for the rescore with v{job.model_version.number}, already under way")
                self.rescore(job.model_version)


def _metric_text(version: ModelVersion) -> str:
    name = (
        "map50"
        if "map50" in (version.metrics.get("val") or {}) or "map50" in (version.metrics.get("test") or {})
        else "accuracy"
    )
    val = (version.metrics.get("val") or {}).get(name)
    test = (version.metrics.get("test") or {}).get(name)
    text = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return f"val {name} {text(val)}, test {name} {text(test)}"


# --- the simulation --------------------------------------------------------------------


def _ensure_cold_start(project, progress) -> None:
    """A pool nobody has scored yet (no model, no cold start) gets its first priorities, as
    preprocessing would give them: representative picks, or random ones for `random`."""
    from labelapp.training.preprocess import cold_start_priorities

    pool = Image.objects.filter(project=project, status=Status.UNLABELED)
    if ModelVersion.objects.filter(project=project, is_active=True).exists() or pool.exclude(score_reason="").exists():
        return
    started = time.monotonic()
    cold_start_priorities(project=project)
    progress(
        f"  cold-start priorities for {pool.count()} pool images ({project_strategy(project)}) "
        f"in {time.monotonic() - started:.1f}s"
    )


def curve_points(versions, *, metric: str, spent_at_start: int) -> list[dict]:
    return [
        {
            "credits_spent": max(0, v.credits_spent - spent_at_start),
            "labels": v.labels_seen,
            "model_version": v.number,
            "val": (v.metrics.get("val") or {}).get(metric),
            "test": (v.metrics.get("test") or {}).get(metric),
        }
        for v in versions
    ]


def simulate(
    *,
    project: Project,
    strategy: str | None = None,
    budget: int | None = None,
    retrain_every: int | None = None,
    max_epochs: int | None = None,
    copy: bool | None = None,
    final_retrain: bool = True,
    progress: Callable[[str], None] = print,
    queued_timeout: float = 120.0,
    timeout: float = 3600.0,
    poll_interval: float = 0.25,
) -> SimulationResult:
    """Spend `budget` credits (default: all available) labeling `project` with its kept truth.

    `copy` defaults to True for the random strategy (the source keeps its own strategy and
    data) and False otherwise; `strategy`, `retrain_every` and `max_epochs` are written into
    the settings of the project simulated (the copy's, or the project's own)."""
    started = time.monotonic()
    source = project
    if strategy is not None:
        from labelapp.projects.settings_schema import strategies_for

        fitting = strategies_for(project.task_type)
        if strategy not in fitting:
            raise SimulationError(
                f"Strategy {strategy!r} does not fit a {project.task_type} project; choose from {', '.join(fitting)}.",
                code="strategy",
            )
    if copy is None:
        copy = strategy == "random" and project_strategy(source) != "random"
    changes = {}
    if strategy is not None:
        changes["strategy"] = strategy
    if retrain_every is not None:
        changes["auto_retrain_every"] = retrain_every
    if max_epochs is not None:
        changes["max_epochs"] = max_epochs
    if copy:
        target = project_copy(source=source, settings=changes)
        progress(
            f"copied project {source.pk} ({source.name!r}) to project {target.pk} ({target.name!r}): "
            f"{Image.objects.filter(project=target).count()} images sharing the stored files"
        )
    else:
        target = project_update_settings(project=source, changes=changes) if changes else source
    config = target.config
    strategy = project_strategy(target)
    if not config["auto_retrain_every"]:
        raise SimulationError("auto_retrain_every is 0 on this project: pass --retrain-every K.", code="no_retrain")
    if not KeptTruth.objects.filter(image__project=target).exists():
        raise SimulationError(f"Project {target.pk} has no kept-aside ground truth to label with.", code="no_truth")
    user = simulator_user(target)
    waiter = Waiter(progress=progress, queued_timeout=queued_timeout, timeout=timeout, interval=poll_interval)
    progress(
        f"simulating project {target.pk} ({target.name!r}): strategy {strategy}, retrain every "
        f"{config['auto_retrain_every']} train labels, max_epochs {config['max_epochs']}"
    )

    waiter.idle(target)
    _ensure_cold_start(target, progress)
    first = ModelVersion.objects.filter(project=target, is_active=True).first()
    if first is None:
        from labelapp.training.runs import training_request

        progress("  no model yet: training one on the free labels")
        run = training_request(project=target, trigger="simulate")
        first = waiter.run_and_rescore(run.pk)
        if first is None:
            raise SimulationError("The first training failed; see the worker log.", code="training_failed")

    balance = balance_get(project=target)
    spent_at_start = balance.spent
    budget = balance.available if budget is None else min(budget, balance.available)
    progress(f"  budget: {budget} credits ({balance.available} available)")
    spent = skipped = 0
    while spent < budget:
        try:
            item = image_reserve_next(project=target, user=user)
        except ConflictError as exc:
            progress(f"  stopping: {exc.message}")
            break
        image = item.image
        truth = KeptTruth.objects.filter(image=image).first()
        if truth is None:
            image_skip(project=target, user=user, image_id=image.pk)
            skipped += 1
            continue
        last_run = TrainingRun.objects.filter(project=target).aggregate(n=Max("id"))["n"] or 0
        if target.task_type == TaskType.CLASSIFICATION:
            annotation_submit(project=target, user=user, image_id=image.pk, label_class=truth.label_class_id)
        else:
            annotation_submit(project=target, user=user, image_id=image.pk, boxes=truth.boxes)
        spent += 1
        triggered = list(
            TrainingRun.objects.filter(project=target, pk__gt=last_run).order_by("id").values_list("pk", flat=True)
        )
        if spent % 10 == 0 or triggered or spent == budget:
            progress(
                f"  label {spent}/{budget}: image {image.pk} (priority {item.reservation.score:.4f}, "
                f"{item.reservation.reason})"
            )
        for run_id in triggered:
            progress(f"  retrain triggered (run {run_id}) after {spent} credits")
            waiter.run_and_rescore(run_id)

    if final_retrain:
        from labelapp.training.runs import training_request
        from labelapp.training.training_data import labeled_count

        waiter.idle(target)
        last = TrainingRun.objects.filter(project=target).aggregate(n=Max("labels_at_start"))["n"] or 0
        if labeled_count(project=target) > last:
            progress(f"  final training on all {labeled_count(project=target)} train labels")
            run = training_request(project=target, trigger="simulate")
            waiter.run_and_rescore(run.pk)

    versions = list(ModelVersion.objects.filter(project=target, number__gte=first.number).order_by("number"))
    metric = metric_name(target)
    points = curve_points(versions, metric=metric, spent_at_start=spent_at_start)
    curve = LearningCurve.objects.create(project=target, strategy=strategy, metric=metric, points=points)
    if target.pk != source.pk:
        LearningCurve.objects.create(project=source, strategy=strategy, metric=metric, points=points)
    return SimulationResult(
        project=target,
        source=source,
        strategy=strategy,
        curve=curve,
        credits_spent=spent,
        skipped=skipped,
        versions=[v.number for v in versions],
        seconds=time.monotonic() - started,
    )


def curve_table(points: list[dict], metric: str) -> str:
    text = lambda v: "    -" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [f"  credits  labels  version  val {metric}  test {metric}"]
    for p in points:
        lines.append(
            f"  {p['credits_spent']:7d}  {p['labels']:6d}  v{p['model_version']:<7d} {text(p['val']):>9}  {text(p['test']):>10}"
        )
    return "\n".join(lines)


def labels_to_reach(points: list[dict], target: float, *, key: str = "test") -> int | None:
    """Credits spent at the first point whose metric reaches `target` (None: never)."""
    for p in points:
        if p.get(key) is not None and p[key] >= target:
            return p["credits_spent"]
    return None
