"""Training runs: queueing, claiming, training (resumable from per-epoch checkpoints),
activation of the new model version, and recovery of work a killed worker left.

Idempotency: a TrainingRun is claimed by a conditional UPDATE (a duplicate message finds
nothing to claim); a version is activated in one transaction only after it is fully
written.
"""

import io
import logging
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from labelapp.core import liveness
from labelapp.core.db import retry_when_locked
from labelapp.core.errors import ConflictError, ServiceError
from labelapp.core.jobs import JobStatus, stale_after
from labelapp.credits.models import CreditBalance
from labelapp.images.models import Image, Split, Status
from labelapp.labeling.models import Annotation
from labelapp.projects.models import Project, TaskType

from . import engine
from .evaluation import evaluate
from .events import model_version_activated
from .inference import strategy_name
from .models import ModelVersion, RescoreJob, TrainingRun
from .rescoring import rescore_resume, rescore_start
from .training_data import LABELED_STATUSES, auto_labeled_training_data, labeled_count, training_data

logger = logging.getLogger(__name__)


def training_maybe_start(*, project_id: int) -> TrainingRun | None:
    """Auto-retrain once K labels (project setting) are new or changed (an edit, a review fix)
    since the last training was queued, whatever their kind (bought, imported, verified),
    never two at once."""
    project = Project.objects.get(pk=project_id)
    every = project.config["auto_retrain_every"]
    if not every or not project.label_classes.exists():
        return None
    last = (
        TrainingRun.objects.filter(project=project).order_by("-created_at").values_list("created_at", flat=True).first()
    )
    new_labels = Annotation.objects.filter(project=project)
    if last is not None:
        # A label's updated_at is its creation time until it changes (index annotation_changed_idx).
        new_labels = new_labels.filter(updated_at__gt=last)
    if new_labels.count() < every:
        return None
    try:
        return training_request(project=project, trigger="auto")
    except ServiceError:  # one already open, or the new labels are all val/test ones
        return None


def training_request(*, project, user=None, trigger: str = "manual") -> TrainingRun:
    """Queue a training run; 409 when one is already queued or running for this project."""
    from .tasks import train_model_task

    if not project.label_classes.exists():
        raise ServiceError("Add label classes before training.", code="no_classes")
    if not _has_training_labels(project):
        raise ServiceError(
            "There is nothing to train on yet: no labeled image is in the train split "
            "(label images in the queue or import labeled data first).",
            code="no_training_data",
        )
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                project=project, trigger=trigger, requested_by=user, labels_at_start=labeled_count(project=project)
            )
            transaction.on_commit(lambda: train_model_task.delay(run.pk))
    except IntegrityError:
        raise ConflictError(
            "A training of this project is already queued or running.", code="training_in_progress"
        ) from None
    return run


def _has_training_labels(project) -> bool:
    if Annotation.objects.filter(
        project=project, image__split=Split.TRAIN, image__status__in=LABELED_STATUSES
    ).exists():
        return True
    return (
        project.config["train_on_auto_labels"]
        and Image.objects.filter(project=project, status=Status.AUTO_LABELED).exists()
    )


def training_claim(*, run_id: int, owner: liveness.Owner) -> bool:
    """Claim a run for `owner`: a queued one, or a running one whose worker is gone or silent
    (it resumes from its checkpoint); a live owner keeps its run however long an epoch takes."""
    return TrainingRun.objects.claim(run_id, owner, take_over=True)


def checkpoint_path(run_id: int) -> Path:
    """Where a training keeps its state after each epoch: under the var folder's cache,
    which the workers share (a docker volume), so a run resumes on any of them."""
    from django.conf import settings

    return Path(settings.VAR_DIR) / "cache" / "training" / f"run-{run_id}.pt"


def _load_checkpoint(run_id: int) -> dict | None:
    import torch

    path = checkpoint_path(run_id)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a torn or foreign file: train from the start rather than fail
        logger.warning(
            "training run %s: unreadable checkpoint %s; training from the start", run_id, path, exc_info=True
        )
        return None


def _save_checkpoint(run_id: int, plan: dict, state: dict) -> None:
    import torch

    from labelapp.learning.data import atomic_write

    path = checkpoint_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda handle: torch.save({"plan": plan, "state": state}, handle))


