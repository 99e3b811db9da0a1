import numpy as np
import pytest
import torch

from labelapp.learning.models import create_model
from labelapp.learning.training import (
    EpochReport,
    TrainConfig,
    augment_batch,
    images_to_tensor,
    torch_threads,
)

from .model_fixtures import bright_squares, red_blue


def _weights_equal(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _classifier():
    return create_model("cnn_classifier", classes=["r", "b"], input_size=16, width=8)


def test_same_seed_gives_identical_weights():
    x, y = red_blue(32)
    xv, yv = red_blue(8, seed=1)
    cfg = TrainConfig(num_threads=1, seed=3, max_epochs=2, batch_size=8)
    a, b, c = _classifier(), _classifier(), _classifier()
    ra = a.fit(x, y, xv, yv, config=cfg)
    rb = b.fit(x, y, xv, yv, config=cfg)
    assert _weights_equal(a, b)
    assert [r.loss for r in ra.history] == [r.loss for r in rb.history]
    c.fit(x, y, xv, yv, config=TrainConfig(num_threads=1, seed=4, max_epochs=2, batch_size=8))
    assert not _weights_equal(a, c)


def test_detector_same_seed_identical_weights():
    x, t = bright_squares(8, seed=2)
    cfg = TrainConfig(num_threads=1, seed=1, max_epochs=1, batch_size=4)
    models = [create_model("centernet_detector", classes=["s"], input_size=32, width=8, head=16) for _ in range(2)]
    for m in models:
        m.fit(x, t, x[:0], [], config=cfg)
    assert _weights_equal(*models)


def test_no_validation_runs_fixed_epochs():
    x, y = red_blue(16)
    reports: list[EpochReport] = []
    result = _classifier().fit(
        x,
        y,
        x[:0],
        y[:0],
        config=TrainConfig(num_threads=1, max_epochs=3, patience=1, batch_size=8),
        progress=reports.append,
    )
    assert result.epochs_run == 3 and result.best_epoch == 3 and result.best_val_metric is None
    assert [r.val_metric for r in reports] == [None, None, None]
    assert all(np.isfinite(r.loss) and r.loss > 0 for r in reports)


def test_early_stopping_restores_best_weights():
    x, y = red_blue(32)
    xv, yv = red_blue(8, seed=1)
    model = _classifier()
    snapshots = {}

    def remember(report: EpochReport) -> None:
        snapshots[report.epoch] = model.get_weights()

    result = model.fit(
        x,
        y,
        xv,
        yv,
        config=TrainConfig(num_threads=1, max_epochs=30, patience=2, batch_size=8, lr=1e-2),
        progress=remember,
    )
    # Red vs blue reaches accuracy 1.0 fast; nothing beats it, so training stops
    # `patience` epochs later and the weights of the best epoch come back.
    assert result.best_val_metric == 1.0
    assert result.epochs_run == result.best_epoch + 2 < 30
    best = snapshots[result.best_epoch]
    assert all(torch.equal(best[k], v) for k, v in model.get_weights().items())


def test_min_epochs_keeps_training_past_an_early_best():
    x, y = red_blue(32)
    xv, yv = red_blue(8, seed=1)
    cfg = TrainConfig(num_threads=1, max_epochs=30, patience=2, batch_size=8, lr=1e-2, min_epochs=9)
    result = _classifier().fit(x, y, xv, yv, config=cfg)
    # Same run as above, which stops 2 epochs after an early 1.0; here it may not stop before epoch 9.
    assert result.best_val_metric == 1.0 and result.best_epoch < 7
    assert result.epochs_run == 9


def test_warm_start_starts_from_previous_weights():
    x, y = red_blue(32)
    xv, yv = red_blue(8, seed=1)
    first = _classifier()
    first.fit(x, y, xv, yv, config=TrainConfig(num_threads=1, max_epochs=4, batch_size=8, lr=1e-2))
    assert (first.predict(xv).labels == yv).all()
    second = _classifier()
    reports = []
    # A learning rate this small barely moves the weights: a warm-started model
    # is already right after one epoch, a cold one is not close.
    cfg = TrainConfig(num_threads=1, max_epochs=1, batch_size=8, lr=1e-7, augment=False)
    second.fit(x, y, xv, yv, config=cfg, warm_start=first, progress=reports.append)
    assert reports[0].val_metric == 1.0
    params = {name for name, _ in second.net.named_parameters()}
    before, after = first.get_weights(), second.get_weights()
    drift = max(float((before[k] - after[k]).abs().max()) for k in params)
    assert drift < 1e-3
    assert second.can_warm_start(first)


@pytest.mark.parametrize(
    "other",
    [
        lambda: create_model("cnn_classifier", classes=["r", "b", "g"], input_size=16, width=8),
        lambda: create_model("cnn_classifier", classes=["b", "r"], input_size=16, width=8),
        lambda: create_model("cnn_classifier", classes=["r", "b"], input_size=32, width=8),
        lambda: create_model("cnn_classifier", classes=["r", "b"], input_size=16, width=16),
        lambda: create_model("centernet_detector", classes=["r", "b"], input_size=16, width=8),
    ],
)
def test_warm_start_incompatible_raises(other):
    x, y = red_blue(8)
    model = _classifier()
    warm = other()
    assert not model.can_warm_start(warm)
    with pytest.raises(ValueError):
        model.fit(x, y, x[:0], y[:0], config=TrainConfig(num_threads=1, max_epochs=1), warm_start=warm)


def test_fit_restores_thread_count():
    x, y = red_blue(8)
    before = torch.get_num_threads()
    _classifier().fit(x, y, x[:0], y[:0], config=TrainConfig(max_epochs=1, num_threads=1))
    assert torch.get_num_threads() == before
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": -1},
        {"seed": 1.5},
        {"max_epochs": 0},
        {"patience": 0},
        {"batch_size": 0},
        {"lr": 0.0},
        {"lr": float("nan")},
        {"num_threads": 0},
        {"num_threads": True},
        {"weight_decay": -1.0},
        {"min_epochs": 0},
    ],
)
def test_train_config_validation(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_augment_batch_flips_boxes_with_images():
    images = np.zeros((64, 8, 8, 3), np.uint8)
    images[:, :, :2] = 255  # a bright stripe on the left
    boxes = [np.array([[0, 1, 2, 7]], np.float32) for _ in range(64)]
    x, out = augment_batch(images_to_tensor(images), np.random.default_rng(0), boxes)
    assert x.shape == (64, 3, 8, 8) and float(x.min()) >= 0 and float(x.max()) <= 1
    flipped = [i for i, b in enumerate(out) if b[0, 0] == 6]
    assert 10 < len(flipped) < 54  # about half
    for i, b in enumerate(out):
        left_bright = x[i, :, :, :2].mean() > x[i, :, :, 6:].mean()
        if i in flipped:
            np.testing.assert_array_equal(b, [[6, 1, 8, 7]])
            assert not left_bright
        else:
            np.testing.assert_array_equal(b, [[0, 1, 2, 7]])
            assert left_bright
    assert boxes[0][0, 0] == 0  # inputs untouched


def _saved_states():
    states = []

    def save(state):
        # As the worker does: through a torch.save file, read back with weights_only.
        import io

        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        states.append(torch.load(buffer, map_location="cpu", weights_only=True))

    return states, save


@pytest.mark.parametrize("detector", [False, True])
def test_item1_a_fit_resumed_from_an_epoch_state_ends_with_the_uninterrupted_weights(detector):
    """Issue 14 item 1: a recovered training resumes from its last epoch checkpoint, not
    epoch 0, and ends where the uninterrupted training would have."""
    from labelapp.learning.training import Resumable

    if detector:
        x, y = bright_squares(12, seed=2)
        xv, yv = bright_squares(4, seed=5)

        def make():
            return create_model("centernet_detector", classes=["sq"], input_size=32, width=8)
    else:
        x, y = red_blue(32)
        xv, yv = red_blue(8, seed=1)
        make = _classifier
    cfg = TrainConfig(num_threads=1, seed=3, max_epochs=4, batch_size=8, patience=10)
    states, save = _saved_states()
    whole = make()
    full = whole.fit(x, y, xv, yv, config=cfg, resumable=Resumable(save=save))
    assert [s["epoch"] for s in states] == [1, 2, 3, 4]

    resumed_reports = []
    resumed = make()
    rest = resumed.fit(x, y, xv, yv, config=cfg, progress=resumed_reports.append, resumable=Resumable(state=states[1]))
    assert [r.epoch for r in resumed_reports] == [3, 4]
    assert _weights_equal(whole, resumed)
    assert [r.loss for r in rest.history] == [r.loss for r in full.history]
    assert rest.best_epoch == full.best_epoch


def test_item1_a_fit_stops_where_between_batches_raises_and_its_last_state_resumes():
    """Issue 14 item 1: a shutdown stops training between two batches; the state saved after
    the last whole epoch is where it resumes."""
    from labelapp.learning.training import Resumable

    class Shutdown(Exception):
        pass

    x, y = red_blue(32)
    xv, yv = red_blue(8, seed=1)
    cfg = TrainConfig(num_threads=1, seed=3, max_epochs=3, batch_size=8)
    states, save = _saved_states()
    steps = []

    def between_batches():
        steps.append(1)
        if len(steps) == 6:  # 4 batches an epoch: in the middle of the second
            raise Shutdown

    with pytest.raises(Shutdown):
        _classifier().fit(x, y, xv, yv, config=cfg, resumable=Resumable(save=save, between_batches=between_batches))
    assert [s["epoch"] for s in states] == [1]
    whole, resumed = _classifier(), _classifier()
    whole.fit(x, y, xv, yv, config=cfg)
    resumed.fit(x, y, xv, yv, config=cfg, resumable=Resumable(state=states[0]))
    assert _weights_equal(whole, resumed)
