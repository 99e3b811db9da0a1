"""A compact CenterNet-style heatmap detector that trains from scratch on CPU.

Objects are points: the network predicts, at stride 4, a per-class heatmap of
object centres (trained with CenterNet's penalty-reduced focal loss against
Gaussian bumps), the box size (log-space, so errors are relative) and the
sub-cell offset of the centre.  Decoding keeps local maxima (3x3 max-pool
"NMS"), so no box-level NMS is needed; a box's confidence is its heatmap
peak.  Counting objects is then just thresholding the confidences.

Reference: Zhou, Wang, Krähenbühl, "Objects as Points", 2019.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labelapp.learning.models.base import (
    Detections,
    ImageModel,
    check_detection_targets,
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

__all__ = ["STRIDE", "CenterNetDetector", "CenterNetNet", "TopDownHeads"]

#: Output stride of the heatmap and regression heads.
STRIDE = 4
# Initial heatmap bias: sigmoid(-2.19) = 0.1, the CenterNet prior, keeps the
# focal loss from exploding in the first steps when almost every cell is negative.
_HEAT_PRIOR_BIAS = -2.19


class TopDownHeads(nn.Module):
    """A small top-down decoder from stride-4/8/16 features to stride 4, and the heads.

    Subclasses define ``backbone(x) -> (c4, c8, c16)``, the features at strides
    4, 8 and 16 of a ``[0, 1]`` RGB batch, and call
    :meth:`build_heads` with those features' channel counts; :meth:`forward`
    then gives ``heat`` logits ``(B, C, S/4, S/4)`` and ``reg`` ``(B, 4, S/4, S/4)``
    = (log w, log h) in stride-4 cells and (dx, dy) centre offsets in cells.
    The layers are attributes of the subclass itself so checkpoint keys stay flat.
    """

    def build_heads(self, num_classes: int, channels: tuple[int, int, int], head: int) -> None:
        c4, c8, c16 = channels
        self.lat16 = nn.Conv2d(c16, head, 1)
        self.lat8 = nn.Conv2d(c8, head, 1)
        self.lat4 = nn.Conv2d(c4, head, 1)
        self.smooth8 = conv_bn(head, head)
        self.smooth4 = conv_bn(head, head)
        # Heads share one 3x3 conv: at stride 4 it is the costliest layer.
        self.shared = conv_bn(head, head)
        self.heat = nn.Conv2d(head, num_classes, 1)
        self.reg = nn.Conv2d(head, 4, 1)
        nn.init.constant_(self.heat.bias, _HEAT_PRIOR_BIAS)
        self.embedding_dim = c16

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled stride-16 features ``(B, embedding_dim)``."""
        return self.backbone(x)[2].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c4, c8, c16 = self.backbone(x)
        p = self.lat16(c16)
        p = self.smooth8(F.interpolate(p, size=c8.shape[-2:], mode="nearest") + self.lat8(c8))
        p = self.smooth4(F.interpolate(p, size=c4.shape[-2:], mode="nearest") + self.lat4(c4))
        p = self.shared(p)
        return self.heat(p), self.reg(p)


