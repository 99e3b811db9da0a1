"""Embedding head vs fine-tuning the backbone's last blocks, as the training service runs them.

For each image set, budget (labels per class) and seed: a uniformly random labeled set, a
uniformly random validation sample of ``--val`` images (the evaluation sample), and one fixed
held-out test set. The head (``embedding_classifier``) is fit on the embeddings; the candidate
(``mobilenet_finetune``) starts from it and trains FINETUNE_EPOCHS epochs. Printed: test
accuracy of both, what the validation rule (labelapp.learning.model_choice) would activate and
the test accuracy of that choice, the fine-tune's CPU seconds, and the CPU milliseconds per
image of a prediction from pixels (what a rescore with the fine-tuned model costs) against the
head on cached vectors.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_finetune.py --sets digits,shapes --seeds 2
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_embedding_strategies import SETS  # noqa: E402

from labelapp.learning.model_choice import FINETUNE_BATCH_SIZE, FINETUNE_EPOCHS, FINETUNE_LR, choose_classifier  # noqa: E402
from labelapp.learning.models import create_model  # noqa: E402
from labelapp.learning.training import TrainConfig  # noqa: E402


def cpu_ms_per_image(fn, n: int) -> float:
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="digits,shapes")
    parser.add_argument("--per-class", default="10,30,100")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--test", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        "set  labels/class  seed  head_test  tuned_test  head_val  tuned_val  chosen  chosen_test  "
        "finetune_cpu_s  pixels_ms/img  vectors_ms/img"
    )
    for name in args.sets.split(","):
        images, y, names = SETS[name][0]()
        rng0 = np.random.default_rng(12345)
        perm = rng0.permutation(len(y))
        test, rest = perm[: args.test], perm[args.test :]
        head0 = create_model("embedding_classifier", classes=names, input_size=images.shape[1])
        vectors = head0.embed(images)
        for per_class in map(int, args.per_class.split(",")):
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                order = rng.permutation(rest)
                val, pool = order[: args.val], order[args.val :]
                train = np.concatenate([pool[y[pool] == c][:per_class] for c in range(len(names))])
                head = create_model("embedding_classifier", classes=names, input_size=images.shape[1])
                head.fit_vectors(vectors[train], y[train], vectors[val], y[val], config=TrainConfig(seed=seed))
                tuned = create_model("mobilenet_finetune", classes=names, input_size=images.shape[1])
                w = head.get_weights()
                tuned.start_from_head(w["weight"], w["bias"], w["mean"], w["scale"])
                started = time.process_time()
                tuned.fit(
                    images[train],
                    y[train],
                    images[val],
                    y[val],
                    config=TrainConfig(
                        seed=seed,
                        max_epochs=FINETUNE_EPOCHS,
                        batch_size=FINETUNE_BATCH_SIZE,
                        lr=FINETUNE_LR,
                        num_threads=1,
                    ),
                )
                fit_cpu = time.process_time() - started
                head_val = head.predict_vectors(vectors[val]).probs.argmax(1) == y[val]
                tuned_val_probs = tuned.predict(images[val]).probs
                tuned_val = tuned_val_probs.argmax(1) == y[val]
                holder = {}
                pixels_ms = cpu_ms_per_image(
                    lambda tuned=tuned, images=images, test=test, holder=holder: holder.setdefault(
                        "p", tuned.predict(images[test]).probs
                    ),
                    len(test),
                )
                vectors_ms = cpu_ms_per_image(
                    lambda head=head, vectors=vectors, test=test, holder=holder: holder.setdefault(
                        "h", head.predict_vectors(vectors[test]).probs
                    ),
                    len(test),
                )
                head_test = float((holder["h"].argmax(1) == y[test]).mean())
                tuned_test = float((holder["p"].argmax(1) == y[test]).mean())
                choice = choose_classifier(head_val, tuned_val)
                chosen_test = tuned_test if choice.chosen == "finetuned" else head_test
                print(
                    f"{name}  {per_class}  {seed}  {head_test:.3f}  {tuned_test:.3f}  {head_val.mean():.3f}  "
                    f"{tuned_val.mean():.3f}  {choice.chosen} (+{choice.wins}/-{choice.losses}, p={choice.p_value:.3f})  "
                    f"{chosen_test:.3f}  {fit_cpu:.1f}  {pixels_ms:.1f}  {vectors_ms:.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
