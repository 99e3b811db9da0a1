"""Argument checks shared by the strategy modules: each raises ValueError naming what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def check_probs(probs: Any) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (N, C), got {p.shape}")
    if p.shape[1] < 2:
        raise ValueError("probs needs at least 2 classes")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs must be finite")
    if p.size and (p.min() < 0 or p.max() > 1 + 1e-6):
        raise ValueError("probs must lie in [0, 1]")
    if p.size and not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of probs must sum to 1")
    return p


def check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    return rng


def check_scores(scores: Any) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (N,), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    return s


def check_k(k: int, n: int) -> int:
    if int(k) != k or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return min(int(k), n)


def detection_fields(det: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(det, Mapping):
        s, lab = det["scores"], det["labels"]
    elif hasattr(det, "scores"):
        s, lab = det.scores, det.labels
    else:
        s, lab = det
    s = np.asarray(s, dtype=np.float64).reshape(-1)
    lab = np.asarray(lab).reshape(-1)
    if len(s) != len(lab):
        raise ValueError("detection scores and labels differ in length")
    if s.size and (not np.all(np.isfinite(s)) or s.min() < 0 or s.max() > 1):
        raise ValueError("detection scores must lie in [0, 1]")
    return s, lab.astype(np.int64)
