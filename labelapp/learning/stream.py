"""Stream-based selective sampling: decide, image by image, whether to query.

Each arriving image is scored once. If it is *queried*, a credit is reserved
and the image goes to the annotators; otherwise the model's label is
accepted. Two modes:

* ``"threshold"``: query when the model's confidence is below a fixed
  threshold, while credits remain and under an optional hard cap. Simple, but
  a poorly calibrated model can spend the whole budget on the first images.
* ``"pacing"``: aim for the query rate ``r = credits_left / expected_remaining``
  by using the ``r``-quantile of recently seen confidences as the threshold,
  so about a fraction ``r`` of upcoming images fall below it and the budget
  lasts for the expected stream. A small exploration probability keeps
  querying (at random) even when the model is confident everywhere. If the
  stream runs past ``expected_remaining`` the rate is computed as if one item
  were left, i.e. the rest of the budget goes to the next uncertain items:
  keep ``expected_remaining`` up to date on the app side.

Both never query with zero credits. The functions are pure: :func:`decide`
does not touch the state, :func:`update` returns a new :class:`StreamState`.
The app side persists the state (it is a small dataclass of plain values,
see :meth:`StreamState.to_dict`) and reconciles ``credits_left`` with the
credit ledger, which remains the authority on spending.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Decision", "StreamState", "decide", "new_state", "update"]

#: Below this many remembered confidences the pacing quantile is too noisy;
#: fall back to the fixed threshold (still capped by the pacing rate).
MIN_WINDOW_FOR_QUANTILE = 20


@dataclass(frozen=True)
class StreamState:
    """What the sampler remembers between images.

    Attributes
    ----------
    credits_left : int
        Credits still available to the stream (>= 0).
    expected_remaining : int
        Items still expected in the stream (>= 0); it is decremented as items
        arrive and never goes below 1 in the rate computation.
    recent : tuple of float
        The last ``window`` confidences seen, oldest first, each in ``[0, 1]``.
    window : int
        Maximum length of ``recent``.
    seen, queried : int
        Counters over the stream so far.
    """

    credits_left: int
    expected_remaining: int
    recent: tuple = field(default_factory=tuple)
    window: int = 200
    seen: int = 0
    queried: int = 0

    def __post_init__(self) -> None:
        if self.credits_left < 0:
            raise ValueError("credits_left must be >= 0")
        if self.expected_remaining < 0:
            raise ValueError("expected_remaining must be >= 0")
        if self.window < 1:
            raise ValueError("window must be >= 1")
        if len(self.recent) > self.window:
            raise ValueError("recent is longer than window")

    def to_dict(self) -> dict:
        """JSON-serialisable form (for a JSONField)."""
        return {
            "credits_left": int(self.credits_left),
            "expected_remaining": int(self.expected_remaining),
            "recent": [float(c) for c in self.recent],
            "window": int(self.window),
            "seen": int(self.seen),
            "queried": int(self.queried),
        }

    @classmethod
    def from_dict(cls, data: dict) -> StreamState:
        """Inverse of :meth:`to_dict`."""
        return cls(
            credits_left=int(data["credits_left"]),
            expected_remaining=int(data["expected_remaining"]),
            recent=tuple(float(c) for c in data.get("recent", ())),
            window=int(data.get("window", 200)),
            seen=int(data.get("seen", 0)),
            queried=int(data.get("queried", 0)),
        )


@dataclass(frozen=True)
class Decision:
    """Outcome for one image.

    Attributes
    ----------
    query : bool
        True: reserve a credit and send the image to annotators.
    threshold : float
        The confidence threshold in force for this image.
    reason : str
        Machine code: ``"below_threshold"``, ``"above_threshold"``,
        ``"exploration"``, ``"no_credits"``, ``"hard_cap"``, ``"rate_exhausted"``.
    confidence : float
        The confidence the decision was made on (so :func:`update` can
        remember it).
    """

    query: bool
    threshold: float
    reason: str
    confidence: float = float("nan")


def new_state(credits: int, expected_items: int, *, window: int = 200) -> StreamState:
    """Fresh state for a stream with a budget and an expected length."""
    return StreamState(credits_left=int(credits), expected_remaining=int(expected_items), window=int(window))


def _pacing_threshold(state: StreamState, fallback: float, exploration: float) -> tuple[float, float]:
    """(threshold, exploration probability) for pacing mode.

    The target rate ``r = credits_left / expected_remaining`` is split between
    exploration (at most half of it) and the quantile threshold, so that
    together they query about ``r`` of the items and the budget lasts.
    """
    rate = min(1.0, state.credits_left / max(state.expected_remaining, 1))
    explore = min(exploration, rate / 2.0)
    q_rate = (rate - explore) / (1.0 - explore) if explore < 1.0 else 0.0
    if rate >= 1.0:
        return float("inf"), 0.0  # as many credits as items left: query everything
    if len(state.recent) < MIN_WINDOW_FOR_QUANTILE:
        return fallback, explore
    # np.quantile(method="lower") by partition (faster per item): the threshold is an
    # observed confidence, and the strict '<' in decide() then selects at most a
    # fraction ``q_rate`` of the window.
    window = np.fromiter(state.recent, dtype=np.float64, count=len(state.recent))
    k = int(np.floor(q_rate * (len(window) - 1)))
    return float(np.partition(window, k)[k]), explore


def decide(
    confidence: float,
    state: StreamState,
    *,
    mode: str = "threshold",
    threshold: float = 0.5,
    hard_cap: int | None = None,
    exploration: float = 0.02,
    rng: np.random.Generator | None = None,
) -> Decision:
    """Decide whether to query one incoming image.

    Parameters
    ----------
    confidence : float
        Model confidence for the image in ``[0, 1]`` (e.g. max class
        probability, or a detection image's certainty); low = uncertain.
    state : StreamState
        Not modified.
    mode : {"threshold", "pacing"}
    threshold : float, default 0.5
        Threshold mode: query when ``confidence < threshold``. Pacing mode:
        used only until the window holds ``MIN_WINDOW_FOR_QUANTILE`` items.
    hard_cap : int, optional
        Maximum number of queries over the stream (``state.queried`` counts
        them), on top of the credit limit.
    exploration : float, default 0.02
        Pacing mode: probability of querying an image above the threshold
        anyway (at random), so the stream never stops sampling, even where the
        model is (over)confident. Capped at half the pacing rate so exploration
        never takes more than about half of the remaining budget; the quantile
        rate is lowered to make room for it. Ignored in threshold mode.
    rng : numpy.random.Generator, optional
        Required when ``mode="pacing"`` and ``exploration > 0``.

    Returns
    -------
    Decision
    """
    c = float(confidence)
    if not np.isfinite(c) or not 0.0 <= c <= 1.0:
        raise ValueError(f"confidence must be in [0, 1], got {confidence!r}")
    if mode not in ("threshold", "pacing"):
        raise ValueError(f"unknown mode {mode!r}")
    if not 0.0 <= exploration <= 1.0:
        raise ValueError("exploration must be in [0, 1]")
    if hard_cap is not None and hard_cap < 0:
        raise ValueError("hard_cap must be >= 0")
    if mode == "pacing" and exploration > 0 and not isinstance(rng, np.random.Generator):
        raise ValueError("pacing mode with exploration needs rng: np.random.Generator")

    if mode == "threshold":
        thr = float(threshold)
    else:
        thr, explore = _pacing_threshold(state, float(threshold), float(exploration))
    if state.credits_left <= 0:
        return Decision(False, thr, "no_credits", c)
    if hard_cap is not None and state.queried >= hard_cap:
        return Decision(False, thr, "hard_cap", c)
    if c < thr:
        return Decision(True, thr, "below_threshold", c)
    if mode == "pacing" and explore > 0 and rng.random() < explore:
        return Decision(True, thr, "exploration", c)
    return Decision(False, thr, "above_threshold", c)


def update(state: StreamState, decision: Decision) -> StreamState:
    """State after one image: counters, credits and the confidence window.

    Returns a new :class:`StreamState`; ``state`` is not modified. A decision
    without a finite ``confidence`` is counted but not remembered.
    """
    recent = state.recent
    if np.isfinite(decision.confidence):
        recent = (recent + (float(decision.confidence),))[-state.window :]
    return replace(
        state,
        credits_left=state.credits_left - int(decision.query),
        expected_remaining=max(state.expected_remaining - 1, 0),
        recent=recent,
        seen=state.seen + 1,
        queried=state.queried + int(decision.query),
    )
