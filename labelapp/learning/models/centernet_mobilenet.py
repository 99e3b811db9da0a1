"""The CenterNet detector on ImageNet-pretrained MobileNetV2 features.

Same heads, targets, loss, decoding and training loop as
:class:`~labelapp.learning.models.centernet.CenterNetDetector`; only the
features under the heads differ: MobileNetV2's blocks up to stride 16
(``features[0..13]``, 24/32/96 channels at strides 4/8/16) instead of a
small network trained from scratch.  The stride-32 blocks are left out: at
the 128 px default they give a 4x4 map, too coarse for parcels and pills,
and hold most of the parameters.

Early blocks stay frozen (their batch-norm statistics too): with tens of
labels there is nothing to gain from moving edge and texture filters.
``finetune_stages`` says how many of the three stages, deepest first, train
(by default the stride-16 one).
A frozen block's weights are the shipped file's, so checkpoints leave them
out and take them from that file again (sha256-checked) when loaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from labelapp.learning.backbone import MobileNetV2, configured_features, configured_weights_sha256
from labelapp.learning.models.base import ImageModel
from labelapp.learning.models.centernet import CenterNetDetector, TopDownHeads
from labelapp.learning.models.torch_base import Normalize
from labelapp.learning.training import EpochReport, FitResult, Resumable, TrainConfig

__all__ = ["CenterNetMobileNetDetector", "MobileNetCenterNetNet"]

# The statistics MobileNetV2 was trained with (torchvision's ImageNet transform).
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
# features[i] for i < _STAGE_STARTS[k] is before stage k (strides 4, 8, 16): stage k is
# features[_STAGE_STARTS[k] .. MobileNetV2.STAGE_ENDS[k]].
_STAGE_STARTS = (0, 4, 7)
_TAPS = MobileNetV2.STAGE_ENDS[:3]
_CHANNELS = MobileNetV2.STAGE_CHANNELS[:3]


def _pretrained_features(sha256: str) -> dict[str, torch.Tensor]:
    """``features[0..13]`` weights of the configured (sha256-checked) backbone file."""
    network = configured_features(sha256)
    return {k: v.clone() for k, v in network.features[: _TAPS[-1] + 1].state_dict().items()}


class MobileNetCenterNetNet(TopDownHeads):
    """MobileNetV2 ``features[0..13]`` (keys ``features.*`` as in torchvision) under :class:`TopDownHeads`.

    Parameters
    ----------
    num_classes, head : int
        As in :class:`~labelapp.learning.models.centernet.CenterNetNet`.
    finetune_stages : int
        0 to 3: how many of the stride-16, -8 and -4 stages train (deepest first).
    pretrained : dict of torch.Tensor
        Weights for ``features``.
    """

    def __init__(self, num_classes: int, head: int, finetune_stages: int, pretrained: dict[str, torch.Tensor]):
        super().__init__()
        self.normalize = Normalize(_IMAGENET_MEAN, _IMAGENET_STD)
        self.features = MobileNetV2().features[: _TAPS[-1] + 1]
        self.features.load_state_dict(pretrained, strict=True)
        self.trainable_from = _STAGE_STARTS[3 - finetune_stages] if finetune_stages else len(self.features)
        for layer in self.frozen_layers():
            layer.requires_grad_(False)
        self.build_heads(num_classes, _CHANNELS, head)

    def frozen_layers(self) -> nn.Sequential:
        return self.features[: self.trainable_from]

    def frozen_keys(self) -> set[str]:
        return {f"features.{k}" for k in self.frozen_layers().state_dict()}

    def train(self, mode: bool = True) -> MobileNetCenterNetNet:
        super().train(mode)
        # Frozen blocks keep ImageNet batch-norm statistics: small label batches would drag them.
        self.frozen_layers().train(False)
        return self

    def backbone(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.normalize(x)
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                taps.append(x)
        return taps[0], taps[1], taps[2]


class CenterNetMobileNetDetector(CenterNetDetector):
    """CenterNet on pretrained MobileNetV2 (registry name ``"centernet_mobilenet"``).

    Parameters
    ----------
    classes, input_size, head, min_score, detection_threshold, max_detections
        As in :class:`~labelapp.learning.models.centernet.CenterNetDetector`.
    finetune_stages : int, default 1
        How many backbone stages train, deepest first: 0 frozen, 1 the
        stride-16 stage (``features[7..13]``), 2 also stride 8, 3 every
        block.  1 by measurement (``benchmarks/bench_detectors.py``): on porch
        scenes with 50 labels it gave test mAP@0.5 0.79 against 0.57 frozen (one seed),
        on pills the same 0.96, at the same inference cost.
    min_epochs : int, default 8
        ``fit`` never early-stops before this epoch (nor after
        ``config.max_epochs``): a spurious validation peak in the first
        epochs once kept a collapsed fine-tuned model.
    backbone_sha256 : str
        Digest of the backbone weights file the model is built on.

    Raises
    ------
    labelapp.learning.backbone.BackboneUnavailable
        When the weights file is not installed or fails its sha256.
    """

    name = "centernet_mobilenet"

    def __init__(
        self,
        *,
        classes: list[str],
        input_size: int = 128,
        head: int = 32,
        finetune_stages: int = 1,
        min_epochs: int = 8,
        min_score: float = 0.05,
        detection_threshold: float = 0.3,
        max_detections: int = 100,
        backbone_sha256: str | None = None,
    ):
        if isinstance(finetune_stages, bool) or finetune_stages not in (0, 1, 2, 3):
            raise ValueError(f"finetune_stages must be 0, 1, 2 or 3, got {finetune_stages!r}")
        if isinstance(min_epochs, bool) or not isinstance(min_epochs, int) or min_epochs < 1:
            raise ValueError(f"min_epochs must be an int >= 1, got {min_epochs!r}")
        backbone_sha256 = configured_weights_sha256() if backbone_sha256 is None else backbone_sha256
        if not isinstance(backbone_sha256, str):
            raise ValueError("backbone_sha256 must be a string")
        self.finetune_stages = finetune_stages
        self.min_epochs = min_epochs
        self.backbone_sha256 = backbone_sha256
        # width is the from-scratch backbone's; unused here, kept at its default.
        super().__init__(
            classes=classes,
            input_size=input_size,
            head=head,
            min_score=min_score,
            detection_threshold=detection_threshold,
            max_detections=max_detections,
        )

    @property
    def options(self) -> dict:
        options = super().options
        del options["width"]
        options.update(
            finetune_stages=self.finetune_stages, min_epochs=self.min_epochs, backbone_sha256=self.backbone_sha256
        )
        return options

    def _architecture(self) -> dict:
        return {"head": self.head, "finetune_stages": self.finetune_stages, "backbone_sha256": self.backbone_sha256}

    def build_net(self) -> nn.Module:
        return MobileNetCenterNetNet(
            self.num_classes, self.head, self.finetune_stages, _pretrained_features(self.backbone_sha256)
        )

    def get_weights(self) -> dict[str, torch.Tensor]:
        """Everything that training may change: frozen backbone blocks are left out."""
        frozen = self.net.frozen_keys()
        return {k: v for k, v in super().get_weights().items() if k not in frozen}

    def set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        if not isinstance(weights, dict):
            raise ValueError("weights must be a dict of tensors")
        frozen = self.net.frozen_keys()
        own = {k: v for k, v in self.net.state_dict().items() if k not in frozen}
        if set(weights) != set(own):
            missing = sorted(set(own) - set(weights))[:5]
            extra = sorted(set(weights) - set(own))[:5]
            raise ValueError(f"weights do not fit this network (missing {missing}, unexpected {extra})")
        for k, v in weights.items():
            if not isinstance(v, torch.Tensor) or v.shape != own[k].shape:
                raise ValueError(f"weight {k!r} has the wrong shape or type")
        # Frozen blocks already hold the pretrained weights (build_net), the rest is checked above.
        self.net.load_state_dict(weights, strict=False)
        self.net.eval()

    def fit(
        self,
        train_images: np.ndarray,
        train_targets: list[dict[str, np.ndarray]],
        val_images: np.ndarray,
        val_targets: list[dict[str, np.ndarray]],
        *,
        config: TrainConfig,
        progress: Callable[[EpochReport], None] | None = None,
        warm_start: ImageModel | None = None,
        resumable: Resumable | None = None,
    ) -> FitResult:
        """As :meth:`CenterNetDetector.fit`, never stopping before ``min_epochs``."""
        if isinstance(config, TrainConfig):
            floor = min(config.max_epochs, max(config.min_epochs, self.min_epochs))
            config = dataclasses.replace(config, min_epochs=floor)
        return super().fit(
            train_images,
            train_targets,
            val_images,
            val_targets,
            config=config,
            progress=progress,
            warm_start=warm_start,
            resumable=resumable,
        )
