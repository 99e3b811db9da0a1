"""Membership query synthesis jobs: planning, credits, the queue, confirmation, the report."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from labelapp.core.jobs import JobStatus
from labelapp.credits.models import CreditEntry, EntryKind, HoldState, StreamHold
from labelapp.credits.services import balance_get, credit_grant, credit_reserve, ledger_totals
from labelapp.images.models import PINNED_PRIORITY, Image, Source, Split, Status
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.labeling.services import annotation_submit, image_reserve_next, image_skip
from labelapp.learning.data import decode_rgb
from labelapp.learning.synthesis import SynthesisItem
from labelapp.production.models import SynthesisImage, SynthesisJob
from labelapp.production.synthesis import synthesis_run, synthesis_start
from labelapp.training import engine
from labelapp.training.models import ModelVersion, Prediction
from labelapp.training.runs import training_request, training_run
from labelapp.training.selectors import prediction_for_labeling
from tests.conftest import NO_EVALUATION_PICKS, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    """engine caches loaded models by version pk, and pks repeat across test databases."""
    engine._LOADED.clear()
    yield
    engine._LOADED.clear()


def activate_untrained(project) -> ModelVersion:
    """An active version holding a real, untrained built-in model, with made-up val metrics."""
    import torch

    from labelapp.learning.models import create_model

    classes = list(project.label_classes.order_by("id"))
    name, size = engine.default_model(project.task_type), engine.input_size_for(project)
    model = create_model(name, classes=[c.name for c in classes], input_size=size)
    buffer = io.BytesIO()
    torch.save(model.checkpoint(), buffer)
    metrics = {"val": {"per_class": {c.name: {"ap50": 0.1 * i} for i, c in enumerate(classes)}}}
    version = ModelVersion(
        project=project,
        number=1,
        model_name=name,
        classes=[c.pk for c in classes],
        input_size=size,
        is_active=True,
        metrics=metrics,
    )
    version.checkpoint.save(f"project-{project.pk}/v1.pt", ContentFile(buffer.getvalue()), save=False)
    version.save()
    return version


def labeled_source(project, seed: int = 1, boxes=None) -> Image:
    """One imported, labeled training image (64×48) with one box of the first class."""
    image = images_ingest(project=project, files=[(f"src{seed}.jpg", jpeg_bytes(seed), "image/jpeg")]).created[0]
    first = project.label_classes.order_by("id").first()
    boxes = boxes or [{"x": 5.0, "y": 6.0, "w": 20.0, "h": 10.0, "label_class": first.pk}]
    Annotation.objects.create(project=project, image=image, boxes=boxes, kind=AnnotationKind.IMPORTED, is_free=True)
    Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=Split.TRAIN)
    return image


def fixed_plan(monkeypatch, items):
    monkeypatch.setattr("labelapp.learning.synthesis.plan_synthesis", lambda health, allowance, rng: items)


def assert_ledger_consistent(project):
    balance = balance_get(project=project)
    assert ledger_totals(project=project) == balance.as_dict()
    assert balance.spent + balance.reserved <= balance.granted


def train_now(project, user) -> ModelVersion:
    run = training_request(project=project, user=user)
    version = training_run(run_id=run.pk)
    run.refresh_from_db()
    assert version is not None, run.error
    return version


# --- the whole loop on a trained model ------------------------------------------------------


def test_a_job_makes_pinned_held_images_that_annotators_confirm_and_reports_before_after(client_for, monkeypatch):
    from labelapp.demo.data import demo_project, demo_users
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    users = demo_users()
    # The small porch project of test_worker, smaller still: in-process training stays quick.
    project = demo_project(
        name="Porch packages",
        description="",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=30,
        free_labels=26,
        credits=20,
        seed=1,
        users=users,
        # No evaluation picks: the hand-outs below must be the pinned synthetic images.
        settings={"max_epochs": 1, "auto_retrain_every": 0, "input_size": 64, **NO_EVALUATION_PICKS},
    )
    v1 = train_now(project, users["admin"])
    v1.refresh_from_db()
    assert v1.is_active and v1.metrics["val"]["per_class"]
    granted = balance_get(project=project).granted
    admin, annotator = client_for(None), client_for(None)
    admin.force_authenticate(users["admin"])
    annotator.force_authenticate(users["annotator"])
    url = f"/api/projects/{project.pk}/synthesis"

    response = admin.post(url, {"allowance": 5}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["allowance"] == 5 and body["model_version_before"] == v1.number
    assert body["ap_before"] == {name: m["ap50"] for name, m in v1.metrics["val"]["per_class"].items()}
    assert body["ap_after"] is None and body["metric"] == "ap50"

    job = synthesis_run(job_id=body["id"])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert synthesis_run(job_id=job.pk) is None  # a redelivered message finds nothing to claim
    made = list(Image.objects.filter(project=project, source=Source.SYNTHETIC).order_by("id"))
    assert job.images_made == len(made) == 5 == sum(item["made"] for item in job.plan)
    assert sum(item["count"] for item in job.plan) <= 5

    # One reserved credit per image, held until an annotator takes it over.
    balance = balance_get(project=project)
    assert (balance.granted, balance.reserved, balance.spent) == (granted, 5, 0)
    assert_ledger_consistent(project)
    for image in made:
        assert (image.status, image.priority, image.score_reason, image.scored_by_id) == (
            Status.UNLABELED,
            PINNED_PRIORITY,
            "synthetic",
            v1.pk,
        )
        hold = StreamHold.objects.get(image=image)
        assert hold.state == HoldState.HELD and hold.credit_entry.kind == EntryKind.RESERVE
        assert not Annotation.objects.filter(image=image).exists()
        suggestion = prediction_for_labeling(image=image)
        planned = SynthesisImage.objects.get(image=image).label_class_id
        assert planned in {box["label_class"] for box in suggestion["boxes"]}
        for box in suggestion["boxes"]:
            assert box["x"] >= 0 and box["x"] + box["w"] <= image.width + 0.01
            assert box["y"] >= 0 and box["y"] + box["h"] <= image.height + 0.01

    # Pinned first in the queue; the reservation takes over the held credit.
    first = image_reserve_next(project=project, user=users["annotator"])
    assert first.image.pk == made[0].pk and first.reservation.reason == "synthetic"
    assert first.reservation.credit_entry_id == StreamHold.objects.get(image=made[0]).credit_entry_id
    assert balance_get(project=project).reserved == 5

    # Confirm (keeping the carried-over boxes): the credit is spent, the image trains.
    boxes = [
        {k: b[k] for k in ("x", "y", "w", "h", "label_class")} for b in prediction_for_labeling(image=made[0])["boxes"]
    ]
    annotation_submit(project=project, user=users["annotator"], image_id=made[0].pk, boxes=boxes)
    confirmed = Image.objects.get(pk=made[0].pk)
    assert (confirmed.status, confirmed.split) == (Status.LABELED, Split.TRAIN)
    balance = balance_get(project=project)
    assert (balance.reserved, balance.spent) == (4, 1)

    # Skip the next one: its credit goes back.
    second = image_reserve_next(project=project, user=users["annotator"])
    assert second.image.pk == made[1].pk
    image_skip(project=project, user=users["annotator"], image_id=made[1].pk)
    balance = balance_get(project=project)
    assert (balance.reserved, balance.spent) == (3, 1)
    assert_ledger_consistent(project)

    detail = admin.get(f"{url}/{job.pk}").json()
    assert detail["images"] == {"confirmed": 1, "skipped": 1, "pending": 3}
    assert detail["ap_after"] is None and detail["model_version_after"] is None

    # The retrain reads the confirmed synthetic image and never an unconfirmed one.
    used: list[int] = []
    prepared = engine.prepared_images

    def spy(project_, images, *, size):
        used.extend(image.pk for image in images)
        return prepared(project_, images, size=size)

    monkeypatch.setattr(engine, "prepared_images", spy)
    v2 = train_now(project, users["admin"])
    monkeypatch.setattr(engine, "prepared_images", prepared)
    assert made[0].pk in used
    assert not {image.pk for image in made[1:]} & set(used)

    detail = admin.get(f"{url}/{job.pk}").json()
    assert detail["model_version_after"] == v2.number
    v2.refresh_from_db()
    assert detail["ap_after"] == {name: m["ap50"] for name, m in v2.metrics["val"]["per_class"].items()}
    by_name = {row["name"]: row for row in detail["classes"]}
    assert set(by_name) == set(detail["ap_before"])
    for name, row in by_name.items():
        assert row["before"] == detail["ap_before"][name] and row["after"] == detail["ap_after"][name]
    listed = admin.get(url).json()["results"]
    assert [row["id"] for row in listed] == [job.pk] and listed[0]["model_version_after"] == v2.number


# --- the transforms and the budget ---------------------------------------------------------


def test_boxes_are_carried_over_through_a_horizontal_flip(detection_project, users, monkeypatch):
    version = activate_untrained(detection_project)
    source = labeled_source(detection_project)
    credit_grant(project=detection_project, amount=3)
    fixed_plan(monkeypatch, [SynthesisItem(0, None, [{"op": "hflip"}], 1, "test")])
    job = synthesis_run(job_id=synthesis_start(project=detection_project, user=users["admin"], allowance=1).pk)
    assert job.images_made == 1 and job.stop_reason == ""
    image = Image.objects.get(project=detection_project, source=Source.SYNTHETIC)
    first = detection_project.label_classes.order_by("id").first()
    prediction = Prediction.objects.get(image=image, model_version=version)
    # x' = W - (x + w) = 64 - 25 = 39; y, w, h unchanged.
    assert prediction.boxes == [{"x": 39.0, "y": 6.0, "w": 20.0, "h": 10.0, "label_class": first.pk, "score": 1.0}]
    with source.file.open("rb") as a, image.file.open("rb") as b:
        assert np.array_equal(decode_rgb(b.read()), decode_rgb(a.read())[:, ::-1])
    link = SynthesisImage.objects.get(image=image)
    assert (link.job_id, link.source_image_id, link.ops) == (job.pk, source.pk, [{"op": "hflip"}])


def test_a_duplicate_result_is_skipped_without_spending(detection_project, users, monkeypatch):
    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=5)
    fixed_plan(monkeypatch, [SynthesisItem(0, None, [{"op": "hflip"}], 2, "test")])
    job = synthesis_run(job_id=synthesis_start(project=detection_project, user=users["admin"], allowance=2).pk)
    assert job.images_made == 1 and job.stop_reason == "sources_exhausted"
    assert balance_get(project=detection_project).reserved == 1
    assert_ledger_consistent(detection_project)


def test_a_job_stops_when_the_credits_run_out_and_never_overspends(detection_project, users, monkeypatch):
    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=3)
    ops = [{"op": "brightness", "delta": [-40, 40]}]
    fixed_plan(monkeypatch, [SynthesisItem(0, None, ops, 3, "test")])
    job = synthesis_start(project=detection_project, user=users["admin"], allowance=3)
    with transaction.atomic():  # someone else reserves two credits before the job runs
        for _ in range(2):
            credit_reserve(project=detection_project, actor=users["admin"], image=None)
    job = synthesis_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert job.images_made == 1 and job.stop_reason == "budget_exhausted"
    balance = balance_get(project=detection_project)
    assert (balance.granted, balance.reserved, balance.available) == (3, 3, 0)
    assert_ledger_consistent(detection_project)


def test_a_job_whose_worker_died_is_resumed_and_stays_within_its_allowance(detection_project, users, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from labelapp.production import synthesis

    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=10)
    fixed_plan(monkeypatch, [SynthesisItem(0, None, [{"op": "brightness", "delta": [-60, 60]}], 3, "test")])
    job = synthesis_start(project=detection_project, user=users["admin"], allowance=3)
    encode = synthesis._encode_png

    def dies_on_the_second_image(array):
        if SynthesisJob.objects.get(pk=job.pk).images_made == 1:
            raise KeyboardInterrupt("SIGKILL stands in: nothing in the worker runs after it")
        return encode(array)

    monkeypatch.setattr(synthesis, "_encode_png", dies_on_the_second_image)
    with pytest.raises(KeyboardInterrupt):
        synthesis_run(job_id=job.pk)
    monkeypatch.setattr(synthesis, "_encode_png", encode)
    job.refresh_from_db()
    assert (job.status, job.images_made, job.plan[0]["made"]) == (JobStatus.RUNNING, 1, 1)

    dispatched = []
    monkeypatch.setattr("labelapp.production.tasks.synthesis_run_task.delay", dispatched.append)
    assert synthesis.synthesis_recover_stale() == [], "a live heartbeat is left alone"
    SynthesisJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert synthesis.synthesis_recover_stale() == [job.pk] and dispatched == [job.pk]
    assert SynthesisJob.objects.get(pk=job.pk).status == JobStatus.QUEUED

    job = synthesis_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.stop_reason == "", job.error
    assert job.images_made == job.plan[0]["made"] == 3
    assert Image.objects.filter(project=detection_project, source=Source.SYNTHETIC).count() == 3
    assert SynthesisImage.objects.filter(job=job).count() == 3
    assert StreamHold.objects.filter(project=detection_project, state=HoldState.HELD).count() == 3
    assert balance_get(project=detection_project).reserved == 3
    assert_ledger_consistent(detection_project)
    assert synthesis.synthesis_recover_stale() == []


def test_a_job_whose_worker_process_ended_is_resumed_without_waiting_for_silence(detection_project, users, monkeypatch):
    """The one job lifecycle (labelapp.core.jobs): like a training run, a synthesis job whose
    owner ran on this host and whose process has ended goes back to the queue at once, not
    only once its heartbeat is older than the stale time."""
    import subprocess
    import sys

    from django.utils import timezone

    from labelapp.core.liveness import current_owner
    from labelapp.production import synthesis

    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=2)
    job = synthesis_start(project=detection_project, user=users["admin"], allowance=1)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    SynthesisJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        owner_host=current_owner().host,
        owner_pid=ended.pid,
    )
    dispatched = []
    monkeypatch.setattr("labelapp.production.tasks.synthesis_run_task.delay", dispatched.append)
    assert synthesis.synthesis_recover_stale() == [job.pk] and dispatched == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.owner_host, job.owner_pid) == (JobStatus.QUEUED, "", None)


def test_a_slow_worker_cannot_end_a_job_recovery_gave_to_another(detection_project, users):
    """A synthesis worker used to end its job by its status alone: one that was only slow, whose
    job recovery had requeued and another worker claimed, could mark that run failed. Now a job
    ends only while it is still its owner's (labelapp.core.jobs)."""
    from datetime import timedelta

    from django.utils import timezone

    from labelapp.core.jobs import stale_after
    from labelapp.core.liveness import Owner

    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=2)
    job = synthesis_start(project=detection_project, user=users["admin"], allowance=1)
    slow, other = Owner(host="worker-a", pid=101, started=None), Owner(host="worker-b", pid=202, started=None)
    assert SynthesisJob.objects.claim(job.pk, slow, take_over=False)
    assert not SynthesisJob.objects.claim(job.pk, other, take_over=False), "a running job is not claimed twice"
    SynthesisJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    (row,) = SynthesisJob.objects.stale(timezone.now() - stale_after())
    assert SynthesisJob.objects.requeue(row) == 1
    assert SynthesisJob.objects.claim(job.pk, other, take_over=False)
    assert SynthesisJob.objects.held_by(slow, pk=job.pk).finish(JobStatus.FAILED, error="late") == 0
    job.refresh_from_db()
    assert (job.status, job.owner_host, job.error) == (JobStatus.RUNNING, "worker-b", "")


