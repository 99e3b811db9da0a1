"""Per-annotator statistics for the admin page: how much, how fast and how well each one labels.

- labels per day: every label an annotator gave, by UTC day (a label a reviewer rejected
  still counts: it was work done, and its revision keeps the day; so does a consensus second
  label, which spent a credit like any other);
- median seconds per label (labels still current and consensus second labels: a rejected
  label's time is not kept);
- rejection rate and agreement with reviewers over the annotator's reviewed labels: agreement
  is the share approved as they were (a fix or a rejection is a disagreement);
- gold score: the mean score of their answers on gold items (None until they answered one);
- consensus agreement: over the consensus pairs they took part in (as first or as second,
  blind annotator), the share whose two labels agreed (None until they have a compared pair)."""

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import TruncDate

from labelapp.labeling.models import Annotation, AnnotationKind, ConsensusAnnotation, ConsensusState

from .models import LabelRevision, ReviewDecision, RevisionAction, Verdict


def annotator_statistics(*, project) -> dict:
    """{"days": [iso day, ...], "annotators": [{...}, ...]} sorted by username."""
    per_day: dict[tuple[int, str], int] = defaultdict(int)
    names: dict[int, str] = {}
    current = (
        Annotation.objects.filter(project=project, kind=AnnotationKind.HUMAN, annotator__isnull=False)
        .annotate(day=TruncDate("created_at"))
        .values("annotator_id", "annotator__username", "day")
        .annotate(n=Count("id"))
    )
    for row in current:
        per_day[(row["annotator_id"], row["day"].isoformat())] += row["n"]
        names[row["annotator_id"]] = row["annotator__username"]
    current_ids = Annotation.objects.filter(project=project).values("pk")
    gone = (
        LabelRevision.objects.filter(project=project, action=RevisionAction.LABELED, author__isnull=False)
        .exclude(annotation_id__in=current_ids)
        .annotate(day=TruncDate("created_at"))
        .values("author_id", "author__username", "day")
        .annotate(n=Count("id"))
    )
    for row in gone:
        per_day[(row["author_id"], row["day"].isoformat())] += row["n"]
        names[row["author_id"]] = row["author__username"]

    second_labels = ConsensusAnnotation.objects.filter(
        project=project, state=ConsensusState.ANSWERED, annotator__isnull=False
    )
    for row in (
        second_labels.annotate(day=TruncDate("answered_at"))
        .values("annotator_id", "annotator__username", "day")
        .annotate(n=Count("id"))
    ):
        per_day[(row["annotator_id"], row["day"].isoformat())] += row["n"]
        names[row["annotator_id"]] = row["annotator__username"]

    seconds: dict[int, list[float]] = defaultdict(list)
    for annotator_id, spent in Annotation.objects.filter(
        project=project, kind=AnnotationKind.HUMAN, annotator__isnull=False
    ).values_list("annotator_id", "seconds_spent"):
        seconds[annotator_id].append(spent)
    for annotator_id, spent in second_labels.values_list("annotator_id", "seconds_spent"):
        seconds[annotator_id].append(spent)

    verdicts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        ReviewDecision.objects.filter(project=project, annotator__isnull=False)
        .values("annotator_id", "annotator__username", "verdict")
        .annotate(n=Count("id"))
    ):
        verdicts[row["annotator_id"]][row["verdict"]] += row["n"]
        names[row["annotator_id"]] = row["annotator__username"]

    gold = _gold_scores(project)
    for user_id, (_, _, username) in gold.items():
        names[user_id] = username  # an annotator who so far only answered gold items
    consensus = _consensus_agreement(project)
    for user_id, username in consensus.names.items():
        names.setdefault(user_id, username)
    days = sorted({day for _, day in per_day})
    rows = []
    for user_id, username in sorted(names.items(), key=lambda item: item[1]):
        counts = verdicts.get(user_id, {})
        reviewed = sum(counts.values())
        rows.append(
            {
                "user": user_id,
                "username": username,
                "labels": sum(n for (uid, _), n in per_day.items() if uid == user_id),
                "labels_per_day": [{"day": day, "labels": per_day.get((user_id, day), 0)} for day in days],
                "median_seconds": statistics.median(seconds[user_id]) if seconds.get(user_id) else None,
                "reviewed": reviewed,
                "rejection_rate": counts.get(Verdict.REJECT, 0) / reviewed if reviewed else None,
                "agreement_with_reviewers": counts.get(Verdict.APPROVE, 0) / reviewed if reviewed else None,
                "gold_answers": gold.get(user_id, (0, None))[0],
                "gold_score": gold.get(user_id, (0, None))[1],
                "consensus_pairs": consensus.pairs.get(user_id, 0),
                "consensus_agreement": consensus.agreement(user_id),
            }
        )
    return {"days": days, "annotators": rows}


def _gold_scores(project) -> dict[int, tuple[int, float, str]]:
    """user id → (answers, mean score, username) on gold items."""
    from labelapp.labeling.models import GoldAnswer

    scores: dict[int, list[float]] = defaultdict(list)
    names: dict[int, str] = {}
    for user_id, username, score in GoldAnswer.objects.filter(
        project=project, score__isnull=False, annotator__isnull=False
    ).values_list("annotator_id", "annotator__username", "score"):
        scores[user_id].append(score)
        names[user_id] = username
    return {user_id: (len(values), sum(values) / len(values), names[user_id]) for user_id, values in scores.items()}


@dataclass
class _ConsensusCounts:
    pairs: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    agreed: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    names: dict[int, str] = field(default_factory=dict)

    def agreement(self, user_id: int) -> float | None:
        pairs = self.pairs.get(user_id, 0)
        return self.agreed.get(user_id, 0) / pairs if pairs else None


def _consensus_agreement(project) -> _ConsensusCounts:
    """Compared consensus pairs per annotator, counted for both of its annotators."""
    counts = _ConsensusCounts()
    rows = (
        ConsensusAnnotation.objects.filter(project=project, state=ConsensusState.ANSWERED, agreed__isnull=False)
        .values("first_annotator_id", "first_annotator__username", "annotator_id", "annotator__username", "agreed")
        .annotate(n=Count("id"))
    )
    for row in rows:
        for role in ("first_annotator", "annotator"):
            user_id = row[f"{role}_id"]
            if user_id is None:
                continue
            counts.names[user_id] = row[f"{role}__username"]
            counts.pairs[user_id] += row["n"]
            if row["agreed"]:
                counts.agreed[user_id] += row["n"]
    return counts


CSV_COLUMNS = [
    "username",
    "labels",
    "median_seconds",
    "reviewed",
    "rejection_rate",
    "agreement_with_reviewers",
    "gold_answers",
    "gold_score",
    "consensus_pairs",
    "consensus_agreement",
]


def annotator_statistics_csv(*, project) -> str:
    """The table behind the plots, one row per annotator, then labels per day in long form."""
    stats = annotator_statistics(project=project)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS + [f"labels {day}" for day in stats["days"]])
    for row in stats["annotators"]:
        writer.writerow(
            [("" if row[c] is None else row[c]) for c in CSV_COLUMNS] + [d["labels"] for d in row["labels_per_day"]]
        )
    return out.getvalue()
