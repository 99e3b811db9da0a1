"""Detectors side by side: from scratch vs on the pretrained backbone, by number of labels.

Not a test: a script that prints a table (and appends one JSON line per run to ``--out``,
so a long sweep can be split over several processes and printed together with ``--table``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_detectors.py --scenes porch --seeds 0 --out /tmp/det.jsonl
    .venv/bin/python benchmarks/bench_detectors.py --table /tmp/det.jsonl

For each scene kind (porch: 3 classes, 14–40 px parcels; pills: 1 class, up to 20 pills of
6–14 px) at 128 px, and each seed:

* a training pool of ``max(--labels)`` scenes and a validation pool, drawn with the seed;
  ``n`` labels = the first ``n`` pool scenes, validated on the first ``max(16, n // 4)``
  validation scenes (what a project with a 1-in-5 evaluation share would hold);
* one fixed held-out test set of ``--test`` scenes per scene kind (same for every seed);
* the worker's training settings (``TrainConfig`` with ``max_epochs`` 30, patience 5, batch
  ``max(8, min(64, n // 4))``, default learning rate), ``max_epochs`` lowered only above
  200 labels, to fit a shared 2-core machine: ``min(30, 6000 // n)``.

Figures: test mAP@0.5 (COCO-style, :mod:`labelapp.learning.metrics`), epochs run / best
epoch, CPU seconds of ``fit`` and CPU milliseconds of ``predict`` per test image
(``time.process_time``: all threads of this process, so a busy machine does not inflate
them the way it inflates wall time).  Mean ± std over seeds in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labelapp.learning.metrics import detection_report
from labelapp.learning.models import create_model
from labelapp.learning.scenes import PILL_CLASSES, PORCH_CLASSES, make_detection_set, pill_scene, porch_scene
from labelapp.learning.training import TrainConfig, torch_threads

SCENES = {"porch": (porch_scene, PORCH_CLASSES), "pills": (pill_scene, PILL_CLASSES)}
# Seeds of the scene generator, apart from the training seeds so no test scene is in a pool.
_TEST_SEED = 10_000
_VAL_SEED = 20_000


def parse_model(spec: str) -> tuple[str, dict]:
    """``name`` or ``name:key=int,key=int`` -> (name, options)."""
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        options[key] = int(value)
    return name, options


def max_epochs_for(n: int) -> int:
    # The worker's default (30) up to 200 labels; the full-data sets get fewer epochs
    # of more steps each (batch 64), to fit a shared 2-core machine.
    return min(30, 6000 // n)


def run_one(
    scene: str, spec: str, n: int, seed: int, pools: dict, test: tuple, threads: int | None, max_epochs: int | None
) -> dict:
    name, options = parse_model(spec)
    pool_x, pool_t, val_x, val_t = pools[(scene, seed)]
    test_x, test_t = test
    classes = SCENES[scene][1]
    n_val = max(16, n // 4)
    model = create_model(name, classes=classes, input_size=128, **options)
    config = TrainConfig(
        seed=seed,
        max_epochs=max_epochs or max_epochs_for(n),
        patience=5,
        batch_size=max(8, min(64, n // 4)),
        num_threads=threads,
    )
    cpu, wall = time.process_time(), time.perf_counter()
    result = model.fit(pool_x[:n], pool_t[:n], val_x[:n_val], val_t[:n_val], config=config)
    fit_cpu, fit_wall = time.process_time() - cpu, time.perf_counter() - wall
    with torch_threads(threads):
        cpu = time.process_time()
        preds = model.predict(test_x, batch_size=64)
        predict_cpu = time.process_time() - cpu
    report = detection_report(test_t, preds, len(classes))
    return {
        "scene": scene,
        "model": spec,
        "labels": n,
        "seed": seed,
        "val_images": n_val,
        "test_images": len(test_x),
        "map50": float(report["map50"]),
        "map": float(report["map"]),
        "count_mae": float(report["count_mae"]),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "val_map50": result.best_val_metric,
        "fit_cpu_s": fit_cpu,
        "fit_wall_s": fit_wall,
        "predict_cpu_ms_per_image": 1000 * predict_cpu / len(test_x),
        "threads": threads,
        "load": os.getloadavg()[0],
    }


def print_table(rows: list[dict]) -> None:
    groups = defaultdict(list)
    for row in rows:
        groups[(row["scene"], row["labels"], row["model"])].append(row)
    print(
        f"\n{'scene':6} {'labels':>6} {'model':42} {'seeds':>5} {'test mAP@0.5':>14} {'epochs (best)':>14} "
        f"{'fit CPU s':>10} {'predict CPU ms/img':>18}"
    )
    for (scene, labels, model), runs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        maps = np.array([r["map50"] for r in runs])
        spread = f"±{maps.std():.3f}" if len(maps) > 1 else "      "
        epochs = "/".join(f"{r['epochs']}({r['best_epoch']})" for r in sorted(runs, key=lambda r: r["seed"]))
        print(
            f"{scene:6} {labels:>6} {model:42} {len(runs):>5} {maps.mean():>7.3f} {spread} {epochs:>14} "
            f"{np.mean([r['fit_cpu_s'] for r in runs]):>10.0f} "
            f"{np.mean([r['predict_cpu_ms_per_image'] for r in runs]):>18.1f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", default="porch,pills", help="comma-separated: porch, pills")
    parser.add_argument("--labels", default="50,100,200,400", help="comma-separated label budgets (largest = full)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument(
        "--models",
        default="centernet_detector,centernet_mobilenet:finetune_stages=0,centernet_mobilenet:finetune_stages=1",
        help="comma-separated registry names, options after ':' as key=int joined by '+'",
    )
    parser.add_argument("--test", type=int, default=200, help="held-out test scenes per scene kind")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--max-epochs", type=int, default=None, help="override the per-budget epoch cap (smoke runs)")
    parser.add_argument("--out", help="append one JSON line per run to this file")
    parser.add_argument("--table", help="only print the table of a JSON-lines file")
    args = parser.parse_args(argv)
    if args.table:
        print_table([json.loads(line) for line in Path(args.table).read_text().splitlines() if line.strip()])
        return

    scenes = args.scenes.split(",")
    budgets = sorted(int(n) for n in args.labels.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    # Options inside one model spec are joined by '+' on the command line (',' separates models).
    specs = [spec.replace("+", ",") for spec in args.models.split(",")]
    print(
        f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; scenes {scenes}, labels {budgets}, "
        f"seeds {seeds}, models {specs}, test {args.test}",
        flush=True,
    )
    pools, tests = {}, {}
    for scene in scenes:
        draw = SCENES[scene][0]
        tests[scene] = make_detection_set(draw, args.test, seed=_TEST_SEED, size=128)
        for seed in seeds:
            px, pt = make_detection_set(draw, budgets[-1], seed=seed, size=128)
            vx, vt = make_detection_set(draw, max(16, budgets[-1] // 4), seed=_VAL_SEED + seed, size=128)
            pools[(scene, seed)] = (px, pt, vx, vt)
    rows = []
    for seed in seeds:
        for scene in scenes:
            for n in budgets:
                for spec in specs:
                    row = run_one(scene, spec, n, seed, pools, tests[scene], args.threads, args.max_epochs)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    if args.out:
                        with open(args.out, "a") as handle:
                            handle.write(json.dumps(row) + "\n")
    print_table(rows)


if __name__ == "__main__":
    main()
