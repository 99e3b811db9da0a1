"""labelapp.learning.consensus on hand-computed cases."""

import numpy as np
import pytest

from labelapp.learning.consensus import box_iou, classes_agree, compare_boxes


def test_classes_agree_only_on_the_same_class():
    assert classes_agree(3, 3)
    assert not classes_agree(3, 4)
    assert not classes_agree(3, None)
    assert not classes_agree(None, None)


def test_box_iou_hand_computed():
    # 8×10 overlap / (100 + 100 − 80) = 2/3; disjoint boxes 0; a box without area 0.
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[2, 0, 12, 10], [20, 20, 30, 30], [5, 5, 5, 5]]))
    assert iou == pytest.approx(np.array([[2 / 3, 0.0, 0.0]]))


def test_identical_labels_agree_in_any_order():
    first = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    result = compare_boxes(first, np.array([0, 1]), first[::-1], np.array([1, 0]))
    assert result.agree
    assert sorted(result.pairs) == [(0, 1), (1, 0)]


def test_a_shift_below_iou_half_is_a_disagreement():
    first = np.array([[0, 0, 10, 10]])
    # IoU 6×10 / (100 + 100 − 60) = 0.43 < 0.5.
    result = compare_boxes(first, np.array([0]), np.array([[4, 0, 14, 10]]), np.array([0]))
    assert not result.agree
    assert (result.unmatched_first, result.unmatched_second) == ((0,), (0,))
    # IoU 7×10 / 130 = 0.54: a match.
    assert compare_boxes(first, np.array([0]), np.array([[3, 0, 13, 10]]), np.array([0])).agree


def test_another_class_does_not_match_even_on_the_same_box():
    box = np.array([[0, 0, 10, 10]])
    result = compare_boxes(box, np.array([0]), box, np.array([1]))
    assert not result.agree and result.pairs == ()


def test_a_missing_or_an_extra_box_is_a_disagreement():
    first = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    missing = compare_boxes(first, np.array([0, 0]), first[:1], np.array([0]))
    assert (missing.pairs, missing.unmatched_first, missing.unmatched_second) == (((0, 0),), (1,), ())
    extra = compare_boxes(first[:1], np.array([0]), first, np.array([0, 0]))
    assert (extra.unmatched_first, extra.unmatched_second) == ((), (1,))


def test_matching_is_greedy_one_to_one_highest_iou_first():
    # Second box j=0 overlaps first box 0 by IoU 1 and first box 1 by 9×10/110 = 0.82; the
    # greedy pass pairs (0, 0) first, so first box 1 goes to j=1 (IoU 1), not to j=0.
    first = np.array([[0, 0, 10, 10], [1, 0, 11, 10]])
    second = np.array([[0, 0, 10, 10], [1, 0, 11, 10]])
    result = compare_boxes(first, np.array([0, 0]), second, np.array([0, 0]))
    assert sorted(result.pairs) == [(0, 0), (1, 1)] and result.agree
    # Two first boxes on one second box: one pair only, one first box left over.
    crowd = compare_boxes(first, np.array([0, 0]), second[:1], np.array([0]))
    assert crowd.pairs == ((0, 0),) and crowd.unmatched_first == (1,)


def test_two_empty_labels_agree():
    empty = np.zeros((0, 4))
    assert compare_boxes(empty, np.zeros(0), empty, np.zeros(0)).agree
    assert not compare_boxes(np.array([[0, 0, 1, 1]]), np.array([0]), empty, np.zeros(0)).agree


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="label"):
        compare_boxes(np.array([[0, 0, 1, 1]]), np.zeros(0), np.zeros((0, 4)), np.zeros(0))
    with pytest.raises(ValueError, match="iou_threshold"):
        compare_boxes(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4)), np.zeros(0), iou_threshold=0)
