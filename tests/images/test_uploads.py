"""Image upload through the API: validation before anything is written, deduplication by
content, the file and thumbnail endpoints, and the image list filters."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PilImage

from labelapp.images.models import Image, Source, Status
from labelapp.images.services import images_ingest
from labelapp.images.validation import UploadRejected
from labelapp.labeling.services import annotation_submit, image_reserve_next
from tests.conftest import jpeg_bytes, stored_files

pytestmark = pytest.mark.django_db


def upload(client, project, *files):
    """POST files given as (name, bytes, content_type) in the multipart field 'files'."""
    payload = {"files": [SimpleUploadedFile(name, data, content_type=ctype) for name, data, ctype in files]}
    return client.post(f"/api/projects/{project.pk}/images", payload, format="multipart")


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG of a few dozen bytes whose header declares width × height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def png_bytes(seed: int = 0) -> bytes:
    return jpeg_bytes(seed, fmt="PNG")


# --- accepted uploads -------------------------------------------------------------------


def test_one_file_is_stored_with_its_thumbnail(detection_project, client_for, media):
    data = jpeg_bytes(1)
    response = upload(client_for("annotator"), detection_project, ("porch.jpg", data, "image/jpeg"))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["duplicates"] == []
    [created] = body["created"]
    assert (created["original_name"], created["width"], created["height"]) == ("porch.jpg", 64, 48)
    assert (created["status"], created["split"], created["source"]) == ("unlabeled", "pool", "upload")
    image = Image.objects.get(pk=created["id"])
    assert (media / image.file.name).read_bytes() == data
    assert len(stored_files(media)) == 2  # the image and its thumbnail


def test_many_files_in_one_request(detection_project, client_for, media):
    files = [(f"f{i}.jpg", jpeg_bytes(10 + i), "image/jpeg") for i in range(3)] + [
        ("g.png", png_bytes(20), "image/png")
    ]
    response = upload(client_for("admin"), detection_project, *files)

    assert response.status_code == 201, response.json()
    assert [c["original_name"] for c in response.json()["created"]] == ["f0.jpg", "f1.jpg", "f2.jpg", "g.png"]
    assert Image.objects.filter(project=detection_project).count() == 4
    assert len(stored_files(media)) == 8


def test_same_content_twice_in_one_request_is_stored_once(detection_project, client_for, media):
    data = jpeg_bytes(2)
    response = upload(
        client_for("annotator"), detection_project, ("a.jpg", data, "image/jpeg"), ("b.jpg", data, "image/jpeg")
    )

    assert response.status_code == 201
    body = response.json()
    assert len(body["created"]) == 1 and len(body["duplicates"]) == 1
    assert body["duplicates"][0]["id"] == body["created"][0]["id"]
    assert Image.objects.filter(project=detection_project).count() == 1
    assert len(stored_files(media)) == 2


def test_same_content_across_requests_returns_the_existing_image(detection_project, client_for, media):
    client = client_for("annotator")
    data = jpeg_bytes(3)
    first = upload(client, detection_project, ("a.jpg", data, "image/jpeg")).json()["created"][0]
    files_after_first = stored_files(media)

    again = upload(client, detection_project, ("renamed.jpg", data, "image/jpeg"))

    assert again.status_code == 200
    assert again.json()["created"] == []
    assert [d["id"] for d in again.json()["duplicates"]] == [first["id"]]
    assert Image.objects.filter(project=detection_project).count() == 1
    assert stored_files(media) == files_after_first


# --- rejected uploads: 400, a message naming the problem, nothing stored ---------------------


def _bad_cases():
    good = jpeg_bytes(5)
    return [
        pytest.param(("notes.txt", b"just some text\n", "text/plain"), "not an image", id="text"),
        pytest.param(("notes.jpg", b"just some text\n", "image/jpeg"), "not an image", id="text-named-jpg"),
        pytest.param(("cut.jpg", good[: len(good) // 2], "image/jpeg"), "truncated", id="truncated-jpeg"),
        pytest.param(("bomb.png", png_bomb(), "image/png"), "decompression bomb", id="decompression-bomb"),
        pytest.param(
            ("lie.jpg", png_bytes(6), "image/jpeg"),
            "extension .jpg does not match the content, which is PNG",
            id="png-named-jpg",
        ),
        pytest.param(
            ("lie.jpg", jpeg_bytes(7), "image/png"),
            "content type image/png does not match the content, which is JPEG",
            id="jpeg-declared-png",
        ),
        pytest.param(
            ("page.jpg", jpeg_bytes(8), "text/html"), "text/html is not an image type", id="html-content-type"
        ),
        pytest.param(("empty.jpg", b"", "image/jpeg"), "empty", id="empty-file"),
    ]


@pytest.mark.parametrize("file, message", _bad_cases())
def test_bad_upload_is_refused_and_nothing_is_stored(detection_project, client_for, media, file, message):
    response = upload(client_for("annotator"), detection_project, file)

    assert response.status_code == 400, response.content
    body = response.json()
    assert message in body["detail"], body
    assert file[0] in body["detail"]  # the message names the file
    assert body["errors"][0]["file"] == file[0]
    assert not Image.objects.exists()
    assert stored_files(media) == []


def test_image_over_the_pixel_limit_is_refused(detection_project, client_for, media, settings):
    settings.LABELAPP_MAX_IMAGE_PIXELS = 1000
    response = upload(client_for("annotator"), detection_project, ("big.jpg", jpeg_bytes(9), "image/jpeg"))

    assert response.status_code == 400
    assert "64×48 pixels is over the limit of 1000 pixels" in response.json()["detail"]
    assert not Image.objects.exists() and stored_files(media) == []


def test_file_over_the_size_limit_is_refused(detection_project, client_for, media, settings):
    data = jpeg_bytes(10)
    settings.LABELAPP_MAX_UPLOAD_BYTES = len(data) - 1
    response = upload(client_for("annotator"), detection_project, ("big.jpg", data, "image/jpeg"))

    assert response.status_code == 400
    assert f"{len(data)} bytes is over the upload limit of {len(data) - 1} bytes" in response.json()["detail"]
    assert response.json()["errors"][0]["code"] == "too_large"
    assert not Image.objects.exists() and stored_files(media) == []


def test_one_bad_file_rejects_the_whole_request(detection_project, client_for, media):
    response = upload(
        client_for("annotator"),
        detection_project,
        ("good.jpg", jpeg_bytes(11), "image/jpeg"),
        ("bad.jpg", b"not an image", "image/jpeg"),
        ("good2.jpg", jpeg_bytes(12), "image/jpeg"),
    )

    assert response.status_code == 400
    body = response.json()
    assert [e["file"] for e in body["errors"]] == ["bad.jpg"]
    assert "not an image" in body["errors"][0]["detail"]
    assert not Image.objects.exists() and stored_files(media) == []


def test_several_bad_files_are_each_named(detection_project, client_for, media):
    response = upload(
        client_for("annotator"),
        detection_project,
        ("a.txt", b"text", "text/plain"),
        ("b.jpg", png_bytes(13), "image/jpeg"),
    )

    assert response.status_code == 400
    body = response.json()
    assert "2 files were rejected; nothing was stored" in body["detail"]
    assert {e["file"]: e["code"] for e in body["errors"]} == {"a.txt": "not_an_image", "b.jpg": "extension_mismatch"}
    assert stored_files(media) == []


def test_a_request_without_files_is_refused(detection_project, client_for, media):
    response = client_for("annotator").post(f"/api/projects/{detection_project.pk}/images", {}, format="multipart")

    assert response.status_code == 400
    assert "No files were sent" in response.json()["detail"]


def test_upload_to_a_project_you_are_not_a_member_of_is_404_and_stores_nothing(detection_project, client_for, media):
    response = upload(client_for("outsider_admin"), detection_project, ("x.jpg", jpeg_bytes(14), "image/jpeg"))

    assert response.status_code == 404
    assert not Image.objects.exists() and stored_files(media) == []


def test_verifier_cannot_upload(detection_project, client_for, media):
    response = upload(client_for("verifier"), detection_project, ("x.jpg", jpeg_bytes(15), "image/jpeg"))

    assert response.status_code == 403
    assert not Image.objects.exists() and stored_files(media) == []


# --- path-like file names ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x.jpg", "a/b.jpg", "..\\x.jpg", "/etc/x.jpg", "..", "x\x00.jpg"])
def test_path_like_names_are_refused_by_the_ingest_service(detection_project, media, name):
    """The service refuses any name with a path in it (the stream and import code paths pass
    names straight through)."""
    with pytest.raises(UploadRejected) as error:
        images_ingest(project=detection_project, files=[(name, jpeg_bytes(16), "image/jpeg")])

    assert error.value.extra["errors"][0]["code"] == "bad_file_name"
    assert "path" in error.value.message or "NUL" in error.value.message
    assert not Image.objects.exists() and stored_files(media) == []


def _raw_multipart(field: str, file_name: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart body written by hand: the test client would strip the path from the name."""
    boundary = "----labelapp-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("name", ["../x.jpg", "a/b.jpg", "../../../../tmp/evil.jpg", "..\\..\\evil.jpg"])
