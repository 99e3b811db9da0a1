"""Active vs random on the whole loop: labels spent to reach 95 % of the full-data mAP@0.5.

A benchmark that prints figures, not a test. In a temporary folder (SQLite database,
media, var, broker: see bench_rescore.temp_environment) it creates a fresh demo project
(porch scenes, or pills with `--kind pills`), starts one real Celery worker process, and runs `labelapp.demo.simulation.simulate`
twice on copies of it: the project's active strategy, then `random`. Every training and
rescore runs on the worker, exactly as with `manage.py simulate`.

The full-data reference is one more copy on which every kept-truth image is labeled (free),
trained once on the worker, from scratch, for up to `--full-epochs` (early stopping ends it
sooner). It gets more epochs than a loop retrain because loop retrains warm-start from the
previous version and so accumulate epochs: with the loop's own max_epochs the reference
is undertrained and "95 % of it" comes too cheap.

All model versions are then evaluated here (inference only) on ONE fixed held-out set: the
images whose content hash puts them in the test split. (The curves stored by `simulate`
use each project's own labeled test images, which differ between the two runs; they are
printed too.) "Labels to 95 %" is the first point of a curve whose fixed-set mAP@0.5
reaches 95 % of the full-data model's.

Usage::

    .venv/bin/python benchmarks/bench_loop.py --images 300 --free 30 --credits 60 --retrain-every 15 --max-epochs 5
    .venv/bin/python benchmarks/bench_loop.py           # the defaults below: about 10 minutes on 2 idle cores
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rescore import Worker, temp_environment


def full_data_copy(source):
    """A copy of `source` with every kept-truth image labeled (free)."""
    from labelapp.demo.simulation import project_copy
    from labelapp.images.models import Image, KeptTruth, Status
    from labelapp.labeling.models import AnnotationKind
    from labelapp.labeling.services import image_label

    copy = project_copy(source=source, name=f"{source.name} · full data")
    truths = {t.image_id: t for t in KeptTruth.objects.filter(image__project=copy)}
    for image in Image.objects.filter(project=copy, status=Status.UNLABELED):
        truth = truths.get(image.pk)
        if truth is None:
            continue
        # Not announced: the benchmark starts its trainings itself.
        image_label(project=copy, image=image, kind=AnnotationKind.IMPORTED, boxes=truth.boxes, announce=False)
    return copy


def held_out_set(source):
    """Images of `source` whose hash puts them in the test split, with their true boxes."""
    from labelapp.images.models import Image, Split
    from labelapp.images.splits import split_for
    from labelapp.training import engine

    config = source.config
    images = [
        image
        for image in Image.objects.filter(project=source).select_related("kept_truth").order_by("id")
        if split_for(sha256=image.sha256, val_fraction=config["val_fraction"], test_fraction=config["test_fraction"])
        == Split.TEST
    ]
    classes = list(source.label_classes.order_by("id"))
    class_index = {c.pk: i for i, c in enumerate(classes)}
    size = engine.input_size_for(source)
    arrays = engine.prepared_images(source, images, size=size)
    targets = [
        engine.detection_target(image.kept_truth.boxes, class_index, engine.letterbox_for(image, size))
        for image in images
    ]
    return arrays, targets, [c.name for c in classes]


def evaluate_versions(versions, arrays, targets, class_names, threshold) -> dict[int, float]:
    from labelapp.training import engine
    from labelapp.training.evaluation import evaluate

    out = {}
    for version in versions:
        model = engine.load_version(version)
        out[version.pk] = evaluate(
            model, arrays, targets, task="detection", class_names=class_names, threshold=threshold
        )["map50"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["porch", "pills"], default="porch", help="which demo scenes")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--free", type=int, default=40, help="free (imported) labels")
    parser.add_argument("--credits", type=int, default=300)
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--max-epochs", type=int, default=8)
    parser.add_argument("--full-epochs", type=int, default=30, help="max_epochs of the full-data reference")
    parser.add_argument("--strategy", default=None, help="the active strategy (default: the project's)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=None, help="torch threads in the worker (OMP_NUM_THREADS)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="labelapp-bench-loop-"))
    worker = None
    started = time.monotonic()
    try:
        temp_environment(root)
        from labelapp.demo.data import PILLS, PORCH, demo_project, demo_users
        from labelapp.demo.simulation import Waiter, curve_table, simulate
        from labelapp.learning.scenes import PILL_CLASSES, PORCH_CLASSES, pill_scene, porch_scene
        from labelapp.training.models import ModelVersion
        from labelapp.training.runs import training_request

        name, scene, class_names = {
            "porch": (PORCH, porch_scene, PORCH_CLASSES),
            "pills": (PILLS, pill_scene, PILL_CLASSES),
        }[args.kind]
        print(
            f"bench_loop: {args.kind} demo of {args.images} images, {args.free} free labels, {args.credits} credits, "
            f"K={args.retrain_every}, max_epochs {args.max_epochs}; temp {root}"
        )
        source = demo_project(
            name=name,
            description="bench",
            scene=scene,
            class_names=class_names,
            count=args.images,
            free_labels=args.free,
            credits=args.credits,
            seed=args.seed,
            users=demo_users(),
            settings={"auto_retrain_every": args.retrain_every, "max_epochs": args.max_epochs},
        )
        extra = {"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}
        worker = Worker(root, concurrency=1, name="loop", extra_env=extra)
        worker.wait_ready()
        quiet = lambda line: print(f"  [{time.monotonic() - started:6.0f}s] {line}")  # noqa: E731

        runs = {}
        for strategy in (args.strategy, "random"):
            result = simulate(project=source, strategy=strategy, copy=True, progress=quiet, timeout=3 * 3600)
            runs[result.strategy] = result
            print(f"{result.strategy}: {result.credits_spent} credits in {result.seconds:.0f}s")

        full = full_data_copy(source)
        from labelapp.projects.services import project_update_settings

        full = project_update_settings(project=full, changes={"max_epochs": args.full_epochs})
        waiter = Waiter(progress=quiet, queued_timeout=300, timeout=3 * 3600)
        full_version = waiter.training(training_request(project=full, trigger="bench").pk)
        if full_version is None:
            raise RuntimeError("the full-data training failed")

        arrays, targets, class_names = held_out_set(source)
        threshold = source.config["detection_threshold"]
        full_map = evaluate_versions([full_version], arrays, targets, class_names, threshold)[full_version.pk]
        goal = 0.95 * full_map
        print(
            f"\nfull data: v{full_version.number} trained on {full_version.labels_seen} labels "
            f"(up to {args.full_epochs} epochs); fixed held-out set of "
            f"{len(arrays)} images: mAP@0.5 {full_map:.3f} → 95 % = {goal:.3f}"
        )
        if full_map <= 0:
            print(
                "  WARNING: the full-data model found nothing (mAP 0): '95 % of it' is meaningless; raise --max-epochs"
                " (and --images) for real figures"
            )
        for name, result in runs.items():
            versions = list(
                ModelVersion.objects.filter(project=result.project, number__in=result.versions).order_by("number")
            )
            fixed = evaluate_versions(versions, arrays, targets, class_names, threshold)
            by_number = {v.number: fixed[v.pk] for v in versions}
            print(f"\n{name} (project {result.project.pk}); stored curve (own val/test splits):")
            print(curve_table(result.curve.points, result.curve.metric))
            print(
                "  on the fixed held-out set: "
                + ", ".join(
                    f"{p['credits_spent']} cr → {by_number[p['model_version']]:.3f}" for p in result.curve.points
                )
            )
            reached = next((p for p in result.curve.points if by_number[p["model_version"]] >= goal), None)
            if reached is None:
                best = max(by_number.values())
                print(
                    f"  {name}: 95 % of full-data mAP NOT reached within {result.credits_spent} credits "
                    f"(best {best:.3f} = {best / full_map:.0%} of full)"
                )
            else:
                print(
                    f"  {name}: 95 % of full-data mAP reached after {reached['credits_spent']} credits "
                    f"({reached['labels']} train labels incl. free)"
                )
        print(f"\ntotal {time.monotonic() - started:.0f}s")
    finally:
        if worker is not None:
            worker.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
