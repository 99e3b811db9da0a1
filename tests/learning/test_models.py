import numpy as np
import pytest
import torch

from labelapp.learning.models import (
    CenterNetDetector,
    ClassificationOutput,
    CNNClassifier,
    Detections,
    ImageModel,
    available_models,
    create_model,
    load_model,
    read_checkpoint,
    register_model,
)
from labelapp.learning.models.centernet import build_targets
from labelapp.learning.training import FitResult, TrainConfig

from .model_fixtures import red_blue

FAST = TrainConfig(num_threads=1, max_epochs=8, patience=8, batch_size=16, lr=1e-2)


def test_builtins_are_registered():
    assert {"cnn_classifier", "centernet_detector"} <= set(available_models())
    assert isinstance(create_model("cnn_classifier", classes=["a", "b"], input_size=32), CNNClassifier)
    det = create_model("centernet_detector", classes=["a"], input_size=64)
    assert isinstance(det, CenterNetDetector)
    assert det.task == "detection" and det.detection_threshold == 0.3 and det.min_score == 0.05


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("nope", {}),
        ("cnn_classifier", {"bogus_option": 1}),
        ("cnn_classifier", {"width": 0}),
        ("cnn_classifier", {"dropout": 1.5}),
        ("centernet_detector", {"input_size": 60}),
        ("centernet_detector", {"detection_threshold": 2.0}),
    ],
)
def test_create_model_rejects_bad_input(name, kwargs):
    kwargs = {"classes": ["a", "b"], "input_size": 32, **kwargs}
    with pytest.raises(ValueError):
        create_model(name, **kwargs)


@pytest.mark.parametrize("classes", [[], ["a", "a"], ["a", ""], "ab", [1, 2]])
def test_bad_classes(classes):
    with pytest.raises(ValueError):
        create_model("cnn_classifier", classes=classes, input_size=32)


# -- classifier ----------------------------------------------------------------


def test_classifier_learns_red_vs_blue(red_blue_data):
    (x, y), (xv, yv) = red_blue_data
    model = create_model("cnn_classifier", classes=["red", "blue"], input_size=16, width=8)
    reports = []
    result = model.fit(x, y, xv, yv, config=FAST, progress=reports.append)
    assert isinstance(result, FitResult) and result.best_val_metric == 1.0
    assert [r.epoch for r in reports] == list(range(1, result.epochs_run + 1))
    assert reports[0].metric_name == "accuracy" and reports[0].epochs_max == FAST.max_epochs
    out = model.predict(xv)
    assert isinstance(out, ClassificationOutput)
    np.testing.assert_array_equal(out.labels, yv)


def test_classifier_output_shapes(red_blue_data):
    (x, _), _ = red_blue_data
    model = create_model("cnn_classifier", classes=["a", "b", "c"], input_size=16, width=8)
    out = model.predict(x[:5], batch_size=2)
    assert out.probs.shape == (5, 3) and out.probs.dtype == np.float32
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0, atol=1e-5)
    assert out.labels.dtype == np.int64 and out.confidence.shape == (5,)
    emb = model.embed(x[:5], batch_size=3)
    assert emb.shape == (5, 64) and emb.dtype == np.float32
    empty = np.zeros((0, 16, 16, 3), np.uint8)
    assert model.predict(empty).probs.shape == (0, 3)
    assert model.embed(empty).shape == (0, 64)


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 16, 16, 3), np.float32),
        np.zeros((2, 32, 32, 3), np.uint8),
        np.zeros((16, 16, 3), np.uint8),
        [[0]],
    ],
)
def test_predict_rejects_bad_images(images):
    model = create_model("cnn_classifier", classes=["a", "b"], input_size=16, width=8)
    with pytest.raises(ValueError):
        model.predict(images)
    with pytest.raises(ValueError):
        model.embed(images)


def test_predict_rejects_bad_batch_size(red_blue_data):
    (x, _), _ = red_blue_data
    model = create_model("cnn_classifier", classes=["a", "b"], input_size=16, width=8)
    with pytest.raises(ValueError):
        model.predict(x, batch_size=0)


def test_classifier_fit_rejects_bad_targets(red_blue_data):
    (x, y), (xv, yv) = red_blue_data
    model = create_model("cnn_classifier", classes=["a", "b"], input_size=16, width=8)
    cfg = TrainConfig(num_threads=1, max_epochs=1)
    with pytest.raises(ValueError):
        model.fit(x, y[:-1], xv, yv, config=cfg)
    with pytest.raises(ValueError):
        model.fit(x, y + 5, xv, yv, config=cfg)
    with pytest.raises(ValueError):
        model.fit(x, y.astype(np.float32), xv, yv, config=cfg)
    with pytest.raises(ValueError):
        model.fit(x[:0], y[:0], xv, yv, config=cfg)
    with pytest.raises(ValueError):
        model.fit(x, y, xv, yv, config={"max_epochs": 1})


# -- detector ------------------------------------------------------------------


