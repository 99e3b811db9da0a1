"""Creating a project with classes and a budget, archiving and restoring it, renaming and
recolouring classes, and the default class colours."""

import pytest

from labelapp.credits.models import CreditEntry
from labelapp.projects.colors import NAMED_COLORS, PALETTE, color_for_class, shades_of
from labelapp.projects.models import Project
from labelapp.projects.services import project_create, project_delete

pytestmark = pytest.mark.django_db


def test_a_colour_word_in_the_name_picks_the_colour():
    assert color_for_class("yellow_box", set()) == NAMED_COLORS["yellow"]
    assert color_for_class("brown_box", set()) == NAMED_COLORS["brown"]
    assert color_for_class("Red car", set()) == NAMED_COLORS["red"]
    # Part of a word is not a colour word: "bored" contains "red".
    assert color_for_class("bored_cat", set()) == PALETTE[0]


def test_a_colour_word_already_drawn_picks_the_nearest_shade_of_it_not_in_use():
    red = NAMED_COLORS["red"]
    darker, lighter = shades_of(red)[1:3]
    assert (darker, lighter) == ("#b8143c", "#eb476f")  # 20 % towards black, then towards white
    assert color_for_class("red_ball", {red}) == darker
    assert color_for_class("red_ball", {red.upper(), darker}) == lighter
    # Off-white: a lighter white would look the same, so the next is a light grey, not a blue.
    assert color_for_class("white_bag", {NAMED_COLORS["white"]}) == "#c6c8ca"
    # A shade within 32 of a colour in use (per channel) looks the same and is passed over.
    assert color_for_class("red_ball", {red, "#b0103a"}) == lighter
    # Every shade in use: the colour itself again, rather than another hue.
    assert color_for_class("red_ball", set(shades_of(red))) == red


def test_without_a_colour_word_the_first_unused_palette_colour_is_taken():
    assert color_for_class("can", {PALETTE[0], PALETTE[1].upper()}) == PALETTE[2]
    assert color_for_class("can", set(PALETTE)) == PALETTE[len(PALETTE) % len(PALETTE)]


def test_the_demo_classes_are_drawn_in_their_own_colours_and_are_distinct(detection_project):
    colors = dict(detection_project.label_classes.values_list("name", "color"))
    assert colors == {
        "brown_box": NAMED_COLORS["brown"],
        "white_envelope": NAMED_COLORS["white"],
        "yellow_box": NAMED_COLORS["yellow"],
    }


def test_create_a_project_with_classes_and_a_first_budget(client_for, users):
    body = {
        "name": "Shelf",
        "task_type": "detection",
        "budget": 250,
        "classes": [{"name": "can"}, {"name": "green_bottle", "hotkey": "5"}, {"name": "lid", "color": "#123456"}],
    }
    response = client_for("nobody").post("/api/projects", body, format="json")

    assert response.status_code == 201, response.content
    project = response.json()
    assert project["my_role"] == "admin"
    assert project["balance"]["granted"] == 250 and project["balance"]["available"] == 250
    classes = [(c["name"], c["color"], c["hotkey"]) for c in project["label_classes"]]
    assert classes == [("can", PALETTE[0], "1"), ("green_bottle", NAMED_COLORS["green"], "5"), ("lid", "#123456", "2")]
    grant = CreditEntry.objects.get(project_id=project["id"])
    assert (grant.kind, grant.amount, grant.actor) == ("grant", 250, users["nobody"])


