"""Training, evaluation, activation and rescoring of model versions.

Idempotency: a TrainingRun is claimed by a conditional UPDATE (a duplicate message finds
nothing to claim); a version is activated in one transaction only after it is fully
written; a rescore chunk upserts its Predictions on (image, model_version), so running a
chunk twice writes the same rows once.
"""

import io
import logging
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, FloatField, Max, Value, When
from django.utils import timezone

from labelapp.core import liveness
from labelapp.core.db import retry_when_locked
from labelapp.core.errors import ConflictError, ServiceError
from labelapp.core.jobs import JobStatus, stale_after
from labelapp.credits.models import CreditBalance
from labelapp.images.models import PINNED_REASONS, Image, Split, Status
from labelapp.labeling.models import Annotation
from labelapp.projects.models import Project, TaskType
from labelapp.projects.settings_schema import ADAPTIVE

from . import embeddings, engine
from .events import model_version_activated
from .models import ModelVersion, Prediction, RescoreJob, TrainingRun
from .targets import LABEL_TARGETS

logger = logging.getLogger(__name__)
LABELED_STATUSES = [Status.LABELED]
#: Detection boxes below the threshold kept in a Prediction (the best ones), for the label page.
SUGGESTIONS_BELOW_THRESHOLD = 20


def labeled_count(*, project) -> int:
    """Labeled images in every split: a new val or test label is a new label too."""
    return Image.objects.filter(project=project, status__in=LABELED_STATUSES).count()


def training_maybe_start(*, project_id: int) -> TrainingRun | None:
    """Auto-retrain once K labels (project setting) are new since the last training was
    queued, whatever their kind (bought, imported, verified), never two at once."""
    project = Project.objects.get(pk=project_id)
    every = project.config["auto_retrain_every"]
    if not every or not project.label_classes.exists():
        return None
    last = (
        TrainingRun.objects.filter(project=project).order_by("-created_at").values_list("created_at", flat=True).first()
    )
    new_labels = Annotation.objects.filter(project=project)
    if last is not None:
        new_labels = new_labels.filter(created_at__gt=last)
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


def model_inputs(project, model, images: list, *, size: int) -> np.ndarray:
    """What a model reads for Image rows: cached backbone vectors for a head on embeddings,
    prepared pixel tensors for every other model."""
    if engine.reads_vectors(model):
        return embeddings.embeddings_for(project, images)
    return engine.prepared_images(project, images, size=size)


def model_outputs(model, inputs):
    return model.predict_vectors(inputs) if engine.reads_vectors(model) else model.predict(inputs)


def _training_data(
    project, split: str, class_index: dict[int, int], size: int, model=None, only: list[int] | None = None
):
    """(inputs, targets, image ids) of the labeled images of a split, or of `only` those."""
    annotations = Annotation.objects.filter(project=project, image__split=split, image__status__in=LABELED_STATUSES)
    if only is not None:
        annotations = annotations.filter(image_id__in=only)
    annotations = list(annotations.select_related("image").order_by("image_id"))
    images = model_inputs(project, model, [a.image for a in annotations], size=size)
    targets = LABEL_TARGETS[project.task_type](annotations, class_index, size)
    return images, targets, [a.image_id for a in annotations]


def _auto_labeled_training_data(
    project, class_index: dict[int, int], size: int, model=None, only: list[int] | None = None
):
    """Stream-accepted images with the model output they were accepted on as the label, for
    `train_on_auto_labels`. Only ever training data: evaluating a model on its own outputs
    would measure nothing. Detection keeps the boxes at or above the project's detection
    threshold (what the model counted); boxes of deleted classes are dropped."""
    latest: dict[int, Prediction] = {}
    predictions = Prediction.objects.filter(image__project=project, image__status=Status.AUTO_LABELED)
    if only is not None:
        predictions = predictions.filter(image_id__in=only)
    for prediction in predictions.select_related("image", "model_version").order_by("image_id", "-id"):
        latest.setdefault(prediction.image_id, prediction)
    predictions = list(latest.values())
    if project.task_type == TaskType.CLASSIFICATION:
        labeled = []
        for prediction in predictions:
            probs = prediction.probs or []
            class_id = prediction.model_version.classes[int(np.argmax(probs))] if probs else None
            if class_id in class_index:
                labeled.append((prediction, class_index[class_id]))
        images = model_inputs(project, model, [p.image for p, _ in labeled], size=size)
        return images, np.array([label for _, label in labeled], dtype=np.int64), [p.image_id for p, _ in labeled]
    threshold = project.config["detection_threshold"]
    images = model_inputs(project, model, [p.image for p in predictions], size=size)
    targets = [
        engine.detection_target(
            [b for b in p.boxes or [] if b.get("score", 1.0) >= threshold and b["label_class"] in class_index],
            class_index,
            engine.letterbox_for(p.image, size),
        )
        for p in predictions
    ]
    return images, targets, [p.image_id for p in predictions]


