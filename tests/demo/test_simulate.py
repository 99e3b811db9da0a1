"""`manage.py simulate` logic on a real Celery worker: a small porch demo, active then random."""

import itertools

import pytest

from labelapp.core.jobs import JobStatus
from labelapp.credits.services import balance_get, ledger_totals
from labelapp.demo.data import PORCH, demo_project, demo_users
from labelapp.demo.simulation import SimulationError, simulate
from labelapp.images.models import Image, KeptTruth
from labelapp.labeling.models import Annotation, Reservation
from labelapp.labeling.services import EVALUATION_REASON
from labelapp.training.models import LearningCurve, ModelVersion, TrainingRun

pytestmark = [pytest.mark.worker, pytest.mark.slow]

BUDGET = 20


def _snapshot(project):
    return {
        "images": list(
            Image.objects.filter(project=project)
            .order_by("id")
            .values_list("id", "status", "split", "priority", "scored_by_id", "score_reason", "file")
        ),
        "annotations": list(
            Annotation.objects.filter(project=project).order_by("id").values_list("id", "image_id", "boxes")
        ),
        "versions": list(ModelVersion.objects.filter(project=project).values_list("id", "is_active")),
        "balance": balance_get(project=project).as_dict(),
    }


def _run(worker, **kwargs):
    import time

    log, started = [], time.monotonic()

    def progress(line):
        log.append(line)
        print(f"{time.monotonic() - started:6.1f}s {line}")  # noqa: T201 - live progress under pytest -s

    try:
        return simulate(progress=progress, queued_timeout=90, timeout=150, poll_interval=0.1, **kwargs), log
    except SimulationError as exc:
        raise AssertionError(f"{exc.message}\n" + "\n".join(log) + "\n" + worker.output()[-4000:]) from exc


def _check_run(result, *, project, final=True):
    balance = balance_get(project=project)
    assert balance.spent == BUDGET == result.credits_spent
    assert balance.reserved == 0
    assert ledger_totals(project=project) == balance.as_dict()
    points = result.curve.points
    assert len(points) >= 2
    spent = [p["credits_spent"] for p in points]
    assert spent[0] == 0 and (spent[-1] == BUDGET or not final)
    assert all(a < b for a, b in itertools.pairwise(spent)), spent
    assert all(p["val"] is not None and p["test"] is not None for p in points), points
    # A model version per retrain: the first one, every auto-retrain and the final one.
    runs = TrainingRun.objects.filter(project=project)
    assert not runs.exclude(status=JobStatus.SUCCEEDED).exists()
    assert runs.filter(trigger="auto").count() >= 1
    versions = list(ModelVersion.objects.filter(project=project).order_by("number").values_list("number", flat=True))
    assert versions == [p["model_version"] for p in points] == result.versions
    assert runs.count() == len(versions)


def test_simulation_active_then_random_on_a_copy(celery_workers, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"  # the worker's pool cache too (see celery_workers)
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    project = demo_project(
        name=PORCH,
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=80,
        free_labels=30,
        credits=BUDGET,
        seed=11,
        users=demo_users(),
        settings={"auto_retrain_every": 10, "max_epochs": 2},
    )
    # One pool process, one torch thread: modest on a shared 2-core machine.
    worker = celery_workers(concurrency=1, OMP_NUM_THREADS=1, MKL_NUM_THREADS=1)

    active, log = _run(worker, project=project)
    assert active.project.pk == project.pk and active.strategy == "adaptive"
    _check_run(active, project=project)
    assert any("retrain triggered" in line for line in log)
    # After every retrain the next image came from a queue ordered by that model's rescore.
    reasons = set(Reservation.objects.filter(project=project).values_list("reason", flat=True))
    # (the adaptive planner's batches, or the detector's uncertainty between them)
    assert reasons & {"plan:cover", "plan:uncertainty", "detection_mean"}

    before = _snapshot(project)
    # (no final retrain here: the active run covered it; the curve ends at the last auto-retrain)
    baseline, _ = _run(worker, project=project, strategy="random", final_retrain=False)
    copy = baseline.project
    assert copy.pk != project.pk and copy.config["strategy"] == "random"
    assert project.config.get("strategy") in (None, "adaptive")
    _check_run(baseline, project=copy, final=False)
    assert _snapshot(project) == before, "the random run touched the original project"
    # The copy shares the stored files, not the rows; its free labels and kept truth are the same.
    originals = Image.objects.filter(project=project)
    copies = Image.objects.filter(project=copy)
    assert copies.count() == originals.count()
    assert not set(copies.values_list("id", flat=True)) & set(originals.values_list("id", flat=True))
    assert set(copies.values_list("file", flat=True)) == set(originals.values_list("file", flat=True))
    assert Annotation.objects.filter(project=copy, is_free=True).count() == 30
    assert KeptTruth.objects.filter(image__project=copy).count() == 80
    # Random picks, and the random evaluation draws every project makes.
    assert set(Reservation.objects.filter(project=copy).values_list("reason", flat=True)) <= {
        "random",
        EVALUATION_REASON,
    }
    assert set(ModelVersion.objects.filter(project=copy).values_list("strategy", flat=True)) == {"random"}

    # The curves: one per strategy on the original (so its admin page compares them), one on the copy.
    on_original = LearningCurve.objects.filter(project=project)
    assert sorted(on_original.values_list("strategy", flat=True)) == ["adaptive", "random"]
    assert LearningCurve.objects.filter(project=copy).get().points == baseline.curve.points