def _drop_checkpoint(run_id: int) -> None:
    checkpoint_path(run_id).unlink(missing_ok=True)


def _heartbeat_interval() -> float:
    return max(0.2, stale_after().total_seconds() / 6)


def training_run(*, run_id: int) -> ModelVersion | None:
    """Train, evaluate, store and activate a new model version. Returns None for a duplicate.

    The run is resumable: its state is saved after every epoch, and a run taken over after
    its worker died, or stopped by a worker shutdown (SIGTERM), continues after its last
    saved epoch, with the data and settings it started with."""
    owner = liveness.current_owner()
    if not retry_when_locked(lambda: training_claim(run_id=run_id, owner=owner), what=f"training run {run_id}: claim"):
        logger.info("training run %s already claimed or finished; nothing to do", run_id)
        return None
    stop = liveness.StopRequest()
    try:
        with (
            liveness.Heartbeat(
                jobs=TrainingRun.objects, job_id=run_id, owner=owner, interval=_heartbeat_interval(), stop=stop
            ),
            liveness.stop_on_sigterm(stop),
        ):
            version = _train(run_id, owner, stop)
        _drop_checkpoint(run_id)
        return version
    except liveness.JobStopped as stopped:
        return _training_stopped(run_id, owner, stopped.reason)
    except Exception as exc:
        if not TrainingRun.objects.filter(pk=run_id).exists():
            logger.info("training run %s ended: its project was deleted", run_id)
            _drop_checkpoint(run_id)
            return None
        logger.exception("training run %s failed", run_id)
        message = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
        # Only this owner's run fails: a claimant that took the run over (this worker went
        # silent) must not see the run it is training marked as failed.
        failed = retry_when_locked(
            lambda: TrainingRun.objects.held_by(owner, pk=run_id).finish(JobStatus.FAILED, error=message),
            what=f"training run {run_id}: mark failed",
        )
        if failed:
            _drop_checkpoint(run_id)
        return None


def _training_stopped(run_id: int, owner: liveness.Owner, reason: str) -> None:
    if reason == "shutdown":
        # Back in the queue with its checkpoint: recovery sends it again once a worker runs.
        requeued = retry_when_locked(
            lambda: TrainingRun.objects.release(owner, run_id), what=f"training run {run_id}: requeue"
        )
        if requeued:
            logger.info(
                "training run %s stopped by a worker shutdown; it resumes from its last epoch checkpoint", run_id
            )
            return None
    if not TrainingRun.objects.filter(pk=run_id).exists():
        logger.info("training run %s ended: its project was deleted", run_id)
        _drop_checkpoint(run_id)
    else:
        logger.info("training run %s stopped: another worker took it over", run_id)
    return None