def test_path_like_names_sent_over_http_never_leave_the_media_folder(
    detection_project, client_for, media, tmp_path, name
):
    """Django's multipart parser strips directories from file names before any view sees them,
    so over HTTP the path never arrives: the file is stored under its content hash inside the
    media folder and the recorded name has no path."""
    body, content_type = _raw_multipart("files", name, jpeg_bytes(17), "image/jpeg")
    before = {p for p in tmp_path.rglob("*") if p.is_file()}

    response = client_for("annotator").generic(
        "POST", f"/api/projects/{detection_project.pk}/images", body, content_type
    )

    assert response.status_code == 201, response.content
    [created] = response.json()["created"]
    assert (
        "/" not in created["original_name"]
        and "\\" not in created["original_name"]
        and ".." not in created["original_name"]
    )
    new_files = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert new_files and all(media in p.parents for p in new_files)
    image = Image.objects.get(pk=created["id"])
    assert image.file.name.startswith(f"projects/{detection_project.pk}/images/") and image.sha256 in image.file.name


def test_a_bare_parent_dir_name_over_http_is_dropped_and_nothing_is_stored(detection_project, client_for, media):
    body, content_type = _raw_multipart("files", "..", jpeg_bytes(18), "image/jpeg")

    response = client_for("annotator").generic(
        "POST", f"/api/projects/{detection_project.pk}/images", body, content_type
    )

    assert response.status_code == 400
    assert not Image.objects.exists() and stored_files(media) == []


