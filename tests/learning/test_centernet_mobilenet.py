import numpy as np
import pytest
import torch

from labelapp.learning.backbone import BackboneUnavailable, default_weights_path, load_backbone
from labelapp.learning.models import CenterNetMobileNetDetector, Detections, available_models, create_model, load_model
from labelapp.learning.training import TrainConfig

pytestmark = pytest.mark.skipif(default_weights_path() is None, reason="backbone weights package not installed")


def _model(**options) -> CenterNetMobileNetDetector:
    return create_model("centernet_mobilenet", classes=["square"], input_size=32, head=16, **options)


@pytest.fixture(scope="module")
def trained(squares_data):
    (x, y), (xv, yv) = squares_data
    model = _model(finetune_stages=0, min_epochs=10)
    # patience 1 would stop within a few epochs of any early peak; min_epochs holds it to 10.
    config = TrainConfig(num_threads=1, max_epochs=16, patience=1, batch_size=16, lr=1e-2)
    return model, model.fit(x, y, xv, yv, config=config)


def _pretrained_features() -> dict[str, torch.Tensor]:
    return {f"features.{k}": v for k, v in load_backbone().network.features.state_dict().items()}


def test_registered_with_its_options():
    assert "centernet_mobilenet" in available_models()
    model = _model(finetune_stages=2, detection_threshold=0.4)
    assert isinstance(model, CenterNetMobileNetDetector) and model.task == "detection"
    assert model.options["finetune_stages"] == 2 and model.options["detection_threshold"] == 0.4
    assert _model().options["finetune_stages"] == 1 and _model().options["min_epochs"] == 8
    assert "width" not in model.options


@pytest.mark.parametrize(
    "options", [{"finetune_stages": 4}, {"finetune_stages": True}, {"min_epochs": 0}, {"input_size": 40}]
)
def test_rejects_bad_options(options):
    with pytest.raises(ValueError):
        create_model("centernet_mobilenet", classes=["a"], **{"input_size": 32, **options})


def test_refuses_a_backbone_file_with_another_digest():
    with pytest.raises(BackboneUnavailable):
        _model(backbone_sha256="0" * 64)


def test_learns_squares_and_trains_only_the_heads(trained, squares_data):
    model, result = trained
    _, (xv, _yv) = squares_data
    assert result.epochs_run >= 10  # min_epochs held off early stopping
    assert result.best_val_metric > 0.8
    dets = model.predict(xv)
    assert len(dets) == len(xv) and all(isinstance(d, Detections) for d in dets)
    assert np.mean([d.count()[0] == 1 for d in dets]) >= 0.8
    # Frozen: every backbone weight and batch-norm statistic is still the shipped file's.
    state = model.net.state_dict()
    for key, value in _pretrained_features().items():
        if key in state:
            assert torch.equal(state[key], value), key
    emb = model.embed(xv[:3])
    assert emb.shape == (3, 96) and emb.dtype == np.float32


def test_frozen_checkpoint_leaves_the_backbone_out_and_round_trips(tmp_path, trained, squares_data):
    model, _ = trained
    _, (xv, _) = squares_data
    weights = model.get_weights()
    assert weights and not any(k.startswith("features.") for k in weights)
    model.save(tmp_path / "det.pt")
    loaded = load_model(tmp_path / "det.pt")
    assert isinstance(loaded, CenterNetMobileNetDetector) and loaded.options == model.options
    for a, b in zip(model.predict(xv), loaded.predict(xv)):
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(model.embed(xv), loaded.embed(xv))


def test_finetuned_stage_is_trained_and_stored(squares_data):
    (x, y), (xv, _yv) = squares_data
    model = _model(finetune_stages=1, min_epochs=1)
    model.fit(x[:16], y[:16], xv[:0], [], config=TrainConfig(num_threads=1, max_epochs=1, batch_size=8, lr=1e-2))
    weights = model.get_weights()
    stored = {int(k.split(".")[1]) for k in weights if k.startswith("features.")}
    assert stored == set(range(7, 14))  # the stride-16 stage, nothing before it
    pretrained = _pretrained_features()
    assert not torch.equal(weights["features.13.conv.0.0.weight"], pretrained["features.13.conv.0.0.weight"])
    assert torch.equal(model.net.state_dict()["features.6.conv.0.0.weight"], pretrained["features.6.conv.0.0.weight"])
    # Such a checkpoint does not fit a frozen model, and the error says so.
    with pytest.raises(ValueError, match="unexpected"):
        _model(finetune_stages=0).set_weights(weights)
    with pytest.raises(ValueError, match="missing"):
        model.set_weights({k: v for k, v in weights.items() if not k.startswith("features.13.")})


def test_warm_start_from_a_frozen_checkpoint(trained, squares_data):
    previous, _ = trained
    (x, y), _ = squares_data
    model = _model(finetune_stages=0)
    assert model.can_warm_start(previous) and not model.can_warm_start(_model())
    cfg = TrainConfig(num_threads=1, max_epochs=1, batch_size=8, lr=1e-12, augment=False)
    model.fit(x[:16], y[:16], x[:0], [], config=cfg, warm_start=previous)
    for key, value in previous.get_weights().items():
        if "running" not in key and "num_batches" not in key:
            torch.testing.assert_close(model.get_weights()[key], value, rtol=0, atol=1e-6)