def _train(run_id: int, owner: liveness.Owner, stop: liveness.StopRequest) -> ModelVersion | None:
    from labelapp.learning.models import create_model
    from labelapp.learning.training import Resumable, TrainConfig

    run = TrainingRun.objects.select_related("project").get(pk=run_id)
    project = run.project
    config = project.config
    classes_now = {c.pk: c for c in project.label_classes.all()}
    number = (ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
    saved = _load_checkpoint(run_id)
    plan = saved["plan"] if saved is not None else None
    if plan is not None and (plan["number"] != number or not set(plan["classes"]) <= set(classes_now)):
        logger.info("training run %s: its checkpoint no longer fits the project; training from the start", run_id)
        plan = None
    if plan is None:
        plan = {
            "number": number,
            "classes": sorted(classes_now),
            "size": engine.input_size_for(project),
            "model": config.get("model") or engine.default_model(project.task_type),
            "max_epochs": config["max_epochs"],
            "auto": bool(config["train_on_auto_labels"]),
        }
    classes = [classes_now[pk] for pk in plan["classes"]]
    class_index = {c.pk: i for i, c in enumerate(classes)}
    class_names = [c.name for c in classes]
    size = plan["size"]
    options = {"detection_threshold": config["detection_threshold"]} if project.task_type == TaskType.DETECTION else {}
    model = create_model(plan["model"], classes=class_names, input_size=size, **options)

    def load(only):
        train = training_data(project, Split.TRAIN, class_index, size, model, only("train"))
        auto = (
            auto_labeled_training_data(project, class_index, size, model, only("auto_ids"))
            if plan["auto"]
            else (train[0][:0], [], [])
        )
        return train, auto, training_data(project, Split.VAL, class_index, size, model, only("val"))

    resume = saved["state"] if saved is not None and "train" in plan else None
    train, auto, val = load((lambda key: plan[key]) if resume is not None else (lambda key: None))
    if resume is not None and (train[2], auto[2], val[2]) != (plan["train"], plan["auto_ids"], plan["val"]):
        # Labels were removed or moved since: the saved epochs trained on other data.
        logger.info("training run %s: its training data changed since the checkpoint; training from the start", run_id)
        resume = None
        train, auto, val = load(lambda key: None)
    (train_images, train_targets, train_ids), (auto_images, auto_targets, auto_ids) = train, auto
    val_images, val_targets, val_ids = val
    plan = {**plan, "train": train_ids, "auto_ids": auto_ids, "val": val_ids}
    if len(train_images) == 0:
        raise ServiceError("There are no labeled training images yet.", code="no_training_data")
    human_labels, auto_labels = len(train_images), len(auto_images)
    if auto_labels:
        train_images = np.concatenate([train_images, auto_images])
        train_targets = (
            np.concatenate([train_targets, auto_targets])
            if project.task_type == TaskType.CLASSIFICATION
            else train_targets + auto_targets
        )
    warm = None
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    if active is not None and resume is None:
        previous = engine.load_version(active)
        warm = previous if model.can_warm_start(previous) else None

    history = []
    if resume is not None:
        history = [
            {
                "epoch": r["epoch"],
                "loss": engine.finite_or_none(r["loss"]),
                "val_metric": engine.finite_or_none(r["val_metric"]),
                "metric": r["metric_name"],
            }
            for r in resume["history"]
        ]
        logger.info("training run %s resumes after epoch %d", run_id, resume["epoch"])

    def progress(report):
        loss, val_metric = engine.finite_or_none(report.loss), engine.finite_or_none(report.val_metric)
        history.append({"epoch": report.epoch, "loss": loss, "val_metric": val_metric, "metric": report.metric_name})
        retry_when_locked(
            lambda: TrainingRun.objects.held_by(owner, pk=run_id).update(
                epoch=report.epoch,
                epochs_max=report.epochs_max,
                loss=loss,
                val_metric=val_metric,
                heartbeat_at=timezone.now(),
                history=history,
            ),
            what=f"training run {run_id}: progress",
        )

    def between_batches():
        if stop.is_set():
            raise liveness.JobStopped(stop.reason)

    last = history[-1] if history else {}
    retry_when_locked(
        lambda: TrainingRun.objects.held_by(owner, pk=run_id).update(
            epochs_max=plan["max_epochs"],
            epoch=last.get("epoch", 0),
            loss=last.get("loss"),
            val_metric=last.get("val_metric"),
            history=history,
            heartbeat_at=timezone.now(),
        ),
        what=f"training run {run_id}: start",
    )
    between_batches()
    train_config = TrainConfig(
        seed=plan["number"], max_epochs=plan["max_epochs"], patience=5, batch_size=batch_size_for(len(train_images))
    )
    if engine.reads_vectors(model):
        # A head on cached vectors trains in seconds: nothing worth resuming.
        model.fit_vectors(train_images, train_targets, val_images, val_targets, config=train_config, progress=progress)
    else:
        model.fit(
            train_images,
            train_targets,
            val_images,
            val_targets,
            config=train_config,
            progress=progress,
            warm_start=warm,
            resumable=Resumable(
                state=resume, save=lambda state: _save_checkpoint(run_id, plan, state), between_batches=between_batches
            ),
        )
    test_images, test_targets, test_ids = training_data(project, Split.TEST, class_index, size, model)
    threshold = config["detection_threshold"]
    metrics = {
        "val": evaluate(
            model, val_images, val_targets, task=project.task_type, class_names=class_names, threshold=threshold
        ),
        "test": evaluate(
            model, test_images, test_targets, task=project.task_type, class_names=class_names, threshold=threshold
        ),
    }
    if project.task_type == TaskType.CLASSIFICATION and plan["model"] == "embedding_classifier":
        model, plan["model"], metrics = _classifier_choice(
            project,
            model,
            metrics,
            class_names=class_names,
            size=size,
            seed=plan["number"],
            max_epochs=plan["max_epochs"],
            train=(train_ids + auto_ids, train_targets),
            val=(val_ids, val_targets, val_images),
            test=(test_ids, test_targets),
            between_batches=between_batches,
        )
    buffer = io.BytesIO()
    import torch

    torch.save(model.checkpoint(), buffer)
    spent = CreditBalance.objects.filter(project=project).values_list("spent", flat=True).first() or 0
    # Written once, outside the retried transaction: a retry must not store a second file.
    stored = default_storage.save(
        f"checkpoints/project-{project.pk}/v{plan['number']}.pt", ContentFile(buffer.getvalue())
    )

    def activate() -> ModelVersion | None:
        with transaction.atomic():
            if not TrainingRun.objects.select_for_update().held_by(owner, pk=run_id).exists():
                return None  # taken over (this worker had gone silent): the other claimant finishes it
            version = ModelVersion.objects.create(
                project=project,
                number=plan["number"],
                model_name=plan["model"],
                classes=plan["classes"],
                input_size=size,
                labels_seen=human_labels,
                auto_labels_seen=auto_labels,
                credits_spent=spent,
                metrics=metrics,
                strategy=strategy_name(project),
                checkpoint=stored,
            )
            ModelVersion.objects.filter(project=project, is_active=True).exclude(pk=version.pk).update(is_active=False)
            ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
            TrainingRun.objects.filter(pk=run_id).finish(JobStatus.SUCCEEDED, model_version=version)
            transaction.on_commit(lambda: rescore_start(version_id=version.pk))
            transaction.on_commit(lambda: model_version_activated.send(sender=ModelVersion, version_id=version.pk))
            return version

    version = retry_when_locked(activate, what=f"training run {run_id}: activate")
    if version is None:
        default_storage.delete(stored)
        raise liveness.JobStopped("lost")
    return version


def _classifier_choice(
    project,
    head,
    metrics: dict,
    *,
    class_names: list[str],
    size: int,
    seed: int,
    max_epochs: int,
    train,
    val,
    test,
    between_batches,
):
    """The embedding head, or a fine-tuned backbone when the project allows it, enough labels
    exist and it beats the head on the validation sample by more than noise
    (labelapp.learning.model_choice). Returns (model, model name, metrics); the metrics record
    the choice, both validation figures and the fine-tune's cost."""
    import time

    from labelapp.learning import metrics as learning_metrics
    from labelapp.learning.model_choice import (
        FINETUNE_BATCH_SIZE,
        FINETUNE_EPOCHS,
        FINETUNE_LR,
        FINETUNE_MAX_IMAGES,
        FINETUNE_MAX_VAL_IMAGES,
        choose_classifier,
        finetune_eligible,
    )
    from labelapp.learning.models import create_model
    from labelapp.learning.training import Resumable, TrainConfig

    (train_ids, train_targets), (val_ids, val_targets, val_vectors), (test_ids, test_targets) = train, val, test
    head_val = metrics["val"]
    choice = {
        "chosen": head.name,
        "tried": False,
        "head": {key: head_val.get(key) for key in ("accuracy", "images", "interval")},
        "finetuned": None,
    }
    if project.config["finetune"] == "off":
        return (
            head,
            head.name,
            {**metrics, "model_choice": {**choice, "reason": "fine-tuning is off (project setting)"}},
        )
    eligible, reason = finetune_eligible(np.bincount(train_targets, minlength=len(class_names)), len(val_ids))
    if not eligible:
        return head, head.name, {**metrics, "model_choice": {**choice, "reason": reason}}

    def pixels(ids: list[int]) -> np.ndarray:
        by_id = Image.objects.in_bulk(ids)
        return engine.prepared_images(project, [by_id[i] for i in ids], size=size)

    def sample(n: int, most: int) -> np.ndarray:
        """A uniform subset when there are more than `most`: bounds the fine-tune's cost."""
        return np.sort(rng.choice(n, most, replace=False)) if n > most else np.arange(n)

    started = time.process_time()
    rng = np.random.default_rng(seed)
    keep, judged = sample(len(train_ids), FINETUNE_MAX_IMAGES), sample(len(val_ids), FINETUNE_MAX_VAL_IMAGES)
    val_ids, val_targets, val_vectors = (
        [val_ids[i] for i in judged],
        np.asarray(val_targets)[judged],
        val_vectors[judged],
    )
    candidate = create_model("mobilenet_finetune", classes=class_names, input_size=size)
    weights = head.get_weights()
    candidate.start_from_head(weights["weight"], weights["bias"], weights["mean"], weights["scale"])
    val_pixels = pixels(val_ids)
    candidate.fit(
        pixels([train_ids[i] for i in keep]),
        np.asarray(train_targets)[keep],
        val_pixels,
        val_targets,
        config=TrainConfig(
            seed=seed, max_epochs=min(FINETUNE_EPOCHS, max_epochs), batch_size=FINETUNE_BATCH_SIZE, lr=FINETUNE_LR
        ),
        resumable=Resumable(between_batches=between_batches),
    )
    head_right = head.predict_vectors(val_vectors).probs.argmax(1) == val_targets
    tuned_right = candidate.predict(val_pixels).probs.argmax(1) == val_targets
    seconds = time.process_time() - started
    verdict = choose_classifier(head_right, tuned_right)

    def figure(right: np.ndarray) -> dict:
        return {
            "accuracy": float(right.mean()),
            "images": len(right),
            "interval": list(learning_metrics.wilson_interval(int(right.sum()), len(right))),
        }

    # Both figures on the same images (all of the validation sample up to the cap).
    choice = {
        **choice,
        "tried": True,
        "chosen": head.name if verdict.chosen == "head" else candidate.name,
        "reason": verdict.reason,
        "head": figure(head_right),
        "finetuned": figure(tuned_right),
        "wins": verdict.wins,
        "losses": verdict.losses,
        "p_value": round(verdict.p_value, 4),
        "finetune_cpu_seconds": round(seconds, 2),
        "finetune_images": int(len(keep)),
        "finetune_epochs": min(FINETUNE_EPOCHS, max_epochs),
    }
    choice = engine.jsonable(choice)
    logger.info("project %s: classifier choice %s (%s)", project.pk, choice["chosen"], verdict.reason)
    if verdict.chosen == "head":
        return head, head.name, {**metrics, "model_choice": choice}
    threshold = project.config["detection_threshold"]
    full_val = val[0]
    chosen_metrics = {
        "val": evaluate(
            candidate,
            val_pixels if len(judged) == len(full_val) else pixels(full_val),
            val[1],
            task=project.task_type,
            class_names=class_names,
            threshold=threshold,
        ),
        "test": evaluate(
            candidate,
            pixels(test_ids),
            test_targets,
            task=project.task_type,
            class_names=class_names,
            threshold=threshold,
        ),
    }
    return candidate, candidate.name, {**chosen_metrics, "model_choice": choice}


def batch_size_for(train_images: int) -> int:
    """64, but small enough that an epoch of a small training set still has four steps:
    with 70 labels a batch of 64 would give the detector two updates per epoch."""
    return max(8, min(64, train_images // 4))


def recover_stale_work() -> dict:
    """Resume what a killed worker left: trainings whose owner is gone or silent (or whose
    message was lost, or that a shutdown put back in the queue) are sent again, and rescores
    with no progress are re-dispatched for the images not yet scored by their version. Safe
    to run any time: claims and upserts are idempotent, and a live owner keeps its run."""
    from .tasks import train_model_task

    cutoff = timezone.now() - stale_after()
    stale_runs = [row["pk"] for row in TrainingRun.objects.stale(cutoff)]
    for run_id in stale_runs:
        train_model_task.delay(run_id)
    resumed = []
    for job_id in [row["pk"] for row in RescoreJob.objects.stale(cutoff)]:
        try:
            rescore_resume(job_id=job_id)
        except Exception:
            # One project's bad row (say, a version whose model is gone) must not stop the
            # rescores of the others (issue 14 item 5); it is tried again at the next beat.
            logger.exception("resuming rescore job %s failed", job_id)
        else:
            resumed.append(job_id)
    intake = recover_stalled_intake()
    return {"trainings": stale_runs, "rescores": resumed, **intake}


def recover_stalled_intake() -> dict:
    """Issue 14 item 3: imports whose worker died (sent again, or failed with the reason),
    import archives no open job names, and upload backlogs no preprocessing task will pick up."""
    from labelapp.datasets.recovery import imports_recover

    from .pool_upkeep import backlog_recover

    return {**imports_recover(), "preprocess_backlogs": backlog_recover()}
