"""The permission matrix: every API endpoint × every kind of caller, with the exact status.

Intent (labelapp/projects/permissions.py):
- anonymous callers get 401; non-members get 404 inside a project (its existence is not
  revealed); members whose role is not allowed get 403;
- every member reads the project, its stats, classes, members, images and balance;
- only admins change the project, its classes and members, and only admins import,
  export, grant credits and read the ledger;
- every member lists the model versions; training runs, rescore progress, the learning
  curve and the dataset health are for admins;
- every member may ask for a prediction; admins and annotators stream images; admins and
  verifiers verify predictions; synthesis jobs are for admins;
- admins and annotators upload images, use the queue and the annotations; annotators see
  (and edit) only their own annotations;
- user accounts (list, create, update, reset password) are for staff only, whatever their
  project roles (`test_staff_manage_user_accounts` checks the allowed side); a project's
  admins search users to add as members; anyone may redeem an invite link (a bad one is 400).
- admins and reviewers browse the data, edit labels (as new revisions) and review; a reviewer
  otherwise reads what a verifier reads, and does not verify predictions; only admins mark
  gold items and read annotator statistics.

Writes carry valid bodies so that an "allowed" cell really succeeds. A new /api/ route
fails `test_every_api_route_is_in_the_matrix` until a row is added here.
"""

import io
import json
import zipfile
from typing import NamedTuple

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from labelapp.accounts.models import ApiToken, User
from labelapp.credits.services import credit_grant
from labelapp.datasets.models import ImportJob
from labelapp.images.models import Image
from labelapp.images.services import images_ingest
from labelapp.labeling.services import annotation_submit, image_reserve_next
from labelapp.production.models import SynthesisJob, VerificationItem
from labelapp.projects.models import Membership, Role
from labelapp.projects.services import project_create
from labelapp.training.models import ModelVersion, Prediction, TrainingRun
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db

# Body placeholders, resolved per request by `_resolve` below.
UPLOAD = "<multipart: one new image>"
IMPORT = "<multipart: a COCO zip with one new labeled image>"
PREDICT = "<multipart: one image in the field 'file'>"
HELD = "<id of an image the caller holds from the queue>"
BOX = "<a valid box on the held image>"

P = "/api/projects/{project}"


class Row(NamedTuple):
    name: str
    method: str
    path: str
    body: object
    anonymous: int
    verifier: int
    annotator: int
    admin: int
    outsider_admin: int
    reviewer: int | None = None  # None: what the verifier gets (neither labels nor changes settings)

    def expected(self, caller: str) -> int:
        value = getattr(self, caller)
        return self.verifier if value is None else value


