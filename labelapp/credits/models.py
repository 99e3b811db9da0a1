from django.conf import settings
from django.db import models
from django.db.models import F, Q


class EntryKind(models.TextChoices):
    GRANT = "grant"
    RESERVE = "reserve"
    SPEND = "spend"
    RELEASE = "release"


class CreditEntry(models.Model):
    """Append-only ledger. Amounts are positive; the kind says which way they move.

    grant: +granted. reserve: +reserved. spend: reserved -> spent. release: -reserved.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="credit_entries")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    amount = models.PositiveIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    image = models.ForeignKey("images.Image", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "credit entries"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Credit entries are append-only.")
        super().save(*args, **kwargs)


class CreditBalance(models.Model):
    """Counters kept in the same transaction as each ledger entry.

    The row is locked (SELECT ... FOR UPDATE) by every credit operation, and the check
    constraint makes the database itself refuse spent + reserved > granted.
    """

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="credit_balance")
    # 64-bit: PostgreSQL's 32-bit integer overflowed after 214 grants of 10 M (issue 14 item 5).
    granted = models.PositiveBigIntegerField(default=0)
    reserved = models.PositiveBigIntegerField(default=0)
    spent = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(spent__gte=0) & Q(reserved__gte=0) & Q(granted__gte=F("spent") + F("reserved")),
                name="credits_never_overspent",
            )
        ]

    @property
    def available(self) -> int:
        return self.granted - self.reserved - self.spent

    def as_dict(self) -> dict:
        return {"granted": self.granted, "reserved": self.reserved, "spent": self.spent, "available": self.available}


class HoldState(models.TextChoices):
    HELD = "held"
    CLAIMED = "claimed"
    RELEASED = "released"


class StreamHold(models.Model):
    """A credit reserved for an image before any annotator holds it: the stream queried the
    image, or a synthesis job made it.

    The annotator who later gets the image from the queue takes over this reserve entry as
    the credit of their Reservation (state → claimed) instead of reserving a second one;
    from then on the usual spend (submit) or release (skip, expiry) applies. A hold nobody
    claims within the project's `held_credit_hours` is released (state → released): the
    credit goes back to the budget, and whoever takes the image later reserves a new one."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    image = models.OneToOneField("images.Image", on_delete=models.CASCADE, related_name="stream_hold")
    credit_entry = models.OneToOneField(CreditEntry, on_delete=models.CASCADE, related_name="stream_hold")
    state = models.CharField(max_length=8, choices=HoldState.choices, default=HoldState.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table of the production app, where holds began: moved without copying a row.
        db_table = "production_streamhold"
