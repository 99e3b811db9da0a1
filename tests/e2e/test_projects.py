import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LINKS = {
    "admin": ["Label", "Verify", "Upload", "Data", "Review", "Admin"],
    "annotator": ["Label", "Upload"],
    "verifier": ["Verify"],
}


def test_login_rejects_a_wrong_password(page, live_server, users):
    page.goto(f"{live_server.url}/projects")
    page.wait_for_url("**/login?next=%2Fprojects")
    page.get_by_label("Username").fill("annotator")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Fprojects")


@pytest.mark.parametrize("role", ["admin", "annotator", "verifier"])
def test_each_role_sees_its_projects_and_pages(page, live_server, login, shoot, porch, role):
    project = porch["project"]
    login(role)
    card = page.get_by_test_id(f"project-{project.pk}")
    expect(card.get_by_role("heading", name=project.name)).to_be_visible()
    expect(card.locator(".badge")).to_have_text(role)
    expect(card.get_by_test_id("credits-left")).to_have_text("20")
    expect(card.get_by_role("link")).to_have_text(LINKS[role])
    if role == "admin":
        # The admin also belongs to no other project; outsiders' projects stay hidden.
        expect(page.locator(".project-card")).to_have_count(1)
        shoot("projects")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def test_login_page_screenshot(page, live_server, shoot, users):
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shoot("login")
