"""Accounts without Django admin: staff create users (an invite link, shown once), reset
passwords, deactivate accounts; project admins find existing users to add as members."""

from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.test import APIClient

from labelapp.accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery-42"


@pytest.fixture
def staff(make_user):
    user = make_user("staffer")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def superuser(make_user):
    user = make_user("root")
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def as_user(user) -> APIClient:
    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(user)
    return client


def redeem(invite_url: str, password: str):
    query = parse_qs(urlparse(invite_url).query)
    return APIClient(HTTP_HOST="localhost").post(
        "/api/auth/set-password",
        {"uid": query["uid"][0], "token": query["token"][0], "password": password},
        format="json",
    )


def signs_in(username: str, password: str) -> bool:
    response = APIClient(HTTP_HOST="localhost").post(
        "/api/auth/login", {"username": username, "password": password}, format="json"
    )
    return response.status_code == 200


def test_staff_create_a_user_who_sets_a_password_through_the_invite_link(staff):
    response = as_user(staff).post("/api/users", {"username": "maria", "first_name": "Maria"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"]["username"] == "maria" and body["user"]["is_active"]
    assert body["invite_url"].startswith("http://localhost/set-password?uid=")
    assert not User.objects.get(username="maria").has_usable_password()

    assert redeem(body["invite_url"], "short").json()["code"] == "weak_password"
    assert redeem(body["invite_url"], STRONG).status_code == 204
    assert signs_in("maria", STRONG)
    # The link is spent once the password is set.
    again = redeem(body["invite_url"], STRONG + "x")
    assert again.status_code == 400 and again.json()["code"] == "invalid_link"


@pytest.mark.parametrize("uid, token", [("bm9wZQ", "x-y"), ("", ""), ("MQ", "1-abc"), ("%%%", "?")])
def test_a_forged_link_is_a_400(uid, token):
    response = APIClient(HTTP_HOST="localhost").post(
        "/api/auth/set-password", {"uid": uid or "x", "token": token or "y", "password": STRONG}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_link"


def test_a_taken_username_is_refused_at_the_field(staff, users):
    response = as_user(staff).post("/api/users", {"username": "Annotator"}, format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("username_taken", "username")


def test_reset_password_stops_the_old_one_and_gives_a_new_link(staff, users):
    assert signs_in("annotator", "pw-annotator")
    response = as_user(staff).post(f"/api/users/{users['annotator'].pk}/reset-password")

    assert response.status_code == 200, response.content
    assert not signs_in("annotator", "pw-annotator")
    assert redeem(response.json()["invite_url"], STRONG).status_code == 204
    assert signs_in("annotator", STRONG)


def test_a_deactivated_user_cannot_sign_in_or_use_a_token(staff, users):
    token = ApiToken.issue(user=users["annotator"], name="cli")[1]
    response = as_user(staff).patch(f"/api/users/{users['annotator'].pk}", {"is_active": False}, format="json")

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert not signs_in("annotator", "pw-annotator")
    assert APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/auth/me").status_code == 401

    as_user(staff).patch(f"/api/users/{users['annotator'].pk}", {"is_active": True}, format="json")
    assert signs_in("annotator", "pw-annotator")


def test_nobody_deactivates_themselves(staff):
    response = as_user(staff).patch(f"/api/users/{staff.pk}", {"is_active": False}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "self_deactivation"


def test_only_a_superuser_manages_staff_accounts(staff, superuser, make_user):
    other_staff = make_user("other_staff")
    other_staff.is_staff = True
    other_staff.save(update_fields=["is_staff"])
    client = as_user(staff)

    assert client.post(f"/api/users/{superuser.pk}/reset-password").status_code == 403
    assert client.patch(f"/api/users/{other_staff.pk}", {"is_active": False}, format="json").status_code == 403
    assert client.post("/api/users", {"username": "boss", "is_staff": True}, format="json").status_code == 403
    assert superuser.has_usable_password() and User.objects.get(pk=other_staff.pk).is_active

    assert as_user(superuser).post(f"/api/users/{other_staff.pk}/reset-password").status_code == 200


def test_member_candidates_are_active_non_members_matching_the_search(client_for, users, detection_project):
    User.objects.create_user(username="annabel", first_name="Anna", password="x")
    User.objects.create_user(username="anna_gone", is_active=False, password="x")
    path = f"/api/projects/{detection_project.pk}/member-candidates"

    found = client_for("admin").get(path, {"search": "ann"}).json()
    # "annotator" matches but is a member already; the inactive account is not offered.
    assert [u["username"] for u in found] == ["annabel"]
    assert set(found[0]) == {"id", "username", "first_name", "last_name"}
    assert [u["username"] for u in client_for("admin").get(path).json()] == [
        "annabel",
        "nobody",
        "outsider_admin",
        "reviewer",
    ]


def test_a_deactivated_user_cannot_be_added_as_a_member(client_for, detection_project):
    User.objects.create_user(username="gone", is_active=False, password="x")
    response = client_for("admin").post(
        f"/api/projects/{detection_project.pk}/members", {"username": "gone", "role": "annotator"}, format="json"
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("unknown_user", "username")
