"""Issue 14 item 5: integers and settings out of range get a 4xx, never a 500; credit
counters are 64-bit with a documented cap; the beat jobs survive one project's bad data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.core.fields import MAX_ID
from labelapp.credits.models import CreditBalance
from labelapp.credits.services import MAX_GRANT, MAX_GRANTED_TOTAL, credit_grant, credit_reserve
from labelapp.projects.models import Project

pytestmark = pytest.mark.django_db
HUGE = "9" * 30  # far beyond 64 bits
JUST_OVER = str(2**63)


@pytest.mark.parametrize("value", [HUGE, JUST_OVER])
def test_item5_ids_beyond_64_bits_in_bodies_are_400(client_for, pool, detection_project, value):
    admin = client_for("admin")
    base = f"/api/projects/{detection_project.pk}"
    for path, body in [
        ("/annotations", {"image": int(value), "boxes": []}),
        ("/annotations", {"image": pool[0].pk, "label_class": int(value)}),
        ("/queue/skip", {"image": int(value)}),
        ("/verifications", {"prediction": int(value), "verdict": "correct"}),
        ("/verifications", {"prediction": 1, "verdict": "incorrect", "true_count": int(value)}),
        ("/review", {"image": int(value), "verdict": "approve"}),
        (f"/data/{pool[0].pk}/label", {"label_class": int(value)}),
    ]:
        response = admin.post(base + path, body, format="json")
        assert response.status_code == 400, (path, body, response.status_code, response.content[:300])
        assert response.json()  # JSON, naming the field


@pytest.mark.parametrize("value", [HUGE, JUST_OVER])
def test_item5_ids_beyond_64_bits_in_paths_are_404(client_for, pool, detection_project, value):
    admin = client_for("admin")
    base = f"/api/projects/{detection_project.pk}"
    for path in [
        f"/api/projects/{value}",
        f"/api/projects/{value}/images",
        f"{base}/images/{value}",
        f"{base}/images/{value}/file",
        f"{base}/annotations/{value}",
        f"{base}/classes/{value}",
        f"{base}/members/{value}",
        f"{base}/training-runs/{value}",
        f"{base}/synthesis/{value}",
        f"/api/auth/tokens/{value}",
    ]:
        method = admin.delete if path.startswith("/api/auth/tokens") else admin.get
        response = method(path)
        assert response.status_code == 404, (path, response.status_code, response.content[:300])
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("value", [HUGE, JUST_OVER, "-" + HUGE])
def test_item5_huge_list_filters_are_400_or_empty(client_for, pool, detection_project, value):
    admin = client_for("admin")
    base = f"/api/projects/{detection_project.pk}"
    for path in [
        f"{base}/images?label_class={value}",
        f"{base}/annotations?image={value}",
        f"{base}/images?page={value}",
        f"{base}/credits/ledger?page={value}",
    ]:
        response = admin.get(path)
        assert response.status_code in (200, 400, 404), (path, response.status_code, response.content[:300])
        if response.status_code == 200:
            assert response.json()["results"] == []


@pytest.mark.parametrize(
    "setting, value",
    [
        ("held_credit_hours", 1e300),
        ("affirmation_window_hours", 1e300),
        ("stream_expected_items", 10**30),
        ("auto_retrain_every", 10**30),
        ("stream_hard_cap", 10**30),
        ("collection_rules", [{"kind": "random_1_in_n", "n": 10**30}]),
    ],
)
def test_item5_settings_have_upper_bounds(client_for, detection_project, setting, value):
    response = client_for("admin").patch(
        f"/api/projects/{detection_project.pk}", {"settings": {setting: value}}, format="json"
    )
    assert response.status_code == 400, response.content[:300]


def test_item5_boxes_per_annotation_are_bounded(client_for, pool, detection_project):
    from labelapp.labeling.validation import MAX_BOXES

    annotator = client_for("annotator")
    item = annotator.post(f"/api/projects/{detection_project.pk}/queue/next").json()
    class_id = detection_project.label_classes.first().pk
    boxes = [{"x": 1, "y": 1, "w": 2, "h": 2, "label_class": class_id}] * (MAX_BOXES + 1)
    response = annotator.post(
        f"/api/projects/{detection_project.pk}/annotations",
        {"image": item["image"]["id"], "boxes": boxes},
        format="json",
    )
    assert response.status_code == 400 and str(MAX_BOXES) in response.json()["detail"], response.json()


def _grant_past_32_bits(project):
    for _ in range(216):
        credit_grant(project=project, amount=MAX_GRANT)
    balance = CreditBalance.objects.get(project=project)
    assert balance.granted == 216 * MAX_GRANT > 2**31
    return balance


def test_item5_credit_counters_hold_more_than_32_bits(detection_project):
    """214 grants of 10 M overflowed PostgreSQL's integer: the counters are 64-bit now."""
    _grant_past_32_bits(detection_project)
    assert CreditBalance._meta.get_field("granted").get_internal_type() == "PositiveBigIntegerField"


