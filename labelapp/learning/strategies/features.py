"""Cheap model-free image features, for the cold start before any model exists."""

from __future__ import annotations

from typing import Any

import numpy as np


def _block_means(gray: np.ndarray, out: int) -> np.ndarray:
    """Area-average (N, H, W) down to (N, out, out) with uneven blocks allowed."""
    _, h, w = gray.shape
    rows = np.linspace(0, h, out + 1).astype(int)
    cols = np.linspace(0, w, out + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(gray, rows[:-1], axis=1), cols[:-1], axis=2)
    area = np.outer(np.diff(rows), np.diff(cols))
    return sums / area[None]


def simple_image_features(images: Any, *, bins: int = 8, thumb: int = 8, chunk: int = 256) -> np.ndarray:
    """Cheap model-free image features for cold start.

    Per image: a ``bins``-bin histogram per RGB channel (fractions of pixels)
    followed by a ``thumb x thumb`` area-averaged grayscale thumbnail in
    ``[0, 1]``.

    Parameters
    ----------
    images : array-like of uint8, shape (N, H, W, 3), H and W >= ``thumb``
    bins : int, default 8
        Histogram bins per channel.
    thumb : int, default 8
        Side of the grayscale thumbnail.
    chunk : int, default 256
        Images processed at a time (bounds memory; no effect on the result).

    Returns
    -------
    ndarray of float32, shape (N, 3 * bins + thumb * thumb)
    """
    im = np.asarray(images)
    if im.ndim != 4 or im.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {im.shape}")
    if im.dtype != np.uint8:
        raise ValueError("images must be uint8")
    n, h, w, _ = im.shape
    if h < thumb or w < thumb:
        raise ValueError(f"images must be at least {thumb}x{thumb}")
    if bins < 1 or bins > 256:
        raise ValueError("bins must be in [1, 256]")
    out = np.empty((n, 3 * bins + thumb * thumb), dtype=np.float32)
    # Chunks bound the temporary arrays (a pool may hold thousands of images).
    for start in range(0, n, chunk):
        block = im[start : start + chunk]
        m = len(block)
        offsets = (np.arange(m, dtype=np.int64) * bins)[:, None]
        for ch in range(3):
            idx = (block[..., ch].astype(np.int64) * bins) >> 8  # bin index in [0, bins)
            flat = idx.reshape(m, -1) + offsets
            hist = np.bincount(flat.ravel(), minlength=m * bins).reshape(m, bins)
            out[start : start + m, ch * bins : (ch + 1) * bins] = hist / (h * w)
        gray = block.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
        out[start : start + m, 3 * bins :] = _block_means(gray.astype(np.float64), thumb).reshape(m, -1)
    return out
