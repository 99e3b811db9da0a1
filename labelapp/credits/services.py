"""Credit ledger operations. Every one locks the project's balance row, appends one
entry and updates the counters in the same transaction, so the ledger always sums to
the balance and spent + reserved never exceeds granted.

Credit holds (StreamHold) are credits reserved for an image before any annotator holds it
(a stream query, a synthetic image): created here, claimed by the labeling queue, and
released here when nobody claims them in time."""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, IntegerField, Sum, When
from django.utils import timezone

from labelapp.core.errors import ConflictError, ServiceError
from labelapp.projects.models import Project

from .models import CreditBalance, CreditEntry, EntryKind, HoldState, StreamHold

logger = logging.getLogger(__name__)

#: One grant is at most 10 million credits, and a project's grants add up to at most 10^12:
#: far below the 64-bit counters, so no sum or difference of them can overflow.
MAX_GRANT = 10_000_000
MAX_GRANTED_TOTAL = 10**12


def balance_lock(*, project) -> CreditBalance:
    """The project's balance row, locked for this transaction (created on first use)."""
    balance = CreditBalance.objects.select_for_update().filter(project=project).first()
    if balance is None:
        CreditBalance.objects.get_or_create(project=project)
        balance = CreditBalance.objects.select_for_update().get(project=project)
    return balance


def balance_get(*, project) -> CreditBalance:
    return CreditBalance.objects.get_or_create(project=project)[0]


@transaction.atomic
def credit_grant(*, project, amount: int, actor=None, note: str = "") -> CreditEntry:
    if not isinstance(amount, int) or amount <= 0 or amount > MAX_GRANT:
        raise ServiceError(f"Grant a whole number of credits from 1 to {MAX_GRANT}.", code="invalid_amount")
    balance = balance_lock(project=project)
    if balance.granted + amount > MAX_GRANTED_TOTAL:
        raise ServiceError(
            f"A project's grants add up to at most {MAX_GRANTED_TOTAL} credits; {balance.granted} are granted already.",
            code="grant_cap",
        )
    balance.granted += amount
    balance.save(update_fields=["granted"])
    return CreditEntry.objects.create(project=project, kind=EntryKind.GRANT, amount=amount, actor=actor, note=note)


def credit_reserve(*, project, actor, image, balance: CreditBalance | None = None, note: str = "") -> CreditEntry:
    """Reserve one credit. Must run inside the caller's transaction; pass the balance the
    caller already locked to avoid a second lock query."""
    balance = balance or balance_lock(project=project)
    if balance.available <= 0:
        raise ConflictError("The labeling budget is exhausted: ask an admin to grant credits.", code="budget_exhausted")
    balance.reserved += 1
    balance.save(update_fields=["reserved"])
    return CreditEntry.objects.create(
        project=project, kind=EntryKind.RESERVE, amount=1, actor=actor, image=image, note=note
    )