def evaluate(model, images, targets, *, task: str, class_names: list[str], threshold: float) -> dict:
    from labelapp.learning import metrics

    if len(images) == 0:
        return {"images": 0}
    outputs = model_outputs(model, images)
    if task == TaskType.CLASSIFICATION:
        report = metrics.classification_report(targets, outputs.probs.argmax(axis=1), len(class_names))
        per_class = {
            name: {
                "precision": report["precision"][i],
                "recall": report["recall"][i],
                "f1": report["f1"][i],
                "support": report["support"][i],
            }
            for i, name in enumerate(class_names)
        }
        correct = int(np.sum(outputs.probs.argmax(axis=1) == np.asarray(targets)))
        return engine.jsonable(
            {
                "images": len(images),
                "accuracy": report["accuracy"],
                "per_class": per_class,
                "confusion_matrix": report["confusion_matrix"],
                "interval": metrics.wilson_interval(correct, len(images)),
            }
        )
    report = metrics.detection_report(targets, outputs, len(class_names), count_threshold=threshold)
    interval = metrics.bootstrap_interval(
        lambda idx: metrics.detection_report(
            [targets[i] for i in idx], [outputs[i] for i in idx], len(class_names), count_threshold=threshold
        )["map50"],
        len(images),
        np.random.default_rng(len(images)),
        resamples=100,
    )
    per_class = {
        name: {"ap50": report["ap50"][i], "ap": report["ap"][i], "num_gt": report["num_gt"][i]}
        for i, name in enumerate(class_names)
    }
    return engine.jsonable(
        {
            "images": len(images),
            "map50": report["map50"],
            "map": report["map"],
            "per_class": per_class,
            "count_mae": report["count_mae"],
            "exact_count_rate": report["exact_count_rate"],
            "interval": interval,
        }
    )


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
        train = _training_data(project, Split.TRAIN, class_index, size, model, only("train"))
        auto = (
            _auto_labeled_training_data(project, class_index, size, model, only("auto_ids"))
            if plan["auto"]
            else (train[0][:0], [], [])
        )
        return train, auto, _training_data(project, Split.VAL, class_index, size, model, only("val"))

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
        seed=plan["number"], max_epochs=plan["max_epochs"], patience=5, batch_size=_batch_size(len(train_images))
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
    test_images, test_targets, test_ids = _training_data(project, Split.TEST, class_index, size, model)
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
                strategy=_strategy_name(project),
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


