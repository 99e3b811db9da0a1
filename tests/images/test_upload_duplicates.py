"""Near-duplicate uploads: the worker checks new images after preprocessing and the uploader
asks the report the upload response points to (real JPEGs through the API)."""

import io

import pytest
from PIL import ImageEnhance

from labelapp.images.models import Image
from labelapp.learning.backbone import default_weights_path
from labelapp.training.preprocess import images_preprocess
from tests.conftest import BEACH, PORCH, jpeg, scene

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_engine"),
    pytest.mark.skipif(default_weights_path() is None, reason="backbone weights package not installed"),
]


KITCHEN = scene((90, 60, 40), [("rect", (10, 10, 50, 80), (240, 240, 240)), ("rect", (70, 30, 110, 60), (20, 20, 20))])


def upload(client, project, files):
    response = client.post(
        f"/api/projects/{project.pk}/images",
        {"files": [io.BytesIO(data) for data in files.values()]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


def named(files: dict):
    for name, data in files.items():
        handle = io.BytesIO(data)
        handle.name = name
        yield handle


def test_a_brightened_re_encoded_copy_is_reported_to_the_uploader_and_distinct_images_are_not(
    classification_project, client_for
):
    project, client = classification_project, client_for("annotator")
    first = client.post(
        f"/api/projects/{project.pk}/images",
        {"files": list(named({"img_3.jpg": jpeg(PORCH), "beach.jpg": jpeg(BEACH)}))},
        format="multipart",
    ).json()
    brighter = jpeg(ImageEnhance.Brightness(PORCH).enhance(1.08), quality=80)
    second = client.post(
        f"/api/projects/{project.pk}/images",
        {"files": list(named({"img_7.jpg": brighter, "kitchen.jpg": jpeg(KITCHEN)}))},
        format="multipart",
    ).json()
    report_url = second["near_duplicates_report"]
    new_ids = [image["id"] for image in second["created"]]
    assert report_url == f"/api/projects/{project.pk}/images/near-duplicates?ids={new_ids[0]},{new_ids[1]}"

    # Before the worker ran: nothing checked yet, so nothing claimed either way.
    pending = client.get(report_url).json()
    assert (pending["checked"], sorted(pending["pending"]), pending["near_duplicates"]) == (0, sorted(new_ids), [])

    for body in (first, second):
        images_preprocess(project_id=project.pk, image_ids=[image["id"] for image in body["created"]])
    report = client.get(report_url).json()

    assert report["available"] is True and report["checked"] == 2 and report["pending"] == []
    [found] = report["near_duplicates"]
    img_3 = next(image["id"] for image in first["created"] if image["original_name"] == "img_3.jpg")
    assert (found["name"], found["duplicate_of"], found["duplicate_of_name"]) == ("img_7.jpg", img_3, "img_3.jpg")
    assert report["threshold"] <= found["similarity"] <= 1.0
    # Flagged, not refused: both images are stored and in the pool.
    assert Image.objects.filter(project=project).count() == 4
    # The earlier upload's distinct images were checked and found nothing.
    earlier = client.get(first["near_duplicates_report"]).json()
    assert earlier["checked"] == 2 and earlier["near_duplicates"] == []


@pytest.mark.parametrize("ids", ["", "4,x", "0", "-3", "9" * 30, ",".join(str(i) for i in range(1, 1003))])
def test_a_bad_id_list_is_a_clear_400(classification_project, client_for, ids):
    response = client_for("annotator").get(
        f"/api/projects/{classification_project.pk}/images/near-duplicates?ids={ids}"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_ids" and response.json()["detail"]


def test_ids_of_another_project_report_nothing(classification_project, detection_project, client_for):
    other = upload(client_for("admin"), detection_project, {"x.jpg": jpeg(BEACH)})["created"][0]["id"]

    report = (
        client_for("admin").get(f"/api/projects/{classification_project.pk}/images/near-duplicates?ids={other}").json()
    )

    assert (report["checked"], report["pending"], report["near_duplicates"]) == (0, [], [])