# fmt: off
MATRIX = [
    #   url name            method    path                                 body                                       anon verif annot admin outsider
    Row("auth-csrf",        "GET",    "/api/auth/csrf",                    None,                                      200, 200, 200, 200, 200),
    Row("auth-login",       "POST",   "/api/auth/login",                   {"username": "nobody", "password": "pw-nobody"}, 200, 200, 200, 200, 200),
    Row("auth-logout",      "POST",   "/api/auth/logout",                  None,                                      401, 204, 204, 204, 204),
    Row("auth-me",          "GET",    "/api/auth/me",                      None,                                      401, 200, 200, 200, 200),
    Row("token-list",       "GET",    "/api/auth/tokens",                  None,                                      401, 200, 200, 200, 200),
    Row("token-list",       "POST",   "/api/auth/tokens",                  {"name": "ci"},                            401, 201, 201, 201, 201),
    # The token belongs to the annotator: nobody else can even see it.
    Row("token-detail",     "DELETE", "/api/auth/tokens/{token}",          None,                                      401, 404, 204, 404, 404),
    Row("auth-set-password", "POST",  "/api/auth/set-password",            {"uid": "MQ", "token": "forged", "password": "pw-long-enough-1"}, 400, 400, 400, 400, 400),
    # Staff only: project admins (here "admin" and "outsider_admin") are not staff.
    Row("user-list",        "GET",    "/api/users",                        None,                                      401, 403, 403, 403, 403),
    Row("user-list",        "POST",   "/api/users",                        {"username": "newbie"},                    401, 403, 403, 403, 403),
    Row("user-detail",      "GET",    "/api/users/{user}",                 None,                                      401, 403, 403, 403, 403),
    Row("user-detail",      "PATCH",  "/api/users/{user}",                 {"is_active": False},                      401, 403, 403, 403, 403),
    Row("user-reset-password", "POST", "/api/users/{user}/reset-password", None,                                      401, 403, 403, 403, 403),
    Row("project-list",     "GET",    "/api/projects",                     None,                                      401, 200, 200, 200, 200),
    Row("project-list",     "POST",   "/api/projects",                     {"name": "New", "task_type": "detection"}, 401, 201, 201, 201, 201),
    Row("project-detail",   "GET",    P,                                   None,                                      401, 200, 200, 200, 404),
    Row("project-detail",   "PATCH",  P,                                   {"name": "Renamed"},                       401, 403, 403, 200, 404),
    Row("project-detail",   "DELETE", P,                                   None,                                      401, 403, 403, 204, 404),
    Row("project-stats",    "GET",    P + "/stats",                        None,                                      401, 200, 200, 200, 404),
    Row("class-list",       "GET",    P + "/classes",                      None,                                      401, 200, 200, 200, 404),
    Row("class-list",       "POST",   P + "/classes",                      {"name": "red_bag"},                       401, 403, 403, 201, 404),
    Row("class-detail",     "GET",    P + "/classes/{label_class}",        None,                                      401, 200, 200, 200, 404),
    Row("class-detail",     "PATCH",  P + "/classes/{label_class}",        {"name": "gold_box"},                      401, 403, 403, 200, 404),
    Row("class-detail",     "DELETE", P + "/classes/{label_class}",        None,                                      401, 403, 403, 204, 404),
    Row("member-list",      "GET",    P + "/members",                      None,                                      401, 200, 200, 200, 404),
    Row("member-list",      "POST",   P + "/members",                      {"username": "nobody", "role": "annotator"}, 401, 403, 403, 201, 404),
    Row("member-detail",    "GET",    P + "/members/{membership}",         None,                                      401, 200, 200, 200, 404),
    Row("member-detail",    "PATCH",  P + "/members/{membership}",         {"role": "verifier"},                      401, 403, 403, 200, 404),
    Row("member-detail",    "DELETE", P + "/members/{membership}",         None,                                      401, 403, 403, 204, 404),
    Row("member-candidates", "GET",   P + "/member-candidates?search=no",  None,                                      401, 403, 403, 200, 404),
    Row("image-list",       "GET",    P + "/images",                       None,                                      401, 200, 200, 200, 404),
    Row("image-list",       "POST",   P + "/images",                       UPLOAD,                                    401, 403, 201, 201, 404),
    Row("image-detail",     "GET",    P + "/images/{image}",               None,                                      401, 200, 200, 200, 404),
    Row("upload-duplicates-report", "GET", P + "/images/near-duplicates?ids={image}", None,                      401, 200, 200, 200, 404),
    Row("image-file",       "GET",    P + "/images/{image}/file",          None,                                      401, 200, 200, 200, 404),
    Row("image-thumbnail",  "GET",    P + "/images/{image}/thumbnail",     None,                                      401, 200, 200, 200, 404),
    Row("dataset-import",   "POST",   P + "/import",                       IMPORT,                                    401, 403, 403, 202, 404),
    Row("import-list",      "GET",    P + "/imports",                      None,                                      401, 403, 403, 200, 404),
    Row("import-detail",    "GET",    P + "/imports/{import_job}",         None,                                      401, 403, 403, 200, 404),
    Row("dataset-export",   "GET",    P + "/export",                       None,                                      401, 403, 403, 200, 404),
    Row("queue-next",       "POST",   P + "/queue/next",                   None,                                      401, 403, 201, 201, 404),
    Row("queue-skip",       "POST",   P + "/queue/skip",                   {"image": HELD},                           401, 403, 200, 200, 404),
    Row("annotation-list",  "GET",    P + "/annotations",                  None,                                      401, 403, 200, 200, 404),
    Row("annotation-list",  "POST",   P + "/annotations",                  {"image": HELD, "boxes": [BOX]},           401, 403, 201, 201, 404),
    Row("annotation-detail", "GET",   P + "/annotations/{annotation}",     None,                                      401, 403, 200, 200, 404),
    # The annotation is the annotator's: an admin reads it but cannot rewrite someone's label.
    Row("annotation-detail", "PATCH", P + "/annotations/{annotation}",     {"boxes": [BOX]},                          401, 403, 200, 403, 404),
    Row("credit-balance",   "GET",    P + "/credits",                      None,                                      401, 200, 200, 200, 404),
    Row("credit-grant",     "POST",   P + "/credits/grant",                {"amount": 5, "note": "top up"},           401, 403, 403, 201, 404),
    Row("credit-ledger",    "GET",    P + "/credits/ledger",               None,                                      401, 403, 403, 200, 404),
    Row("model-version-list", "GET",  P + "/model-versions",               None,                                      401, 200, 200, 200, 404),
    Row("training-run-list", "GET",   P + "/training-runs",                None,                                      401, 403, 403, 200, 404),
    Row("training-run-list", "POST",  P + "/training-runs",                None,                                      401, 403, 403, 201, 404),
    Row("training-run-detail", "GET", P + "/training-runs/{run}",          None,                                      401, 403, 403, 200, 404),
    Row("train-now",        "GET",    P + "/train",                        None,                                      401, 403, 403, 200, 404),
    Row("train-now",        "POST",   P + "/train",                        None,                                      401, 403, 403, 201, 404),
    Row("rescore-progress", "GET",    P + "/rescore",                      None,                                      401, 403, 403, 200, 404),
    Row("learning-curve",   "GET",    P + "/learning-curve",               None,                                      401, 403, 403, 200, 404),
    Row("health",           "GET",    P + "/health",                       None,                                      401, 403, 403, 200, 404),
    Row("engine",           "GET",    P + "/engine",                       None,                                      401, 200, 200, 200, 404),
    # The project has no active model (training one is too slow for this table): callers
    # that pass the permission check get 409 `no_active_model`.
    Row("predict",          "POST",   P + "/predict",                      PREDICT,                                   401, 409, 409, 409, 404),
    Row("stream",           "POST",   P + "/stream",                       PREDICT,                                   401, 403, 409, 409, 404),
    Row("verification-next", "GET",   P + "/verifications/next",           None,                                      401, 200, 403, 200, 404, reviewer=403),
    Row("verification-list", "POST",  P + "/verifications",                {"prediction": "{prediction}", "verdict": "incorrect"}, 401, 201, 403, 201, 404, reviewer=403),
    Row("verification-stats", "GET",  P + "/verifications/stats",          None,                                      401, 200, 403, 200, 404, reviewer=403),
    # Synthesis needs an active model to carry labels over as its pre-annotation: an admin
    # passes the permission check and gets 409 `no_active_model` here.
    Row("synthesis-list",   "GET",    P + "/synthesis",                    None,                                      401, 403, 403, 200, 404),
    Row("synthesis-list",   "POST",   P + "/synthesis",                    {"allowance": 1},                          401, 403, 403, 409, 404),
    Row("synthesis-detail", "GET",    P + "/synthesis/{synthesis_job}",    None,                                      401, 403, 403, 200, 404),
    Row("data-browse",      "GET",    P + "/data",                         None,                                      401, 403, 403, 200, 404, reviewer=200),
    Row("data-record",      "GET",    P + "/data/{labeled_image}",         None,                                      401, 403, 403, 200, 404, reviewer=200),
    Row("data-label-edit",  "POST",   P + "/data/{labeled_image}/label",   {"boxes": []},                             401, 403, 403, 200, 404, reviewer=200),
    Row("review-next",      "GET",    P + "/review/next",                  None,                                      401, 403, 403, 200, 404, reviewer=200),
    Row("review-decide",    "POST",   P + "/review",                       {"image": "{labeled_image}", "verdict": "approve"}, 401, 403, 403, 201, 404, reviewer=201),
    Row("gold-item",        "POST",   P + "/data/{labeled_image}/gold",    None,                                      401, 403, 403, 200, 404, reviewer=403),
    Row("gold-item",        "DELETE", P + "/data/{labeled_image}/gold",    None,                                      401, 403, 403, 200, 404, reviewer=403),
    Row("annotator-stats",  "GET",    P + "/annotator-stats",              None,                                      401, 403, 403, 200, 404, reviewer=403),
    Row("annotator-stats-csv", "GET", P + "/annotator-stats/csv",          None,                                      401, 403, 403, 200, 404, reviewer=403),
]
# fmt: on

