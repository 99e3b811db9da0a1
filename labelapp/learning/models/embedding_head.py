"""The default classifier when a pretrained backbone is installed: a softmax head on the
frozen backbone's embeddings.

The app embeds every image once at ingest, so training is a convex fit on cached vectors
(seconds, whatever the pool size) and rescoring is one matrix product per image. The
``*_vectors`` methods are that fast path; ``fit``/``predict``/``embed`` take prepared images
like every :class:`ImageModel` and embed them first (the prediction endpoint, plug-ins).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from labelapp.learning.backbone import EMBED_DIM, shared_backbone
from labelapp.learning.models.base import (
    ClassificationOutput,
    ImageModel,
    check_classification_targets,
    check_images,
)
from labelapp.learning.training import EpochReport, FitResult, Resumable, TrainConfig, torch_threads

__all__ = ["L2_GRID", "EmbeddingClassifier"]

#: Ridge strengths tried when the validation sample can tell them apart; the middle one otherwise.
L2_GRID = (1e-3, 1e-2, 1e-1)
_MIN_VAL_PER_CLASS_FOR_SELECTION = 2


class EmbeddingClassifier(ImageModel):
    """Multinomial logistic regression on standardised backbone embeddings.

    Parameters
    ----------
    classes : list of str
    input_size : int
        Side of the prepared images :meth:`fit`/:meth:`predict` accept.
    embed_size : int, default 112
        Side the backbone sees; must match the cached vectors the app passes.
    backbone : str, optional
        Name of the backbone the head was trained on; a checkpoint refuses to load
        beside another backbone (its vectors would mean something else).
    l2 : float, default 1e-2
        Ridge strength on the weights (per example); re-chosen by :meth:`fit_vectors`
        when validation data can decide.
    """

    name = "embedding_classifier"
    task = "classification"

    def __init__(
        self,
        *,
        classes: list[str],
        input_size: int,
        embed_size: int = 112,
        backbone: str | None = None,
        l2: float = L2_GRID[1],
    ):
        super().__init__(classes=classes, input_size=input_size)
        current = shared_backbone(embed_size)
        if backbone is not None and backbone != current.name:
            raise ValueError(f"this head was trained on backbone {backbone!r}, the installed one is {current.name!r}")
        self.embed_size = int(embed_size)
        self.backbone_name = current.name
        self.l2 = float(l2)
        self.mean = torch.zeros(EMBED_DIM)
        self.scale = torch.ones(EMBED_DIM)
        self.weight = torch.zeros(self.num_classes, EMBED_DIM)
        self.bias = torch.zeros(self.num_classes)

    @property
    def options(self) -> dict[str, Any]:
        return {"embed_size": self.embed_size, "backbone": self.backbone_name, "l2": self.l2}

    def _architecture(self) -> dict[str, Any]:
        return {"embed_size": self.embed_size, "backbone": self.backbone_name}

    # -- the fast path: cached vectors ---------------------------------------------------

    def fit_vectors(
        self,
        train_x: np.ndarray,
        train_y: np.ndarray,
        val_x: np.ndarray,
        val_y: np.ndarray,
        *,
        config: TrainConfig,
        progress: Callable[[EpochReport], None] | None = None,
    ) -> FitResult:
        """Fit on embeddings ``(N, 1280)``; the ridge strength is picked on validation
        accuracy when every present class has a few validation examples, else the default."""
        train_x = self._check_vectors(train_x, "train_x")
        val_x = self._check_vectors(val_x, "val_x")
        if len(train_x) == 0:
            raise ValueError("train_x is empty")
        y = torch.from_numpy(check_classification_targets(train_y, len(train_x), self.num_classes, "train_y"))
        y_val = check_classification_targets(val_y, len(val_x), self.num_classes, "val_y")
        x = torch.from_numpy(train_x)
        self.mean = x.mean(0)
        # A floor on the spread: with a handful of labels some dimensions barely vary.
        self.scale = x.std(0, unbiased=False).clamp_min(1e-2) if len(x) > 1 else torch.ones(EMBED_DIM)
        z = (x - self.mean) / self.scale
        counts = np.bincount(y_val, minlength=self.num_classes)
        present = np.bincount(y.numpy(), minlength=self.num_classes) > 0
        can_select = len(val_x) and (counts[present] >= _MIN_VAL_PER_CLASS_FOR_SELECTION).all()
        grid = L2_GRID if can_select else (self.l2,)
        history, best = [], None
        started = time.perf_counter()
        # One thread: the fit is thousands of tiny vector operations, where waking a second
        # thread costs more than it saves (measured 4x slower on a busy 2-core machine).
        with torch_threads(1):
            torch.manual_seed(config.seed)
            for epoch, l2 in enumerate(grid, start=1):
                weight, bias, loss = _fit_softmax(z, y, self.num_classes, l2, config.max_epochs)
                accuracy = None
                if len(val_x):
                    logits = ((torch.from_numpy(val_x) - self.mean) / self.scale) @ weight.T + bias
                    accuracy = float((logits.argmax(1).numpy() == y_val).mean())
                report = EpochReport(
                    epoch=epoch,
                    epochs_max=len(grid),
                    loss=loss,
                    val_metric=accuracy,
                    metric_name="accuracy",
                    seconds=time.perf_counter() - started,
                )
                history.append(report)
                if progress is not None:
                    progress(report)
                # The grid runs weak to strong: a tie goes to the stronger ridge, which
                # generalises better from few labels.
                if best is None or (accuracy or 0.0) >= (best[0] or 0.0):
                    best = (accuracy, epoch, l2, weight, bias)
        accuracy, best_epoch, self.l2, self.weight, self.bias = best
        return FitResult(epochs_run=len(grid), best_epoch=best_epoch, best_val_metric=accuracy, history=history)

    def predict_vectors(self, vectors: np.ndarray) -> ClassificationOutput:
        """Class probabilities for embeddings ``(N, 1280)`` (any float dtype)."""
        x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        logits = ((x - self.mean) / self.scale) @ self.weight.T + self.bias
        return ClassificationOutput(probs=torch.softmax(logits, dim=1).numpy().astype(np.float32))

    def _check_vectors(self, vectors: Any, what: str) -> np.ndarray:
        if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[1] != EMBED_DIM:
            raise ValueError(f"{what} must be an (N, {EMBED_DIM}) array, got {getattr(vectors, 'shape', vectors)}")
        return np.ascontiguousarray(vectors, dtype=np.float32)

    # -- the ImageModel interface: prepared images -----------------------------------------

    def embed(self, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        check_images(images, self.input_size)
        return shared_backbone(self.embed_size).embed(images, batch_size=batch_size)

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
        """Embed, then :meth:`fit_vectors`. A convex fit of seconds: a warm start would change
        nothing and there is nothing worth resuming, so ``resumable`` is not used."""
        if warm_start is not None and not self.can_warm_start(warm_start):
            raise ValueError("warm_start model does not fit this model")
        return self.fit_vectors(
            self.embed(train_images),
            train_targets,
            self.embed(val_images),
            val_targets,
            config=config,
            progress=progress,
        )

    def predict(self, images: np.ndarray, *, batch_size: int = 64) -> ClassificationOutput:
        return self.predict_vectors(self.embed(images, batch_size=batch_size))

    def get_weights(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean, "scale": self.scale, "weight": self.weight, "bias": self.bias}

    def set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        expected = {
            "mean": (EMBED_DIM,),
            "scale": (EMBED_DIM,),
            "weight": (self.num_classes, EMBED_DIM),
            "bias": (self.num_classes,),
        }
        if set(weights) != set(expected):
            raise ValueError(f"weights must have keys {sorted(expected)}, got {sorted(weights)}")
        for key, shape in expected.items():
            if tuple(weights[key].shape) != shape:
                raise ValueError(f"weights[{key!r}] must have shape {shape}, got {tuple(weights[key].shape)}")
        self.mean, self.scale, self.weight, self.bias = (weights[k].float().clone() for k in expected)


def _fit_softmax(
    z: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float, max_iter: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Full-batch L-BFGS on mean cross-entropy + ``l2``·‖W‖²: convex, so it converges to the
    same optimum whatever the seed, in well under a second for thousands of vectors."""
    weight = torch.zeros(num_classes, z.shape[1], requires_grad=True)
    bias = torch.zeros(num_classes, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=max(20, 10 * max_iter), history_size=10, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = F.cross_entropy(z @ weight.T + bias, y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    loss = float(optimiser.step(closure).detach())
    return weight.detach(), bias.detach(), loss