@pytest.mark.parametrize(
    "body, field",
    [
        ({"classes": [{"name": "a"}, {"name": "a"}]}, "classes"),
        ({"classes": [{"name": "a", "hotkey": "1"}, {"name": "b", "hotkey": "1"}]}, "classes"),
        ({"classes": [{"name": "a", "color": "blue"}]}, "classes"),
        ({"budget": -1}, "budget"),
        ({"budget": "lots"}, "budget"),
        ({"task_type": "segmentation"}, "task_type"),
    ],
)
def test_a_bad_create_is_refused_at_its_field_and_stores_nothing(client_for, body, field):
    before = Project.objects.count()
    response = client_for("nobody").post(
        "/api/projects", {"name": "Bad", "task_type": "detection", **body}, format="json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Project.objects.count() == before


@pytest.mark.parametrize("key", ["s", "0", "a", "Z", "-", "10", "٣"])
def test_a_class_key_other_than_a_digit_1_to_9_is_refused_at_its_field(client_for, detection_project, key):
    """Only 1-9 select a class on the labeling page; `s` (skip), `z` (undo) would clash."""
    admin = client_for("admin")
    created = admin.post(
        "/api/projects",
        {"name": "Keys", "task_type": "detection", "classes": [{"name": "a"}, {"name": "b", "hotkey": key}]},
        format="json",
    )
    assert created.status_code == 400, created.content
    assert created.json()["classes"]["1"]["hotkey"] == ["A class key is one digit from 1 to 9 (or empty for none)."]
    assert created.json()["detail"].startswith("classes.1.hotkey: A class key is one digit from 1 to 9")
    assert not Project.objects.filter(name="Keys").exists()

    classes_path = f"/api/projects/{detection_project.pk}/classes"
    added = admin.post(classes_path, {"name": "parcel", "hotkey": key}, format="json")
    assert added.status_code == 400, added.content
    assert "hotkey" in added.json()
    assert not detection_project.label_classes.filter(name="parcel").exists()

    brown = detection_project.label_classes.get(name="brown_box")
    changed = admin.patch(f"{classes_path}/{brown.pk}", {"hotkey": key}, format="json")
    assert changed.status_code == 400, changed.content
    assert "hotkey" in changed.json()
    brown.refresh_from_db()
    assert brown.hotkey == "1"


def test_a_class_key_can_be_cleared_and_given_keys_are_kept_free_for_their_classes(client_for, detection_project):
    admin = client_for("admin")
    brown = detection_project.label_classes.get(name="brown_box")
    cleared = admin.patch(f"/api/projects/{detection_project.pk}/classes/{brown.pk}", {"hotkey": ""}, format="json")
    assert cleared.status_code == 200 and cleared.json()["hotkey"] == ""
    # b asks for key 1: a, listed first without a key, takes the next free digit instead.
    created = admin.post(
        "/api/projects",
        {"name": "Keys", "task_type": "detection", "classes": [{"name": "a"}, {"name": "b", "hotkey": "1"}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert [(c["name"], c["hotkey"]) for c in created.json()["label_classes"]] == [("a", "2"), ("b", "1")]


def test_archived_projects_leave_the_default_list_and_come_back(client_for, detection_project):
    admin = client_for("admin")
    path = f"/api/projects/{detection_project.pk}"

    archived = admin.patch(path, {"archived": True}, format="json")
    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert detection_project.pk not in [p["id"] for p in admin.get("/api/projects").json()["results"]]
    assert [p["id"] for p in admin.get("/api/projects?archived=true").json()["results"]] == [detection_project.pk]
    # Still reachable by id: archiving hides, it does not lock anyone out.
    assert client_for("annotator").get(path).status_code == 200

    restored = admin.patch(path, {"archived": False}, format="json")
    assert restored.json()["archived_at"] is None
    assert detection_project.pk in [p["id"] for p in admin.get("/api/projects").json()["results"]]
    assert client_for("annotator").patch(path, {"archived": True}, format="json").status_code == 403


def test_rename_and_recolour_a_class(client_for, detection_project):
    label_class = detection_project.label_classes.get(name="brown_box")
    path = f"/api/projects/{detection_project.pk}/classes/{label_class.pk}"

    response = client_for("admin").patch(path, {"name": "cardboard_box", "color": "#aa5500"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["color"]) == ("cardboard_box", "#aa5500")
    label_class.refresh_from_db()
    assert (label_class.name, label_class.color) == ("cardboard_box", "#aa5500")


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "yellow_box"}, "duplicate_class"),
        ({"hotkey": "3"}, "duplicate_hotkey"),
    ],
)
def test_a_rename_onto_another_class_is_a_400_not_a_500(client_for, detection_project, body, code):
    """Names are unique per project (a database constraint) and keys select one class each."""
    label_class = detection_project.label_classes.get(name="brown_box")
    response = client_for("admin").patch(
        f"/api/projects/{detection_project.pk}/classes/{label_class.pk}", body, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["field"] == next(iter(body))
    label_class.refresh_from_db()
    assert (label_class.name, label_class.hotkey) == ("brown_box", "1")


def test_a_bad_colour_is_refused_at_the_field(client_for, detection_project):
    label_class = detection_project.label_classes.first()
    response = client_for("admin").patch(
        f"/api/projects/{detection_project.pk}/classes/{label_class.pk}", {"color": "red"}, format="json"
    )
    assert response.status_code == 400
    assert "color" in response.json()


def test_the_migration_recolours_untouched_default_colours_only(detection_project):
    """An existing demo drew yellow_box in the third default colour (blue)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("labelapp.projects.migrations.0003_recolour_default_class_colours")
    classes = {c.name: c for c in detection_project.label_classes.all()}
    old = migration.OLD_DEFAULTS
    type(classes["yellow_box"]).objects.filter(pk=classes["yellow_box"].pk).update(color=old[2])  # as created before
    type(classes["brown_box"]).objects.filter(pk=classes["brown_box"].pk).update(color="#010203")  # picked by someone

    migration.recolour(apps, None)

    colors = dict(detection_project.label_classes.values_list("name", "color"))
    assert colors["yellow_box"] == NAMED_COLORS["yellow"]
    assert colors["brown_box"] == "#010203"


def test_every_new_project_gets_its_balance_row_from_the_credits_app(users):
    """The credits app's receiver of Project's post_save makes the row, whoever creates the
    project (the projects app does not know about credits)."""
    from labelapp.credits.models import CreditBalance

    made_by_the_service = project_create(name="Served", task_type="detection", created_by=users["admin"])
    made_directly = Project.objects.create(name="Direct", task_type="classification")

    for project in (made_by_the_service, made_directly):
        balance = CreditBalance.objects.get(project=project)
        assert balance.as_dict() == {"granted": 0, "reserved": 0, "spent": 0, "available": 0}


def test_deleting_a_project_lets_the_labeling_app_clear_its_protecting_rows_first(classification_project, users):
    """A labeled image's annotation PROTECTs its class and a lease PROTECTs its credit entry:
    the labeling app deletes them on `project_deleting`, before the cascade."""
    from labelapp.credits.services import credit_grant
    from labelapp.images.services import images_ingest
    from labelapp.labeling.models import Annotation, Reservation
    from labelapp.labeling.services import annotation_submit, image_reserve_next
    from tests.conftest import jpeg_bytes

    project = classification_project
    images_ingest(project=project, files=[(f"d{i}.jpg", jpeg_bytes(700 + i), "image/jpeg") for i in range(2)])
    credit_grant(project=project, amount=5)
    labeled = image_reserve_next(project=project, user=users["annotator"])
    annotation_submit(
        project=project,
        user=users["annotator"],
        image_id=labeled.image.pk,
        label_class=project.label_classes.first().pk,
    )
    image_reserve_next(project=project, user=users["annotator"])
    assert Annotation.objects.filter(project=project).exists()
    assert Reservation.objects.filter(project=project, state="active").exists()

    project_delete(project=project)

    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Annotation.objects.filter(project_id=project.pk).exists()
    assert not Reservation.objects.filter(project_id=project.pk).exists()


def test_the_strategy_choices_are_the_engines_that_fit_the_task_default_first(client_for, detection_project):
    """One list: the settings form offers what the server accepts, adaptive (the default) included."""
    from labelapp.learning.strategies.registry import STRATEGIES
    from labelapp.projects.settings_schema import STRATEGY_CHOICES, strategies_for

    assert ["adaptive", *STRATEGIES] == STRATEGY_CHOICES
    assert strategies_for("detection") == [
        "adaptive",
        "random",
        "detection_mean",
        "detection_max",
        "detection_near_threshold",
    ]
    assert strategies_for("classification") == ["adaptive", "random", "least_confident", "margin", "entropy"]
    project = client_for("admin").get(f"/api/projects/{detection_project.pk}").json()
    assert project["strategy_choices"] == strategies_for("detection")


def test_a_strategy_of_the_other_task_type_is_refused_at_its_field(client_for, detection_project):
    """margin scores class probabilities: on a detection project every re-scoring would fail."""
    admin = client_for("admin")
    path = f"/api/projects/{detection_project.pk}"
    assert admin.patch(path, {"settings": {"strategy": "random"}}, format="json").status_code == 200

    refused = admin.patch(path, {"settings": {"strategy": "margin"}}, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["strategy"] == [
        "'margin' does not fit a detection project; choose from adaptive, random, detection_mean, detection_max, "
        "detection_near_threshold."
    ]
    detection_project.refresh_from_db()
    assert detection_project.settings["strategy"] == "random"
    # And back to the default.
    assert admin.patch(path, {"settings": {"strategy": "adaptive"}}, format="json").json()["settings"]["strategy"] == (
        "adaptive"
    )

    created = admin.post(
        "/api/projects",
        {"name": "Cls", "task_type": "classification", "settings": {"strategy": "detection_max"}},
        format="json",
    )
    assert created.status_code == 400 and "strategy" in created.json()
    assert not Project.objects.filter(name="Cls").exists()