CALLERS = ["anonymous", "verifier", "annotator", "reviewer", "admin", "outsider_admin"]
NOT_IN_MATRIX = {"schema", "docs", "redoc"}


@pytest.fixture(scope="module")
def _module_db(django_db_setup, django_db_blocker):
    """One transaction around the whole module, rolled back at its end: the world below is
    built once, and every test runs in a savepoint inside it (pytest-django's `db`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def users(_module_db):
    """Overrides the conftest fixture for this module: the same users, created once."""
    return {
        name: User.objects.create_user(username=name, password="pw-" + name)
        for name in ("admin", "annotator", "verifier", "reviewer", "outsider_admin", "nobody")
    }


@pytest.fixture(scope="module")
def world(users):
    """The conftest detection project and pool, built once, plus one of each object the routes
    name: a label (by the annotator), a token (the annotator's), a finished training run, a
    model version with a prediction waiting for verification."""
    project = project_create(
        name="Porch",
        task_type="detection",
        created_by=users["admin"],
        class_names=["brown_box", "white_envelope", "yellow_box"],
    )
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["verifier"], role=Role.VERIFIER)
    Membership.objects.create(project=project, user=users["reviewer"], role=Role.REVIEWER)
    project_create(name="Elsewhere", task_type="detection", created_by=users["outsider_admin"], class_names=["x"])
    pool = images_ingest(
        project=project, files=[(f"img{i}.jpg", jpeg_bytes(i), "image/jpeg") for i in range(5)]
    ).created
    for index, image in enumerate(pool):
        Image.objects.filter(pk=image.pk).update(priority=0.5 - index * 0.1)
    credit_grant(project=project, amount=10, note="test")

    classes = list(project.label_classes.all())
    held = image_reserve_next(project=project, user=users["annotator"])
    annotation = annotation_submit(
        project=project,
        user=users["annotator"],
        image_id=held.image.pk,
        boxes=[{"x": 2, "y": 2, "w": 10, "h": 10, "label_class": classes[0].pk}],
    )
    # In the train split whatever its hash says: a training needs a training label.
    Image.objects.filter(pk=held.image.pk).update(split="train")
    token, _ = ApiToken.issue(user=users["annotator"], name="cli")
    # A finished run, so that starting a new one is allowed (only one may be open).
    run = TrainingRun.objects.create(project=project, status="succeeded", trigger="manual")
    # A (not active) model version with one prediction waiting for verification.
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        model_name="test",
        checkpoint="checkpoints/none.pt",
        classes=[c.pk for c in classes],
        input_size=64,
        is_active=False,
    )
    prediction = Prediction.objects.create(image=pool[2], model_version=version, boxes=[], counts={})
    VerificationItem.objects.create(project=project, prediction=prediction, image=pool[2], model_version=version)
    job = SynthesisJob.objects.create(project=project, requested_by=users["admin"], allowance=1, status="succeeded")
    import_job = ImportJob.objects.create(project=project, requested_by=users["admin"], status="succeeded")
    return {
        "project_obj": project,
        "users": users,
        "ids": {
            "project": project.pk,
            "image": pool[1].pk,
            "labeled_image": annotation.image_id,
            # The last class is not used by any label, so deleting it is allowed.
            "label_class": classes[-1].pk,
            "membership": Membership.objects.get(project=project, user=users["annotator"]).pk,
            "annotation": annotation.pk,
            "token": token.pk,
            "run": run.pk,
            "prediction": prediction.pk,
            "synthesis_job": job.pk,
            "user": users["nobody"].pk,
            "import_job": import_job.pk,
        },
        "box_class": classes[0].pk,
    }


def _coco_zip(class_name: str) -> bytes:
    coco = {
        "images": [{"id": 1, "file_name": "imported.jpg", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [4, 4, 20, 10]}],
        "categories": [{"id": 7, "name": class_name}],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotations.json", json.dumps(coco))
        archive.writestr("images/imported.jpg", jpeg_bytes(9001))
    return buffer.getvalue()


def _resolve(body, world, caller):
    """Turn a body with placeholders into (data, format) for APIClient."""
    if body is None:
        return None, "json"
    if body == UPLOAD:
        return {"files": [SimpleUploadedFile("new.jpg", jpeg_bytes(4242), content_type="image/jpeg")]}, "multipart"
    if body == PREDICT:
        return {"file": SimpleUploadedFile("query.jpg", jpeg_bytes(4343), content_type="image/jpeg")}, "multipart"
    if body == IMPORT:
        return {
            "file": SimpleUploadedFile("dataset.zip", _coco_zip("brown_box"), content_type="application/zip")
        }, "multipart"
    labelers = {"admin": world["users"]["admin"], "annotator": world["users"]["annotator"]}
    held_id = None

    def value(item):
        nonlocal held_id
        if item in (HELD, BOX):
            if held_id is None:
                # Only a labeler can hold an image; for anyone else any id will do (refused first).
                user = labelers.get(caller)
                held_id = (
                    image_reserve_next(project=world["project_obj"], user=user).image.pk
                    if user
                    else world["ids"]["image"]
                )
            if item == HELD:
                return held_id
            return {"x": 1, "y": 1, "w": 8, "h": 8, "label_class": world["box_class"]}
        if isinstance(item, list):
            return [value(v) for v in item]
        if isinstance(item, str) and item.startswith("{"):
            return world["ids"][item.strip("{}")]
        return item

    # HELD before BOX, in key order of the literal above.
    return {key: value(v) for key, v in body.items()}, "json"


def _request(client, row, world, caller):
    path = row.path.format(**world["ids"])
    data, fmt = _resolve(row.body, world, caller)
    response = getattr(client, row.method.lower())(path, data=data, format=fmt)
    if response.status_code in (401, 403, 404):
        payload = response.json()
        assert payload.get("detail") and payload.get("code"), f"{row.method} {path} as {caller}: {payload}"
    return response


@pytest.mark.parametrize("row", MATRIX, ids=[f"{row.method} {row.name}" for row in MATRIX])
def test_permission_matrix(world, client_for, row):
    """One row: each caller's request runs in a savepoint rolled back afterwards, so a
    write by one caller (a DELETE, a reservation) does not change what the next one sees."""
    actual, details = {}, {}
    for caller in CALLERS:
        client = client_for(None if caller == "anonymous" else caller)
        with transaction.atomic():
            response = _request(client, row, world, caller)
            transaction.set_rollback(True)
        actual[caller] = response.status_code
        details[caller] = b"<stream>" if response.streaming else response.content[:300]
    expected = {caller: row.expected(caller) for caller in CALLERS}
    wrong = {c: f"expected {expected[c]}, got {actual[c]}: {details[c]!r}" for c in CALLERS if actual[c] != expected[c]}
    assert not wrong, f"{row.method} {row.path}: " + "; ".join(f"{c} {w}" for c, w in wrong.items())


STAFF_ALLOWED = {
    ("GET", "user-list"): 200,
    ("POST", "user-list"): 201,
    ("GET", "user-detail"): 200,
    ("PATCH", "user-detail"): 200,
    ("POST", "user-reset-password"): 200,
}


@pytest.mark.parametrize(
    "row", [row for row in MATRIX if row.name.startswith("user-")], ids=lambda row: f"{row.method} {row.name}"
)
def test_staff_manage_user_accounts(world, row):
    """The allowed side of the staff-only rows: a staff member with no project role at all."""
    from rest_framework.test import APIClient

    staff = User.objects.create_user(username="staffer", password="pw-staffer", is_staff=True)
    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(staff)
    response = _request(client, row, world, "staff")
    assert response.status_code == STAFF_ALLOWED[(row.method, row.name)], response.content


def test_annotator_sees_only_their_own_annotations(world, client_for):
    project, users = world["project_obj"], world["users"]
    Membership.objects.create(project=project, user=users["nobody"], role=Role.ANNOTATOR)
    item = image_reserve_next(project=project, user=users["nobody"])
    theirs = annotation_submit(project=project, user=users["nobody"], image_id=item.image.pk, boxes=[])
    path = f"/api/projects/{project.pk}/annotations"

    mine = client_for("annotator").get(path).json()["results"]
    assert [a["id"] for a in mine] == [world["ids"]["annotation"]]
    assert client_for("annotator").get(f"{path}/{theirs.pk}").status_code == 404
    everyone = client_for("admin").get(path).json()["results"]
    assert {a["id"] for a in everyone} == {world["ids"]["annotation"], theirs.pk}


def test_a_non_member_cannot_reach_another_projects_objects_through_their_own_project(world, client_for, users):
    """Ids from project A under project B's URL are 404, even for B's admin."""
    from labelapp.projects.models import Project

    elsewhere = Project.objects.get(name="Elsewhere")
    client = client_for("outsider_admin")
    ids = world["ids"]
    for path in (
        f"/api/projects/{elsewhere.pk}/images/{ids['image']}",
        f"/api/projects/{elsewhere.pk}/images/{ids['image']}/file",
        f"/api/projects/{elsewhere.pk}/classes/{ids['label_class']}",
        f"/api/projects/{elsewhere.pk}/members/{ids['membership']}",
        f"/api/projects/{elsewhere.pk}/annotations/{ids['annotation']}",
    ):
        assert client.get(path).status_code == 404, path


def _api_routes():
    """(url name, HTTP method) for every route under /api/, read from the URL resolver."""
    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                full = (prefix + str(pattern.pattern)).replace("^", "")
                if not full.startswith("api/"):
                    continue
                view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                assert view is not None, f"{full}: not a class-based view, cannot list its methods"
                methods = {
                    m.upper()
                    for m in view.http_method_names
                    if m not in ("options", "head", "trace") and hasattr(view, m)
                }
                for method in methods:
                    found.add((pattern.name, method))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_route_is_in_the_matrix():
    routes = {(name, method) for name, method in _api_routes() if name not in NOT_IN_MATRIX}
    in_matrix = {(row.name, row.method) for row in MATRIX}
    missing = sorted(routes - in_matrix)
    stale = sorted(in_matrix - routes)
    assert not missing, f"add these (url name, method) to MATRIX in {__file__}: {missing}"
    assert not stale, f"MATRIX names routes that do not exist: {stale}"


@pytest.mark.parametrize("project_fixture", ["detection_project", "classification_project"])
def test_admin_can_delete_a_project_with_labels_reservations_and_a_ledger(request, users, client_for, project_fixture):
    """Reservations PROTECT their credit entry and annotations their class; deleting the
    whole project must still work (it used to answer 500 with ProtectedError)."""
    from labelapp.credits.models import CreditEntry
    from labelapp.labeling.models import Annotation, Reservation
    from labelapp.projects.models import Project

    project = request.getfixturevalue(project_fixture)
    images_ingest(project=project, files=[(f"d{i}.jpg", jpeg_bytes(700 + i), "image/jpeg") for i in range(2)])
    credit_grant(project=project, amount=5)
    labeled = image_reserve_next(project=project, user=users["annotator"])
    label = (
        {"label_class": project.label_classes.first().pk} if project.task_type == "classification" else {"boxes": []}
    )
    annotation_submit(project=project, user=users["annotator"], image_id=labeled.image.pk, **label)
    image_reserve_next(project=project, user=users["annotator"])  # an active lease too

    response = client_for("admin").delete(f"/api/projects/{project.pk}")

    assert response.status_code == 204, response.content
    assert not Project.objects.filter(pk=project.pk).exists()
    for model in (Image, Annotation, Reservation, CreditEntry):
        assert not model.objects.filter(project_id=project.pk).exists(), model


def test_consensus_second_label_is_for_curators_and_stays_hidden_from_the_second_annotator(
    users, client_for, classification_project
):
    """The consensus fields (the second label on a data record and the review queue, the
    agreement in annotator statistics) ride on curator and admin routes; the annotator doing
    a blind second pass sees neither the first label nor a prediction, and may not read it
    any other way. A project with consensus pairs still deletes."""
    from labelapp.labeling.models import Annotation, ConsensusAnnotation
    from labelapp.projects.models import Project

    project = classification_project
    project.settings = {**project.settings, "consensus_share": 1.0}
    project.save()
    for name, role in (("reviewer", Role.REVIEWER), ("verifier", Role.VERIFIER), ("nobody", Role.ANNOTATOR)):
        Membership.objects.create(project=project, user=users[name], role=role)
    images_ingest(project=project, files=[(f"k{i}.jpg", jpeg_bytes(820 + i), "image/jpeg") for i in range(2)])
    credit_grant(project=project, amount=5)
    cat, dog = project.label_classes.order_by("id")
    first = image_reserve_next(project=project, user=users["annotator"]).image
    annotation_submit(project=project, user=users["annotator"], image_id=first.pk, label_class=cat.pk)
    first_label = Annotation.objects.get(image=first)

    second = client_for("nobody")
    base = f"/api/projects/{project.pk}"
    body = second.post(f"{base}/queue/next").json()
    assert body["image"]["id"] == first.pk and body["prediction"] is None
    assert second.get(f"{base}/annotations", {"image": first.pk}).json()["count"] == 0
    assert second.get(f"{base}/annotations/{first_label.pk}").status_code == 404
    assert second.get(f"{base}/data/{first.pk}").status_code == 403
    assert second.get(f"{base}/review/next").status_code == 403
    response = second.post(f"{base}/annotations", {"image": first.pk, "label_class": dog.pk}, format="json")
    assert response.status_code == 201, response.content
    assert ConsensusAnnotation.objects.get(image=first).agreed is False

    expected = {
        "anonymous": 401,
        "verifier": 403,
        "annotator": 403,
        "reviewer": 200,
        "admin": 200,
        "outsider_admin": 404,
    }
    for caller, status in expected.items():
        response = client_for(None if caller == "anonymous" else caller).get(f"{base}/data/{first.pk}")
        assert response.status_code == status, (caller, response.content)
        if status == 200:
            assert response.json()["consensus"]["label_class"] == dog.pk
    stats = {caller: client_for(caller).get(f"{base}/annotator-stats") for caller in ("reviewer", "admin", "nobody")}
    assert {caller: r.status_code for caller, r in stats.items()} == {"reviewer": 403, "admin": 200, "nobody": 403}
    rows = {row["username"]: row for row in stats["admin"].json()["annotators"]}
    assert (rows["nobody"]["consensus_pairs"], rows["nobody"]["consensus_agreement"]) == (1, 0.0)

    assert client_for("admin").delete(base).status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not ConsensusAnnotation.objects.filter(project_id=project.pk).exists()