@pytest.mark.postgres
def test_item5_credit_counters_hold_more_than_32_bits_on_postgresql(pool, detection_project, client_for):
    from django.db import connection

    assert connection.vendor == "postgresql"
    before = CreditBalance.objects.get(project=detection_project).granted
    for _ in range(216):
        credit_grant(project=detection_project, amount=MAX_GRANT)
    client = client_for("annotator")
    # The queue's reserve is a raw UPDATE on the counters: it must work past 2^31 as well.
    response = client.post(f"/api/projects/{detection_project.pk}/queue/next")
    assert response.status_code == 201, response.content
    assert response.json()["balance"] == {
        "granted": before + 216 * MAX_GRANT,
        "reserved": 1,
        "spent": 0,
        "available": before + 216 * MAX_GRANT - 1,
    }


def test_item5_one_grant_and_the_total_are_capped(client_for, detection_project):
    admin = client_for("admin")
    url = f"/api/projects/{detection_project.pk}/credits/grant"
    assert admin.post(url, {"amount": MAX_GRANT + 1}, format="json").status_code == 400
    CreditBalance.objects.filter(project=detection_project).update(granted=MAX_GRANTED_TOTAL - 5)
    response = admin.post(url, {"amount": 6}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "grant_cap"
    assert admin.post(url, {"amount": 5}, format="json").status_code == 201


def test_item5_beat_jobs_process_each_project_in_isolation(detection_project, users, caplog):
    """A project whose stored settings are out of range (written before the bounds existed)
    must not stop the beat job for the others."""
    from labelapp.credits.models import HoldState, StreamHold
    from labelapp.credits.services import held_credits_release_expired
    from labelapp.images.services import images_ingest
    from labelapp.projects.services import project_create
    from tests.conftest import jpeg_bytes

    broken = project_create(name="Broken", task_type="detection", created_by=users["admin"], class_names=["a"])
    Project.objects.filter(pk=broken.pk).update(settings={"held_credit_hours": 1e300})
    holds = []
    # The broken project gets the lower id, so it is met first.
    for index, project in enumerate(sorted([broken, detection_project], key=lambda p: p.pk)):
        credit_grant(project=project, amount=1)
        image = images_ingest(
            project=project, files=[(f"h{index}.jpg", jpeg_bytes(100 + index), "image/jpeg")]
        ).created[0]
        from django.db import transaction

        with transaction.atomic():
            entry = credit_reserve(project=project, actor=None, image=image)
            holds.append(StreamHold.objects.create(project=project, image=image, credit_entry=entry))
    StreamHold.objects.update(created_at=timezone.now() - timedelta(days=30))
    released = held_credits_release_expired()
    assert released == 1
    good = StreamHold.objects.get(project=detection_project)
    assert good.state == HoldState.RELEASED
    assert StreamHold.objects.get(project=broken).state == HoldState.HELD
    assert any(str(broken.pk) in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("value", [JUST_OVER, HUGE, "²", "-1e5000", "1e5000", "-3", "0", "abc"])
def test_item5_out_of_range_ids_in_query_parameters_are_400(client_for, pool, detection_project, value):
    """Ids in query parameters beyond 64 bits, Unicode digits ("²".isdigit() is true but int()
    fails) and non-numbers were a 500 in several views; one parser makes them all a 400."""
    admin = client_for("admin")
    base = f"/api/projects/{detection_project.pk}"
    for path in [
        f"{base}/data?annotator={value}",
        f"{base}/data?label_class={value}",
        f"{base}/review/next?skip={value}",
        f"{base}/review/next?skip=1,{value}",
        f"{base}/annotations?image={value}",
        f"{base}/images?label_class={value}",
        f"{base}/images/near-duplicates?ids={value}",
    ]:
        response = admin.get(path)
        assert response.status_code == 400, (path, response.status_code, response.content[:300])
        body = response.json()
        assert body["detail"] and body["code"], (path, body)


def test_item5_valid_ids_in_query_parameters_still_filter(client_for, pool, detection_project):
    admin = client_for("admin")
    base = f"/api/projects/{detection_project.pk}"
    assert admin.get(f"{base}/annotations?image={pool[0].pk}").status_code == 200
    assert admin.get(f"{base}/images?label_class={MAX_ID}").json()["results"] == []
    skipped = admin.get(f"{base}/review/next?skip={pool[0].pk}, {pool[1].pk},").status_code
    assert skipped == 200
    too_many = admin.get(f"{base}/review/next?skip=" + ",".join(["1"] * 1001))
    assert too_many.status_code == 400 and too_many.json()["code"] == "invalid_skip"


def test_item5_the_shared_id_parser():
    from labelapp.core.errors import ServiceError
    from labelapp.core.fields import parse_query_id, parse_query_ids

    assert parse_query_ids(" 4, 7,,9 ", name="ids", max_count=3) == [4, 7, 9]
    assert parse_query_ids("", name="ids", max_count=3) == []
    assert parse_query_id(str(MAX_ID), name="image") == MAX_ID
    for bad in [str(MAX_ID + 1), "0", "²", "٣", "1_0", "+1", "-1", "1.0"]:
        with pytest.raises(ServiceError):
            parse_query_id(bad, name="image")
    with pytest.raises(ServiceError, match="At most 3"):
        parse_query_ids("1,2,3,4", name="ids", max_count=3)


def _two_projects_the_first_broken(users):
    from labelapp.projects.services import project_create

    broken = project_create(name="Broken", task_type="detection", created_by=users["admin"], class_names=["a"])
    good = project_create(name="Good", task_type="detection", created_by=users["admin"], class_names=["a"])
    return broken, good


def test_item5_expired_reservations_are_released_project_by_project(users, caplog):
    """The lease beat job (reservations_release_expired) stopped at the first project whose
    data is bad (here: a lease whose reserved credit is missing from the counters); the
    projects after it kept their expired leases and credits."""
    from django.db import transaction

    from labelapp.images.models import Image, Status
    from labelapp.images.services import images_ingest
    from labelapp.labeling.models import Reservation, ReservationState
    from labelapp.labeling.services import reservations_release_expired
    from tests.conftest import jpeg_bytes

    broken, good = _two_projects_the_first_broken(users)
    for index, project in enumerate([broken, good]):
        credit_grant(project=project, amount=1)
        image = images_ingest(
            project=project, files=[(f"l{index}.jpg", jpeg_bytes(140 + index), "image/jpeg")]
        ).created[0]
        with transaction.atomic():
            entry = credit_reserve(project=project, actor=None, image=image)
            Reservation.objects.create(
                project=project,
                image=image,
                user=users["annotator"],
                credit_entry=entry,
                expires_at=timezone.now() - timedelta(minutes=1),
            )
        Image.objects.filter(pk=image.pk).update(status=Status.RESERVED)
    CreditBalance.objects.filter(project=broken).update(reserved=0)

    assert reservations_release_expired() == 1
    assert Reservation.objects.get(project=good).state == ReservationState.EXPIRED
    assert CreditBalance.objects.get(project=good).reserved == 0
    assert Image.objects.get(project=good).status == Status.UNLABELED
    assert Reservation.objects.get(project=broken).state == ReservationState.ACTIVE
    assert any(str(broken.pk) in record.getMessage() for record in caplog.records)


def test_item5_stale_rescores_are_resumed_project_by_project(users, caplog):
    """recover_stale_work's rescore loop stopped at the first job that failed to resume (here:
    its version names a model this install no longer has); the rescores after it stayed stalled."""
    from labelapp.core.jobs import JobStatus
    from labelapp.learning.models import available_models
    from labelapp.training.models import ModelVersion, RescoreJob
    from labelapp.training.runs import recover_stale_work

    broken, good = _two_projects_the_first_broken(users)
    jobs = []
    for project, model_name in [(broken, "no-such-model"), (good, available_models()[0])]:
        version = ModelVersion.objects.create(
            project=project,
            number=1,
            model_name=model_name,
            checkpoint="checkpoints/x.pt",
            classes=[],
            input_size=64,
            is_active=True,
        )
        # Running, with a worker that never beat: what a killed worker leaves.
        jobs.append(
            RescoreJob.objects.create(
                project=project, model_version=version, status=JobStatus.RUNNING, started_at=timezone.now()
            )
        )
    broken_job, good_job = jobs

    assert recover_stale_work()["rescores"] == [good_job.pk]
    # The good project's pool is empty, so its resumed rescore is done at once.
    assert RescoreJob.objects.get(pk=good_job.pk).status == JobStatus.SUCCEEDED
    assert RescoreJob.objects.get(pk=broken_job.pk).status == JobStatus.RUNNING
    assert any(str(broken_job.pk) in record.getMessage() for record in caplog.records)
