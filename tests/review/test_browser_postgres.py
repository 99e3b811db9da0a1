"""The data browser's sorts on PostgreSQL with a realistic planner (`make test-postgres`):
each page is an index range scan that starts at its cursor."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labelapp.review import selectors

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

IMAGES = 60_000


@pytest.fixture(autouse=True)
def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test-postgres`")


@pytest.fixture
def big_project(classification_project):
    """60,000 images with random priorities, a third of them scored; statistics gathered."""
    project = classification_project
    with connection.cursor() as db:
        db.execute(
            "INSERT INTO images_image (project_id, file, thumbnail, sha256, width, height, original_name, split, "
            "source, status, priority, score_reason, pick_reason, eval_key, created_at) "
            "SELECT %s, 'f.png', '', md5(g::text), 10, 10, 'f.png', 'pool', 'upload', 'unlabeled', random(), '', '', "
            "random(), now() FROM generate_series(1, %s) g",
            [project.pk, IMAGES],
        )
        db.execute(
            "INSERT INTO review_labelquality (project_id, image_id, suspicion, reason, model_disagrees, review_state) "
            "SELECT project_id, id, random(), '', false, '' FROM images_image WHERE project_id = %s AND id %% 3 = 0",
            [project.pk],
        )
        db.execute("ANALYZE images_image, review_labelquality")
    return project


@pytest.mark.parametrize("sort, column", [("newest", "id"), ("priority", "priority"), ("suspicion", "suspicion")])
def test_a_deep_page_is_an_index_scan_starting_at_its_cursor(big_project, sort, column):
    last = IMAGES // 2
    cursor = selectors._encode_cursor(last if sort == "newest" else 0.5, last)
    with CaptureQueriesContext(connection) as queries:
        rows, _ = selectors.images_browse(
            project=big_project, filters=selectors.BrowserFilters(), sort=sort, cursor=cursor, page_size=60
        )
    assert len(rows) == 60
    with connection.cursor() as db:
        db.execute("EXPLAIN " + queries.captured_queries[0]["sql"].replace("%", "%%"))
        plan = "\n".join(row[0] for row in db.fetchall())
    assert "Sort" not in plan, plan
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any(f"{column} <" in line for line in conditions), plan
