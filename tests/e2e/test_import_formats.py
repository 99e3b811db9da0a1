"""Issue 15 item 8 in the browser: the Data tab offers the import formats of the project's
task type, imports a YOLO archive, and shows the checking phase before the importing one;
the Health panel beside it shows the imported labels as soon as the import finishes."""

import io
import zipfile

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_yolo_archive_imports_from_the_data_tab_showing_checking_then_importing(
    page, live_server, login, shoot, detection_project
):
    from labelapp.core.jobs import JobStatus
    from labelapp.datasets.dataset_import import import_run
    from labelapp.datasets.models import ImportJob
    from labelapp.labeling.models import Annotation

    login("admin")
    page.goto(f"{live_server.url}/projects/{detection_project.pk}/admin-ui/data")
    formats = page.get_by_role("list", name="Import formats")
    expect(formats).to_contain_text("YOLO: data.yaml (or classes.txt)")
    expect(formats).to_contain_text("CSV: one CSV file with the columns file_name, label_class, x, y, w, h")
    labeled_images = page.get_by_test_id("health").locator("dt:text-is('Labeled images') + dd")
    expect(labeled_images).to_have_text("0")

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("data.yaml", "names:\n  - brown_box\n")
        zipped.writestr("images/train/a.png", png_bytes(41))
        zipped.writestr("labels/train/a.txt", "0 0.5 0.5 0.5 0.5\n")
        zipped.writestr("images/train/b.png", png_bytes(42))
        zipped.writestr("labels/train/b.txt", "")
    importer = page.get_by_role("form", name="Import a dataset")
    importer.get_by_label("Archive").set_input_files(
        files=[{"name": "yolo.zip", "mimeType": "application/zip", "buffer": archive.getvalue()}]
    )
    importer.get_by_role("button", name="Import").click()
    status = page.get_by_test_id("import-status")
    expect(status).to_contain_text("Queued: waiting for a worker")

    # A worker half-way through checking, as the page sees it (the worker itself runs below).
    job = ImportJob.objects.get(project=detection_project)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, phase="checking", total=2, checked=1)
    expect(status).to_contain_text("Checking: 1 of 2 images")
    expect(status.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "50")
    shoot("import-checking", full_page=True)

    import_run(job_id=job.pk)
    expect(status).to_contain_text("Import finished.")
    expect(status).to_contain_text("2 new images")
    assert Annotation.objects.filter(project=detection_project).count() == 2
    # Without a reload: the finished import refreshes the counts that depend on it.
    expect(labeled_images).to_have_text("2")
    expect(page.get_by_test_id("class-balance")).to_contain_text("brown_box1")
    shoot("import-finished", full_page=True)
