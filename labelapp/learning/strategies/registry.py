"""The strategy registry: strategies by name, the default recipe, and ``score_pool``,
the single entry point for the app side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelapp.learning.strategies.uncertainty import (
    detection_uncertainty,
    entropy,
    least_confident,
    margin,
    random_scores,
)
from labelapp.learning.strategies.weighting import weighted_by_class


def _det_mean(d: Sequence[Any], threshold: float) -> np.ndarray:
    return detection_uncertainty(d, threshold=threshold, aggregate="mean")


def _det_max(d: Sequence[Any], threshold: float) -> np.ndarray:
    return detection_uncertainty(d, threshold=threshold, aggregate="max")


def _det_near(d: Sequence[Any], threshold: float) -> np.ndarray:
    return detection_uncertainty(d, threshold=threshold, aggregate="near_threshold")


#: name -> (task, function). Classification functions take ``probs``; detection
#: functions take ``(detections, threshold)``. ``"random"`` serves both tasks.
STRATEGIES: dict[str, tuple[str, Callable[..., np.ndarray]]] = {
    "random": ("any", random_scores),
    "least_confident": ("classification", least_confident),
    "margin": ("classification", margin),
    "entropy": ("classification", entropy),
    "detection_mean": ("detection", _det_mean),
    "detection_max": ("detection", _det_max),
    "detection_near_threshold": ("detection", _det_near),
}


@dataclass(frozen=True)
class StrategyConfig:
    """A complete sampling recipe.

    Attributes
    ----------
    scoring : str
        Key of :data:`STRATEGIES` for classification projects.
    detection_scoring : str
        Key of :data:`STRATEGIES` for detection projects.
    diversity : str or None
        ``method`` for :func:`select_diverse`, or None for plain top-k.
    cold_start : bool
        Whether the first batch (no model yet) comes from :func:`cold_start`
        instead of random picks.
    """

    scoring: str
    detection_scoring: str
    diversity: str | None
    cold_start: bool


#: Winner of benchmarks/bench_strategies.py (the results in its docstring). For detection the
#: run is small (1 seed): "detection_mean" had the best final mAP50 and every
#: uncertainty variant beat random, but the variants are not separated yet.
DEFAULT_STRATEGY = StrategyConfig(
    scoring="margin", detection_scoring="detection_mean", diversity="kmeans", cold_start=True
)


def score_pool(
    task: str,
    outputs: Any,
    *,
    strategy: str,
    class_weights: Any = None,
    threshold: float = 0.3,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Score a pool of model outputs: the single entry point for the app side.

    Parameters
    ----------
    task : {"classification", "detection"}
    outputs
        ``probs`` array (N, C) for classification; for detection a sequence of
        N objects with ``.scores`` and ``.labels`` (or dicts / tuples, see
        :func:`detection_uncertainty`).
    strategy : str
        A key of :data:`STRATEGIES` valid for ``task``.
    class_weights : array-like, shape (C,), optional
        From :func:`class_weights_from_ap`; applied with :func:`weighted_by_class`.
    threshold : float, default 0.3
        Detection threshold (detection strategies only).
    rng : numpy.random.Generator, optional
        Required for ``"random"``.

    Returns
    -------
    ndarray of float64, shape (N,), higher = label sooner.
    """
    if task not in ("classification", "detection"):
        raise ValueError(f"unknown task {task!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {sorted(STRATEGIES)}")
    kind, fn = STRATEGIES[strategy]
    if kind not in ("any", task):
        raise ValueError(f"strategy {strategy!r} is for {kind}, not {task}")
    n = len(outputs)
    if strategy == "random":
        if rng is None:
            raise ValueError("the random strategy needs rng")
        scores = random_scores(n, rng)
    elif task == "classification":
        scores = fn(outputs)
    else:
        scores = fn(outputs, threshold)
    if class_weights is not None:
        if task == "classification":
            scores = weighted_by_class(scores, class_weights, probs=outputs)
        else:
            scores = weighted_by_class(scores, class_weights, detections=outputs)
    return scores