def credit_reserve_one(*, project, actor, image, note: str = "") -> tuple[CreditEntry, dict]:
    """Reserve one credit with a single conditional UPDATE (the hot path of the queue).

    The row lock taken by the UPDATE serialises concurrent reservations of a project, and
    its WHERE clause refuses to reserve past the grant. Must run inside the caller's
    transaction. Returns the entry and the balance after it."""
    table = CreditBalance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET reserved = reserved + 1 "
            "WHERE project_id = %s AND granted > reserved + spent RETURNING granted, reserved, spent",
            [project.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise ConflictError("The labeling budget is exhausted: ask an admin to grant credits.", code="budget_exhausted")
    granted, reserved, spent = row
    entry = CreditEntry.objects.create(
        project=project, kind=EntryKind.RESERVE, amount=1, actor=actor, image=image, note=note
    )
    return entry, {"granted": granted, "reserved": reserved, "spent": spent, "available": granted - reserved - spent}


def credit_spend(*, project, actor, image, balance: CreditBalance | None = None, note: str = "") -> CreditEntry:
    """Turn one reserved credit into a spent one (inside the caller's transaction)."""
    balance = balance or balance_lock(project=project)
    if balance.reserved <= 0:
        raise ConflictError("No reserved credit to spend.", code="nothing_reserved")
    balance.reserved -= 1
    balance.spent += 1
    balance.save(update_fields=["reserved", "spent"])
    return CreditEntry.objects.create(
        project=project, kind=EntryKind.SPEND, amount=1, actor=actor, image=image, note=note
    )


def credit_release(*, project, actor, image, balance: CreditBalance | None = None, note: str = "") -> CreditEntry:
    """Give one reserved credit back (inside the caller's transaction)."""
    balance = balance or balance_lock(project=project)
    if balance.reserved <= 0:
        raise ConflictError("No reserved credit to release.", code="nothing_reserved")
    balance.reserved -= 1
    balance.save(update_fields=["reserved"])
    return CreditEntry.objects.create(
        project=project, kind=EntryKind.RELEASE, amount=1, actor=actor, image=image, note=note
    )


def ledger_totals(*, project) -> dict:
    """The balance recomputed from the ledger alone, to check it equals the counters."""

    def total(kind):
        return Sum(Case(When(kind=kind, then="amount"), default=0, output_field=IntegerField()))

    sums = CreditEntry.objects.filter(project=project).aggregate(
        grant=total(EntryKind.GRANT),
        reserve=total(EntryKind.RESERVE),
        spend=total(EntryKind.SPEND),
        release=total(EntryKind.RELEASE),
    )
    grant, reserve, spend, release = (sums[k] or 0 for k in ("grant", "reserve", "spend", "release"))
    reserved = reserve - spend - release
    return {"granted": grant, "reserved": reserved, "spent": spend, "available": grant - reserved - spend}


# --- credit holds ------------------------------------------------------------------------


def credit_hold(*, project, actor, image, balance: CreditBalance | None = None, note: str = "") -> StreamHold:
    """Reserve one credit for `image` before any annotator holds it (inside the caller's
    transaction; pass the balance it already locked)."""
    entry = credit_reserve(project=project, actor=actor, image=image, balance=balance, note=note)
    return StreamHold.objects.create(project=project, image=image, credit_entry=entry)


def credit_hold_claim(*, image) -> CreditEntry | None:
    """Called by the labeling queue (inside its transaction) when it hands out `image`: the
    credit held for it becomes the reservation's credit, so no second credit is reserved.
    Returns None when the image holds no credit (any more)."""
    hold = (
        StreamHold.objects.select_for_update()
        .select_related("credit_entry")
        .filter(image=image, state=HoldState.HELD)
        .first()
    )
    if hold is None:
        return None
    hold.state, hold.claimed_at = HoldState.CLAIMED, timezone.now()
    hold.save(update_fields=["state", "claimed_at"])
    return hold.credit_entry


def held_credits_release_expired(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Give back the credits of holds no annotator took within the project's
    `held_credit_hours` (a beat job). The image keeps its place at the top of the queue;
    whoever takes it later reserves a credit then, like for any pool image. Each hold is
    re-checked under its row lock, so a hold the queue claims concurrently is either
    claimed (and kept) or released (and the queue reserves a fresh credit), never both."""
    now = now or timezone.now()
    released = 0
    project_ids = StreamHold.objects.filter(state=HoldState.HELD).values_list("project_id", flat=True).distinct()
    for project in Project.objects.filter(pk__in=list(project_ids)).order_by("id"):
        try:
            released += _held_credits_release_expired_of(project=project, now=now, limit=limit - released)
        except Exception:
            # One project's bad data must not stop the job for the others (issue 14 item 5).
            logger.exception("releasing expired held credits failed for project %s", project.pk)
        if released >= limit:
            break
    return released


def _held_credits_release_expired_of(*, project, now: datetime, limit: int) -> int:
    released = 0
    cutoff = now - timedelta(hours=project.config["held_credit_hours"])
    expired = StreamHold.objects.filter(project=project, state=HoldState.HELD, created_at__lte=cutoff)
    for hold_id in expired.order_by("id").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            hold = (
                expired.select_for_update(skip_locked=True, of=("self",))
                .select_related("image")
                .filter(pk=hold_id)
                .first()
            )
            if hold is None:
                continue
            credit_release(project=project, actor=None, image=hold.image, note="held credit expired")
            hold.state, hold.released_at = HoldState.RELEASED, now
            hold.save(update_fields=["state", "released_at"])
            released += 1
    return released
