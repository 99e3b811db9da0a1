"""Learning curves of sampling strategies on pretrained embeddings (issue 12).

Simulated pool-based active learning on image sets that ship inside packages
or are generated (nothing is downloaded):

* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images,
  10 classes) upscaled to 64 px RGB; 1,297 pool, 500 held-out test.
* ``porch``: porch scenes from ``labelapp.learning.scenes`` (64 px) labeled
  with the class covering most of the porch, or "nothing" (4 classes,
  imbalanced); 2,000 pool, 1,000 held-out test.
* ``shapes``: generated 10-class shapes (circle, square, triangle, ... in
  random colours, sizes, positions, on textured backgrounds with noise);
  2,000 pool, 1,000 test.  Not used to pick any constant: a held-out check
  of the rules chosen on the other two.

Strategies (the model is the same softmax head on the embeddings for all
but ``cnn``; the test set is never touched by a strategy):

* ``random``: uniform picks.
* ``cover``: :func:`labelapp.learning.selection.plan_batch` kept in its
  cover phase (TypiClust) at every budget.
* ``margin``: ``plan_batch`` in its uncertainty phase as soon as a head
  exists (margin + k-means diversity + class cap).
* ``default``: ``plan_batch`` as shipped (the labels-per-class switch).
* ``default+prop``: the default's picks, head trained on labels plus
  confident pseudo-labels from label spreading on the kNN graph.
* ``cnn``: today's from-scratch default: ``cnn_classifier`` trained on the
  images, margin + k-means diversity on its embedding, k-means cold start on
  simple image features (``labelapp.learning.strategies.features``).

Printed per set: mean test accuracy per budget (over seeds), labels to reach
95 % of the full-pool accuracy (mean curve), ratio default/random, and
whether the default's mean curve is at or above random's at every budget.

Embeddings come from ``labelapp.learning.backbone.load_backbone()`` when the
weights are installed, else (``--embedding pixels``) from a PCA of the raw
pixels; they are cached in ``var/bench-embeddings/``.

Usage::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_embedding_strategies.py
    .venv/bin/python benchmarks/bench_embedding_strategies.py --sets digits --seeds 2 --quick
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labelapp.learning import selection  # noqa: E402
from labelapp.learning.propagation import confident_pseudo_labels, propagate_labels  # noqa: E402

CACHE = ROOT / "var" / "bench-embeddings"
BUDGETS = [20, 40, 60, 80, 100, 150, 200, 300, 400]
CNN_BUDGETS = [20, 40, 100, 200, 400]
HEAD_STRATEGIES = ["random", "cover", "margin", "default", "default+prop"]

# ----------------------------------------------------------------------------- data


def digits_set() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    small = (d.images * (255.0 / 16.0)).astype(np.uint8)
    big = np.stack([np.asarray(Image.fromarray(im).resize((64, 64), Image.BILINEAR)) for im in small])
    return np.repeat(big[..., None], 3, axis=3), d.target.astype(np.int64), [str(i) for i in range(10)]


def porch_set() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from labelapp.learning import scenes

    images, targets = scenes.make_detection_set(scenes.porch_scene, 3000, 2026, size=64)
    c = len(scenes.PORCH_CLASSES)
    y = np.array([scenes.dominant_class(t["boxes"], t["labels"], c) for t in targets], dtype=np.int64)
    return images, y, list(scenes.PORCH_CLASSES) + ["nothing"]


SHAPES = ["circle", "square", "triangle", "cross", "ring", "bar", "diamond", "star", "crescent", "plus_ring"]


def _shape_mask(kind: int, yy: np.ndarray, xx: np.ndarray, r: float, rng: np.random.Generator) -> np.ndarray:
    d = np.sqrt(xx**2 + yy**2)
    ax, ay = np.abs(xx), np.abs(yy)
    t = r * 0.28
    if kind == 0:
        return d <= r
    if kind == 1:
        return (ax <= r * 0.8) & (ay <= r * 0.8)
    if kind == 2:
        return (yy <= r * 0.7) & (yy >= -r + 2 * ax * 0.9)
    if kind == 3:
        rot = ((np.abs(xx - yy) <= t) | (np.abs(xx + yy) <= t)) & (d <= r)
        return rot
    if kind == 4:
        return (d <= r) & (d >= r * 0.6)
    if kind == 5:
        return (ax <= r) & (ay <= r * 0.3)
    if kind == 6:
        return ax + ay <= r
    if kind == 7:
        ang = np.arctan2(yy, xx)
        return d <= r * (0.55 + 0.45 * np.cos(5 * ang) ** 2)
    if kind == 8:
        return (d <= r) & (np.sqrt((xx - r * 0.45) ** 2 + yy**2) > r * 0.75)
    return ((ax <= t) & (ay <= r)) | ((ay <= t) & (ax <= r)) | ((d <= r) & (d >= r * 0.8))


def shapes_set(n: int = 3000, seed: int = 7) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    size = 64
    yy0, xx0 = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    y = rng.integers(0, len(SHAPES), n)
    for i in range(n):
        # Background: two-colour gradient with a random texture frequency.
        c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        f = rng.uniform(0.05, 0.4)
        wave = 0.5 + 0.5 * np.sin(f * (xx0 * np.cos(rng.uniform(0, np.pi)) + yy0 * np.sin(rng.uniform(0, np.pi))))
        img = c1 * wave[..., None] + c2 * (1 - wave[..., None])
        r = rng.uniform(10, 22)
        cx, cy = rng.uniform(r, size - r, 2)
        ang = rng.uniform(0, 2 * np.pi) if y[i] not in (1, 6) else rng.uniform(-0.3, 0.3)
        xx, yy = xx0 - cx, yy0 - cy
        xr, yr = xx * np.cos(ang) + yy * np.sin(ang), -xx * np.sin(ang) + yy * np.cos(ang)
        mask = _shape_mask(int(y[i]), yr, xr, r, rng)
        colour = rng.uniform(0, 255, 3)
        while np.abs(colour - (c1 + c2) / 2).sum() < 120:
            colour = rng.uniform(0, 255, 3)
        img[mask] = colour
        img += rng.normal(0, 12, img.shape)
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return images, y.astype(np.int64), SHAPES


SETS = {
    "digits": (digits_set, 500),
    "porch": (porch_set, 1000),
    "shapes": (shapes_set, 1000),
}


def load_set(name: str) -> dict:
    make, n_test = SETS[name]
    images, y, names = make()
    # One fixed random test split per set (the strategies never see it).
    perm = np.random.default_rng(12345).permutation(len(y))
    test, pool = perm[:n_test], perm[n_test:]
    return {"name": name, "images": images, "y": y, "names": names, "pool": pool, "test": test}


def embeddings(data: dict, kind: str) -> np.ndarray:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{data['name']}-{kind}.npy"
    if path.exists():
        return np.load(path)
    started = time.perf_counter()
    images = data["images"]
    if kind == "backbone":
        from labelapp.learning.backbone import BackboneUnavailable, load_backbone

        try:
            backbone = load_backbone()
        except BackboneUnavailable as exc:
            raise SystemExit(f"{exc}; run `make install`, or use --embedding pixels") from exc
        emb = backbone.embed(images)
    else:
        gray = images.astype(np.float32).mean(axis=3).reshape(len(images), -1) / 255.0
        gray -= gray.mean(axis=0)
        _, _, vt = np.linalg.svd(gray[:: max(1, len(gray) // 2000)], full_matrices=False)
        emb = gray @ vt[:128].T
        emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    emb = emb.astype(np.float32)
    np.save(path, emb)
    print(
        f"   embedded {len(images)} {data['name']} images ({kind}) in {time.perf_counter() - started:.0f} s -> {path}"
    )
    return emb


# ----------------------------------------------------------------------------- head


class SoftmaxHead:
    """Multinomial logistic regression on standardised embeddings (full-batch Adam, L2).

    The standardisation uses the whole pool's statistics (unlabeled data, allowed).
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray, num_classes: int, l2: float = 1e-3, iters: int = 200):
        self.mean, self.std, self.c, self.l2, self.iters = mean, std, num_classes, l2, iters
        self.w = None

    def _x(self, e: np.ndarray) -> np.ndarray:
        x = ((e - self.mean) / self.std).astype(np.float32)
        return np.concatenate([x, np.ones((len(x), 1), np.float32)], axis=1)

    def fit(self, e: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> SoftmaxHead:
        x = self._x(e)
        sw = np.ones(len(y)) if weights is None else weights
        sw = (sw / sw.sum())[:, None].astype(np.float32)
        w = np.zeros((x.shape[1], self.c), dtype=np.float32)
        m, v = np.zeros_like(w), np.zeros_like(w)
        onehot = np.eye(self.c, dtype=np.float32)[y]
        lr, b1, b2 = 0.015, 0.9, 0.999
        for t in range(1, self.iters + 1):
            p = self._softmax(x @ w)
            g = x.T @ ((p - onehot) * sw) + self.l2 * w
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
        self.w = w
        return self

    @staticmethod
    def _softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict_proba(self, e: np.ndarray) -> np.ndarray:
        return self._softmax(self._x(e) @ self.w)


# ----------------------------------------------------------------------------- runs


def head_run(strategy: str, emb: np.ndarray, data: dict, seed: int, budgets: list[int]) -> dict:
    pool, test, y = data["pool"], data["test"], data["y"]
    c = len(data["names"])
    e_pool, y_pool, e_test, y_test = emb[pool], y[pool], emb[test], y[test]
    mean, std = e_pool.mean(axis=0), e_pool.std(axis=0) + 1e-6
    rng = np.random.default_rng(seed)
    labeled = np.zeros(0, dtype=np.int64)
    head = None
    acc, acc_prop, phases, floods = [], [], [], []
    floor = selection.UNCERTAINTY_FROM_LABELS_PER_CLASS
    for b in budgets:
        need = b - len(labeled)
        unl = np.setdiff1d(np.arange(len(pool)), labeled)
        _base, _, floor_text = strategy.partition("@")  # "default@5": the default with another floor
        if strategy == "random":
            pick = rng.choice(unl, size=need, replace=False)
            phases.append("-")
        else:
            probs = head.predict_proba(e_pool[unl]) if head is not None and strategy != "cover" else None
            selection.UNCERTAINTY_FROM_LABELS_PER_CLASS = (
                0.0 if strategy == "margin" else float(floor_text) if floor_text else floor
            )
            try:
                plan = selection.plan_batch(
                    e_pool[unl], e_pool[labeled], y_pool[labeled], probs, need, rng, num_classes=c
                )
            finally:
                selection.UNCERTAINTY_FROM_LABELS_PER_CLASS = floor
            pick = unl[plan.order]
            phases.append(plan.phase[0])
        floods.append(np.bincount(y_pool[pick], minlength=c).max() / len(pick))
        labeled = np.concatenate([labeled, pick])
        head = SoftmaxHead(mean, std, c).fit(e_pool[labeled], y_pool[labeled])
        acc.append(float(np.mean(head.predict_proba(e_test).argmax(1) == y_test)))
        if strategy.endswith("+prop"):
            acc_prop.append(prop_accuracy(e_pool, y_pool, labeled, e_test, y_test, mean, std, c, rng))
    return {"acc": acc_prop if strategy.endswith("+prop") else acc, "phases": phases, "flood": floods}


def prop_accuracy(e_pool, y_pool, labeled, e_test, y_test, mean, std, c, rng, min_certainty=0.5) -> float:
    unl = np.setdiff1d(np.arange(len(e_pool)), labeled)
    prop = propagate_labels(e_pool[unl], e_pool[labeled], y_pool[labeled], rng, num_classes=c)
    idx, cls, w = confident_pseudo_labels(prop, min_certainty=min_certainty, max_per_class=max(len(labeled), 20))
    e = np.concatenate([e_pool[labeled], e_pool[unl[idx]]])
    yy = np.concatenate([y_pool[labeled], cls])
    ww = np.concatenate([np.ones(len(labeled)), w])
    head = SoftmaxHead(mean, std, c).fit(e, yy, ww)
    return float(np.mean(head.predict_proba(e_test).argmax(1) == y_test))


def full_accuracy(emb: np.ndarray, data: dict) -> float:
    pool, test, y = data["pool"], data["test"], data["y"]
    e_pool = emb[pool]
    head = SoftmaxHead(e_pool.mean(0), e_pool.std(0) + 1e-6, len(data["names"])).fit(e_pool, y[pool])
    return float(np.mean(head.predict_proba(emb[test]).argmax(1) == y[test]))


def cnn_run(data: dict, seed: int, budgets: list[int], epochs: int) -> dict:
    from labelapp.learning.models import create_model
    from labelapp.learning.strategies import features, selection, uncertainty
    from labelapp.learning.training import TrainConfig

    images, y, pool, test = data["images"], data["y"], data["pool"], data["test"]
    x_pool, y_pool = images[pool], y[pool]
    rng = np.random.default_rng(seed)
    labeled = np.zeros(0, dtype=np.int64)
    model = None
    acc = []
    empty_x = np.zeros((0, 64, 64, 3), np.uint8)
    for b in budgets:
        need = b - len(labeled)
        unl = np.setdiff1d(np.arange(len(pool)), labeled)
        if model is None:
            pick = unl[selection.cold_start(features.simple_image_features(x_pool[unl]), need, rng)]
        else:
            probs = model.predict(x_pool[unl]).probs
            feats = model.embed(x_pool[unl])
            pick = unl[selection.select_diverse(uncertainty.margin(probs), feats, need, rng, method="kmeans")]
        labeled = np.concatenate([labeled, pick])
        model = create_model("cnn_classifier", classes=data["names"], input_size=64)
        model.fit(
            x_pool[labeled],
            y_pool[labeled],
            empty_x,
            np.zeros(0, np.int64),
            config=TrainConfig(
                seed=seed, max_epochs=epochs, batch_size=min(32, max(8, len(labeled) // 4)), num_threads=1
            ),
        )
        acc.append(float(np.mean(model.predict(images[test]).labels == y[test])))
        print(f"      cnn seed {seed} {b} labels: {acc[-1]:.3f}", flush=True)
    return {"acc": acc}


def cached_run(key: dict, compute) -> dict:
    """Results of one (set, strategy, seed) run, cached on disk.

    The key holds everything the run depends on, including a digest of the
    learning modules involved, so a code change never reuses a stale result.
    """
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = CACHE / "runs" / f"{key['set']}-{key['strategy']}-{key['seed']}-{digest}.json"
    if path.exists():
        return json.loads(path.read_text())
    if CACHED_ONLY:
        return None
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def code_digest(*modules: str) -> str:
    import hashlib

    h = hashlib.sha256(RESULTS_VERSION.encode())
    for m in modules:
        h.update((ROOT / m).read_bytes())
    return h.hexdigest()[:16]


CACHED_ONLY = False
# Bump when the simulation itself (head, budgets handling, data) changes.
RESULTS_VERSION = "2"
STRATEGY_CODE = tuple(
    f"labelapp/learning/strategies/{m}.py"
    for m in ("features", "registry", "selection", "uncertainty", "validation", "weighting")
)
HEAD_CODE = (
    "labelapp/learning/selection.py",
    "labelapp/learning/coverage.py",
    "labelapp/learning/propagation.py",
    *STRATEGY_CODE,
)
CNN_CODE = (*STRATEGY_CODE, "labelapp/learning/models/cnn.py", "labelapp/learning/training.py")

# ----------------------------------------------------------------------------- report


def labels_to_reach(curve: np.ndarray, budgets: list[int], target: float) -> int | None:
    hit = np.flatnonzero(curve >= target)
    return budgets[hit[0]] if len(hit) else None


def fmt_labels(n: int | None, budgets: list[int]) -> str:
    return f">{budgets[-1]}" if n is None else str(n)


def report(name: str, n_classes: int, full: float, curves: dict, budgets: list[int], extra: dict) -> None:
    target = 0.95 * full
    print(f"\n== {name}: full-pool accuracy {full:.3f}, target 95 % = {target:.3f}")
    print("   strategy        " + " ".join(f"{b:>6d}" for b in budgets) + "   labels@95%")
    reach = {}
    for s, runs in curves.items():
        bs = extra.get(s, {}).get("budgets", budgets)
        mean = np.mean([r["acc"] for r in runs], axis=0)
        reach[s] = labels_to_reach(mean, bs, target)
        cells = {b: f"{a:6.3f}" for b, a in zip(bs, mean)}
        print(
            f"   {s:<15s} "
            + " ".join(cells.get(b, "     -") for b in budgets)
            + f"   {fmt_labels(reach[s], bs):>6s}   ({len(runs)} seeds)"
        )
    for s, runs in curves.items():
        if "phases" in runs[0]:
            print(
                f"   {s:<15s} phases {''.join(runs[0]['phases'])}; largest one-class share of a batch "
                f"(mean over batches, seeds) {np.mean([r['flood'] for r in runs]):.2f}, worst {np.max([r['flood'] for r in runs]):.2f}"
            )
    if "cover" in curves and "margin" in curves:
        cov = np.mean([r["acc"] for r in curves["cover"]], axis=0)
        mar = np.mean([r["acc"] for r in curves["margin"]], axis=0)
        ahead = mar >= cov
        # First budget from which margin stays at or above cover.
        cross = next((i for i in range(len(budgets)) if ahead[i:].all()), None)
        print("   margin - cover: " + " ".join(f"{x:+.3f}" for x in mar - cov))
        if cross is None:
            print("   crossover: margin never stays ahead of cover")
        else:
            print(
                f"   crossover: margin >= cover from {budgets[cross]} labels = {budgets[cross] / n_classes:.0f} labels per class"
            )
    if "default" in curves and "random" in curves:
        d = np.mean([r["acc"] for r in curves["default"]], axis=0)
        r = np.mean([r["acc"] for r in curves["random"]], axis=0)
        rd, rr = reach["default"], reach["random"]
        if rd is not None and rr is not None:
            ratio = f"{rd / rr:.2f}"
        elif rd is not None:
            ratio = f"< {rd / budgets[-1]:.2f} (random did not reach the target)"
        else:
            ratio = "n/a (default did not reach the target)"
        worst = np.argmin(d - r)
        print(
            f"   labels to 95 %: default {fmt_labels(rd, budgets)}, random {fmt_labels(rr, budgets)}; ratio default/random {ratio}"
        )
        print(
            f"   default >= random at every budget from {budgets[0]}: {bool(np.all(d >= r - 1e-9))} "
            f"(smallest difference {d[worst] - r[worst]:+.3f} at {budgets[worst]} labels)"
        )


def scale_check(n: int, dim: int = 1280, classes: int = 10, k: int = 20) -> None:
    """Time plan_batch on an N x 1280 float16 pool (clustered random vectors) in both phases."""
    import resource

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, dim)).astype(np.float32)
    pool = np.empty((n, dim), dtype=np.float16)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        block = centres[rng.integers(50, size=m)] + rng.normal(0, 0.7, (m, dim)).astype(np.float32)
        pool[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    # Cover phase at its most expensive (480 labels + k = 500 clusters, no model yet),
    # then the uncertainty phase.
    for labels, with_model in ((480, False), (2000, True)):
        lab = pool[:labels].astype(np.float32)
        lab_y = rng.integers(classes, size=labels)
        probs = None
        if with_model:
            logits = rng.normal(size=(n, classes))
            probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        started, cpu = time.perf_counter(), time.process_time()
        plan = selection.plan_batch(pool, lab, lab_y, probs, k, rng, num_classes=classes)
        print(
            f"   plan_batch N={n:,} D={dim} float16, {labels} labels, k={k}: phase {plan.phase}, "
            f"{time.perf_counter() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU; "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="digits,porch,shapes")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--strategies", default=",".join(HEAD_STRATEGIES))
    parser.add_argument("--embedding", choices=["backbone", "pixels"], default="backbone")
    parser.add_argument("--cnn-seeds", type=int, default=0, help="seeds for the from-scratch CNN (slow)")
    parser.add_argument("--cnn-epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="budgets 20, 60, 100, 200")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="report the runs already cached (up to --seeds per strategy), compute nothing new",
    )
    parser.add_argument("--scale", type=int, default=0, help="only time plan_batch on a pool of this many rows")
    args = parser.parse_args(argv)
    global CACHED_ONLY
    CACHED_ONLY = args.cached_only
    if args.scale:
        scale_check(args.scale)
        return
    budgets = [20, 60, 100, 200] if args.quick else BUDGETS
    cnn_budgets = [b for b in CNN_BUDGETS if b <= budgets[-1]]
    print(f"switch rule: uncertainty from {selection.UNCERTAINTY_FROM_LABELS_PER_CLASS} labels per class")
    for name in args.sets.split(","):
        started = time.perf_counter()
        data = load_set(name)
        if args.strategies:
            emb = embeddings(data, args.embedding)
            full = cached_run(
                {"set": name, "strategy": "full", "seed": 0, "embedding": args.embedding, "code": RESULTS_VERSION},
                lambda emb=emb, data=data: {"acc": full_accuracy(emb, data)},
            )
            if full is None:
                print(f"   {name}: nothing cached yet")
                continue
            full = full["acc"]
            print(f"   {name}: full-pool accuracy of the head {full:.3f}", flush=True)
        else:  # the CNN alone: no embedding needed, no target to compare with
            emb, full = None, float("nan")
        extra = {}
        head_code = code_digest(*HEAD_CODE)
        names = args.strategies.split(",") if args.strategies else []
        curves = {s: [] for s in names}
        # Seeds outermost: an interrupted run still has every strategy on the same seeds.
        for seed in range(args.seeds):
            for s in names:
                curves[s].append(
                    cached_run(
                        {
                            "set": name,
                            "strategy": s,
                            "seed": seed,
                            "budgets": budgets,
                            "embedding": args.embedding,
                            "floor": selection.UNCERTAINTY_FROM_LABELS_PER_CLASS,
                            "code": RESULTS_VERSION if s == "random" else head_code,
                        },
                        lambda s=s, seed=seed, emb=emb, data=data: head_run(s, emb, data, seed, budgets),
                    )
                )
        if args.cnn_seeds:
            cnn_code = code_digest(*CNN_CODE)
            curves["cnn"] = [
                cached_run(
                    {
                        "set": name,
                        "strategy": "cnn",
                        "seed": seed,
                        "budgets": cnn_budgets,
                        "epochs": args.cnn_epochs,
                        "code": cnn_code,
                    },
                    lambda seed=seed, data=data: cnn_run(data, seed, cnn_budgets, args.cnn_epochs),
                )
                for seed in range(args.cnn_seeds)
            ]
            extra["cnn"] = {"budgets": cnn_budgets}
        curves = {s: [r for r in runs if r is not None] for s, runs in curves.items()}
        curves = {s: runs for s, runs in curves.items() if runs}
        counts = np.bincount(data["y"][data["pool"]], minlength=len(data["names"]))
        report(
            f"{name} ({len(data['pool'])} pool, {len(data['test'])} test, {len(data['names'])} classes, "
            f"class counts {counts.tolist()}, {args.embedding} embedding)",
            len(data["names"]),
            full,
            curves,
            budgets,
            extra,
        )
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