def test_a_queued_job_whose_message_was_lost_is_dispatched_again(detection_project, users, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from labelapp.production import synthesis

    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=2)
    job = synthesis_start(project=detection_project, user=users["admin"], allowance=1)
    dispatched = []
    monkeypatch.setattr("labelapp.production.tasks.synthesis_run_task.delay", dispatched.append)
    assert synthesis.synthesis_recover_stale() == []
    SynthesisJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert synthesis.synthesis_recover_stale() == [job.pk] and dispatched == [job.pk]


def test_the_real_planner_aims_at_the_rare_classes(detection_project, users):
    activate_untrained(detection_project)
    classes = list(detection_project.label_classes.order_by("id"))
    many = [{"x": 2.0 + 6 * i, "y": 4.0, "w": 5.0, "h": 5.0, "label_class": classes[0].pk} for i in range(6)]
    labeled_source(
        detection_project,
        seed=1,
        boxes=many + [{"x": 40.0, "y": 30.0, "w": 8.0, "h": 8.0, "label_class": classes[1].pk}],
    )
    credit_grant(project=detection_project, amount=4)
    job = synthesis_run(job_id=synthesis_start(project=detection_project, user=users["admin"], allowance=4).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert 1 <= job.images_made <= 4
    assert {item["class_name"] for item in job.plan} == {classes[1].name}  # the rare one; the missing one has no source
    assert CreditEntry.objects.filter(project=detection_project, kind=EntryKind.RESERVE).count() == job.images_made
    assert_ledger_consistent(detection_project)


# --- refusals and permissions --------------------------------------------------------------


def test_an_allowance_above_the_available_credits_is_409(detection_project, client_for):
    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=2)
    response = client_for("admin").post(
        f"/api/projects/{detection_project.pk}/synthesis", {"allowance": 3}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "budget_exhausted"
    assert response.json()["available"] == 2
    assert not SynthesisJob.objects.exists()


def test_without_labeled_images_it_is_400_with_a_reason(detection_project, client_for):
    activate_untrained(detection_project)
    images_ingest(project=detection_project, files=[("pool.jpg", jpeg_bytes(3), "image/jpeg")])
    credit_grant(project=detection_project, amount=2)
    response = client_for("admin").post(
        f"/api/projects/{detection_project.pk}/synthesis", {"allowance": 1}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "no_source_images"
    assert "label" in response.json()["detail"]


@pytest.mark.parametrize("body, code", [({"allowance": 0}, 400), ({}, 400)])
def test_an_invalid_allowance_is_400(detection_project, client_for, body, code):
    response = client_for("admin").post(f"/api/projects/{detection_project.pk}/synthesis", body, format="json")
    assert response.status_code == code


def test_one_open_job_per_project_and_only_admins(detection_project, users, client_for):
    activate_untrained(detection_project)
    labeled_source(detection_project)
    credit_grant(project=detection_project, amount=4)
    url = f"/api/projects/{detection_project.pk}/synthesis"
    assert client_for("admin").post(url, {"allowance": 1}, format="json").status_code == 201
    second = client_for("admin").post(url, {"allowance": 1}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "synthesis_in_progress"
    assert client_for("annotator").post(url, {"allowance": 1}, format="json").status_code == 403
    assert client_for("verifier").get(url).status_code == 403
    assert client_for("outsider_admin").get(url).status_code == 404
    assert client_for("admin").get(f"{url}/999999").status_code == 404


def test_classification_images_carry_their_class_as_the_suggestion(classification_project, users):
    version = activate_untrained(classification_project)
    cat, dog = classification_project.label_classes.order_by("id")
    for seed, label in ((1, cat), (2, cat), (3, cat), (4, dog)):
        image = images_ingest(
            project=classification_project, files=[(f"c{seed}.jpg", jpeg_bytes(seed), "image/jpeg")]
        ).created[0]
        Annotation.objects.create(
            project=classification_project, image=image, label_class=label, kind=AnnotationKind.HUMAN
        )
        Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=Split.TRAIN)
    credit_grant(project=classification_project, amount=2)
    job = synthesis_run(job_id=synthesis_start(project=classification_project, user=users["admin"], allowance=2).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.images_made == 2 and job.metric == "f1"
    for image in Image.objects.filter(project=classification_project, source=Source.SYNTHETIC):
        prediction = Prediction.objects.get(image=image, model_version=version)
        assert prediction.probs == [0.0, 1.0] and prediction.counts == {str(dog.pk): 1}
        assert SynthesisImage.objects.get(image=image).source_image.annotations.get().label_class_id == dog.pk
