"""A compact CNN image classifier that trains from scratch on CPU."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labelapp.learning.models.base import (
    ClassificationOutput,
    ImageModel,
    check_classification_targets,
    check_images,
)
from labelapp.learning.models.torch_base import Normalize, TorchImageModel, conv_bn
from labelapp.learning.training import (
    EpochReport,
    FitResult,
    Resumable,
    TrainConfig,
    augment_batch,
    images_to_tensor,
    torch_threads,
    train_network,
)

logger = logging.getLogger(__name__)

__all__ = ["CNNClassifier", "CNNClassifierNet"]


class CNNClassifierNet(nn.Module):
    """Four conv blocks with batch norm, global average pooling, linear head.

    A strided first convolution halves the resolution at once: at 64–96 px
    the first layer's full-resolution work is the most expensive and adds
    little.  With ``width=24`` this is about 33 M multiply-adds at 64 px.
    """

    def __init__(self, num_classes: int, width: int = 24, dropout: float = 0.2):
        super().__init__()
        w = width
        self.normalize = Normalize()
        self.features = nn.Sequential(
            conv_bn(3, w, stride=2),
            conv_bn(w, 2 * w),
            nn.MaxPool2d(2),
            conv_bn(2 * w, 4 * w),
            nn.MaxPool2d(2),
            conv_bn(4 * w, 8 * w),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(8 * w, num_classes)
        self.embedding_dim = 8 * w

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` in ``[0, 1]`` -> pooled features ``(B, 8 * width)``."""
        return self.features(self.normalize(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x)))


class CNNClassifier(TorchImageModel):
    """Compact CNN classifier (registry name ``"cnn_classifier"``).

    Parameters
    ----------
    classes : list of str
        Class names.
    input_size : int, default 64
        Square input side; 64–96 is the intended range (>= 16 works).
    width : int, default 24
        Channels of the first block; later blocks use 2x, 4x, 8x.
    dropout : float, default 0.2
        Dropout before the linear head.

    Targets are ``int64`` ``(N,)`` class indices.  :meth:`predict` returns a
    :class:`ClassificationOutput`; :meth:`embed` returns the pooled
    ``float32`` ``(N, 8 * width)`` features.
    """

    name = "cnn_classifier"
    task = "classification"

    def __init__(self, *, classes: list[str], input_size: int = 64, width: int = 24, dropout: float = 0.2):
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be an int >= 1, got {width!r}")
        if not (0.0 <= float(dropout) < 1.0):
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, bool) and input_size < 16:
            raise ValueError(f"input_size must be >= 16, got {input_size}")
        self.width = width
        self.dropout = float(dropout)
        super().__init__(classes=classes, input_size=input_size)

    @property
    def options(self) -> dict:
        return {"width": self.width, "dropout": self.dropout}

    def _architecture(self) -> dict:
        return {"width": self.width}

    def build_net(self) -> nn.Module:
        return CNNClassifierNet(self.num_classes, self.width, self.dropout)

    def fit(
        self,
        train_images: np.ndarray,
        train_targets: np.ndarray,
        val_images: np.ndarray,
        val_targets: np.ndarray,
        *,
        config: TrainConfig,
        progress: Callable[[EpochReport], None] | None = None,
        warm_start: ImageModel | None = None,
        resumable: Resumable | None = None,
    ) -> FitResult:
        """Train with cross-entropy; early-stop on validation accuracy.

        Parameters
        ----------
        train_images, val_images : np.ndarray
            ``uint8`` ``(N, S, S, 3)``; ``val_images`` may have ``N == 0``
            (then exactly ``config.max_epochs`` epochs, no early stopping).
        train_targets, val_targets : np.ndarray
            ``int64`` ``(N,)`` in ``[0, C)``.
        config : TrainConfig
        progress : callable, optional
            Called with an :class:`EpochReport` after each epoch
            (``metric_name="accuracy"``).
        warm_start : ImageModel, optional
            Start from this model's weights; must satisfy
            :meth:`can_warm_start` or ``ValueError`` is raised.
        resumable : Resumable, optional
            Save the state after each epoch; resume from a saved one (same data and config).

        Returns
        -------
        FitResult
        """
        if not isinstance(config, TrainConfig):
            raise ValueError("config must be a TrainConfig")
        check_images(train_images, self.input_size, "train_images")
        check_images(val_images, self.input_size, "val_images")
        if len(train_images) == 0:
            raise ValueError("train_images is empty")
        y_train = check_classification_targets(train_targets, len(train_images), self.num_classes, "train_targets")
        y_val = check_classification_targets(val_targets, len(val_images), self.num_classes, "val_targets")
        y_train_t = torch.from_numpy(y_train)

        with torch_threads(config.num_threads):
            self._fresh_net(config, warm_start)
            net = self.net

            def step_loss(idx: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
                x = images_to_tensor(train_images[idx])
                if config.augment:
                    x, _ = augment_batch(x, rng)
                return F.cross_entropy(net(x), y_train_t[torch.from_numpy(idx)], label_smoothing=0.05)

            def evaluate() -> float:
                probs = self._probs(val_images, 256)
                return float(np.mean(probs.argmax(axis=1) == y_val))

            return train_network(
                net,
                n_train=len(train_images),
                step_loss=step_loss,
                evaluate=evaluate if len(val_images) else None,
                metric_name="accuracy",
                config=config,
                progress=progress,
                resumable=resumable,
            )

    @torch.inference_mode()
    def _probs(self, images: np.ndarray, batch_size: int) -> np.ndarray:
        self.net.eval()
        out = [torch.softmax(self.net(x), dim=1) for x in self._batches(images, batch_size)]
        if not out:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)

    def predict(self, images: np.ndarray, *, batch_size: int = 256) -> ClassificationOutput:
        """Class probabilities.

        Parameters
        ----------
        images : np.ndarray
            ``uint8`` ``(N, S, S, 3)``.
        batch_size : int, default 256

        Returns
        -------
        ClassificationOutput
            ``probs`` ``float32`` ``(N, C)``, rows sum to 1.
        """
        return ClassificationOutput(probs=self._probs(images, batch_size))

    @torch.inference_mode()
    def embed(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Pooled features, ``float32`` ``(N, 8 * width)``."""
        self.net.eval()
        out = [self.net.embed(x) for x in self._batches(images, batch_size)]
        if not out:
            return np.zeros((0, self.net.embedding_dim), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)
