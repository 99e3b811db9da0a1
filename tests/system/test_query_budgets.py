"""Each hot endpoint runs a fixed, small number of SQL queries whatever the pool or page
size, so an N+1 cannot come back unnoticed."""

import pytest

from labelapp.images.models import Image
from labelapp.images.services import images_ingest
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def grow_pool(project, extra: int):
    if extra:
        images_ingest(
            project=project,
            files=[(f"more{i}.png", jpeg_bytes(100 + i, size=(8, 8), fmt="PNG"), "image/png") for i in range(extra)],
        )


@pytest.mark.parametrize("extra", [0, 30])
def test_next_submit_and_skip_query_counts_do_not_grow_with_the_pool(
    pool, detection_project, client_for, django_assert_max_num_queries, extra
):
    grow_pool(detection_project, extra)
    client = client_for("annotator")
    base = f"/api/projects/{detection_project.pk}"
    class_id = detection_project.label_classes.first().pk
    # 7 (one is the lock on the annotator: issue 14 item 6), plus the savepoint pair a test transaction adds
    with django_assert_max_num_queries(9):
        image = client.post(f"{base}/queue/next").json()["image"]["id"]
    with django_assert_max_num_queries(9):  # the same, checked under the lock: 7 and the savepoint pair
        assert client.post(f"{base}/queue/next").status_code == 200
    with django_assert_max_num_queries(11):  # 9, plus the savepoint pair
        response = client.post(
            f"{base}/annotations",
            {"image": image, "boxes": [{"x": 1, "y": 1, "w": 3, "h": 3, "label_class": class_id}]},
            format="json",
        )
        assert response.status_code == 201
    image = client.post(f"{base}/queue/next").json()["image"]["id"]
    with django_assert_max_num_queries(10):
        assert client.post(f"{base}/queue/skip", {"image": image}, format="json").status_code == 200


@pytest.mark.parametrize("extra", [0, 40])
def test_image_list_query_count_does_not_grow_with_the_page(
    pool, detection_project, client_for, django_assert_max_num_queries, extra
):
    grow_pool(detection_project, extra)
    with django_assert_max_num_queries(4):
        response = client_for("annotator").get(f"/api/projects/{detection_project.pk}/images?page_size=100")
    assert response.json()["count"] == Image.objects.filter(project=detection_project).count()


@pytest.mark.parametrize("extra", [0, 40])
@pytest.mark.parametrize("sort", ["newest", "priority", "suspicion"])
def test_data_browser_page_query_count_does_not_grow_with_the_page(
    pool, detection_project, users, client_for, django_assert_max_num_queries, extra, sort
):
    """Membership, the page (with its suspicion joined), the labels and their annotators."""
    from labelapp.labeling.services import annotation_submit, image_reserve_next
    from labelapp.review.models import LabelQuality

    grow_pool(detection_project, extra)
    for _ in range(3):
        item = image_reserve_next(project=detection_project, user=users["annotator"])
        annotation_submit(project=detection_project, user=users["annotator"], image_id=item.image.pk, boxes=[])
        LabelQuality.objects.create(project=detection_project, image=item.image, suspicion=0.5)
    with django_assert_max_num_queries(4):
        response = client_for("admin").get(f"/api/projects/{detection_project.pk}/data?page_size=100&sort={sort}")
    assert response.status_code == 200
    assert sum(1 for item in response.json()["results"] if item["annotator"] == "annotator") == 3
