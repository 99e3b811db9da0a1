"""Stream sampling: unit decisions and simulated streams."""

import numpy as np
import pytest

from labelapp.learning.stream import Decision, StreamState, decide, new_state, update


def run_stream(confs, credits, *, mode, expected=None, hard_cap=None, threshold=0.5, seed=0, exploration=0.02):
    rng = np.random.default_rng(seed)
    state = new_state(credits, len(confs) if expected is None else expected)
    queried = []
    for c in confs:
        d = decide(float(c), state, mode=mode, threshold=threshold, hard_cap=hard_cap, exploration=exploration, rng=rng)
        state = update(state, d)
        queried.append(d.query)
    return state, np.array(queried)


def streams(n, seed):
    """Confidence streams of several shapes, each (name, array of n in [0, 1])."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    return {
        "uniform": rng.random(n),
        "confident_beta": rng.beta(8, 1.5, n),
        "uncertain_beta": rng.beta(1.5, 3, n),
        "drift_up": np.clip(0.2 + 0.75 * t + rng.normal(0, 0.08, n), 0, 1),
        "drift_down": np.clip(0.95 - 0.75 * t + rng.normal(0, 0.08, n), 0, 1),
        "bimodal": np.where(rng.random(n) < 0.1, rng.uniform(0, 0.3, n), rng.uniform(0.9, 1, n)),
        "all_confident": np.ones(n),
    }


def test_threshold_mode_unit():
    s = new_state(2, 10)
    d = decide(0.3, s, mode="threshold", threshold=0.5)
    assert d == Decision(True, 0.5, "below_threshold", 0.3)
    assert not decide(0.7, s, threshold=0.5).query
    assert decide(0.3, new_state(0, 10)).reason == "no_credits"
    capped = StreamState(credits_left=5, expected_remaining=5, queried=3)
    assert decide(0.1, capped, hard_cap=3).reason == "hard_cap"


def test_update_is_pure_and_bounded_window():
    s = StreamState(credits_left=3, expected_remaining=10, window=2)
    d = decide(0.1, s)
    s2 = update(s, d)
    assert s.credits_left == 3 and s.recent == ()  # original untouched
    assert (s2.credits_left, s2.queried, s2.seen, s2.expected_remaining) == (2, 1, 1, 9)
    s3 = update(update(s2, decide(0.9, s2)), decide(0.8, s2))
    assert s3.recent == (0.9, 0.8)
    assert StreamState.from_dict(s3.to_dict()) == s3


def test_pacing_threshold_is_rate_quantile():
    # 100 remembered confidences 0.00..0.99; 10 credits for 100 items -> rate 0.1.
    recent = tuple(np.arange(100) / 100)
    s = StreamState(credits_left=10, expected_remaining=100, recent=recent, window=100)
    d = decide(0.05, s, mode="pacing", exploration=0.0)
    assert d.threshold == pytest.approx(0.09)  # index floor(0.1 * 99) = 9
    assert d.query and d.reason == "below_threshold"
    assert not decide(0.095, s, mode="pacing", exploration=0.0).query
    # Exploration 0.02 leaves rate (0.1 - 0.02) / 0.98 for the quantile: index 8.
    d = decide(0.085, s, mode="pacing", exploration=0.02, rng=np.random.default_rng(0))
    assert d.threshold == pytest.approx(0.08) and d.reason in ("above_threshold", "exploration")
    # Exploration (capped at rate / 2 = 0.05) queries even confident items, sometimes.
    rng = np.random.default_rng(0)
    ds = [decide(0.99, s, mode="pacing", exploration=1.0, rng=rng) for _ in range(2000)]
    frac = np.mean([d.query for d in ds])
    assert 0.035 < frac < 0.065
    assert {d.reason for d in ds} == {"exploration", "above_threshold"}


def test_bad_input():
    s = new_state(1, 1)
    with pytest.raises(ValueError):
        decide(1.5, s)
    with pytest.raises(ValueError):
        decide(0.5, s, mode="fast")
    with pytest.raises(ValueError):
        decide(0.5, s, mode="pacing")  # no rng
    with pytest.raises(ValueError):
        new_state(-1, 10)


@pytest.mark.parametrize("n", [200, 1000, 2500])
@pytest.mark.parametrize("budget_frac", [0.02, 0.1, 0.5])
def test_pacing_spends_budget_but_never_more(n, budget_frac):
    credits = max(1, int(n * budget_frac))
    for name, confs in streams(n, seed=n).items():
        state, q = run_stream(confs, credits, mode="pacing")
        assert q.sum() <= credits, name
        assert state.credits_left >= 0
        assert q.sum() >= 0.95 * credits, (name, q.sum(), credits)


@pytest.mark.parametrize("n", [300, 3000])
def test_threshold_mode_respects_budget_and_cap(n):
    for name, confs in streams(n, seed=1).items():
        for credits, cap in [(n // 10, None), (n // 10, n // 20), (n, n // 7), (5, 100)]:
            _, q = run_stream(confs, credits, mode="threshold", hard_cap=cap)
            assert q.sum() <= credits, name
            if cap is not None:
                assert q.sum() <= cap, name
            # Exactly the confident-below-threshold items, until a limit bites.
            expected = min((confs < 0.5).sum(), credits, cap if cap is not None else n)
            assert q.sum() == expected, name


def test_pacing_with_hard_cap_and_short_stream():
    confs = np.random.default_rng(0).random(1000)
    _, q = run_stream(confs, 300, mode="pacing", hard_cap=120)
    assert q.sum() <= 120
    # Stream twice as long as expected: still never over budget.
    _, q = run_stream(np.random.default_rng(1).random(2000), 100, mode="pacing", expected=1000)
    assert q.sum() <= 100


def test_pacing_prefers_uncertain_items():
    confs = np.random.default_rng(2).random(4000)
    _, q = run_stream(confs, 400, mode="pacing")
    assert confs[q].mean() < 0.2  # uniform mean is 0.5; pacing targets the lowest ~10%
