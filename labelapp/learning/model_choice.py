"""When to try fine-tuning the backbone, and when to keep the result: pure rules over counts
and per-image correctness on the random validation sample.

A softmax head on frozen embeddings is the default classifier: convex, seconds to train, and
its rescore is a matrix product over cached vectors. Fine-tuning the backbone's last blocks
costs a forward pass over every labeled image to train and over every pool image to rescore,
and with few labels it overfits. So it is tried only above a label floor, and kept only when
the validation sample shows it is better by more than noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FINETUNE_BATCH_SIZE",
    "FINETUNE_EPOCHS",
    "FINETUNE_LR",
    "FINETUNE_MAX_IMAGES",
    "FINETUNE_MAX_VAL_IMAGES",
    "FINETUNE_MIN_TRAIN_PER_CLASS",
    "FINETUNE_MIN_VAL_IMAGES",
    "FINETUNE_SIGNIFICANCE",
    "Choice",
    "choose_classifier",
    "finetune_eligible",
    "sign_test_p",
]

#: Every class needs this many training labels: a network tail of ~0.9 M parameters fit to
#: fewer examples per class memorises them.
FINETUNE_MIN_TRAIN_PER_CLASS = 10
#: The validation sample needs this many images: the choice below needs at least 5 images on
#: which the two models disagree, all won by the candidate, to pass at all; on fewer than 20
#: images that is rare and the accuracy's 95 % interval is wider than ±0.2.
FINETUNE_MIN_VAL_IMAGES = 20
#: One-sided level of the paired sign test that keeps a fine-tuned model.
FINETUNE_SIGNIFICANCE = 0.05
#: A fine-tune candidate trains this many epochs (no early stopping: see FineTunedClassifier.fit),
#: at this peak learning rate for the head (a tenth of it for the backbone blocks).
FINETUNE_EPOCHS = 4
FINETUNE_LR = 3e-4
FINETUNE_BATCH_SIZE = 32
#: At most this many training images per fine-tune (a uniform sample beyond): its cost is one
#: forward pass of the frozen blocks per image, about 10–30 ms of CPU each.
FINETUNE_MAX_IMAGES = 2000
#: The head and the fine-tuned model are compared on at most this many validation images (a
#: uniform sample of a larger one): a paired test on 2,000 images already resolves a 1-2 point
#: difference, and more would cost a forward pass each.
FINETUNE_MAX_VAL_IMAGES = 2000


def finetune_eligible(train_per_class: np.ndarray, val_images: int) -> tuple[bool, str]:
    """Whether a fine-tune is worth trying, and why (not).

    Parameters
    ----------
    train_per_class : np.ndarray
        Training labels per class, every class of the project (``0`` where none).
    val_images : int
        Images in the validation sample.
    """
    counts = np.asarray(train_per_class, dtype=np.int64)
    fewest = int(counts.min()) if len(counts) else 0
    if fewest < FINETUNE_MIN_TRAIN_PER_CLASS:
        return False, (
            f"not tried: the rarest class has {fewest} training labels, "
            f"fine-tuning needs {FINETUNE_MIN_TRAIN_PER_CLASS} per class"
        )
    if val_images < FINETUNE_MIN_VAL_IMAGES:
        return False, (
            f"not tried: the validation sample has {val_images} images, choosing needs {FINETUNE_MIN_VAL_IMAGES}"
        )
    return True, "tried"


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact sign test: the chance of ``wins`` or more of ``wins + losses`` fair coin
    flips, i.e. of the candidate winning this often on disagreements if it were no better."""
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n


@dataclass(frozen=True)
class Choice:
    """The outcome of :func:`choose_classifier`.

    Attributes
    ----------
    chosen : str
        ``"head"`` or ``"finetuned"``.
    wins, losses : int
        Validation images only the fine-tuned model / only the head got right.
    p_value : float
        One-sided sign test on ``wins`` against ``losses``.
    reason : str
    """

    chosen: str
    wins: int
    losses: int
    p_value: float
    reason: str


def choose_classifier(
    head_correct: np.ndarray, finetuned_correct: np.ndarray, *, significance: float = FINETUNE_SIGNIFICANCE
) -> Choice:
    """Keep the fine-tuned model only if it beats the head on the same validation images by
    more than noise: a paired comparison (McNemar's exact form, the sign test on the images
    where the two disagree), one-sided at ``significance``.

    Paired, because both models are scored on the same images: comparing two overlapping
    accuracy intervals would ignore that and almost never decide on a sample of tens.
    One-sided and strict, because a tie is not enough: the fine-tuned model costs a full
    forward pass per image at every rescore, where the head costs a matrix product.

    Parameters
    ----------
    head_correct, finetuned_correct : np.ndarray
        Booleans ``(N,)``, one per validation image, in the same order.
    """
    head = np.asarray(head_correct, dtype=bool)
    tuned = np.asarray(finetuned_correct, dtype=bool)
    if head.shape != tuned.shape or head.ndim != 1:
        raise ValueError(f"head_correct and finetuned_correct must be (N,) alike, got {head.shape} and {tuned.shape}")
    wins, losses = int(np.sum(tuned & ~head)), int(np.sum(head & ~tuned))
    p = sign_test_p(wins, losses)
    if wins > losses and p < significance:
        return Choice(
            "finetuned",
            wins,
            losses,
            p,
            f"fine-tuned right on {wins} validation images the head got wrong, wrong on {losses} it got "
            f"right (sign test p = {p:.3f} < {significance})",
        )
    return Choice(
        "head",
        wins,
        losses,
        p,
        f"fine-tuned right on {wins} validation images the head got wrong, wrong on {losses} it got right "
        f"(sign test p = {p:.3f}, needs < {significance}): not better by more than noise",
    )
