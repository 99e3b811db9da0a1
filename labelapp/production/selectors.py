from django.db.models import Count, Q

from .models import VerificationItem, VerificationState


def verification_stats(*, project) -> list[dict]:
    """Verdicts per model version (newest first), in one query. flag_rate = incorrect /
    (correct + incorrect): affirmed and pending items are not verdicts and are left out."""

    def count(state):
        return Count("id", filter=Q(state=state))

    rows = (
        VerificationItem.objects.filter(project=project)
        .values("model_version__number")
        .annotate(
            pending=count(VerificationState.PENDING),
            correct=count(VerificationState.CORRECT),
            incorrect=count(VerificationState.INCORRECT),
            affirmed=count(VerificationState.AFFIRMED),
            corrected_counts=Count("id", filter=Q(true_count__isnull=False, state=VerificationState.INCORRECT)),
        )
        .order_by("-model_version__number")
    )
    stats = []
    for row in rows:
        decided = row["correct"] + row["incorrect"]
        stats.append(
            {
                "model_version": row["model_version__number"],
                "pending": row["pending"],
                "correct": row["correct"],
                "incorrect": row["incorrect"],
                "affirmed": row["affirmed"],
                "corrected_counts": row["corrected_counts"],
                "flag_rate": row["incorrect"] / decided if decided else None,
            }
        )
    return stats