# --- file and thumbnail endpoints -------------------------------------------------------------


def test_file_endpoint_returns_the_uploaded_bytes(detection_project, client_for, media):
    data = jpeg_bytes(19)
    created = upload(client_for("annotator"), detection_project, ("p.jpg", data, "image/jpeg")).json()["created"][0]

    response = client_for("verifier").get(created["file_url"])

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_thumbnail_endpoint_returns_a_small_jpeg(detection_project, client_for, media):
    data = jpeg_bytes(20, size=(600, 300))
    created = upload(client_for("annotator"), detection_project, ("wide.jpg", data, "image/jpeg")).json()["created"][0]

    response = client_for("verifier").get(created["thumbnail_url"])

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with PilImage.open(io.BytesIO(b"".join(response.streaming_content))) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (256, 128)


def test_thumbnail_is_made_again_when_missing(detection_project, client_for, media):
    created = upload(client_for("annotator"), detection_project, ("p.png", png_bytes(21), "image/png")).json()[
        "created"
    ][0]
    Image.objects.filter(pk=created["id"]).update(thumbnail="")

    response = client_for("annotator").get(created["thumbnail_url"])

    assert response.status_code == 200
    with PilImage.open(io.BytesIO(b"".join(response.streaming_content))) as thumb:
        assert thumb.format == "JPEG"


# --- image list filters --------------------------------------------------------------------


@pytest.fixture
def labeled_pool(pool, detection_project, users):
    """pool[0] labeled with class A, pool[1] labeled with class B, one imported image."""
    class_a, class_b = list(detection_project.label_classes.all())[:2]
    for label_class in (class_a, class_b):
        item = image_reserve_next(project=detection_project, user=users["annotator"])
        annotation_submit(
            project=detection_project,
            user=users["annotator"],
            image_id=item.image.pk,
            boxes=[{"x": 1, "y": 1, "w": 5, "h": 5, "label_class": label_class.pk}],
        )
    imported = images_ingest(
        project=detection_project, files=[("imp.jpg", jpeg_bytes(99), "image/jpeg")], source=Source.IMPORT
    )
    return {"a": class_a, "b": class_b, "imported": imported.created[0], "pool": pool}


def _ids(client, project, query: str) -> list[int]:
    response = client.get(f"/api/projects/{project.pk}/images?{query}")
    assert response.status_code == 200, response.content
    return [image["id"] for image in response.json()["results"]]


def test_list_filters_by_status_split_source_and_class(labeled_pool, detection_project, client_for, media):
    client = client_for("verifier")
    pool, imported = labeled_pool["pool"], labeled_pool["imported"]
    labeled = [pool[0].pk, pool[1].pk]
    unlabeled = [p.pk for p in pool[2:]] + [imported.pk]

    assert _ids(client, detection_project, "status=labeled") == labeled
    assert _ids(client, detection_project, "status=unlabeled") == unlabeled
    assert _ids(client, detection_project, "split=pool") == unlabeled
    splits = {Image.objects.get(pk=pk).split for pk in labeled}
    assert sorted(pk for split in splits for pk in _ids(client, detection_project, f"split={split}")) == labeled
    assert _ids(client, detection_project, "source=import") == [imported.pk]
    assert _ids(client, detection_project, "source=upload") == [p.pk for p in pool]
    assert _ids(client, detection_project, f"label_class={labeled_pool['a'].pk}") == [pool[0].pk]
    assert _ids(client, detection_project, f"label_class={labeled_pool['b'].pk}") == [pool[1].pk]
    assert _ids(client, detection_project, "status=labeled&label_class=999999") == []


def test_list_rejects_an_unknown_filter_value(labeled_pool, detection_project, client_for):
    response = client_for("admin").get(f"/api/projects/{detection_project.pk}/images?status=bogus")

    assert response.status_code == 400
    assert "status" in response.json()


def test_list_is_paginated(labeled_pool, detection_project, client_for):
    client = client_for("admin")
    first = client.get(f"/api/projects/{detection_project.pk}/images?page_size=2").json()
    assert first["count"] == 6
    assert len(first["results"]) == 2 and first["next"] and first["previous"] is None
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert third["next"] is None
    seen = [i["id"] for page in (first, second, third) for i in page["results"]]
    assert seen == sorted(Image.objects.filter(project=detection_project).values_list("pk", flat=True))
    assert Status.LABELED in {i["status"] for i in first["results"]}