def test_detector_finds_a_bright_square(trained_detector, squares_data):
    model, result = trained_detector
    _, (xv, yv) = squares_data
    assert result.best_val_metric > 0.8
    dets = model.predict(xv)
    assert len(dets) == len(xv) and all(isinstance(d, Detections) for d in dets)
    hits = 0
    for d, t in zip(dets, yv):
        top = d.boxes[0]
        gt = t["boxes"][0]
        ix = max(0, min(top[2], gt[2]) - max(top[0], gt[0]))
        iy = max(0, min(top[3], gt[3]) - max(top[1], gt[1]))
        inter = ix * iy
        iou = inter / ((top[2] - top[0]) * (top[3] - top[1]) + 100 - inter)
        hits += iou > 0.5 and d.scores[0] > 0.3
    assert hits >= 14
    counts = np.array([d.count()[0] for d in dets])
    assert (counts == 1).mean() >= 0.8


def test_detections_shapes_and_count(trained_detector, squares_data):
    model, _ = trained_detector
    _, (xv, _) = squares_data
    d = model.predict(xv[:3], batch_size=2)[0]
    assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
    assert d.scores.dtype == np.float32 and d.labels.dtype == np.int64
    assert np.all(d.scores >= model.min_score) and np.all(d.scores <= 1)
    assert np.all(np.diff(d.scores) <= 0)
    assert np.all(d.boxes >= 0) and np.all(d.boxes <= 32)
    assert d.count().shape == (1,) and d.count().dtype == np.int64
    assert d.count(0.0)[0] == len(d) >= d.count()[0] >= d.count(1.0)[0]
    assert d.threshold == model.detection_threshold
    emb = model.embed(xv[:3])
    assert emb.shape == (3, 64) and emb.dtype == np.float32
    assert model.predict(np.zeros((0, 32, 32, 3), np.uint8)) == []


def test_detection_threshold_is_settable():
    model = create_model("centernet_detector", classes=["a"], input_size=32, width=8, head=16)
    model.detection_threshold = 0.6
    assert model.options["detection_threshold"] == 0.6
    with pytest.raises(ValueError):
        model.detection_threshold = -0.1
    with pytest.raises(ValueError):
        model.min_score = 1.5


def test_detections_count_by_class():
    d = Detections(
        boxes=np.zeros((4, 4), np.float32),
        scores=np.array([0.9, 0.5, 0.31, 0.1], np.float32),
        labels=np.array([2, 0, 2, 1], np.int64),
        num_classes=3,
    )
    np.testing.assert_array_equal(d.count(), [1, 0, 2])
    np.testing.assert_array_equal(d.count(0.05), [1, 1, 2])
    np.testing.assert_array_equal(d.count(0.6), [0, 0, 1])
    assert len(d.above(0.4)) == 2
    with pytest.raises(ValueError):
        d.count(1.5)
    with pytest.raises(ValueError):
        Detections(np.zeros((2, 4), np.float32), np.zeros(3, np.float32), np.zeros(3, np.int64), 1)


def test_build_targets_hand_checked():
    t = build_targets([np.array([[8, 8, 24, 16]], np.float32)], [np.array([1])], num_classes=2, out_size=8)
    heat = t["heat"].numpy()
    # Centre (16, 12) px -> cell (4, 3) at stride 4, offset (0, 0).
    assert heat[0, 1, 3, 4] == 1.0 and heat[0, 0].max() == 0
    assert t["index"][0, 0] == 3 * 8 + 4 and t["mask"][0, 0] == 1
    np.testing.assert_allclose(t["size"][0, 0].numpy(), np.log([4.0, 2.0]), atol=1e-6)
    np.testing.assert_allclose(t["offset"][0, 0].numpy(), [0.0, 0.0], atol=1e-6)
    empty = build_targets([np.zeros((0, 4), np.float32)], [np.zeros(0, np.int64)], 2, 8)
    assert empty["mask"].sum() == 0 and empty["heat"].sum() == 0


@pytest.mark.parametrize(
    "targets",
    [
        [{"boxes": np.zeros((1, 4)), "labels": np.array([3])}],
        [{"boxes": np.zeros((1, 3)), "labels": np.array([0])}],
        [{"boxes": np.array([[5, 5, 1, 1]]), "labels": np.array([0])}],
        [{"boxes": np.array([[0, 0, 1, np.inf]]), "labels": np.array([0])}],
        [{"boxes": np.zeros((2, 4)), "labels": np.array([0])}],
        [{"labels": np.array([0])}],
        [],
    ],
)
def test_detector_fit_rejects_bad_targets(targets, squares_data):
    (x, _), _ = squares_data
    model = create_model("centernet_detector", classes=["a", "b"], input_size=32, width=8, head=16)
    with pytest.raises(ValueError):
        model.fit(x[:1], targets, x[:0], [], config=TrainConfig(num_threads=1, max_epochs=1))


# -- checkpoints and the registry ----------------------------------------------


