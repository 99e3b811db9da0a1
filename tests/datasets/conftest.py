"""Helpers for the dataset tests (and the labeling rule's import path): archives built in
memory, and an import run through the API and its job."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from labelapp.datasets.dataset_import import import_run


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED, infos: list | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for info, data in infos or []:
            archive.writestr(info, data)
    return buffer.getvalue()


def post_import(client, project, archive: bytes, name: str = "dataset.zip"):
    return client.post(
        f"/api/projects/{project.pk}/import",
        {"file": SimpleUploadedFile(name, archive, content_type="application/zip")},
        format="multipart",
    )


def run_import(client, project, archive: bytes) -> dict:
    """Start an import, run its job as the worker would, and return the job from the API."""
    response = post_import(client, project, archive)
    assert response.status_code == 202, response.json()
    job = response.json()
    assert (job["status"], job["done"], job["total"]) == ("queued", 0, None)
    import_run(job_id=job["id"])
    finished = client.get(f"/api/projects/{project.pk}/imports/{job['id']}")
    assert finished.status_code == 200
    return finished.json()
