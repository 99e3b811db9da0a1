"""Fine-tuning the backbone's last blocks: the choice rule on hand-computed cases, and a fit,
predict and checkpoint round trip on a tiny set."""

import numpy as np
import pytest
import torch

from labelapp.learning.backbone import default_weights_path, shared_backbone
from labelapp.learning.model_choice import (
    FINETUNE_MIN_TRAIN_PER_CLASS,
    FINETUNE_MIN_VAL_IMAGES,
    choose_classifier,
    finetune_eligible,
    sign_test_p,
)
from labelapp.learning.models import create_model, load_model
from labelapp.learning.training import TrainConfig


def test_sign_test_on_hand_computed_cases():
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(5, 0) == pytest.approx(1 / 32)  # 0.5^5
    assert sign_test_p(4, 0) == pytest.approx(1 / 16)
    assert sign_test_p(6, 1) == pytest.approx(8 / 128)  # (C(7,6) + C(7,7)) / 2^7
    assert sign_test_p(8, 1) == pytest.approx(10 / 512)
    assert sign_test_p(1, 3) == pytest.approx(15 / 16)


def _correct(wins: int, losses: int, both: int, neither: int):
    head = [False] * wins + [True] * losses + [True] * both + [False] * neither
    tuned = [True] * wins + [False] * losses + [True] * both + [False] * neither
    return np.array(head), np.array(tuned)


@pytest.mark.parametrize(
    "wins, losses, chosen",
    [
        (5, 0, "finetuned"),  # p = 0.031
        (4, 0, "head"),  # p = 0.0625: four disagreements cannot tell
        (6, 1, "head"),  # p = 0.0625
        (8, 1, "finetuned"),  # p = 0.0195
        (3, 3, "head"),  # a tie keeps the cheap head
        (0, 6, "head"),
    ],
)
def test_the_fine_tuned_model_is_kept_only_when_it_wins_by_more_than_noise(wins, losses, chosen):
    head, tuned = _correct(wins, losses, both=20, neither=3)

    choice = choose_classifier(head, tuned)

    assert (choice.chosen, choice.wins, choice.losses) == (chosen, wins, losses)
    assert choice.p_value == pytest.approx(sign_test_p(wins, losses))


def test_choice_refuses_unpaired_inputs():
    with pytest.raises(ValueError):
        choose_classifier(np.ones(3, bool), np.ones(4, bool))


def test_fine_tuning_is_tried_only_above_the_label_floors():
    enough = np.full(3, FINETUNE_MIN_TRAIN_PER_CLASS)
    assert finetune_eligible(enough, FINETUNE_MIN_VAL_IMAGES)[0]
    ok, why = finetune_eligible(np.array([40, FINETUNE_MIN_TRAIN_PER_CLASS - 1, 40]), 100)
    assert not ok and "9 training labels" in why
    ok, why = finetune_eligible(enough, FINETUNE_MIN_VAL_IMAGES - 1)
    assert not ok and "validation sample" in why
    assert not finetune_eligible(np.array([], dtype=int), 100)[0]


needs_weights = pytest.mark.skipif(default_weights_path() is None, reason="backbone weights package not installed")


def _two_colours(n: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels[:, None], [200, 40, 40], [40, 40, 200])
    images = np.clip(base[:, None, None, :] + rng.normal(0, 25, (n, 32, 32, 3)), 0, 255).astype(np.uint8)
    return images, labels


@needs_weights
def test_a_fine_tune_starts_where_the_head_ended_fits_predicts_and_round_trips(tmp_path):
    train_x, train_y = _two_colours(12, 0)
    val_x, val_y = _two_colours(6, 1)
    head = create_model("embedding_classifier", classes=["red", "blue"], input_size=32)
    head.fit(train_x, train_y, val_x, val_y, config=TrainConfig(max_epochs=5))
    model = create_model("mobilenet_finetune", classes=["red", "blue"], input_size=32)
    weights = head.get_weights()
    model.start_from_head(weights["weight"], weights["bias"], weights["mean"], weights["scale"])

    # Before any epoch it predicts what the head predicts (the same pixels, one network).
    np.testing.assert_allclose(model.predict(val_x).probs, head.predict(val_x).probs, atol=1e-4)

    tail_before = {k: v.clone() for k, v in model.get_weights().items() if k.startswith("tail.")}
    result = model.fit(train_x, train_y, val_x, val_y, config=TrainConfig(max_epochs=2, batch_size=4, seed=3))

    assert result.epochs_run == 2 and len(result.history) == 2
    assert any(not torch.equal(tail_before[k], v) for k, v in model.get_weights().items() if k in tail_before)
    probs = model.predict(val_x).probs
    assert probs.shape == (6, 2) and (probs.argmax(1) == val_y).all()
    # The frozen blocks of the shared backbone did not move.
    assert not any(p.requires_grad for p in shared_backbone(112).network.parameters())

    model.save(tmp_path / "tuned.pt")
    again = load_model(tmp_path / "tuned.pt")
    np.testing.assert_allclose(again.predict(val_x).probs, probs, atol=1e-6)
    # Only the trained tail and head are stored: the frozen blocks come from the weights file.
    assert sum(v.numel() for v in again.get_weights().values()) < 1_000_000


@needs_weights
def test_a_checkpoint_refuses_other_backbone_weights():
    with pytest.raises(Exception, match="backbone weights"):
        create_model("mobilenet_finetune", classes=["a", "b"], input_size=32, backbone_sha256="0" * 64)
