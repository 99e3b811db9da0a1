"""Threshold vs pacing stream sampling on simulated confidence streams.

For each stream shape, prints the fraction of the budget spent, where in the
stream the budget ran out, and the mean confidence of the queried items (lower
= the credits went to images the model was less sure about; the stream mean is
shown for reference). It is a benchmark, not a test.

Usage::

    .venv/bin/python benchmarks/bench_stream.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labelapp.learning.stream import decide, new_state, update


def simulate(confs: np.ndarray, credits: int, *, mode: str, threshold: float, seed: int):
    rng = np.random.default_rng(seed)
    state = new_state(credits, len(confs))
    queried = np.zeros(len(confs), dtype=bool)
    for i, c in enumerate(confs):
        d = decide(float(c), state, mode=mode, threshold=threshold, exploration=0.02, rng=rng)
        state = update(state, d)
        queried[i] = d.query
    return queried


def shapes(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.linspace(0, 1, n)
    return {
        "uniform": rng.random(n),
        "confident (beta 8,1.5)": rng.beta(8, 1.5, n),
        "uncertain (beta 1.5,3)": rng.beta(1.5, 3, n),
        "drift: model improves": np.clip(0.3 + 0.65 * t + rng.normal(0, 0.1, n), 0, 1),
        "drift: domain shift": np.clip(0.95 - 0.6 * t + rng.normal(0, 0.1, n), 0, 1),
    }


def main() -> None:
    n, credits, threshold = 3000, 150, 0.5
    print(
        f"stream of {n} items, budget {credits} credits (5%), threshold mode at {threshold}, "
        f"pacing with 2% exploration; mean over 3 seeds\n"
    )
    print(
        f"{'stream':26s} {'mode':9s} {'spent':>6s} {'ran out at':>10s} {'mean conf queried':>18s} {'stream mean':>11s}"
    )
    for name in shapes(n, np.random.default_rng(0)):
        for mode in ("threshold", "pacing"):
            spent, out_at, mc, sm = [], [], [], []
            for seed in range(3):
                confs = shapes(n, np.random.default_rng(seed))[name]
                q = simulate(confs, credits, mode=mode, threshold=threshold, seed=seed)
                spent.append(q.sum() / credits)
                cum = np.cumsum(q)
                out_at.append((np.argmax(cum >= credits) + 1) / n if cum[-1] >= credits else np.nan)
                mc.append(confs[q].mean() if q.any() else np.nan)
                sm.append(confs.mean())
            out = np.nanmean(out_at) if not np.all(np.isnan(out_at)) else np.nan
            out_s = "never" if np.isnan(out) else f"{out:.0%}"
            print(f"{name:26s} {mode:9s} {np.mean(spent):6.0%} {out_s:>10s} {np.nanmean(mc):18.3f} {np.mean(sm):11.3f}")


if __name__ == "__main__":
    main()
