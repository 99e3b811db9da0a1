"""The small interface every labelapp model implements, and its outputs.

A model sees only prepared inputs: ``uint8`` ``(N, S, S, 3)`` RGB arrays at
its ``input_size`` (see :func:`labelapp.learning.data.prepare`); any
normalisation happens inside the model.  Boxes are xyxy in model-input
pixels.

Checkpoints are plain ``torch.save`` files of primitive containers and
tensors, so they load with ``torch.load(path, map_location="cpu",
weights_only=True)`` (no pickled code is ever executed).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Union

import numpy as np
import torch

from labelapp.learning.data import atomic_write
from labelapp.learning.training import EpochReport, FitResult, Resumable, TrainConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "ClassificationOutput",
    "Detections",
    "ImageModel",
    "check_classification_targets",
    "check_detection_targets",
    "check_images",
]

#: Version of the checkpoint dictionary layout written by :meth:`ImageModel.save`.
CHECKPOINT_FORMAT = 1

TASKS = ("classification", "detection")


@dataclass
class ClassificationOutput:
    """Class probabilities for ``N`` images.

    Attributes
    ----------
    probs : np.ndarray
        ``float32`` ``(N, C)``, rows sum to 1.
    """

    probs: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        """``int64`` ``(N,)`` most probable class per image."""
        return np.argmax(self.probs, axis=1).astype(np.int64)

    @property
    def confidence(self) -> np.ndarray:
        """``float32`` ``(N,)`` probability of the most probable class."""
        if self.probs.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        return self.probs.max(axis=1).astype(np.float32)


@dataclass
class Detections:
    """The boxes a detector found in one image.

    Every peak above the model's low ``min_score`` floor is kept, so
    uncertainty strategies can see near-threshold boxes; ``threshold`` (the
    model's ``detection_threshold`` at prediction time) decides what counts.

    Attributes
    ----------
    boxes : np.ndarray
        ``float32`` ``(k, 4)`` xyxy in model-input pixels.
    scores : np.ndarray
        ``float32`` ``(k,)`` confidences in ``[0, 1]``, sorted descending.
    labels : np.ndarray
        ``int64`` ``(k,)`` class indices in ``[0, num_classes)``.
    num_classes : int
        Number of classes of the model (length of :meth:`count`).
    threshold : float
        Default score threshold for :meth:`count` and :meth:`above`.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    num_classes: int
    threshold: float = 0.3

    def __post_init__(self) -> None:
        k = len(self.scores)
        if self.boxes.shape != (k, 4) or self.labels.shape != (k,):
            raise ValueError("boxes, scores and labels must describe the same k boxes")
        if self.num_classes < 1:
            raise ValueError("num_classes must be >= 1")

    def _threshold(self, threshold: float | None) -> float:
        t = self.threshold if threshold is None else threshold
        if not (0.0 <= t <= 1.0):
            raise ValueError(f"threshold must be in [0, 1], got {t}")
        return float(t)

    def count(self, threshold: float | None = None) -> np.ndarray:
        """Number of boxes per class with ``score >= threshold``.

        Parameters
        ----------
        threshold : float, optional
            In ``[0, 1]``; defaults to :attr:`threshold`.

        Returns
        -------
        np.ndarray
            ``int64`` ``(num_classes,)``.
        """
        keep = self.scores >= self._threshold(threshold)
        return np.bincount(self.labels[keep], minlength=self.num_classes).astype(np.int64)

    def above(self, threshold: float | None = None) -> Detections:
        """The subset of boxes with ``score >= threshold`` (default :attr:`threshold`)."""
        t = self._threshold(threshold)
        keep = self.scores >= t
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep], self.num_classes, self.threshold)

    def __len__(self) -> int:
        return len(self.scores)


Prediction = Union[ClassificationOutput, "list[Detections]"]


def check_images(images: Any, input_size: int, what: str = "images") -> np.ndarray:
    """Validate a batch of prepared images; returns it unchanged.

    Raises ``ValueError`` unless ``images`` is a ``uint8`` array of shape
    ``(N, input_size, input_size, 3)`` (``N`` may be 0).
    """
    if not isinstance(images, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise ValueError(f"{what} must have dtype uint8, got {images.dtype}")
    expected = (input_size, input_size, 3)
    if images.ndim != 4 or images.shape[1:] != expected:
        raise ValueError(f"{what} must have shape (N, {input_size}, {input_size}, 3), got {images.shape}")
    return images


def check_classification_targets(targets: Any, n: int, num_classes: int, what: str = "targets") -> np.ndarray:
    """Validate class-index targets; returns them as ``int64`` ``(n,)``."""
    arr = np.asarray(targets)
    if arr.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},), got {arr.shape}")
    if n and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be integer class indices, got {arr.dtype}")
    arr = arr.astype(np.int64)
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{what} must be in [0, {num_classes})")
    return arr


