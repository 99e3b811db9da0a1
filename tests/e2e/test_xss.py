"""Stored XSS: HTML/JS in project names, class names, file names and notes is shown as text
on every page; no injected script ever runs."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


def test_user_text_is_rendered_as_text_everywhere(page, live_server, login, porch):
    from labelapp.credits.services import credit_grant
    from labelapp.images.models import Image
    from labelapp.projects.models import LabelClass

    project = porch["project"]
    project.name = f"Porch {PAYLOAD}"
    project.save(update_fields=["name"])
    LabelClass.objects.filter(pk=porch["classes"][0].pk).update(name=f"box {PAYLOAD}")
    Image.objects.filter(pk=porch["images"][0].pk).update(original_name=f"{PAYLOAD}.png")
    credit_grant(project=project, amount=1, note=f"note {PAYLOAD}")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    login("admin")
    expect(page.get_by_text(f"Porch {PAYLOAD}").first).to_be_visible()
    for path in ("label", "admin-ui", "upload", "verify"):
        page.goto(f"{live_server.url}/projects/{project.pk}/{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, f"script ran on {path}"
        assert page.locator("img[src='x']").count() == 0, f"payload parsed as HTML on {path}"
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui")
    expect(page.get_by_text(f"note {PAYLOAD}").first).to_be_visible()
    page.goto(f"{live_server.url}/projects/{project.pk}/label")
    expect(page.get_by_text(f"box {PAYLOAD}").first).to_be_visible()
    assert not dialogs
