"""Train the built-in models on synthetic porch scenes and print the figures.

Not a test: a script whose output goes side by side with other benchmarks.

    .venv/bin/python benchmarks/bench_models.py            # defaults below
    .venv/bin/python benchmarks/bench_models.py --scenes 600 --det-epochs 4   # quick look

Detector: ``centernet_detector`` at 128 px on porch scenes (3 classes),
train/val/test = 2/3 : 1/6 : 1/6 of ``--scenes``; early stopping on val mAP@0.5.
Classifier: ``cnn_classifier`` at 64 px on the same kind of scenes, labeled
with their dominant class (largest total box area) or ``nothing``.

Figures: epochs run, seconds per epoch, val/test mAP@0.5 (COCO-style, from
``labelapp.learning.metrics``), counting error, forward images/s at batch 256.
Seconds depend on what else the machine runs; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labelapp.learning.data import prepare
from labelapp.learning.metrics import detection_report
from labelapp.learning.models import create_model
from labelapp.learning.scenes import (
    PORCH_CLASSES,
    dominant_class,
    make_detection_set,
    porch_scene,
)
from labelapp.learning.training import TrainConfig, torch_threads


def forward_rate(model, images: np.ndarray, batch_size: int = 256, repeats: int = 2) -> float:
    """Images per second of ``predict`` at ``batch_size`` (after one warm-up batch)."""
    batch = images[:batch_size]
    if len(batch) < batch_size:  # tile up to a full batch
        batch = np.concatenate([batch] * (batch_size // max(1, len(batch)) + 1))[:batch_size]
    model.predict(batch[:8])
    started = time.perf_counter()
    for _ in range(repeats):
        model.predict(batch, batch_size=batch_size)
    return repeats * batch_size / (time.perf_counter() - started)


def split(n: int) -> tuple[slice, slice, slice]:
    n_train = n * 2 // 3
    n_val = (n - n_train) // 2
    return slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)


def print_epoch(report) -> None:
    metric = "-" if report.val_metric is None else f"{report.val_metric:.3f}"
    print(
        f"    epoch {report.epoch:2d}/{report.epochs_max}  loss {report.loss:.4f}  "
        f"val {report.metric_name} {metric}  {report.seconds:.1f} s",
        flush=True,
    )


def bench_detector(images, targets, args) -> None:
    tr, va, te = split(len(images))
    model = create_model("centernet_detector", classes=PORCH_CLASSES, input_size=128)
    config = TrainConfig(
        seed=args.seed,
        max_epochs=args.det_epochs,
        patience=args.patience,
        batch_size=64,
        lr=args.det_lr,
        num_threads=args.threads,
    )
    print(
        f"\n== centernet_detector, 128 px, {len(images[tr])}/{len(images[va])}/{len(images[te])} train/val/test porch scenes"
    )
    print(f"   {config}")
    started = time.perf_counter()
    result = model.fit(images[tr], targets[tr], images[va], targets[va], config=config, progress=print_epoch)
    seconds = time.perf_counter() - started
    with torch_threads(args.threads):
        val = detection_report(targets[va], model.predict(images[va]), len(PORCH_CLASSES))
        test = detection_report(targets[te], model.predict(images[te]), len(PORCH_CLASSES))
        rate = forward_rate(model, images[te])
    print(f"   epochs run           {result.epochs_run} (best {result.best_epoch})")
    print(f"   training             {seconds:.0f} s, {seconds / result.epochs_run:.1f} s/epoch")
    print(f"   val  mAP@0.5         {val['map50']:.3f}   per class {np.round(val['ap50'], 3).tolist()}")
    print(f"   test mAP@0.5         {test['map50']:.3f}   per class {np.round(test['ap50'], 3).tolist()}")
    print(f"   test mAP@[.5:.95]    {test['map']:.3f}")
    print(
        f"   test count MAE       {test['count_mae']:.3f}  exact count {test['exact_count_rate']:.3f} (threshold {model.detection_threshold})"
    )
    print(f"   forward, batch 256   {rate:.0f} images/s")


def bench_classifier(images, targets, args) -> None:
    names = PORCH_CLASSES + ["nothing"]
    x = np.stack([prepare(img, 64, "classification")[0] for img in images])
    y = np.array([dominant_class(t["boxes"], t["labels"], len(PORCH_CLASSES)) for t in targets], dtype=np.int64)
    tr, va, te = split(len(x))
    model = create_model("cnn_classifier", classes=names, input_size=64)
    config = TrainConfig(
        seed=args.seed,
        max_epochs=args.cls_epochs,
        patience=args.patience,
        batch_size=64,
        lr=args.cls_lr,
        num_threads=args.threads,
    )
    prior = np.bincount(y[tr], minlength=len(names)) / len(y[tr])
    print(
        f"\n== cnn_classifier, 64 px, dominant porch class {names}, {len(x[tr])}/{len(x[va])}/{len(x[te])} train/val/test"
    )
    print(f"   class frequencies (train) {np.round(prior, 3).tolist()}; majority baseline {prior.max():.3f}")
    print(f"   {config}")
    started = time.perf_counter()
    result = model.fit(x[tr], y[tr], x[va], y[va], config=config, progress=print_epoch)
    seconds = time.perf_counter() - started
    with torch_threads(args.threads):
        test_acc = float(np.mean(model.predict(x[te]).labels == y[te]))
        rate = forward_rate(model, x[te])
    print(f"   epochs run           {result.epochs_run} (best {result.best_epoch})")
    print(f"   training             {seconds:.0f} s, {seconds / result.epochs_run:.1f} s/epoch")
    print(f"   val accuracy         {result.best_val_metric:.3f}")
    print(f"   test accuracy        {test_acc:.3f}")
    print(f"   forward, batch 256   {rate:.0f} images/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--det-epochs", type=int, default=12)
    parser.add_argument("--det-lr", type=float, default=4e-3)
    parser.add_argument("--cls-epochs", type=int, default=20)
    parser.add_argument("--cls-lr", type=float, default=4e-3)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--skip-classifier", action="store_true")
    parser.add_argument("--skip-detector", action="store_true")
    args = parser.parse_args(argv)

    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    started = time.perf_counter()
    images, targets = make_detection_set(porch_scene, args.scenes, seed=args.seed + 1, size=128)
    print(
        f"generated {len(images)} porch scenes in {time.perf_counter() - started:.1f} s "
        f"({sum(len(t['labels']) for t in targets)} objects)"
    )
    if not args.skip_detector:
        bench_detector(images, targets, args)
    if not args.skip_classifier:
        bench_classifier(images, targets, args)
    print(f"\nload average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
