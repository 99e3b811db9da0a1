"""Suspected label errors: corrupt a labeled set on purpose, then see whether the suspects are
the corruptions.

Classification: scikit-learn's handwritten digits (1,797 images, 8×8, 10 classes); 5 % of the
labels of a 1,500-image pool are flipped to another class at random. Suspicion comes from
labelapp.learning.label_quality.classification_suspects (cleanlab confident learning on
5-fold out-of-fold probabilities of a logistic regression, plus 8-NN disagreement), with the
standardised pixels as the vectors. Reported: precision and recall of the top-k suspects for
k = the number of flips, and the held-out accuracy of a model trained on the noisy labels vs.
on the labels with the top-k suspects fixed by a (perfect) reviewer.

Classification on the product's path (``--embedding-sets``): the same 5 % flips on the pool
of an image set from bench_embedding_strategies (digits upscaled to 64 px, porch, shapes), with
the MobileNetV2 backbone embeddings the product computes at ingest as the vectors, and the
product's head (a softmax on standardised embeddings) for the accuracy before and after fixing.

Detection: porch scenes (or pill scenes, --det-kind pills) from labelapp.learning.scenes;
5 % of all boxes are corrupted (a third dropped, a third shifted by half their size, a third
relabeled; pills, with one class, alternate drop and shift). The detector (the product's
default, centernet_mobilenet, unless --det-model) is trained out of fold (2 folds: each half
is scored by a model trained on the other half) and detection_suspects scores each image at
the project's default detection threshold. Reported: precision and recall of the top-k images
for k = the number of corrupted images.

Usage::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_label_errors.py                 # both, ~5 min
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_label_errors.py --skip-detection
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_label_errors.py --skip-detection --embedding-sets digits porch shapes
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from labelapp.learning.label_quality import classification_suspects, detection_suspects, out_of_fold_probs


def precision_recall_at_k(scores: np.ndarray, corrupted: np.ndarray) -> tuple[float, float, int]:
    k = int(corrupted.sum())
    top = np.argsort(-scores, kind="stable")[:k]
    hits = int(corrupted[top].sum())
    return hits / k, hits / k, k  # k = number of corruptions, so precision = recall


def flip_and_find(
    pool_v: np.ndarray,
    pool_y: np.ndarray,
    class_names: list[str],
    rng: np.random.Generator,
    seed: int,
    accuracy: Callable[[np.ndarray], float],
) -> dict:
    """Flip 5 % of the labels, rank the suspects as labelapp.review.quality does, and let a
    perfect reviewer fix the top k; ``accuracy(labels)`` is a held-out score of a model
    trained on those labels."""
    n_classes = len(class_names)
    noisy = pool_y.copy()
    flipped = rng.choice(len(noisy), size=int(round(0.05 * len(noisy))), replace=False)
    noisy[flipped] = (noisy[flipped] + rng.integers(1, n_classes, len(flipped))) % n_classes
    corrupted = noisy != pool_y

    start = time.perf_counter()
    probs = out_of_fold_probs(pool_v, noisy, n_classes, random_state=seed)
    suspects = classification_suspects(noisy, probs, pool_v, class_names)
    elapsed = time.perf_counter() - start
    scores = np.array([s.score for s in suspects])
    precision, recall, k = precision_recall_at_k(scores, corrupted)
    fixed = noisy.copy()
    top = np.argsort(-scores, kind="stable")[:k]
    fixed[top] = pool_y[top]  # the reviewer corrects what is flagged
    return {
        "k": k,
        "precision": precision,
        "recall": recall,
        "seconds": elapsed,
        "acc_noisy": accuracy(noisy),
        "acc_fixed": accuracy(fixed),
        "acc_clean": accuracy(pool_y),
        "example": next(s.reason for s, c in zip(suspects, corrupted) if c and s.reason),
    }


def bench_classification(seed: int) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    digits = load_digits()
    order = rng.permutation(len(digits.target))
    x, y = digits.data[order], digits.target[order]
    pool_x, pool_y, test_x, test_y = x[:1500], y[:1500], x[1500:], y[1500:]
    scaler = StandardScaler().fit(pool_x)
    pool_v, test_v = scaler.transform(pool_x), scaler.transform(test_x)

    def accuracy(labels):
        model = LogisticRegression(max_iter=2000).fit(pool_v, labels)
        return float((model.predict(test_v) == test_y).mean())

    return flip_and_find(pool_v, pool_y, [str(d) for d in range(10)], rng, seed, accuracy)


def bench_embedding_set(name: str, seed: int, pool_size: int = 1500) -> dict:
    """The same on a set's backbone embeddings, as labelapp.review.quality reads them for a
    classification project."""
    from bench_embedding_strategies import SoftmaxHead, embeddings, load_set

    data = load_set(name)
    emb = embeddings(data, "backbone")
    rng = np.random.default_rng(seed)
    pool = rng.permutation(data["pool"])[:pool_size]
    pool_v, pool_y = emb[pool], data["y"][pool]
    test_v, test_y = emb[data["test"]], data["y"][data["test"]]
    mean, std = emb[data["pool"]].mean(axis=0), emb[data["pool"]].std(axis=0) + 1e-6

    def accuracy(labels):
        head = SoftmaxHead(mean, std, len(data["names"])).fit(pool_v, labels)
        return float((head.predict_proba(test_v).argmax(axis=1) == test_y).mean())

    return flip_and_find(pool_v, pool_y, data["names"], rng, seed, accuracy)


def corrupt_boxes(targets: list[dict], rng: np.random.Generator, share: float, num_classes: int, size: int):
    """Drop, shift or relabel `share` of all boxes; returns the corrupted targets and a mask of
    the images that hold at least one corruption."""
    flat = [(i, j) for i, t in enumerate(targets) for j in range(len(t["labels"]))]
    chosen = rng.choice(len(flat), size=max(1, int(round(share * len(flat)))), replace=False)
    out = [{"boxes": t["boxes"].copy(), "labels": t["labels"].copy()} for t in targets]
    drops: dict[int, list[int]] = {}
    corrupted = np.zeros(len(targets), dtype=bool)
    for n, index in enumerate(chosen):
        i, j = flat[index]
        corrupted[i] = True
        kind = n % (3 if num_classes > 1 else 2)  # one class: nothing to relabel to
        if kind == 0:
            drops.setdefault(i, []).append(j)
        elif kind == 1:
            x1, y1, x2, y2 = out[i]["boxes"][j]
            dx, dy = (x2 - x1) / 2, (y2 - y1) / 2
            out[i]["boxes"][j] = np.clip([x1 + dx, y1 + dy, x2 + dx, y2 + dy], 0, size)
        else:
            out[i]["labels"][j] = (out[i]["labels"][j] + rng.integers(1, num_classes)) % num_classes
    for i, js in drops.items():
        keep = np.setdiff1d(np.arange(len(out[i]["labels"])), js)
        out[i] = {"boxes": out[i]["boxes"][keep], "labels": out[i]["labels"][keep]}
    return out, corrupted


def bench_detection(
    seed: int,
    images: int,
    epochs: int,
    cache_dir: str | None = None,
    model_name: str = "centernet_mobilenet",
    kind: str = "porch",
    measure_gain: bool = False,
) -> dict:
    from labelapp.learning import scenes
    from labelapp.learning.models import create_model
    from labelapp.learning.training import TrainConfig

    classes, scene = {
        "porch": (scenes.PORCH_CLASSES, scenes.porch_scene),
        "pills": (scenes.PILL_CLASSES, scenes.pill_scene),
    }[kind]
    rng = np.random.default_rng(seed)
    size = 128
    x, targets = scenes.make_detection_set(scene, images, seed=seed, size=size)
    noisy, corrupted = corrupt_boxes(targets, rng, 0.05, len(classes), size)
    folds = rng.permutation(images) % 2
    predictions: list[dict | None] = [None] * images
    start = time.perf_counter()
    name = model_name if kind == "porch" else f"{kind}-{model_name}"
    cache = Path(cache_dir) / f"det-{name}-{seed}-{images}-{epochs}.npz" if cache_dir else None
    if cache is not None and cache.exists():
        stored = np.load(cache, allow_pickle=True)["predictions"]
        predictions = list(stored)
    for fold in () if predictions[0] is not None else (0, 1):
        train = np.flatnonzero(folds != fold)
        held_out = np.flatnonzero(folds == fold)
        model = create_model(model_name, classes=classes, input_size=size)
        model.fit(
            x[train],
            [noisy[i] for i in train],
            np.empty((0, size, size, 3), np.uint8),
            [],
            config=TrainConfig(seed=seed + fold, max_epochs=epochs, patience=5, batch_size=32),
        )
        for i, out in zip(held_out, model.predict(x[held_out])):
            predictions[i] = {"boxes": out.boxes, "labels": out.labels, "scores": out.scores}
    if cache is not None and not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, predictions=np.array(predictions, dtype=object))
    # The project's default detection threshold (0.3) decides what counts as a reported box.
    suspects = detection_suspects(noisy, predictions, classes, confident=0.3)
    elapsed = time.perf_counter() - start
    scores = np.array([s.score for s in suspects])
    precision, recall, k = precision_recall_at_k(scores, corrupted)
    gain = {}
    if measure_gain:
        from labelapp.learning.metrics import detection_report

        test_x, test_targets = scenes.make_detection_set(scene, images // 2, seed=seed + 10_000, size=size)
        fixed = list(noisy)
        for i in np.argsort(-scores, kind="stable")[:k]:
            fixed[i] = targets[i]  # a perfect reviewer restores what is flagged

        def test_map50(labels):
            model = create_model(model_name, classes=classes, input_size=size)
            model.fit(x, labels, x[:0], [], config=TrainConfig(seed=seed, max_epochs=epochs, patience=5, batch_size=32))
            return detection_report(test_targets, model.predict(test_x), len(classes))["map50"]

        gain = {"map_noisy": test_map50(noisy), "map_fixed": test_map50(fixed), "map_clean": test_map50(targets)}
    return {
        **gain,
        "k": k,
        "boxes": int(sum(len(t["labels"]) for t in targets)),
        "precision": precision,
        "recall": recall,
        "seconds": elapsed,
        "example": next((s.reason for s, c in zip(suspects, corrupted) if c and s.reason), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--det-images", type=int, default=300)
    parser.add_argument("--det-kind", choices=["porch", "pills"], default="porch")
    parser.add_argument(
        "--det-gain",
        action="store_true",
        help="Also train on the noisy, the top-k-fixed and the clean boxes and report test mAP@0.5 (3 more trainings).",
    )
    parser.add_argument("--det-epochs", type=int, default=15)
    parser.add_argument(
        "--det-model",
        default="centernet_mobilenet",
        help="The detector trained out of fold (the product's default: centernet_mobilenet).",
    )
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument(
        "--embedding-sets",
        nargs="*",
        default=[],
        choices=["digits", "porch", "shapes"],
        help="Also measure classification on these sets' backbone embeddings (the product's path).",
    )
    parser.add_argument("--skip-classification", action="store_true")
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="Keep the out-of-fold detector outputs here, so scoring can be re-run without training.",
    )
    args = parser.parse_args()

    if not args.skip_classification:
        print("classification: digits, 1,500-image pool, 5 % of labels flipped")
        print(
            f"{'seed':>4} {'k':>4} {'precision@k':>12} {'recall@k':>9} {'acc noisy':>10} {'acc fixed':>10} {'acc clean':>10} {'s':>6}"
        )
        for seed in args.seeds:
            r = bench_classification(seed)
            print(
                f"{seed:>4} {r['k']:>4} {r['precision']:>12.3f} {r['recall']:>9.3f} {r['acc_noisy']:>10.3f} "
                f"{r['acc_fixed']:>10.3f} {r['acc_clean']:>10.3f} {r['seconds']:>6.1f}"
            )
        print(f"  e.g. {r['example']}")
    for name in args.embedding_sets:
        print(f"\nclassification: {name}, backbone embeddings, 1,500-image pool, 5 % of labels flipped")
        print(
            f"{'seed':>4} {'k':>4} {'precision@k':>12} {'recall@k':>9} {'acc noisy':>10} {'acc fixed':>10} {'acc clean':>10} {'s':>6}"
        )
        for seed in args.seeds:
            r = bench_embedding_set(name, seed)
            print(
                f"{seed:>4} {r['k']:>4} {r['precision']:>12.3f} {r['recall']:>9.3f} {r['acc_noisy']:>10.3f} "
                f"{r['acc_fixed']:>10.3f} {r['acc_clean']:>10.3f} {r['seconds']:>6.1f}"
            )
        print(f"  e.g. {r['example']}")
    if args.skip_detection:
        return
    print(
        f"\ndetection: {args.det_kind} scenes, {args.det_images} images, 5 % of boxes dropped/shifted/relabeled, "
        f"2-fold out-of-fold {args.det_model} ({args.det_epochs} epochs)"
    )
    print(f"{'seed':>4} {'boxes':>6} {'k imgs':>7} {'precision@k':>12} {'recall@k':>9} {'s':>7}")
    for seed in args.seeds:
        r = bench_detection(
            seed, args.det_images, args.det_epochs, args.cache_dir, args.det_model, args.det_kind, args.det_gain
        )
        print(f"{seed:>4} {r['boxes']:>6} {r['k']:>7} {r['precision']:>12.3f} {r['recall']:>9.3f} {r['seconds']:>7.1f}")
        if args.det_gain:
            print(
                f"     test mAP@0.5 trained on noisy {r['map_noisy']:.3f}, top-k fixed {r['map_fixed']:.3f}, "
                f"clean {r['map_clean']:.3f}"
            )
    print(f"  e.g. {r['example']}")


if __name__ == "__main__":
    main()
