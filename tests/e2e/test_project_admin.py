"""Running a project from the browser alone: create it, invite people, rename a class, fix a
bad setting where it is reported, archive and delete it; every admin tab at both widths."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from labelapp.accounts.models import User
from labelapp.projects.colors import NAMED_COLORS
from labelapp.projects.models import Membership, Project
from tests.e2e.conftest import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_admin(users):
    """The project admin is staff too: staff manage accounts."""
    admin = users["admin"]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    return admin


def test_create_a_project_with_classes_and_a_budget_then_add_data(page, live_server, login, shoot, users):
    login("nobody")
    expect(page.get_by_text("No active projects.")).to_be_visible()
    page.get_by_role("link", name="Create a project").click()
    expect(page).to_have_url(f"{live_server.url}/projects/new")
    form = page.get_by_role("form", name="New project")
    form.locator('[name="name"]').fill("Shelf audit")
    form.get_by_label("Classification").check()
    form.locator('[name="classes.0.name"]').fill("yellow_can")
    form.get_by_role("button", name="Add class").click()
    form.locator('[name="classes.1.name"]').fill("jar")
    form.locator('[name="classes.1.color"]').fill("#123456")
    form.locator('[name="classes.1.hotkey"]').fill("7")
    form.get_by_role("button", name="Add class").click()
    form.locator('[name="classes.2.name"]').fill("yellow_can")
    form.get_by_label("First budget").fill("150")
    shoot("project-new", full_page=True)

    # A repeated class name is refused with the API's words, and nothing is created.
    form.get_by_role("button", name="Create project").click()
    expect(form.get_by_test_id("error-classes")).to_contain_text("repeated: yellow_can")
    assert not Project.objects.exists()

    form.get_by_role("button", name="Remove class 3").click()
    form.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r".*/projects/\d+/admin-ui/data\?created=1$"))
    project = Project.objects.get(name="Shelf audit")
    assert project.task_type == "classification"
    assert [(c.name, c.color, c.hotkey) for c in project.label_classes.all()] == [
        ("yellow_can", NAMED_COLORS["yellow"], "1"),
        ("jar", "#123456", "7"),
    ]
    assert project.credit_balance.granted == 150
    assert Membership.objects.get(project=project).user == users["nobody"]
    created = page.get_by_test_id("project-created")
    expect(created).to_contain_text("Shelf audit is ready")
    expect(created.get_by_role("link", name="upload images")).to_have_attribute(
        "href", f"/projects/{project.pk}/upload"
    )
    shoot("admin-data-created", full_page=True)

    # Import a labeled dataset right away: one folder per class for classification.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("yellow_can/a.png", png_bytes(31))
        zipped.writestr("jar/b.png", png_bytes(32))
    importer = page.get_by_role("form", name="Import a dataset")
    importer.get_by_label("Archive").set_input_files(
        files=[{"name": "shelf.zip", "mimeType": "application/zip", "buffer": archive.getvalue()}]
    )
    importer.get_by_role("button", name="Import").click()
    status = page.get_by_test_id("import-status")
    expect(status).to_contain_text("Queued: waiting for a worker")
    # Play the worker: the page polls the job until it has run.
    from labelapp.datasets.dataset_import import import_run
    from labelapp.datasets.models import ImportJob

    import_run(job_id=ImportJob.objects.get(project=project).pk)
    expect(status).to_contain_text("Import finished.")
    expect(status).to_contain_text("2 new images")
    assert project.images.count() == 2
    expect(page.get_by_role("link", name="CSV")).to_have_attribute(
        "href", f"/api/projects/{project.pk}/export?format=csv"
    )


def test_staff_invite_a_user_who_sets_a_password_and_is_added_by_name(
    page, live_server, login, shoot, porch, staff_admin
):
    project = porch["project"]
    login("admin")
    page.get_by_role("link", name="Users").click()
    create = page.get_by_role("form", name="Create user")
    create.get_by_label("Username").fill("annotator")
    create.get_by_role("button", name="Create and invite").click()
    expect(create.get_by_test_id("error-username")).to_contain_text("is taken")

    create.get_by_label("Username").fill("maria")
    create.get_by_label("First name").fill("Maria")
    create.get_by_label("Last name").fill("Lopez")
    create.get_by_role("button", name="Create and invite").click()
    invite = page.get_by_test_id("invite")
    expect(invite).to_contain_text("shown only now")
    link = invite.get_by_label("Invite link").input_value()
    assert link.startswith(f"{live_server.url}/set-password?uid=")
    expect(page.get_by_test_id("user-maria")).to_contain_text("never signed in")
    shoot("users", full_page=True)

    # Deactivate and reactivate the annotator, with a confirmation.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("user-annotator").get_by_role("button", name="Deactivate").click()
    expect(page.get_by_test_id("user-annotator")).to_contain_text("deactivated")
    assert not User.objects.get(username="annotator").is_active
    page.get_by_test_id("user-annotator").get_by_role("button", name="Reactivate").click()
    expect(page.get_by_test_id("user-annotator")).to_contain_text("active")
    page.wait_for_load_state("networkidle")
    assert User.objects.get(username="annotator").is_active

    # The project admin adds Maria as a member by typing part of her name.
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/members")
    members = page.get_by_test_id("members-panel")
    add = members.get_by_role("form", name="Add member")
    add.get_by_label("User").fill("mar")
    expect(members.get_by_test_id("member-candidates").locator("option")).to_have_attribute("value", "maria")
    add.get_by_label("User").fill("maria")
    expect(add.get_by_label("Role").locator("option")).to_have_count(4)  # the server's role choices, reviewer included
    add.get_by_label("Role").select_option("annotator")
    add.get_by_role("button", name="Add").click()
    expect(members.get_by_test_id("member-maria")).to_be_visible()
    shoot("admin-members", full_page=True)

    # Maria follows the link, chooses a password and signs in.
    page.context.clear_cookies()
    page.goto(link)
    page.get_by_label("New password").fill("short")
    page.get_by_label("Repeat it").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_test_id("error-password")).to_contain_text("too short")
    shoot("set-password")
    page.get_by_label("New password").fill("maria-labels-42")
    page.get_by_label("Repeat it").fill("maria-labels-42")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_test_id("password-set")).to_be_visible()
    login("maria", "maria-labels-42")
    expect(page.get_by_test_id(f"project-{project.pk}").locator(".badge")).to_have_text("annotator")


def test_rename_and_recolour_a_class(page, live_server, login, porch):
    project = porch["project"]
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    classes = page.get_by_test_id("classes-panel")
    classes.get_by_role("button", name="Edit brown_box").click()
    editor = classes.get_by_role("form", name="Edit class brown_box")
    editor.get_by_label("Name").fill("yellow_box")
    editor.get_by_role("button", name="Save").click()
    expect(editor.get_by_test_id("error-name")).to_contain_text("already exists")

    editor.get_by_label("Name").fill("cardboard_box")
    editor.get_by_label("Colour").fill("#aa5500")
    editor.get_by_role("button", name="Save").click()
    expect(classes.get_by_test_id("class-cardboard_box")).to_be_visible()
    label_class = project.label_classes.get(pk=porch["classes"][0].pk)
    assert (label_class.name, label_class.color) == ("cardboard_box", "#aa5500")


def test_a_bad_collection_rule_shows_the_api_message_at_its_field(page, live_server, login, shoot, porch):
    project = porch["project"]
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    settings = page.get_by_test_id("settings-panel")
    expect(settings.get_by_text("How long an annotator holds an image")).to_be_visible()  # the schema's help text
    settings.get_by_role("button", name="Add rule").click()
    settings.get_by_role("button", name="Add rule").click()
    second = settings.get_by_test_id("rule-1")
    second.get_by_label("Kind").select_option("low_confidence")
    second.get_by_label("Confidence under").fill("1.5")
    settings.get_by_test_id("rule-0").get_by_label("Keep 1 in N").fill("0")
    settings.get_by_label("Lease").fill("0")
    settings.get_by_role("button", name="Save settings").click()

    # The API's own words, at each field: nested rule errors included.
    expect(settings.get_by_test_id("error-collection_rules.0.n")).to_have_text(
        "Ensure this value is greater than or equal to 1."
    )
    expect(settings.get_by_test_id("error-collection_rules.1.threshold")).to_have_text(
        "Ensure this value is less than or equal to 1."
    )
    expect(settings.get_by_test_id("error-lease_minutes")).to_have_text(
        "Ensure this value is greater than or equal to 1."
    )
    expect(settings).not_to_contain_text("Request failed")
    shoot("admin-settings-errors", full_page=True)
    project.refresh_from_db()
    assert not project.settings.get("collection_rules")

    settings.get_by_test_id("rule-0").get_by_label("Keep 1 in N").fill("20")
    second.get_by_label("Confidence under").fill("0.3")
    second.get_by_label("At most per day").fill("50")
    settings.get_by_label("Lease").fill("15")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert project.settings["lease_minutes"] == 15
    assert project.settings["collection_rules"] == [
        {"kind": "random_1_in_n", "n": 20, "per_hour": None, "per_day": None},
        {"kind": "low_confidence", "threshold": 0.3, "per_hour": None, "per_day": 50},
    ]


def test_each_tab_loads_only_its_own_data(page, live_server, login, shoot, porch):
    project = porch["project"]
    login("admin")
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if "/api/projects/" in request.url else None)
    expected = {
        # The health plots colour by class.
        "overview": ("/credits", "/learning-curve"),
        "data": ("/health", "/classes"),
        "model": ("/engine", "/training-runs", "/rescore", "/model-versions", "/synthesis"),
        "settings": ("/classes",),
        "members": ("/members", "/annotator-stats"),
    }
    others = {suffix for suffixes in expected.values() for suffix in suffixes}
    for tab, own in expected.items():
        seen.clear()
        page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/{tab}")
        expect(page.get_by_test_id(f"tab-{tab}")).to_be_visible()
        page.wait_for_load_state("networkidle")
        loaded = {suffix for suffix in others if any(re.search(re.escape(suffix) + r"(/|\?|$)", url) for url in seen)}
        assert set(own) <= loaded, (tab, loaded)
        assert not (loaded - set(own)), f"the {tab} tab loaded {sorted(loaded - set(own))}"
        shoot(f"admin-tab-{tab}", full_page=True)
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui")
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/admin-ui/overview")


def test_archive_restore_and_delete_with_the_name_typed(page, live_server, login, shoot, porch):
    project = porch["project"]
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    lifecycle = page.get_by_test_id("lifecycle-panel")
    page.once("dialog", lambda dialog: dialog.accept())
    lifecycle.get_by_role("button", name="Archive").click()
    expect(lifecycle.get_by_role("button", name="Restore")).to_be_visible()
    page.goto(f"{live_server.url}/projects")
    expect(page.get_by_test_id(f"project-{project.pk}")).to_have_count(0)
    page.get_by_label("Show archived").check()
    archived = page.get_by_test_id(f"archived-{project.pk}")
    expect(archived).to_contain_text(project.name)
    shoot("projects-archived")
    archived.get_by_role("button", name="Restore").click()
    expect(page.get_by_test_id(f"project-{project.pk}")).to_be_visible()

    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    delete = page.get_by_role("form", name="Delete project")
    expect(delete.get_by_role("button", name="Delete project")).to_be_disabled()
    delete.get_by_label("Project name").fill(project.name + "x")
    expect(delete.get_by_role("button", name="Delete project")).to_be_disabled()
    delete.get_by_label("Project name").fill(project.name)
    delete.get_by_role("button", name="Delete project").click()
    page.wait_for_url(f"{live_server.url}/projects")
    assert not Project.objects.filter(pk=project.pk).exists()
