"""Account management without Django admin: create, invite, reset, deactivate.

Who may do what (enforced by `user_manage_check`, used by the API):
- staff manage ordinary accounts; only superusers manage staff and superuser accounts, so a
  staff member cannot take over a more powerful account by resetting its password;
- nobody deactivates their own account (the last admin would lock everyone out).

Passwords are never chosen by an admin: a new or reset account gets an invite link, built on
Django's password-reset tokens. A token embeds the password hash, so it stops working once the
password is set (or reset again), and after PASSWORD_RESET_TIMEOUT seconds.
"""

from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from labelapp.core.errors import ForbiddenError, ServiceError

from .models import User


@dataclass(frozen=True)
class Invite:
    uid: str
    token: str

    @property
    def path(self) -> str:
        return f"/set-password?uid={self.uid}&token={self.token}"


def user_manage_check(*, actor: User, target: User | None = None, making_staff: bool = False) -> None:
    if not (actor.is_staff or actor.is_superuser):
        raise ForbiddenError("Only staff manage user accounts.", code="not_staff")
    powerful = making_staff or (target is not None and (target.is_staff or target.is_superuser))
    if powerful and not actor.is_superuser and target != actor:
        raise ForbiddenError("Only a superuser manages staff accounts.", code="not_superuser")


def _invite(user: User) -> Invite:
    return Invite(uid=urlsafe_base64_encode(force_bytes(user.pk)), token=default_token_generator.make_token(user))


@transaction.atomic
def user_create(
    *, actor: User, username: str, first_name: str = "", last_name: str = "", email: str = "", is_staff: bool = False
) -> tuple[User, Invite]:
    """A new account with no usable password, and the invite link that lets its owner set one."""
    user_manage_check(actor=actor, making_staff=is_staff)
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(f"The username {username!r} is taken.", code="username_taken", extra={"field": "username"})
    user = User(username=username, first_name=first_name, last_name=last_name, email=email, is_staff=is_staff)
    user.set_unusable_password()
    user.save()
    return user, _invite(user)


@transaction.atomic
def user_reset_password(*, actor: User, user: User) -> Invite:
    """The old password stops working at once; the new invite link sets a new one."""
    user_manage_check(actor=actor, target=user)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return _invite(user)


@transaction.atomic
def user_update(*, actor: User, user: User, changes: dict) -> User:
    user_manage_check(actor=actor, target=user, making_staff=bool(changes.get("is_staff")))
    if changes.get("is_active") is False and user == actor:
        raise ServiceError(
            "You cannot deactivate your own account.", code="self_deactivation", extra={"field": "is_active"}
        )
    if "is_staff" in changes and user == actor and not changes["is_staff"]:
        raise ServiceError(
            "You cannot remove your own staff status.", code="self_demotion", extra={"field": "is_staff"}
        )
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=list(changes))
    return user


@transaction.atomic
def user_set_password_with_token(*, uid: str, token: str, password: str) -> User:
    """Redeem an invite or reset link. One message for every bad link: which part is wrong is
    not revealed."""
    try:
        user = User.objects.select_for_update().get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ServiceError("This link is invalid or has expired: ask an admin for a new one.", code="invalid_link")
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ServiceError(" ".join(exc.messages), code="weak_password", extra={"field": "password"}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    return user
