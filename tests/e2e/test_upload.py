import pytest
from playwright.sync_api import expect

from labelapp.images.models import Image

from .conftest import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upload_reports_created_duplicate_and_rejected_files(page, live_server, login, shoot, porch):
    project = porch["project"]
    before = Image.objects.filter(project=project).count()
    login("admin")
    page.get_by_test_id(f"project-{project.pk}").get_by_role("link", name="Upload").click()
    page.get_by_test_id("file-input").set_input_files(
        [
            {"name": "new-porch.png", "mimeType": "image/png", "buffer": png_bytes(99)},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image at all"},
            {"name": "again.png", "mimeType": "image/png", "buffer": png_bytes(0)},  # porch-0.png's bytes
        ]
    )
    items = page.get_by_test_id("upload-list").locator("li")
    expect(items).to_have_count(3)
    expect(page.get_by_test_id("upload-list").locator("li[data-status='created']")).to_have_count(1)
    expect(page.get_by_test_id("upload-list").locator("li[data-status='duplicate']")).to_have_count(1)
    expect(page.get_by_test_id("upload-list").locator("li[data-status='rejected']")).to_have_count(1)
    problems = page.get_by_test_id("problems")
    rejected = problems.locator(".problem-rejected")
    expect(rejected).to_contain_text("notes.txt")
    expect(rejected.locator(".problem-reason")).not_to_be_empty()
    expect(problems.locator(".problem-duplicate")).to_contain_text(f"#{porch['images'][0].pk}")
    expect(page.get_by_test_id("upload-summary")).to_contain_text("1 uploaded")
    assert Image.objects.filter(project=project).count() == before + 1
    assert Image.objects.filter(project=project, original_name="new-porch.png").exists()
    shoot("upload", full_page=True)
