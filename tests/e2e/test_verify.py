import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def verification_api_exists() -> bool:
    try:
        reverse("verification-next", kwargs={"project_id": 1})
    except NoReverseMatch:
        return False
    return True


@pytest.mark.skipif(verification_api_exists(), reason="the verification API exists")
def test_verify_page_says_not_enabled_until_the_api_exists(page, live_server, login, shoot, porch):
    login("verifier")
    page.get_by_test_id(f"project-{porch['project'].pk}").get_by_role("link", name="Verify").click()
    expect(page.get_by_test_id("verify-unavailable")).to_contain_text("Verification is not enabled yet")
    shoot("verify-unavailable")
