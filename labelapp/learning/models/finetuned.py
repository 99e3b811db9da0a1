"""A classifier that fine-tunes the pretrained backbone's last blocks with a linear head.

The candidate the app tries beside the embedding head once enough labels exist, and keeps
only when it wins on the random validation sample (:mod:`labelapp.learning.model_choice`).
The frozen part of the backbone runs once per image per fit (its output is kept in memory
while the tail trains), so an epoch costs the tail alone: two blocks on a 4×4 map at the
default 112 px. Prediction needs the whole network per image: a rescore reads pixels, not the
cached vectors.

Like ``centernet_mobilenet``, a checkpoint holds the trained tail and head only; the frozen
blocks are read again from the sha256-checked weights file it was trained on.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from labelapp.learning.backbone import EMBED_DIM, configured_features, configured_weights_sha256, shared_backbone
from labelapp.learning.models.base import (
    ClassificationOutput,
    ImageModel,
    check_classification_targets,
    check_images,
)
from labelapp.learning.training import EpochReport, FitResult, Resumable, TrainConfig, torch_threads

__all__ = ["TAIL_FROM", "FineTunedClassifier"]

#: First trained block of ``features``: 17 is the last inverted residual (160→320 channels) and
#: 18 the 1×1 convolution to 1,280, about 0.9 M parameters; the 16 blocks before stay frozen.
TAIL_FROM = 17


class FineTunedClassifier(ImageModel):
    """MobileNetV2 with its last blocks and a linear head trained on labeled images.

    Parameters
    ----------
    classes : list of str
    input_size : int
        Side of the prepared images it takes (resized to ``embed_size`` for the network).
    embed_size : int, default 112
        Side the backbone sees.
    backbone_sha256 : str, optional
        Digest of the weights file the frozen blocks come from; the configured file's by default.
        A checkpoint refuses to load beside other weights.
    tail_from : int, default TAIL_FROM
        First trained block (1–18).
    """

    name = "mobilenet_finetune"
    task = "classification"

    def __init__(
        self,
        *,
        classes: list[str],
        input_size: int,
        embed_size: int = 112,
        backbone_sha256: str | None = None,
        tail_from: int = TAIL_FROM,
    ):
        super().__init__(classes=classes, input_size=input_size)
        if isinstance(tail_from, bool) or not isinstance(tail_from, int) or not 1 <= tail_from <= 18:
            raise ValueError(f"tail_from must be an int in 1..18, got {tail_from!r}")
        self.backbone_sha256 = backbone_sha256 or configured_weights_sha256()
        configured_features(self.backbone_sha256)  # refuses weights other than the trained-on ones
        self.embed_size = int(embed_size)
        self.tail_from = tail_from
        self._backbone = shared_backbone(self.embed_size)
        self.tail = copy.deepcopy(self._backbone.network.features[tail_from:]).eval().requires_grad_(True)
        self.head = nn.Linear(EMBED_DIM, self.num_classes)

    @property
    def options(self) -> dict[str, Any]:
        return {"embed_size": self.embed_size, "backbone_sha256": self.backbone_sha256, "tail_from": self.tail_from}

    def _architecture(self) -> dict[str, Any]:
        return {"embed_size": self.embed_size, "tail_from": self.tail_from}

    def start_from_head(
        self, weight: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor
    ) -> None:
        """Start the linear head where a softmax head on standardised embeddings ended
        (``EmbeddingClassifier.get_weights()``): before any epoch this model then predicts what
        that head predicts, and fine-tuning only has to improve on it."""
        folded = weight / scale
        with torch.no_grad():
            self.head.weight.copy_(folded)
            self.head.bias.copy_(bias - folded @ mean)

    @torch.no_grad()
    def frozen_features(self, images: np.ndarray, *, batch_size: int = 64) -> torch.Tensor:
        """The frozen blocks' output for prepared images: ``(N, C, h, w)`` float32."""
        check_images(images, self.input_size)
        prefix = self._backbone.network.features[: self.tail_from]
        parts = [
            prefix(self._backbone.normalise(images[start : start + batch_size]))
            for start in range(0, len(images), batch_size)
        ]
        return torch.cat(parts) if parts else torch.zeros(0)

    def _pooled(self, features: torch.Tensor) -> torch.Tensor:
        # Unit length, like the cached embeddings the head was fit on.
        return F.normalize(F.adaptive_avg_pool2d(self.tail(features), 1).flatten(1), dim=1)

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
        """Exactly ``config.max_epochs`` epochs (no early stopping): the validation sample then
        stays out of training decisions and can judge this model against the head fairly.
        Batch norm keeps its ImageNet statistics (a few hundred labels estimate them worse);
        augmentation flips the frozen feature maps, as flipping the images would roughly do.
        A fit of a few epochs is not worth resuming, so ``resumable`` only checks for a stop."""
        if warm_start is not None:
            if not self.can_warm_start(warm_start):
                raise ValueError("warm_start model does not fit this model")
            self.set_weights(warm_start.get_weights())
        y = torch.from_numpy(
            check_classification_targets(train_targets, len(train_images), self.num_classes, "train_y")
        )
        y_val = check_classification_targets(val_targets, len(val_images), self.num_classes, "val_y")
        if len(y) == 0:
            raise ValueError("train_images is empty")
        history: list[EpochReport] = []
        started = time.perf_counter()
        with torch_threads(config.num_threads):
            torch.manual_seed(config.seed)
            features = self.frozen_features(train_images)
            val_features = self.frozen_features(val_images) if len(val_images) else None
            optimiser = torch.optim.AdamW(
                [
                    {"params": self.tail.parameters(), "lr": config.lr * 0.1},
                    {"params": self.head.parameters(), "lr": config.lr},
                ],
                weight_decay=config.weight_decay,
            )
            generator = torch.Generator().manual_seed(config.seed)
            for epoch in range(1, config.max_epochs + 1):
                self.tail.eval()  # batch norm statistics stay; the weights still train
                total = 0.0
                for batch in torch.randperm(len(y), generator=generator).split(config.batch_size):
                    x = features[batch]
                    if config.augment:
                        flip = torch.rand(len(batch), generator=generator) < 0.5
                        x = torch.where(flip[:, None, None, None], x.flip(3), x)
                    loss = F.cross_entropy(self.head(self._pooled(x)), y[batch])
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    total += float(loss.detach()) * len(batch)
                    if resumable is not None and resumable.between_batches is not None:
                        resumable.between_batches()
                accuracy = None
                if val_features is not None:
                    with torch.no_grad():
                        accuracy = float((self.head(self._pooled(val_features)).argmax(1).numpy() == y_val).mean())
                report = EpochReport(
                    epoch=epoch,
                    epochs_max=config.max_epochs,
                    loss=total / len(y),
                    val_metric=accuracy,
                    metric_name="accuracy",
                    seconds=time.perf_counter() - started,
                )
                history.append(report)
                if progress is not None:
                    progress(report)
        return FitResult(
            epochs_run=len(history), best_epoch=len(history), best_val_metric=history[-1].val_metric, history=history
        )

    @torch.no_grad()
    def predict(self, images: np.ndarray, *, batch_size: int = 64) -> ClassificationOutput:
        features = self.frozen_features(images, batch_size=batch_size)
        if len(features) == 0:
            return ClassificationOutput(probs=np.zeros((0, self.num_classes), np.float32))
        probs = torch.cat([torch.softmax(self.head(self._pooled(part)), dim=1) for part in features.split(batch_size)])
        return ClassificationOutput(probs=probs.numpy().astype(np.float32))

    @torch.no_grad()
    def embed(self, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        features = self.frozen_features(images, batch_size=batch_size)
        if len(features) == 0:
            return np.zeros((0, EMBED_DIM), np.float32)
        return torch.cat([self._pooled(part) for part in features.split(batch_size)]).numpy()

    def get_weights(self) -> dict[str, torch.Tensor]:
        weights = {f"tail.{k}": v for k, v in self.tail.state_dict().items()}
        weights.update({f"head.{k}": v for k, v in self.head.state_dict().items()})
        return weights

    def set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        expected = set(self.get_weights())
        if set(weights) != expected:
            raise ValueError(
                f"weights do not fit: missing {sorted(expected - set(weights))[:5]}, "
                f"unexpected {sorted(set(weights) - expected)[:5]}"
            )
        try:
            self.tail.load_state_dict({k[5:]: v for k, v in weights.items() if k.startswith("tail.")}, strict=True)
            self.head.load_state_dict({k[5:]: v for k, v in weights.items() if k.startswith("head.")}, strict=True)
        except RuntimeError as exc:  # a shape mismatch
            raise ValueError(f"weights do not fit: {exc}") from exc
