"""The data browser, label edits as revisions, and the review queue (labelapp.review)."""

import pytest

from labelapp.credits.models import CreditEntry, EntryKind
from labelapp.images.models import PINNED_PRIORITY, Image
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Annotation
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.projects.models import Membership, Role
from labelapp.review.models import LabelQuality, LabelRevision, ReviewDecision
from labelapp.training.models import ModelVersion, Prediction
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(users, classification_project):
    Membership.objects.create(project=classification_project, user=users["reviewer"], role=Role.REVIEWER)
    return users["reviewer"]


@pytest.fixture
def cats(classification_project, users, reviewer):
    """Six classification images; four labeled by the annotator (cat, cat, dog, dog), with
    suspicion 0.1, 0.9, 0.3, 0.7 and a model that says `dog` for the second one."""
    from labelapp.credits.services import credit_grant

    project = classification_project
    created = images_ingest(
        project=project, files=[(f"c{i}.jpg", jpeg_bytes(300 + i), "image/jpeg") for i in range(6)]
    ).created
    for index, image in enumerate(created):
        Image.objects.filter(pk=image.pk).update(priority=1 - index * 0.1)
    credit_grant(project=project, amount=20)
    cat, dog = project.label_classes.order_by("id")
    labeled = []
    for class_ in (cat, cat, dog, dog):
        item = image_reserve_next(project=project, user=users["annotator"])
        annotation_submit(
            project=project, user=users["annotator"], image_id=item.image.pk, label_class=class_.pk, seconds_spent=3
        )
        labeled.append(item.image)
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        model_name="t",
        checkpoint="checkpoints/t.pt",
        classes=[cat.pk, dog.pk],
        input_size=64,
        is_active=True,
    )
    Prediction.objects.create(image=labeled[1], model_version=version, probs=[0.03, 0.97])
    for image, suspicion in zip(labeled, (0.1, 0.9, 0.3, 0.7)):
        LabelQuality.objects.create(
            project=project,
            image=image,
            suspicion=suspicion,
            scored_at=image.created_at,
            model_disagrees=suspicion > 0.5,
            reason="model 0.97 `dog`" if suspicion == 0.9 else "",
        )
    return {
        "project": project,
        "labeled": labeled,
        "unlabeled": created[4:],
        "cat": cat,
        "dog": dog,
        "version": version,
    }


def _browse(client, project, **params):
    response = client.get(f"/api/projects/{project.pk}/data", params)
    assert response.status_code == 200, response.content
    return response.json()


def _review_order(client, project) -> list[int]:
    """Every image the review queue hands out, in order, skipping each one after seeing it."""
    seen = []
    while True:
        item = client.get(
            f"/api/projects/{project.pk}/review/next", {"skip": ",".join(map(str, seen))} if seen else {}
        ).json()["item"]
        if item is None:
            return seen
        seen.append(item["image"]["id"])


def test_browse_sorts_by_suspicion_and_pages_with_a_cursor(cats, client_for):
    client = client_for("admin")
    first = _browse(client, cats["project"], sort="suspicion", page_size=3)
    ids = [item["id"] for item in first["results"]]
    labeled = cats["labeled"]
    assert ids == [labeled[1].pk, labeled[3].pk, labeled[2].pk]
    assert first["results"][0]["suspicion_reason"] == "model 0.97 `dog`"
    second = _browse(client, cats["project"], sort="suspicion", page_size=3, cursor=first["next_cursor"])
    assert [item["id"] for item in second["results"]] == [labeled[0].pk]
    assert second["next_cursor"] is None


