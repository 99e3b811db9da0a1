import pytest
from playwright.sync_api import expect

from labelapp.projects.models import Membership

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_grants_credits_and_sees_the_gauge_and_ledger(page, live_server, login, shoot, porch):
    project = porch["project"]
    login("admin")
    page.get_by_test_id(f"project-{project.pk}").get_by_role("link", name="Admin").click()
    gauge = page.get_by_test_id("credit-gauge")
    expect(gauge.get_by_test_id("gauge-granted")).to_have_text("20")
    expect(gauge.get_by_test_id("gauge-available")).to_have_text("20")
    expect(page.get_by_test_id("ledger")).to_contain_text("e2e budget")
    # The model version the fixture stored is listed with val and test side by side.
    versions = page.get_by_test_id("model-versions-panel")
    expect(versions).to_contain_text("v1")
    expect(versions.get_by_test_id("metrics-table")).to_contain_text("0.410")
    expect(versions.get_by_test_id("metrics-table")).to_contain_text("0.380")
    shoot("admin", full_page=True)

    form = page.get_by_role("form", name="Grant credits")
    form.get_by_label("Credits").fill("25")
    form.get_by_label("Note").fill("Q3 top-up")
    form.get_by_role("button", name="Grant").click()
    expect(gauge.get_by_test_id("gauge-granted")).to_have_text("45")
    expect(gauge.get_by_test_id("gauge-available")).to_have_text("45")
    expect(page.get_by_test_id("ledger").locator("tbody tr").first).to_contain_text("Q3 top-up")
    # The gauge's available segment fills the whole bar while nothing is spent.
    expect(gauge.locator(".gauge-seg.gauge-available")).to_have_attribute("style", "width: 100%;")


def test_admin_edits_settings_and_members(page, live_server, login, porch, users):
    project = porch["project"]
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui")
    settings = page.get_by_test_id("settings-panel")
    settings.get_by_label("Auto retrain every").fill("7")
    settings.get_by_label("Strategy").select_option("detection_max")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert project.settings["auto_retrain_every"] == 7
    assert project.settings["strategy"] == "detection_max"

    members = page.get_by_test_id("members-panel")
    expect(members.get_by_test_id("member-annotator")).to_be_visible()
    add = members.get_by_role("form", name="Add member")
    add.get_by_label("Username").fill("nobody")
    add.get_by_label("Role").select_option("verifier")
    add.get_by_role("button", name="Add").click()
    expect(members.get_by_test_id("member-nobody")).to_be_visible()
    members.get_by_label("Role of nobody").select_option("annotator")
    expect(members.get_by_label("Role of nobody")).to_have_value("annotator")
    page.wait_for_load_state("networkidle")
    assert Membership.objects.get(project=project, user=users["nobody"]).role == "annotator"
    page.once("dialog", lambda dialog: dialog.accept())
    members.get_by_test_id("member-nobody").get_by_role("button", name="Remove").click()
    expect(members.get_by_test_id("member-nobody")).to_have_count(0)
    assert not Membership.objects.filter(project=project, user=users["nobody"]).exists()


def test_annotator_cannot_open_the_admin_page(page, live_server, login, porch):
    login("annotator")
    page.goto(f"{live_server.url}/projects/{porch['project'].pk}/admin-ui")
    expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