def check_detection_targets(
    targets: Any, n: int, num_classes: int, input_size: int, what: str = "targets"
) -> list[dict[str, np.ndarray]]:
    """Validate detection targets; returns clean copies.

    Each target must be a dict with ``"boxes"`` (``(k, 4)`` finite xyxy) and
    ``"labels"`` (``(k,)`` integers in ``[0, num_classes)``).  Boxes are
    clipped to the input and degenerate ones (under 1 px wide or high after
    clipping) are dropped, since they cannot be learned or matched.
    """
    if not isinstance(targets, (list, tuple)) or len(targets) != n:
        raise ValueError(f"{what} must be a list of {n} dicts")
    out = []
    for i, t in enumerate(targets):
        if not isinstance(t, dict) or "boxes" not in t or "labels" not in t:
            raise ValueError(f"{what}[{i}] must be a dict with 'boxes' and 'labels'")
        boxes = (
            np.asarray(t["boxes"], dtype=np.float32).reshape(-1, 4)
            if np.size(t["boxes"])
            else np.zeros((0, 4), np.float32)
        )
        labels = np.asarray(t["labels"])
        labels = labels.reshape(-1)
        if len(labels) != len(boxes):
            raise ValueError(f"{what}[{i}]: {len(boxes)} boxes but {len(labels)} labels")
        if len(labels) and not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{what}[{i}]: labels must be integers")
        labels = labels.astype(np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{what}[{i}]: labels must be in [0, {num_classes})")
        if not np.all(np.isfinite(boxes)):
            raise ValueError(f"{what}[{i}]: boxes must be finite")
        if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
            raise ValueError(f"{what}[{i}]: boxes must be xyxy with x2 >= x1 and y2 >= y1")
        boxes = np.clip(boxes, 0, input_size)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
        out.append({"boxes": boxes[keep], "labels": labels[keep]})
    return out


class ImageModel(ABC):
    """Base class of every model labelapp can train, run and store.

    Subclasses set the class attributes ``name`` (the registry name) and
    ``task`` (``"classification"`` or ``"detection"``), accept
    ``classes``, ``input_size`` and their own keyword ``options`` in
    ``__init__``, and implement :meth:`fit`, :meth:`predict`, :meth:`embed`,
    :meth:`get_weights` and :meth:`set_weights`.  :meth:`save` and
    :func:`labelapp.learning.models.load_model` then work unchanged.

    Parameters
    ----------
    classes : list of str
        Label names, unique; index ``i`` in targets and outputs is ``classes[i]``.
    input_size : int
        Side ``S`` of the square ``uint8`` inputs.
    """

    name: ClassVar[str]
    task: ClassVar[str]

    def __init__(self, *, classes: list[str], input_size: int):
        if not isinstance(classes, (list, tuple)) or not classes:
            raise ValueError("classes must be a non-empty list of strings")
        if not all(isinstance(c, str) and c for c in classes):
            raise ValueError("classes must be non-empty strings")
        if len(set(classes)) != len(classes):
            raise ValueError(f"classes must be unique, got {list(classes)}")
        if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)) or input_size < 8:
            raise ValueError(f"input_size must be an int >= 8, got {input_size!r}")
        self.classes = list(classes)
        self.input_size = int(input_size)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def options(self) -> dict[str, Any]:
        """Constructor keyword options (primitives only); stored in checkpoints."""
        return {}

    @abstractmethod
    def fit(
        self,
        train_images: np.ndarray,
        train_targets: Any,
        val_images: np.ndarray,
        val_targets: Any,
        *,
        config: TrainConfig,
        progress: Callable[[EpochReport], None] | None = None,
        warm_start: ImageModel | None = None,
        resumable: Resumable | None = None,
    ) -> FitResult:
        """Train on prepared images; see the subclasses for target formats.

        ``resumable`` (:class:`labelapp.learning.training.Resumable`) saves the training
        state after every epoch and resumes from such a state; a model without it ignores
        ``resumable.state`` and trains from the start."""

    @abstractmethod
    def predict(self, images: np.ndarray, *, batch_size: int = 256) -> Prediction:
        """Run the model: :class:`ClassificationOutput` or one :class:`Detections` per image."""

    @abstractmethod
    def embed(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Feature vectors for diversity strategies: ``float32`` ``(N, D)``."""

    @abstractmethod
    def get_weights(self) -> dict[str, torch.Tensor]:
        """Learned state as a flat dict of tensors (CPU)."""

    @abstractmethod
    def set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Load state produced by :meth:`get_weights`; ``ValueError`` if it does not fit."""

    def can_warm_start(self, other: ImageModel) -> bool:
        """Whether ``other``'s weights can initialise this model.

        True when both are the same model type with the same classes (in the
        same order), input size and options that shape the network.
        """
        return (
            type(other) is type(self)
            and other.classes == self.classes
            and other.input_size == self.input_size
            and self._architecture() == other._architecture()
        )

    def _architecture(self) -> dict[str, Any]:
        """Options that change weight shapes (subclasses override)."""
        return {}

    def checkpoint(self) -> dict[str, Any]:
        """The checkpoint dictionary :meth:`save` writes (primitives and tensors only)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.name,
            "task": self.task,
            "classes": list(self.classes),
            "input_size": int(self.input_size),
            "options": dict(self.options),
            "weights": {k: v.detach().cpu().clone() for k, v in self.get_weights().items()},
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint atomically (temporary file, then rename).

        The file loads with ``torch.load(path, map_location="cpu",
        weights_only=True)``; use :func:`labelapp.learning.models.load_model`
        to get the model back.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = self.checkpoint()
        atomic_write(path, lambda fh: torch.save(checkpoint, fh))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(classes={self.classes!r}, input_size={self.input_size}, options={self.options!r})"
        )
