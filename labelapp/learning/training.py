"""Training configuration, reports, and the shared seeded training loop.

The built-in models (:mod:`labelapp.learning.models`) describe *what* to
optimise (a network, how to make a batch, a loss, a validation metric);
:func:`train_network` owns *how*: seeding, data order, learning-rate
schedule, thread count, early stopping with best-weights restore, and
per-epoch progress reports.  A plug-in model may use it or not.

Reproducibility: for a given :class:`TrainConfig` (same ``seed`` and
``num_threads``) and the same data, training on CPU gives bit-identical
weights.  Torch's global RNG is seeded by the model before it builds its
network; the data order and augmentation come from one
``np.random.Generator(seed)``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

logger = logging.getLogger(__name__)

__all__ = [
    "EpochReport",
    "FitResult",
    "Resumable",
    "TrainConfig",
    "augment_batch",
    "images_to_tensor",
    "torch_threads",
    "train_network",
]


@dataclass
class TrainConfig:
    """How to train.

    Attributes
    ----------
    seed : int
        Seeds weight initialisation, data order and augmentation.
    max_epochs : int
        Upper bound on epochs (``>= 1``); exactly this many without validation data.
    patience : int
        Stop after this many epochs without a better validation metric (``>= 1``),
        once the metric has risen above 0.
    batch_size : int
        Images per optimisation step (``>= 1``).
    lr : float
        Peak learning rate of AdamW (cosine decay after a short warm-up).
    augment : bool
        Random horizontal flip (boxes follow) and brightness/contrast jitter.
    num_threads : int or None
        Torch intra-op threads during ``fit``; ``None`` means all cores.
    weight_decay : float
        AdamW weight decay.
    min_epochs : int
        Early stopping never stops before this epoch (``>= 1``): a fine-tuned
        pretrained network can show a spurious validation peak in its first
        epochs and then need several more to climb past it.
    """

    seed: int = 0
    max_epochs: int = 30
    patience: int = 5
    batch_size: int = 64
    lr: float = 2e-3
    augment: bool = True
    num_threads: int | None = None
    weight_decay: float = 1e-4
    min_epochs: int = 1

    def __post_init__(self) -> None:
        for name in ("seed", "max_epochs", "patience", "batch_size", "min_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an int, got {value!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.max_epochs < 1 or self.patience < 1 or self.batch_size < 1 or self.min_epochs < 1:
            raise ValueError("max_epochs, patience, batch_size and min_epochs must be >= 1")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.num_threads is not None and (
            isinstance(self.num_threads, bool) or not isinstance(self.num_threads, int) or self.num_threads < 1
        ):
            raise ValueError(f"num_threads must be None or an int >= 1, got {self.num_threads!r}")


@dataclass
class EpochReport:
    """What happened in one epoch (1-based ``epoch``)."""

    epoch: int
    epochs_max: int
    loss: float
    val_metric: float | None
    metric_name: str
    seconds: float = 0.0


@dataclass
class FitResult:
    """Outcome of ``fit``.

    ``best_epoch`` is the epoch whose weights the model holds after ``fit``
    (the last epoch when there was no validation data, and then
    ``best_val_metric`` is ``None``).
    """

    epochs_run: int
    best_epoch: int
    best_val_metric: float | None
    history: list[EpochReport] = field(default_factory=list)


@dataclass
class Resumable:
    """Hooks that make a long ``fit`` interruptible and resumable.

    Attributes
    ----------
    state : dict or None
        A state handed to ``save`` by an earlier, interrupted ``fit`` with the same
        data and config: training continues after its epoch, and ends with the
        weights an uninterrupted run would have had (bit-identical on CPU).
    save : callable or None
        Called after every epoch with the full training state (tensors, numbers and
        strings only, so ``torch.load(..., weights_only=True)`` reads it back).
    between_batches : callable or None
        Called after every optimisation step; whatever it raises stops training
        there (a shutdown), and it may keep a heartbeat.
    """

    state: dict | None = None
    save: Callable[[dict], None] | None = None
    between_batches: Callable[[], None] | None = None


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for a block, then restore it.

    ``None`` means ``os.cpu_count()``.  Restoring matters because the setting
    is process-wide and a Celery worker runs other tasks afterwards.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads or os.cpu_count() or 1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """``uint8`` ``(N, S, S, 3)`` -> ``float32`` ``(N, 3, S, S)`` in ``[0, 1]``."""
    t = torch.from_numpy(np.ascontiguousarray(images))
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def augment_batch(
    x: torch.Tensor,
    rng: np.random.Generator,
    boxes: list[np.ndarray] | None = None,
) -> tuple[torch.Tensor, list[np.ndarray] | None]:
    """Light augmentation: random horizontal flip, brightness and contrast.

    Kept light on purpose: a few hundred labels from one camera should not be
    drowned in synthetic variety, and flips and lighting changes are the
    variations that a fixed camera actually sees (day, night, mirror set-ups).

    Parameters
    ----------
    x : torch.Tensor
        ``float32`` ``(B, 3, S, S)`` in ``[0, 1]``.
    rng : np.random.Generator
        All randomness comes from here (reproducible).
    boxes : list of np.ndarray, optional
        Per-image ``float32`` ``(k, 4)`` xyxy boxes in input pixels; flipped
        along with their images.

    Returns
    -------
    x : torch.Tensor
        Augmented copy, same shape, clipped to ``[0, 1]``.
    boxes : list of np.ndarray or None
        Boxes after the flips (new arrays), or ``None`` if none were given.
    """
    b, _, _, s = x.shape
    flip = rng.random(b) < 0.5
    brightness = rng.uniform(0.6, 1.4, b).astype(np.float32)
    contrast = rng.uniform(0.7, 1.3, b).astype(np.float32)
    x = x.clone()
    if flip.any():
        idx = torch.from_numpy(np.flatnonzero(flip))
        x[idx] = torch.flip(x[idx], dims=[3])
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    c = torch.from_numpy(contrast).view(b, 1, 1, 1)
    br = torch.from_numpy(brightness).view(b, 1, 1, 1)
    x = ((x - mean) * c + mean) * br
    x.clamp_(0.0, 1.0)
    if boxes is None:
        return x, None
    out = []
    for i, bx in enumerate(boxes):
        bx = np.asarray(bx, dtype=np.float32).reshape(-1, 4).copy()
        if flip[i] and len(bx):
            bx[:, [0, 2]] = s - bx[:, [2, 0]]
        out.append(bx)
    return x, out


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _stopped_early(last: EpochReport, best_metric: float | None, stale: int, config: TrainConfig) -> bool:
    # A model still at 0 on validation has not started learning yet (a detector on a few
    # dozen images can take many epochs): stopping then would keep a useless model.
    # Nor before min_epochs: an early spurious peak must not end a fine-tuning run.
    return (
        last.val_metric is not None and stale >= config.patience and best_metric > 0 and last.epoch >= config.min_epochs
    )


def train_network(
    net: nn.Module,
    *,
    n_train: int,
    step_loss: Callable[[np.ndarray, np.random.Generator], torch.Tensor],
    evaluate: Callable[[], float] | None,
    metric_name: str,
    config: TrainConfig,
    progress: Callable[[EpochReport], None] | None = None,
    resumable: Resumable | None = None,
) -> FitResult:
    """Optimise ``net`` with AdamW, early stopping and best-weights restore.

    Parameters
    ----------
    net : torch.nn.Module
        Already initialised (seeded) network; trained in place.
    n_train : int
        Number of training examples (``>= 1``).
    step_loss : callable
        ``step_loss(batch_indices, rng) -> scalar loss tensor``: builds the
        batch (with augmentation drawn from ``rng``), runs the forward pass
        in training mode and returns the loss.
    evaluate : callable or None
        Returns the validation metric (higher is better) with the network
        in eval mode; ``None`` disables validation and early stopping.
    metric_name : str
        Name put into each :class:`EpochReport`.
    config : TrainConfig
    progress : callable, optional
        Called after every epoch with its :class:`EpochReport`.
    resumable : Resumable, optional
        Per-epoch state saving, a resume point, a hook between batches.

    Returns
    -------
    FitResult

    Notes
    -----
    Batches are ``np.array_split`` of a seeded permutation, so every batch
    has ``batch_size`` or ``batch_size - 1``-ish examples and there is never a
    size-1 tail batch (which would break batch norm statistics).  Must be
    called inside :func:`torch_threads` by the caller if it wants a
    specific thread count.
    """
    if n_train < 1:
        raise ValueError("need at least one training example")
    rng = np.random.default_rng(config.seed)
    n_batches = max(1, math.ceil(n_train / config.batch_size))
    total_steps = n_batches * config.max_epochs
    warmup = min(100, max(1, total_steps // 20))
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _lr_factor(step, total_steps, warmup))
    history: list[EpochReport] = []
    best_metric: float | None = None
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    first_epoch = 1
    resumable = resumable or Resumable()
    if resumable.state is not None:
        state = resumable.state
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        best_metric, best_epoch, stale = state["best_metric"], state["best_epoch"], state["stale"]
        best_state = state["best_state"]
        history = [EpochReport(**report) for report in state["history"]]
        first_epoch = state["epoch"] + 1
        logger.info("resuming training after epoch %d of %d", state["epoch"], config.max_epochs)
    for epoch in range(first_epoch, config.max_epochs + 1):
        if history and _stopped_early(history[-1], best_metric, stale, config):
            break
        started = time.perf_counter()
        net.train()
        order = rng.permutation(n_train)
        total_loss, seen = 0.0, 0
        for batch in np.array_split(order, n_batches):
            if len(batch) == 0:
                continue
            loss = step_loss(batch, rng)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 10.0)
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(batch)
            seen += len(batch)
            if resumable.between_batches is not None:
                resumable.between_batches()
        metric = None
        if evaluate is not None:
            net.eval()
            metric = float(evaluate())
        report = EpochReport(
            epoch=epoch,
            epochs_max=config.max_epochs,
            loss=total_loss / max(1, seen),
            val_metric=metric,
            metric_name=metric_name,
            seconds=time.perf_counter() - started,
        )
        history.append(report)
        logger.info(
            "epoch %d/%d loss %.4f %s %s (%.1f s)",
            epoch,
            config.max_epochs,
            report.loss,
            metric_name,
            "-" if metric is None else f"{metric:.4f}",
            report.seconds,
        )
        if metric is None:
            best_epoch = epoch
        elif best_metric is None or metric > best_metric + 1e-9:
            best_metric, best_epoch, stale = metric, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            stale += 1
        # Saved before the progress report: a caller that reports epoch k has its state.
        if resumable.save is not None:
            resumable.save(
                {
                    "epoch": epoch,
                    "net": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": json.dumps(rng.bit_generator.state),
                    "torch_rng": torch.get_rng_state(),
                    "best_metric": best_metric,
                    "best_epoch": best_epoch,
                    "stale": stale,
                    "best_state": best_state,
                    "history": [dataclasses.asdict(r) for r in history],
                }
            )
        if progress is not None:
            progress(report)
        if _stopped_early(report, best_metric, stale, config):
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return FitResult(epochs_run=len(history), best_epoch=best_epoch, best_val_metric=best_metric, history=history)