def _batch_size(train_images: int) -> int:
    """64, but small enough that an epoch of a small training set still has four steps:
    with 70 labels a batch of 64 would give the detector two updates per epoch."""
    return max(8, min(64, train_images // 4))


def scoring_strategy(strategy: str, task_type: str) -> str:
    """The per-image score behind a strategy: the adaptive planner ranks the pool by margin
    (classification) or detection uncertainty between its planned batches."""
    if strategy != ADAPTIVE:
        return strategy
    from labelapp.learning.strategies.registry import DEFAULT_STRATEGY

    return DEFAULT_STRATEGY.scoring if task_type == TaskType.CLASSIFICATION else DEFAULT_STRATEGY.detection_scoring


def _strategy_name(project) -> str:
    from labelapp.projects.settings_schema import default_strategy

    return project.config.get("strategy") or default_strategy(project.task_type)


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
    stale_jobs = [row["pk"] for row in RescoreJob.objects.stale(cutoff)]
    for job_id in stale_jobs:
        rescore_resume(job_id=job_id)
    return {"trainings": stale_runs, "rescores": stale_jobs}


# --- rescoring -------------------------------------------------------------------------


def rescore_start(*, version_id: int, chunk_size: int | None = None) -> RescoreJob | None:
    """Split the unlabeled pool into chunks and score them in parallel (a Celery chord)."""

    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    if not version.is_active:
        return None
    ids = list(
        Image.objects.filter(project=version.project, status=Status.UNLABELED)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    job = RescoreJob.objects.create(
        project=version.project,
        model_version=version,
        images_total=len(ids),
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    _rescore_dispatch(job, ids, chunk_size or _chunk_size(version))
    return job


def _rescore_dispatch(job, ids: list[int], chunk_size: int) -> None:
    from celery import chord

    from .tasks import rescore_chunk_task, rescore_finish_task

    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    if not chunks:
        RescoreJob.objects.filter(pk=job.pk).finish(JobStatus.SUCCEEDED)
        return
    RescoreJob.objects.filter(pk=job.pk).update(
        chunks_total=F("chunks_done") + len(chunks), heartbeat_at=timezone.now()
    )
    chord(rescore_chunk_task.s(job.pk, chunk) for chunk in chunks)(rescore_finish_task.si(job.pk))


def rescore_project(*, project_id: int) -> RescoreJob | None:
    """Re-rank the pool at once after a setting that changes scores (strategy, weighting,
    diversity, threshold): with the active model, or cold-start priorities without one."""
    from .preprocess import cold_start_priorities

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.info("project %s was deleted; no rescore", project_id)
        return None
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    if active is None:
        cold_start_priorities(project=project)
        return None
    return rescore_start(version_id=active.pk)


def rescore_resume(*, job_id: int) -> None:
    """Re-dispatch the pool images a stalled rescore has not scored yet (a worker died)."""

    job = RescoreJob.objects.select_related("model_version").get(pk=job_id)
    if not job.model_version.is_active:
        RescoreJob.objects.filter(pk=job_id).finish(JobStatus.FAILED, error="Its model version is no longer active.")
        return
    remaining = list(
        Image.objects.filter(project_id=job.project_id, status=Status.UNLABELED)
        .exclude(scored_by=job.model_version)
        .exclude(score_reason__in=PINNED_REASONS)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    _rescore_dispatch(job, remaining, _chunk_size(job.model_version))


def _chunk_size(version) -> int:
    """Images per rescore task. A head on cached vectors costs microseconds per image, so its
    chunks are large: per-task overhead would otherwise dominate."""
    from django.conf import settings

    from labelapp.learning.models import model_class

    if engine.reads_vectors(model_class(version.model_name)):
        return settings.LABELAPP_RESCORE_VECTOR_CHUNK_SIZE
    return settings.LABELAPP_RESCORE_CHUNK_SIZE


def rescore_chunk(*, job_id: int, image_ids: list[int]) -> int:
    """Predict and score one chunk and set its priorities in bulk. Pixel models upsert a
    Prediction per image; a head on cached vectors does not (100,000 rows would cost far more
    than scoring them): its pre-annotations are computed when an image is handed out."""
    job = RescoreJob.objects.select_related("model_version", "project").filter(pk=job_id).first()
    if job is None:
        logger.info("rescore job %s is gone (its project was deleted); nothing to do", job_id)
        return 0
    version, project = job.model_version, job.project
    pool = Image.objects.filter(pk__in=image_ids, status=Status.UNLABELED).order_by("id")
    model = engine.load_version(version)
    if engine.reads_vectors(model):
        ids = list(pool.values_list("pk", flat=True))
        if ids:
            outputs = model.predict_vectors(embeddings.vectors_by_ids(project, ids))
            scores, strategy = _scores(project, version, outputs, first_id=ids[0])
            retry_when_locked(
                lambda: set_priorities(ids, scores, version=version, reason=strategy),
                what=f"rescore job {job_id}: chunk",
            )
    else:
        images = list(pool)
        ids = [image.pk for image in images]
        if images:
            outputs = model.predict(engine.prepared_images(project, images, size=version.input_size))
            scores, strategy = _scores(project, version, outputs, first_id=ids[0])
            threshold = project.config["detection_threshold"]
            rows = [
                _prediction_row(image, version, outputs, i, scores[i], threshold, project.task_type)
                for i, image in enumerate(images)
            ]

            def write() -> None:
                with transaction.atomic():
                    Prediction.objects.bulk_create(
                        rows,
                        update_conflicts=True,
                        unique_fields=["image", "model_version"],
                        update_fields=["probs", "boxes", "counts", "confidence", "score"],
                    )
                    set_priorities(ids, scores, version=version, reason=strategy)

            try:
                retry_when_locked(write, what=f"rescore job {job_id}: chunk")
            except IntegrityError:
                if Project.objects.filter(pk=project.pk).exists():
                    raise
                logger.info("rescore job %s stopped: its project was deleted", job_id)
                return 0
    retry_when_locked(
        lambda: RescoreJob.objects.filter(pk=job_id).update(
            chunks_done=F("chunks_done") + 1, heartbeat_at=timezone.now()
        ),
        what=f"rescore job {job_id}: progress",
    )
    return len(ids)


def _scores(project, version, outputs, *, first_id: int):
    """(per-image scores, the strategy's name) for a chunk of model outputs."""
    from labelapp.learning.strategies.registry import score_pool
    from labelapp.learning.strategies.weighting import class_weights_from_ap

    # The project's strategy now, not the one the version was trained under: a strategy
    # change re-ranks the pool with the active model at once (rescore_project).
    strategy = scoring_strategy(_strategy_name(project), project.task_type)
    # Random stays random: no weak-class weighting of its scores.
    weighted = project.config["weak_class_weighting"] and strategy != "random"
    weights = _class_weights(version, class_weights_from_ap) if weighted else None
    scores = score_pool(
        project.task_type,
        outputs.probs if project.task_type == TaskType.CLASSIFICATION else outputs,
        strategy=strategy,
        class_weights=weights,
        threshold=project.config["detection_threshold"],
        # One stream per chunk (seeded by its first image too): a seed per version alone
        # would give every chunk the same sequence, so position i of each chunk ties.
        rng=np.random.default_rng([version.pk, first_id]),
    )
    return scores, strategy


def set_priorities(image_ids: list[int], scores, *, version, reason: str) -> None:
    """Write a chunk's priorities in one UPDATE … FROM (VALUES …). Images pinned at the top
    of the queue by the production loop keep theirs. (A CASE with one WHEN per image costs
    Django about half a millisecond per row just to build.)"""
    table = connection.ops.quote_name(Image._meta.db_table)
    column = {
        name: connection.ops.quote_name(Image._meta.get_field(name).column)
        for name in ("id", "priority", "scored_by", "score_reason", "status")
    }
    pinned = ", ".join(["%s"] * len(PINNED_REASONS))
    # SQLite binds at most 32,766 parameters per statement: large chunks go in slices.
    for start in range(0, len(image_ids), 10_000):
        ids, values = image_ids[start : start + 10_000], scores[start : start + 10_000]
        rows = ", ".join(["(%s, %s)"] * len(ids))
        sql = (
            f"WITH fresh (image_id, score) AS (VALUES {rows}) "
            f"UPDATE {table} SET {column['priority']} = fresh.score, {column['scored_by']} = %s, {column['score_reason']} = %s "
            f"FROM fresh WHERE {table}.{column['id']} = fresh.image_id AND {table}.{column['status']} = %s "
            f"AND {table}.{column['score_reason']} NOT IN ({pinned})"
        )
        params = [value for pk, score in zip(ids, values) for value in (int(pk), float(score))]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, version.pk if version else None, reason, Status.UNLABELED, *PINNED_REASONS])


def rescore_finish(*, job_id: int) -> None:
    from .planning import plan_next_batch

    job = RescoreJob.objects.select_related("model_version", "project").filter(pk=job_id).first()
    if job is None:
        logger.info("rescore job %s is gone (its project was deleted); nothing to finish", job_id)
        return
    project, version = job.project, job.model_version
    if version.is_active:
        planned = plan_next_batch(project=project, version=version) if _strategy_name(project) == ADAPTIVE else None
        if planned is None and project.config["batch_diversity"]:
            diversify_next_batch(project=project, version=version)
    RescoreJob.objects.filter(pk=job_id).finish(JobStatus.SUCCEEDED)


def diversify_next_batch(*, project, version, shortlist_factor: int = 5) -> list[int]:
    """Make the next batch (the labels until the next retrain) informative *and* diverse:
    among the top `batch × shortlist_factor` of the queue, the images k-means on the
    model's embeddings picks (labelapp.learning.strategies.selection.select_diverse) take the highest
    priorities. Priorities are permuted, never invented, so scores keep their meaning."""
    from labelapp.learning.strategies.registry import DEFAULT_STRATEGY
    from labelapp.learning.strategies.selection import select_diverse

    batch = project.config["auto_retrain_every"] or 20
    shortlist = list(
        Image.objects.filter(project=project, status=Status.UNLABELED, scored_by=version)
        .exclude(score_reason__in=PINNED_REASONS)
        .order_by("-priority", "id")[: batch * shortlist_factor]
    )
    if len(shortlist) <= batch:
        return [image.pk for image in shortlist]
    vectors = embeddings.embeddings_for(project, shortlist)
    if vectors is None:
        vectors = engine.load_version(version).embed(
            engine.prepared_images(project, shortlist, size=version.input_size)
        )
    scores = np.array([image.priority for image in shortlist])
    chosen = select_diverse(
        scores,
        vectors,
        batch,
        np.random.default_rng(version.pk),
        shortlist_factor=shortlist_factor,
        method=DEFAULT_STRATEGY.diversity or "kmeans",
    )
    chosen_set = {int(i) for i in chosen}
    order = sorted(chosen_set, key=lambda i: -scores[i]) + [i for i in range(len(shortlist)) if i not in chosen_set]
    values = sorted(scores, reverse=True)
    with transaction.atomic():
        Image.objects.filter(
            pk__in=[image.pk for image in shortlist], status=Status.UNLABELED, scored_by=version
        ).update(
            priority=Case(
                *[When(pk=shortlist[i].pk, then=Value(float(v))) for i, v in zip(order, values)],
                output_field=FloatField(),
            )
        )
    return [shortlist[i].pk for i in order[:batch]]


def _class_weights(version, class_weights_from_ap):
    per_class = (version.metrics.get("val") or {}).get("per_class") or {}
    key = "ap50" if "ap50" in next(iter(per_class.values()), {}) else "f1"
    values = [per_class.get(name, {}).get(key) for name in per_class]
    if not values or len(values) != len(version.classes):
        return None
    return class_weights_from_ap(np.array([np.nan if v is None else v for v in values], dtype=float))


def _prediction_row(image, version, outputs, i, score, threshold, task) -> Prediction:
    if task == TaskType.CLASSIFICATION:
        probs = outputs.probs[i]
        return Prediction(
            image=image,
            model_version=version,
            probs=[round(float(p), 6) for p in probs],
            confidence=float(probs.max()),
            score=float(score),
            counts={str(version.classes[int(probs.argmax())]): 1},
        )
    detections = outputs[i]
    # Every box that counts, and the best few below the threshold for the label page's
    # confidence slider: a detector's 100 candidate peaks per image would make the stored
    # JSON (and the rescore's database writes) several times larger for nothing.
    order = np.argsort(-detections.scores, kind="stable")
    order = order[: int(np.count_nonzero(detections.scores >= threshold)) + SUGGESTIONS_BELOW_THRESHOLD]
    boxes, counts = [], {}
    if len(order):
        transform = engine.letterbox_for(image, version.input_size)
        xyxy = np.clip(
            transform.to_original(detections.boxes[order]), 0, [image.width, image.height, image.width, image.height]
        )
        for (x1, y1, x2, y2), s, label in zip(
            xyxy.tolist(), detections.scores[order].tolist(), detections.labels[order].tolist()
        ):
            if x2 <= x1 or y2 <= y1:
                continue
            class_id = version.classes[label]
            boxes.append(
                {
                    "x": round(x1, 2),
                    "y": round(y1, 2),
                    "w": round(x2 - x1, 2),
                    "h": round(y2 - y1, 2),
                    "label_class": class_id,
                    "score": round(s, 4),
                }
            )
            if s >= threshold:
                counts[str(class_id)] = counts.get(str(class_id), 0) + 1
    confidence = float(np.min(np.abs(2 * detections.scores - 1))) if len(detections.scores) else 1.0
    return Prediction(
        image=image, model_version=version, boxes=boxes, counts=counts, confidence=confidence, score=float(score)
    )