def test_browse_newest_pages_cover_every_image_once(cats, client_for):
    client, seen, cursor = client_for("admin"), [], None
    while True:
        page = _browse(client, cats["project"], page_size=4, **({"cursor": cursor} if cursor else {}))
        seen += [item["id"] for item in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(Image.objects.filter(project=cats["project"]).values_list("id", flat=True), reverse=True)


def test_browse_filters(cats, client_for, users):
    client, project = client_for("admin"), cats["project"]
    labeled = cats["labeled"]
    assert {i["id"] for i in _browse(client, project, label_class=cats["dog"].pk)["results"]} == {
        labeled[2].pk,
        labeled[3].pk,
    }
    assert {i["id"] for i in _browse(client, project, status="unlabeled")["results"]} == {
        i.pk for i in cats["unlabeled"]
    }
    assert {i["id"] for i in _browse(client, project, suspected="true")["results"]} == {labeled[1].pk, labeled[3].pk}
    assert {i["id"] for i in _browse(client, project, disagreement="true")["results"]} == {labeled[1].pk, labeled[3].pk}
    assert len(_browse(client, project, annotator=users["annotator"].pk)["results"]) == 4
    assert _browse(client, project, created_to="2000-01-01T00:00:00Z")["results"] == []
    item = next(i for i in _browse(client, project)["results"] if i["id"] == labeled[2].pk)
    assert (item["label_class"], item["annotator"], item["suspicion"]) == (cats["dog"].pk, "annotator", 0.3)


def test_browse_filters_by_near_duplicate_group(cats, client_for):
    client, project = client_for("admin"), cats["project"]
    original, *copies = cats["labeled"][:3]
    other = cats["unlabeled"][0]
    Image.objects.filter(pk__in=[c.pk for c in copies]).update(
        near_duplicate_of=original, near_duplicate_similarity=0.99
    )
    Image.objects.filter(pk=other.pk).update(near_duplicate_of=cats["labeled"][3], near_duplicate_similarity=0.98)
    group = _browse(client, project, duplicate_group=original.pk)["results"]
    assert {i["id"] for i in group} == {original.pk, *(c.pk for c in copies)}
    assert {i["id"]: i["near_duplicate_of"] for i in group}[copies[0].pk] == original.pk
    flagged = _browse(client, project, near_duplicates="true", sort="priority")["results"]
    assert {i["id"] for i in flagged} == {*(c.pk for c in copies), other.pk}
    assert _browse(client, project, duplicate_group=other.pk, status="labeled")["results"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"sort": "random"}, "sort"),
        ({"status": "lost"}, "status"),
        ({"page_size": "0"}, "page_size"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"cursor": "not-a-cursor"}, None),
        ({"duplicate_group": "9" * 30}, "duplicate_group"),
        ({"duplicate_group": "x"}, "duplicate_group"),
    ],
)
def test_browse_rejects_bad_queries_with_a_clear_400(cats, client_for, params, field):
    response = client_for("admin").get(f"/api/projects/{cats['project'].pk}/data", params)
    assert response.status_code == 400
    body = response.json()
    if field:
        assert field in body
    else:
        assert body["code"] == "bad_cursor"


def test_an_edit_is_a_new_revision_and_the_history_keeps_the_old_label(cats, client_for):
    project, image = cats["project"], cats["labeled"][1]
    client = client_for("reviewer")
    response = client.post(
        f"/api/projects/{project.pk}/data/{image.pk}/label", {"label_class": cats["dog"].pk}, format="json"
    )
    assert response.status_code == 200, response.content
    record = response.json()
    assert record["label"]["label_class"] == cats["dog"].pk
    assert record["label"]["annotator"] == "annotator"
    history = [(e["action"], e["who"], e["label_class"]) for e in record["history"]]
    assert history == [("labeled", "annotator", cats["cat"].pk), ("edited", "reviewer", cats["dog"].pk)]
    assert record["quality"]["review_state"] == "fixed"
    assert record["prediction"]["probs"] == {str(cats["cat"].pk): 0.03, str(cats["dog"].pk): 0.97}
    # The training set reads the current label: the edit is what the next retrain learns.
    assert Annotation.objects.get(image=image).label_class == cats["dog"]
    assert LabelRevision.objects.filter(image=image).count() == 2


def test_an_edit_with_a_bad_label_changes_nothing(cats, client_for):
    project, image = cats["project"], cats["labeled"][0]
    response = client_for("admin").post(
        f"/api/projects/{project.pk}/data/{image.pk}/label", {"label_class": 999999}, format="json"
    )
    assert response.status_code == 400
    assert "label_class" in response.json()["detail"]
    assert not LabelRevision.objects.filter(image=image).exists()
    unlabeled = cats["unlabeled"][0]
    response = client_for("admin").post(
        f"/api/projects/{project.pk}/data/{unlabeled.pk}/label", {"label_class": cats["cat"].pk}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "not_labeled")


