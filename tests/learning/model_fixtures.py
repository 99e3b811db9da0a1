"""Tiny data sets and fixtures shared by the model and training tests (fast on 2 cores).

Imported explicitly (not a conftest.py) so the other test modules of this folder stay independent.
"""

import numpy as np
import pytest


def red_blue(n: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy red (class 0) and blue (class 1) squares: trivially separable."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    images = rng.integers(0, 60, (n, size, size, 3)).astype(np.int64)
    images[y == 0, :, :, 0] += 150
    images[y == 1, :, :, 2] += 150
    return images.clip(0, 255).astype(np.uint8), y.astype(np.int64)


def bright_squares(n: int, size: int = 32, seed: int = 0, side: int = 10):
    """One bright square per image on dark noise; class 0."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (n, size, size, 3)).astype(np.uint8)
    targets = []
    for i in range(n):
        x, y = rng.integers(0, size - side, 2)
        images[i, y : y + side, x : x + side] = 230
        targets.append(
            {
                "boxes": np.array([[x, y, x + side, y + side]], np.float32),
                "labels": np.zeros(1, np.int64),
            }
        )
    return images, targets


@pytest.fixture(scope="session")
def red_blue_data():
    return red_blue(48, seed=0), red_blue(16, seed=1)


@pytest.fixture(scope="session")
def squares_data():
    return bright_squares(64, seed=0), bright_squares(16, seed=1)


@pytest.fixture(scope="session")
def trained_detector(squares_data):
    """A detector trained once on bright squares, shared by several tests."""
    from labelapp.learning.models import create_model
    from labelapp.learning.training import TrainConfig

    (x, y), (xv, yv) = squares_data
    model = create_model("centernet_detector", classes=["square"], input_size=32, width=8, head=16)
    result = model.fit(
        x, y, xv, yv, config=TrainConfig(num_threads=1, max_epochs=25, patience=25, batch_size=16, lr=1e-2)
    )
    return model, result
