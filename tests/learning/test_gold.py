"""labelapp.learning.gold on hand-computed cases."""

import numpy as np
import pytest

from labelapp.learning.gold import box_f1, class_accuracy


def test_class_accuracy():
    assert class_accuracy(3, 3) == 1.0
    assert class_accuracy(3, 4) == 0.0
    assert class_accuracy(3, None) == 0.0


def test_box_f1_counts_boxes_matched_at_iou_half_with_the_right_class():
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    labels = np.array([0, 1])
    # The first answer box overlaps the first true box by 8×10 / (100 + 100 − 80) = 0.67: a match.
    # The second overlaps the second true box fully but names the wrong class: no match.
    # The third is an extra box. F1 = 2·1 / (2 + 3) = 0.4.
    answer = np.array([[2, 0, 12, 10], [20, 20, 30, 30], [50, 50, 60, 60]])
    assert box_f1(truth, labels, answer, np.array([0, 0, 1])) == pytest.approx(0.4)
    # Shifted too far (IoU 5×10 / 150 = 0.33): nothing matches.
    assert box_f1(truth[:1], labels[:1], np.array([[5, 0, 15, 10]]), np.array([0])) == 0.0


def test_box_f1_matches_each_true_box_once():
    truth = np.array([[0, 0, 10, 10]])
    answer = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    # One of the two identical answer boxes matches: 2·1 / (1 + 2).
    assert box_f1(truth, np.array([0]), answer, np.array([0, 0])) == pytest.approx(2 / 3)


def test_box_f1_of_nothing_against_nothing_is_perfect():
    empty = np.zeros((0, 4))
    assert box_f1(empty, np.zeros(0), empty, np.zeros(0)) == 1.0
    assert box_f1(np.array([[0, 0, 1, 1]]), np.array([0]), empty, np.zeros(0)) == 0.0


def test_box_f1_rejects_boxes_without_labels():
    with pytest.raises(ValueError):
        box_f1(np.array([[0, 0, 1, 1]]), np.array([]), np.zeros((0, 4)), np.zeros(0))