def test_review_queue_hands_out_the_most_suspect_label_first_and_approve_moves_on(cats, client_for):
    client, project = client_for("reviewer"), cats["project"]
    labeled = cats["labeled"]
    item = client.get(f"/api/projects/{project.pk}/review/next").json()["item"]
    assert item["image"]["id"] == labeled[1].pk
    assert item["quality"]["reason"] == "model 0.97 `dog`"
    response = client.post(
        f"/api/projects/{project.pk}/review", {"image": labeled[1].pk, "verdict": "approve"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert client.get(f"/api/projects/{project.pk}/review/next").json()["item"]["image"]["id"] == labeled[3].pk
    skipped = client.get(f"/api/projects/{project.pk}/review/next", {"skip": f"{labeled[3].pk}"}).json()["item"]
    assert skipped["image"]["id"] == labeled[2].pk


def test_a_rejected_label_goes_to_the_top_of_the_labeling_queue_and_its_relabel_spends_a_noted_credit(
    cats, client_for, users
):
    client, project, image = client_for("reviewer"), cats["project"], cats["labeled"][1]
    response = client.post(
        f"/api/projects/{project.pk}/review", {"image": image.pk, "verdict": "reject"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "reason_required")
    response = client.post(
        f"/api/projects/{project.pk}/review",
        {"image": image.pk, "verdict": "reject", "reason": "that is a dog"},
        format="json",
    )
    assert response.status_code == 201, response.content
    image.refresh_from_db()
    assert (image.status, image.priority, image.score_reason) == ("unlabeled", PINNED_PRIORITY, "rejected")
    assert not Annotation.objects.filter(image=image).exists()

    item = image_reserve_next(project=project, user=users["annotator"])
    assert item.image.pk == image.pk
    annotation_submit(project=project, user=users["annotator"], image_id=image.pk, label_class=cats["dog"].pk)
    spend = CreditEntry.objects.filter(project=project, image=image, kind=EntryKind.SPEND).order_by("id").last()
    assert spend.note == "re-label: a reviewer rejected the previous label"
    record = client.get(f"/api/projects/{project.pk}/data/{image.pk}").json()
    assert [(e["kind"], e["action"]) for e in record["history"]] == [
        ("revision", "labeled"),
        ("review", "reject"),
        ("revision", "labeled"),
    ]
    assert record["history"][1]["reason"] == "that is a dog"
    # The new label needs review again.
    assert image.pk in _review_order(client, project)


def test_fix_in_review_is_a_revision_and_records_the_decision(cats, client_for):
    client, project, image = client_for("reviewer"), cats["project"], cats["labeled"][0]
    response = client.post(
        f"/api/projects/{project.pk}/review",
        {"image": image.pk, "verdict": "fix", "label_class": cats["dog"].pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Annotation.objects.get(image=image).label_class == cats["dog"]
    assert ReviewDecision.objects.get(image=image).annotator.username == "annotator"
    assert [r.action for r in LabelRevision.objects.filter(image=image)] == ["labeled", "fixed"]


@pytest.mark.parametrize("mode, expected", [("suspects", {1, 3}), ("share", None), ("all", {0, 1, 2, 3})])
def test_review_mode_decides_which_labels_are_reviewed(cats, client_for, mode, expected):
    project = cats["project"]
    project.settings = {**project.settings, "review_mode": mode, "review_share": 0.5}
    project.save()
    client, labeled = client_for("admin"), cats["labeled"]
    seen = _review_order(client, project)
    if expected is None:
        # The share is a fixed pseudo-random half by id: the same images every time.
        assert seen == _review_order(client, project) and len(seen) < 4
    else:
        assert set(seen) == {labeled[i].pk for i in expected}


def test_review_settings_are_validated(cats, client_for):
    response = client_for("admin").patch(
        f"/api/projects/{cats['project'].pk}", {"settings": {"review_mode": "some"}}, format="json"
    )
    assert response.status_code == 400
    assert "review_mode" in str(response.json())


def test_annotators_and_verifiers_cannot_browse_or_review(cats, client_for):
    project = cats["project"]
    assert client_for("annotator").get(f"/api/projects/{project.pk}/data").status_code == 403
    assert (
        client_for("annotator")
        .post(
            f"/api/projects/{project.pk}/review", {"image": cats["labeled"][0].pk, "verdict": "approve"}, format="json"
        )
        .status_code
        == 403
    )


def test_an_annotators_edit_is_a_revision_and_is_refused_once_a_reviewer_fixed_the_label(cats, client_for):
    project, image = cats["project"], cats["labeled"][0]  # labeled `cat` by the annotator
    annotator = client_for("annotator")
    annotation = Annotation.objects.get(image=image)
    url = f"/api/projects/{project.pk}/annotations/{annotation.pk}"
    # Before any review the annotator may correct their own label: a revision, not an overwrite.
    response = annotator.patch(url, {"label_class": cats["dog"].pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["label_class"] == cats["dog"].pk
    assert [(r.action, r.author.username, r.label_class_id) for r in LabelRevision.objects.filter(image=image)] == [
        ("labeled", "annotator", cats["cat"].pk),
        ("edited", "annotator", cats["dog"].pk),
    ]
    response = client_for("reviewer").post(
        f"/api/projects/{project.pk}/review",
        {"image": image.pk, "verdict": "fix", "label_class": cats["cat"].pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    # The reviewer's fix stands: the annotator's edit is refused and changes nothing.
    response = annotator.patch(url, {"label_class": cats["dog"].pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "label_reviewed")
    assert "reviewer" in response.json()["detail"]
    assert Annotation.objects.get(image=image).label_class == cats["cat"]
    assert LabelRevision.objects.filter(image=image).count() == 3
    assert LabelQuality.objects.get(image=image).review_state == "fixed"


def test_an_approved_label_is_no_longer_its_annotators_to_change(cats, client_for):
    project, image = cats["project"], cats["labeled"][2]
    client_for("reviewer").post(
        f"/api/projects/{project.pk}/review", {"image": image.pk, "verdict": "approve"}, format="json"
    )
    annotation = Annotation.objects.get(image=image)
    response = client_for("annotator").patch(
        f"/api/projects/{project.pk}/annotations/{annotation.pk}", {"label_class": cats["cat"].pk}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "label_reviewed")
    assert Annotation.objects.get(image=image).label_class == cats["dog"]
    assert not LabelRevision.objects.filter(image=image).exists()


@pytest.mark.parametrize("sort, bound", [("newest", "rowid<"), ("priority", "priority<"), ("suspicion", "suspicion<")])
@pytest.mark.parametrize("with_cursor", [False, True])
@pytest.mark.parametrize("filters", [{}, {"status": "labeled"}, {"split": "train", "disagreement": True}, "class"])
def test_browse_sorts_walk_an_index_instead_of_sorting_the_project(cats, sort, bound, with_cursor, filters):
    """At a million images a sort per page is what makes the browser slow: every sort must be
    read in order from an index (SQLite says USE TEMP B-TREE FOR ORDER BY when it sorts), and a
    later page must start that scan at its cursor, not walk and drop the pages before it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from labelapp.review import selectors

    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    project = cats["project"]
    filters = selectors.BrowserFilters(**({"label_class": cats["cat"].pk} if filters == "class" else filters))
    cursor = selectors._encode_cursor(0.5 if sort != "newest" else 10**6, 10**6) if with_cursor else None
    with CaptureQueriesContext(connection) as queries:
        selectors.images_browse(project=project, filters=filters, sort=sort, cursor=cursor, page_size=2)
    page_query = queries.captured_queries[0]["sql"]
    assert "ORDER BY" in page_query
    with connection.cursor() as db:
        db.execute("EXPLAIN QUERY PLAN " + page_query)
        plan = [row[-1] for row in db.fetchall()]
    assert not any("TEMP B-TREE" in step for step in plan), plan
    if with_cursor:
        assert any(bound in step for step in plan if step.startswith("SEARCH")), plan


def test_a_rejected_test_image_is_labeled_again_into_the_test_split(cats, client_for, users):
    project, image = cats["project"], cats["labeled"][2]
    Image.objects.filter(pk=image.pk).update(split="test")
    response = client_for("reviewer").post(
        f"/api/projects/{project.pk}/review", {"image": image.pk, "verdict": "reject", "reason": "wrong"}, format="json"
    )
    assert response.status_code == 201, response.content
    item = image_reserve_next(project=project, user=users["annotator"])
    assert item.image.pk == image.pk
    annotation_submit(project=project, user=users["annotator"], image_id=image.pk, label_class=cats["cat"].pk)
    image.refresh_from_db()
    assert (image.status, image.split) == ("labeled", "test")


def test_label_edits_and_review_fixes_count_toward_the_next_auto_retrain(
    cats, client_for, django_capture_on_commit_callbacks
):
    from labelapp.training.models import TrainingRun

    project, labeled = cats["project"], cats["labeled"]
    project.settings = {**project.settings, "auto_retrain_every": 2}
    project.save()
    TrainingRun.objects.create(project=project, trigger="manual", status="succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("admin").post(
            f"/api/projects/{project.pk}/data/{labeled[0].pk}/label", {"label_class": cats["dog"].pk}, format="json"
        )
    assert response.status_code == 200, response.content
    assert not TrainingRun.objects.filter(project=project, trigger="auto").exists()  # one change of two
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("reviewer").post(
            f"/api/projects/{project.pk}/review",
            {"image": labeled[2].pk, "verdict": "fix", "label_class": cats["cat"].pk},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert TrainingRun.objects.filter(project=project, trigger="auto").exists()