class CenterNetNet(TopDownHeads):
    """Backbone (strides 2–16) trained from scratch, under :class:`TopDownHeads`."""

    def __init__(self, num_classes: int, width: int = 16, head: int = 32):
        super().__init__()
        w = width
        self.normalize = Normalize()
        # One strided conv at full resolution: convolutions at /2 are the most
        # expensive per channel and object-sized features need depth, not resolution.
        self.stem = conv_bn(3, w, 2)  # /2
        self.s4 = nn.Sequential(conv_bn(w, 2 * w, 2), conv_bn(2 * w, 2 * w))  # /4
        self.s8 = nn.Sequential(conv_bn(2 * w, 4 * w, 2), conv_bn(4 * w, 4 * w))  # /8
        self.s16 = nn.Sequential(conv_bn(4 * w, 8 * w, 2), conv_bn(8 * w, 8 * w), conv_bn(8 * w, 8 * w))  # /16
        self.build_heads(num_classes, (2 * w, 4 * w, 8 * w), head)

    def backbone(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(self.normalize(x))
        c4 = self.s4(x)
        c8 = self.s8(c4)
        c16 = self.s16(c8)
        return c4, c8, c16


def _gaussian_radius(h: float, w: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius: a centre this far off still gives IoU >= min_overlap."""
    a1, b1 = 1.0, h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def build_targets(
    boxes: list[np.ndarray], labels: list[np.ndarray], num_classes: int, out_size: int
) -> dict[str, torch.Tensor]:
    """Heatmap and regression targets for a batch.

    Parameters
    ----------
    boxes : list of np.ndarray
        Per image ``float32`` ``(k, 4)`` xyxy in input pixels (valid, clipped).
    labels : list of np.ndarray
        Per image ``int64`` ``(k,)``.
    num_classes : int
    out_size : int
        Heatmap side (input side / :data:`STRIDE`).

    Returns
    -------
    dict of torch.Tensor
        ``heat`` ``(B, C, H, W)`` in ``[0, 1]`` with exact 1 at centres;
        ``index`` ``(B, K)`` flat cell index; ``mask`` ``(B, K)`` 1 for real
        objects; ``size`` ``(B, K, 2)`` log(w, h) in cells; ``offset``
        ``(B, K, 2)`` sub-cell centre offsets in ``[0, 1)``.
    """
    b = len(boxes)
    k_max = max(1, max((len(x) for x in boxes), default=0))
    heat = np.zeros((b, num_classes, out_size, out_size), dtype=np.float32)
    index = np.zeros((b, k_max), dtype=np.int64)
    mask = np.zeros((b, k_max), dtype=np.float32)
    size = np.zeros((b, k_max, 2), dtype=np.float32)
    offset = np.zeros((b, k_max, 2), dtype=np.float32)
    grid = np.arange(out_size, dtype=np.float32)
    for i, (bx, lb) in enumerate(zip(boxes, labels)):
        for j, (box, cls) in enumerate(zip(bx / STRIDE, lb)):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            ix = int(min(out_size - 1, max(0, math.floor(cx))))
            iy = int(min(out_size - 1, max(0, math.floor(cy))))
            radius = max(0, int(_gaussian_radius(h, w)))
            sigma = (2 * radius + 1) / 6
            gx = np.exp(-((grid - ix) ** 2) / (2 * sigma**2))
            gy = np.exp(-((grid - iy) ** 2) / (2 * sigma**2))
            g = gy[:, None] * gx[None, :]
            g[np.abs(grid - iy) > radius, :] = 0
            g[:, np.abs(grid - ix) > radius] = 0
            np.maximum(heat[i, cls], g, out=heat[i, cls])
            index[i, j] = iy * out_size + ix
            mask[i, j] = 1.0
            size[i, j] = (math.log(max(w, 1e-3)), math.log(max(h, 1e-3)))
            offset[i, j] = (cx - ix, cy - iy)
    return {
        "heat": torch.from_numpy(heat),
        "index": torch.from_numpy(index),
        "mask": torch.from_numpy(mask),
        "size": torch.from_numpy(size),
        "offset": torch.from_numpy(offset),
    }


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss (alpha 2, beta 4), per object."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg_weight = torch.pow(1 - target, 4)
    pos_loss = torch.log(p) * torch.pow(1 - p, 2) * pos
    neg_loss = torch.log(1 - p) * torch.pow(p, 2) * neg_weight * (1 - pos)
    num_pos = pos.sum()
    return -(pos_loss.sum() + neg_loss.sum()) / torch.clamp(num_pos, min=1.0)


def detection_loss(heat_logits: torch.Tensor, reg: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Focal heatmap loss + L1 on log size + L1 on offset, at object centres."""
    b, _, h, w = heat_logits.shape
    loss = focal_loss(heat_logits, targets["heat"])
    mask = targets["mask"]
    n = torch.clamp(mask.sum(), min=1.0)
    flat = reg.reshape(b, 4, h * w)
    idx = targets["index"].unsqueeze(1).expand(-1, 4, -1)
    picked = flat.gather(2, idx).permute(0, 2, 1)  # (B, K, 4)
    m = mask.unsqueeze(-1)
    size_loss = (F.l1_loss(picked[..., :2], targets["size"], reduction="none") * m).sum() / n
    off_loss = (F.l1_loss(picked[..., 2:], targets["offset"], reduction="none") * m).sum() / n
    return loss + size_loss + off_loss


class CenterNetDetector(TorchImageModel):
    """Compact CenterNet-style detector (registry name ``"centernet_detector"``).

    Parameters
    ----------
    classes : list of str
        Class names.
    input_size : int, default 128
        Square input side; a multiple of 16.
    width : int, default 16
        Backbone channels at stride 2 (then 2x, 4x, 8x).
    head : int, default 32
        Channels of the decoder and heads.
    min_score : float, default 0.05
        Floor under which peaks are not returned by :meth:`predict`.
    detection_threshold : float, default 0.3
        Score from which a box counts (:meth:`Detections.count`); settable
        at any time, saved in checkpoints.
    max_detections : int, default 100
        Most boxes returned per image (highest scores first).

    Targets are dicts ``{"boxes": float32 (k, 4) xyxy input px, "labels":
    int64 (k,)}``; :meth:`predict` returns a list of :class:`Detections`.
    """

    name = "centernet_detector"
    task = "detection"

    def __init__(
        self,
        *,
        classes: list[str],
        input_size: int = 128,
        width: int = 16,
        head: int = 32,
        min_score: float = 0.05,
        detection_threshold: float = 0.3,
        max_detections: int = 100,
    ):
        for key, value in (("width", width), ("head", head), ("max_detections", max_detections)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be an int >= 1, got {value!r}")
        if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, bool) and input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16, got {input_size}")
        self.width = width
        self.head = head
        self.max_detections = max_detections
        self._min_score = 0.0
        self.min_score = min_score
        self.detection_threshold = detection_threshold
        super().__init__(classes=classes, input_size=input_size)

    @property
    def min_score(self) -> float:
        """Lowest score returned by :meth:`predict`, in ``[0, 1]``."""
        return self._min_score

    @min_score.setter
    def min_score(self, value: float) -> None:
        if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise ValueError(f"min_score must be in [0, 1], got {value!r}")
        self._min_score = float(value)

    @property
    def detection_threshold(self) -> float:
        """Score from which a box counts, in ``[0, 1]``."""
        return self._detection_threshold

    @detection_threshold.setter
    def detection_threshold(self, value: float) -> None:
        if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise ValueError(f"detection_threshold must be in [0, 1], got {value!r}")
        self._detection_threshold = float(value)

    @property
    def options(self) -> dict:
        return {
            "width": self.width,
            "head": self.head,
            "min_score": self.min_score,
            "detection_threshold": self.detection_threshold,
            "max_detections": self.max_detections,
        }

    def _architecture(self) -> dict:
        return {"width": self.width, "head": self.head}

    def build_net(self) -> nn.Module:
        return CenterNetNet(self.num_classes, self.width, self.head)

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
        """Train; early-stop on validation mAP@0.5.

        Parameters
        ----------
        train_images, val_images : np.ndarray
            ``uint8`` ``(N, S, S, 3)``.  With no validation images, or none
            with a box (mAP undefined), training runs exactly
            ``config.max_epochs`` epochs without early stopping.
        train_targets, val_targets : list of dict
            ``{"boxes": float32 (k, 4) xyxy input px, "labels": int64 (k,)}``
            per image; boxes are clipped to the input, sub-pixel ones dropped.
        config : TrainConfig
        progress : callable, optional
            Called after each epoch (``metric_name="mAP50"``).
        warm_start : ImageModel, optional
            Start from its weights; ``ValueError`` unless :meth:`can_warm_start`.
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
        train_t = check_detection_targets(
            train_targets, len(train_images), self.num_classes, self.input_size, "train_targets"
        )
        val_t = check_detection_targets(val_targets, len(val_images), self.num_classes, self.input_size, "val_targets")
        has_val = len(val_images) > 0 and sum(len(t["labels"]) for t in val_t) > 0
        out_size = self.input_size // STRIDE

        with torch_threads(config.num_threads):
            self._fresh_net(config, warm_start)
            net = self.net

            def step_loss(idx: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
                x = images_to_tensor(train_images[idx])
                boxes = [train_t[i]["boxes"] for i in idx]
                labels = [train_t[i]["labels"] for i in idx]
                if config.augment:
                    x, boxes = augment_batch(x, rng, boxes)
                targets = build_targets(boxes, labels, self.num_classes, out_size)
                heat, reg = net(x)
                return detection_loss(heat, reg, targets)

            def evaluate() -> float:
                preds = self._predict(val_images, 256)
                return _map50(val_t, preds, self.num_classes)

            return train_network(
                net,
                n_train=len(train_images),
                step_loss=step_loss,
                evaluate=evaluate if has_val else None,
                metric_name="mAP50",
                config=config,
                progress=progress,
                resumable=resumable,
            )

    @torch.inference_mode()
    def _predict(self, images: np.ndarray, batch_size: int) -> list[Detections]:
        self.net.eval()
        out: list[Detections] = []
        for x in self._batches(images, batch_size):
            heat, reg = self.net(x)
            out.extend(self._decode(torch.sigmoid(heat), reg))
        return out

    def _decode(self, heat: torch.Tensor, reg: torch.Tensor) -> list[Detections]:
        b, c, h, w = heat.shape
        peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        k = min(self.max_detections, c * h * w)
        scores, flat = peaks.reshape(b, -1).topk(k, dim=1)
        cls = flat // (h * w)
        cell = flat % (h * w)
        ys, xs = (cell // w), (cell % w)
        reg = reg.reshape(b, 4, h * w)
        picked = reg.gather(2, cell.unsqueeze(1).expand(-1, 4, -1))  # (B, 4, K)
        size = torch.exp(picked[:, :2].clamp(max=math.log(h * 2))) * STRIDE
        cx = (xs.float() + picked[:, 2]) * STRIDE
        cy = (ys.float() + picked[:, 3]) * STRIDE
        boxes = torch.stack(
            [cx - size[:, 0] / 2, cy - size[:, 1] / 2, cx + size[:, 0] / 2, cy + size[:, 1] / 2], dim=2
        ).clamp_(0, self.input_size)
        result = []
        for i in range(b):
            keep = scores[i] >= self.min_score
            result.append(
                Detections(
                    boxes=boxes[i][keep].numpy().astype(np.float32),
                    scores=scores[i][keep].numpy().astype(np.float32),
                    labels=cls[i][keep].numpy().astype(np.int64),
                    num_classes=c,
                    threshold=self.detection_threshold,
                )
            )
        return result

    def predict(self, images: np.ndarray, *, batch_size: int = 256) -> list[Detections]:
        """Detect objects.

        Parameters
        ----------
        images : np.ndarray
            ``uint8`` ``(N, S, S, 3)``.
        batch_size : int, default 256

        Returns
        -------
        list of Detections
            One per image: every heatmap peak with score ``>= min_score``
            (at most ``max_detections``), sorted by score, with
            ``threshold = detection_threshold``.
        """
        return self._predict(images, batch_size)

    @torch.inference_mode()
    def embed(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Pooled stride-16 backbone features, ``float32`` ``(N, 8 * width)``."""
        self.net.eval()
        out = [self.net.embed(x) for x in self._batches(images, batch_size)]
        if not out:
            return np.zeros((0, self.net.embedding_dim), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)


def _map50(gt: list[dict[str, np.ndarray]], preds: list[Detections], num_classes: int) -> float:
    """COCO-style mAP@0.5 via :func:`labelapp.learning.metrics.detection_report`.

    Imported lazily: metrics is a sibling module that only needs NumPy.  NaN
    (no ground truth) is reported as 0.0 so early stopping stays well defined.
    """
    from labelapp.learning.metrics import detection_report

    value = detection_report(gt, preds, num_classes)["map50"]
    return 0.0 if math.isnan(value) else float(value)