def test_checkpoint_round_trip_weights_only(tmp_path, trained_detector, squares_data):
    model, _ = trained_detector
    _, (xv, _) = squares_data
    model.detection_threshold = 0.42
    path = tmp_path / "sub" / "det.pt"
    model.save(path)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["model"] == "centernet_detector" and raw["classes"] == ["square"]
    assert raw["input_size"] == 32 and raw["options"]["detection_threshold"] == 0.42
    loaded = load_model(path)
    assert isinstance(loaded, CenterNetDetector) and loaded.detection_threshold == 0.42
    for a, b in zip(model.predict(xv), loaded.predict(xv)):
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(model.embed(xv), loaded.embed(xv))
    model.detection_threshold = 0.3


def test_classifier_checkpoint_round_trip(tmp_path, red_blue_data):
    (x, y), _ = red_blue_data
    model = create_model("cnn_classifier", classes=["r", "b"], input_size=16, width=8, dropout=0.1)
    model.fit(x, y, x[:0], y[:0], config=TrainConfig(num_threads=1, max_epochs=1, batch_size=16))
    model.save(tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.options == {"width": 8, "dropout": 0.1} and loaded.classes == ["r", "b"]
    np.testing.assert_array_equal(model.predict(x).probs, loaded.predict(x).probs)


def test_load_model_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError):
        load_model(bad)
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError):
        load_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    model = create_model("cnn_classifier", classes=["a", "b"], input_size=16, width=8)
    ckpt = model.checkpoint()
    ckpt["model"] = "not_registered"
    torch.save(ckpt, tmp_path / "unknown.pt")
    with pytest.raises(ValueError):
        load_model(tmp_path / "unknown.pt")
    ckpt = model.checkpoint()
    ckpt["options"]["width"] = 16  # weights no longer fit
    torch.save(ckpt, tmp_path / "mismatch.pt")
    with pytest.raises(ValueError):
        load_model(tmp_path / "mismatch.pt")


class MeanColorModel(ImageModel):
    """A tiny custom classifier: nearest class mean colour."""

    task = "classification"

    def __init__(self, *, classes, input_size, temperature: float = 10.0):
        super().__init__(classes=classes, input_size=input_size)
        self.temperature = temperature
        self.means = torch.zeros(len(classes), 3)

    @property
    def options(self):
        return {"temperature": self.temperature}

    def fit(self, train_images, train_targets, val_images, val_targets, *, config, progress=None, warm_start=None):
        colors = torch.from_numpy(train_images.reshape(len(train_images), -1, 3).mean(axis=1) / 255.0).float()
        y = torch.from_numpy(np.asarray(train_targets))
        self.means = torch.stack([colors[y == k].mean(0) for k in range(self.num_classes)])
        return FitResult(epochs_run=1, best_epoch=1, best_val_metric=None, history=[])

    def predict(self, images, *, batch_size=256):
        colors = torch.from_numpy(images.reshape(len(images), -1, 3).mean(axis=1) / 255.0).float()
        d = torch.cdist(colors, self.means)
        return ClassificationOutput(torch.softmax(-d * self.temperature, dim=1).numpy())

    def embed(self, images, *, batch_size=256):
        return (images.reshape(len(images), -1, 3).mean(axis=1) / 255.0).astype(np.float32)

    def get_weights(self):
        return {"means": self.means.clone()}

    def set_weights(self, weights):
        self.means = weights["means"].clone()


def test_register_custom_model_create_save_load(tmp_path):
    register_model("mean_color", MeanColorModel)
    register_model("mean_color", MeanColorModel)  # idempotent
    assert "mean_color" in available_models()
    x, y = red_blue(20)
    model = create_model("mean_color", classes=["red", "blue"], input_size=16, temperature=5.0)
    model.fit(x, y, x[:0], y[:0], config=TrainConfig(num_threads=1))
    np.testing.assert_array_equal(model.predict(x).labels, y)
    model.save(tmp_path / "mc.pt")
    assert read_checkpoint(tmp_path / "mc.pt")["model"] == "mean_color"
    loaded = load_model(tmp_path / "mc.pt")
    assert isinstance(loaded, MeanColorModel) and loaded.temperature == 5.0
    np.testing.assert_array_equal(loaded.predict(x).probs, model.predict(x).probs)


def test_register_model_rejects_bad_registrations():
    class Other(MeanColorModel):
        pass

    with pytest.raises(ValueError):
        register_model("cnn_classifier", Other)  # name taken
    with pytest.raises(ValueError):
        register_model("", Other)
    with pytest.raises(ValueError):
        register_model("x", dict)
    with pytest.raises(ValueError):
        register_model("abstract", ImageModel)
    with pytest.raises(ValueError):
        register_model("renamed", CNNClassifier)  # its own name is cnn_classifier

    class NoTask(MeanColorModel):
        task = "segmentation"

    with pytest.raises(ValueError):
        register_model("no_task", NoTask)
