"""Stream-based selective sampling of arriving production images.

Invariant kept here, once: a stream query reserves its credit with `credits.credit_hold`
under the project's balance lock, and the stream decides on the balance it just locked, so it
never overspends; the credit is held until an annotator's reservation takes it over (see
`credits.credit_hold_claim`): spent + reserved ≤ granted and the ledger equals the balance.
"""

from dataclasses import dataclass, replace

import numpy as np
from django.db import transaction

from labelapp.core.events import send_on_commit
from labelapp.credits import services as credits
from labelapp.images.events import images_added
from labelapp.images.models import PINNED_PRIORITY, Image, Source, Status
from labelapp.images.services import storage_cleanup
from labelapp.learning.stream import Decision, StreamState, decide, new_state, update

from .inference import ModelRun, Upload, model_run, run_store, upload_validate
from .models import (
    StreamSampler,
)


@dataclass
class StreamResult:
    decision: str  # "query" | "accept" | "duplicate"
    reason: str
    confidence: float
    threshold: float | None
    credits_left: int
    image: Image
    run: ModelRun
    sampler: StreamSampler | None = None


class _Duplicate(Exception):
    def __init__(self, image):
        self.image = image


def _sampler_lock(*, project, config: dict) -> StreamSampler:
    """The project's stream state, locked; created on first use. A changed
    `stream_expected_items` setting becomes `expected_remaining = expected - seen`."""
    expected = config["stream_expected_items"]
    sampler = StreamSampler.objects.select_for_update().filter(project=project).first()
    if sampler is None:
        StreamSampler.objects.get_or_create(
            project=project, defaults={"state": new_state(0, expected).to_dict(), "expected_items": expected}
        )
        sampler = StreamSampler.objects.select_for_update().get(project=project)
    if sampler.expected_items != expected:
        state = StreamState.from_dict(sampler.state)
        sampler.state = replace(state, expected_remaining=max(expected - state.seen, 0)).to_dict()
        sampler.expected_items = expected
    return sampler


def stream_image_ingest(*, project, user, upload: Upload | None) -> StreamResult:
    """Decide one arriving image with `labelapp.learning.stream` and the project settings.

    query: one credit is reserved now (held by a StreamHold) and the image goes to the top
    of the labeling queue (PINNED_PRIORITY, above every pool image). accept: the model's
    output is kept as the image's Prediction and the image becomes `auto_labeled` (not a
    human label: no Annotation). The decision is taken under the stream row lock and the
    balance lock, on the balance itself (`credits_left` = available credits), so concurrent
    requests never overspend. Content already in the project is a `duplicate`: nothing
    is stored, counted or reserved."""
    item = upload_validate(upload=upload)
    run = model_run(project=project, item=item)
    confidence = min(max(float(run.prediction.confidence), 0.0), 1.0)
    existing = Image.objects.filter(project=project, sha256=item.sha256).first()
    if existing is not None:
        return _duplicate(project=project, image=existing, run=run, confidence=confidence)
    config = project.config
    written: list[str] = []
    try:
        with transaction.atomic():
            image, created = run_store(
                project=project, run=run, source=Source.STREAM, status=Status.UNLABELED, written=written
            )
            if not created:
                raise _Duplicate(image)
            sampler = _sampler_lock(project=project, config=config)
            balance = credits.balance_lock(project=project)
            state = replace(StreamState.from_dict(sampler.state), credits_left=max(balance.available, 0))
            decision: Decision = decide(
                confidence,
                state,
                mode=config["stream_mode"],
                threshold=config["stream_threshold"],
                hard_cap=config.get("stream_hard_cap"),
                exploration=config["stream_exploration"],
                rng=np.random.default_rng([project.pk, state.seen]),
            )
            if decision.query:
                credits.credit_hold(project=project, actor=user, image=image, balance=balance, note="stream query")
                image.priority, image.score_reason = PINNED_PRIORITY, "stream_query"
            else:
                image.status = Status.AUTO_LABELED
                image.priority, image.score_reason = run.prediction.score, "stream_accept"
                sampler.accepted += 1
            image.save(update_fields=["status", "priority", "score_reason", "scored_by"])
            sampler.state = update(state, decision).to_dict()
            sampler.save(update_fields=["state", "expected_items", "accepted", "updated_at"])
            send_on_commit(images_added, project_id=project.pk, image_ids=[image.pk])
    except _Duplicate as duplicate:
        storage_cleanup(written)
        return _duplicate(project=project, image=duplicate.image, run=run, confidence=confidence)
    except Exception:
        storage_cleanup(written)
        raise
    threshold = decision.threshold if np.isfinite(decision.threshold) else None
    return StreamResult(
        decision="query" if decision.query else "accept",
        reason=decision.reason,
        confidence=confidence,
        threshold=threshold,
        credits_left=balance.available,
        image=image,
        run=run,
        sampler=sampler,
    )


def _duplicate(*, project, image, run, confidence) -> StreamResult:
    return StreamResult(
        decision="duplicate",
        reason="already_in_project",
        confidence=confidence,
        threshold=None,
        credits_left=credits.balance_get(project=project).available,
        image=image,
        run=run,
        sampler=StreamSampler.objects.filter(project=project).first(),
    )
