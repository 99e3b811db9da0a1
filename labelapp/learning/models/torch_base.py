"""Shared plumbing for the built-in PyTorch models."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch
from torch import nn

from labelapp.learning.models.base import ImageModel, check_images
from labelapp.learning.training import TrainConfig, images_to_tensor

__all__ = ["Normalize", "TorchImageModel", "conv_bn"]


def conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU (no conv bias: BN has one)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Normalize(nn.Module):
    """Map ``[0, 1]`` RGB to roughly zero mean, unit variance.

    Fixed constants (not data statistics) so the checkpoint needs nothing
    else and any image of any project is treated the same.  A pretrained
    network passes the per-channel constants it was trained with.
    """

    def __init__(
        self,
        mean: tuple[float, float, float] = (0.45, 0.45, 0.45),
        std: tuple[float, float, float] = (0.25, 0.25, 0.25),
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TorchImageModel(ImageModel):
    """An :class:`ImageModel` backed by one ``nn.Module`` built by :meth:`build_net`.

    ``fit`` rebuilds the network from ``config.seed`` (or copies a warm
    start's weights), so training is a pure function of the data and the
    config; call ``fit(..., warm_start=model)`` to continue from the
    current weights.
    """

    def __init__(self, *, classes: list[str], input_size: int):
        super().__init__(classes=classes, input_size=input_size)
        self.net: nn.Module = self._new_net()

    def _new_net(self) -> nn.Module:
        # channels_last: inputs arrive as NHWC arrays (the permuted tensor is
        # already channels_last), and oneDNN convolutions, their backward
        # above all, run about twice as fast in that layout on CPU.
        net = self.build_net().to(memory_format=torch.channels_last)
        net.eval()
        return net

    @abstractmethod
    def build_net(self) -> nn.Module:
        """A freshly initialised network (uses torch's global RNG)."""

    def get_weights(self) -> dict[str, torch.Tensor]:
        # contiguous(): checkpoints hold plain row-major tensors whatever the layout.
        return {k: v.detach().contiguous().clone() for k, v in self.net.state_dict().items()}

    def set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        if not isinstance(weights, dict):
            raise ValueError("weights must be a dict of tensors")
        own = self.net.state_dict()
        if set(weights) != set(own):
            missing = sorted(set(own) - set(weights))[:5]
            extra = sorted(set(weights) - set(own))[:5]
            raise ValueError(f"weights do not fit this network (missing {missing}, unexpected {extra})")
        for k, v in weights.items():
            if not isinstance(v, torch.Tensor) or v.shape != own[k].shape:
                raise ValueError(f"weight {k!r} has the wrong shape or type")
        self.net.load_state_dict(weights, strict=True)
        self.net.eval()

    def _fresh_net(self, config: TrainConfig, warm_start: ImageModel | None) -> None:
        """Rebuild the network from the seed, then copy a compatible warm start.

        Raises ``ValueError`` if ``warm_start`` is incompatible (other model
        type, classes, input size or architecture): silently ignoring it
        would hide a retraining-from-scratch the caller did not ask for.
        Check :meth:`can_warm_start` first to fall back deliberately.
        """
        if warm_start is not None and not self.can_warm_start(warm_start):
            raise ValueError(
                "warm_start is incompatible (model type, classes, input_size and architecture must match); "
                "check can_warm_start() first"
            )
        torch.manual_seed(config.seed)
        self.net = self._new_net()
        if warm_start is not None:
            # Through set_weights: a model may keep some weights out of its checkpoint.
            self.set_weights(warm_start.get_weights())

    def _check_batch_size(self, batch_size: int) -> int:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        return int(batch_size)

    def _batches(self, images: np.ndarray, batch_size: int):
        """Yield float tensors ``(B, 3, S, S)`` of validated images, in order."""
        check_images(images, self.input_size)
        batch_size = self._check_batch_size(batch_size)
        for start in range(0, len(images), batch_size):
            yield images_to_tensor(images[start : start + batch_size])
