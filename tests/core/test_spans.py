import numpy as np
import pytest
import torch

from psvl.core import spans


def test_iou_of_partial_overlap_is_intersection_over_union():
    assert spans.iou([0, 10], [5, 15]) == pytest.approx(5 / 15)


def test_iou_is_one_for_identical_and_zero_for_disjoint_or_touching():
    assert spans.iou([2, 7], [2, 7]) == 1.0
    assert spans.iou([0, 1], [2, 3]) == 0.0
    assert spans.iou([0, 1], [1, 2]) == 0.0


def test_zero_length_spans_have_zero_iou_even_with_themselves():
    assert spans.iou([3, 3], [3, 3]) == 0.0
    assert spans.iou([3, 3], [0, 10]) == 0.0


def test_reversed_span_is_ordered_before_iou():
    assert spans.iou([10, 0], [5, 15]) == pytest.approx(5 / 15)


def test_iou_contained_span():
    assert spans.iou([0, 10], [2, 4]) == pytest.approx(0.2)


def test_pairwise_iou_matches_elementwise():
    a = np.array([[0, 10], [5, 6], [0, 0]])
    b = np.array([[0, 5], [5, 15]])
    m = spans.pairwise_iou(a, b)
    assert m.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert m[i, j] == pytest.approx(spans.iou(a[i], b[j]))


def test_seconds_normalized_round_trip_and_clipping():
    s = np.array([[3.0, 12.0], [-1.0, 50.0]])
    n = spans.to_normalized(s, 30.0)
    np.testing.assert_allclose(n, [[0.1, 0.4], [0.0, 1.0]])
    np.testing.assert_allclose(spans.to_seconds(n, 30.0), [[3.0, 12.0], [0.0, 30.0]])


def test_to_normalized_with_zero_duration_is_zero():
    np.testing.assert_array_equal(spans.to_normalized([1.0, 2.0], 0.0), [0.0, 0.0])


def test_per_video_durations_broadcast():
    n = spans.to_normalized([[1, 2], [1, 2]], [10.0, 4.0])
    np.testing.assert_allclose(n, [[0.1, 0.2], [0.25, 0.5]])


def test_recall_at_averages_per_query():
    out = spans.recall_at([0.05, 0.3, 0.5, 0.9])
    assert out["R@0.1"] == 0.75
    assert out["R@0.3"] == 0.75
    assert out["R@0.5"] == 0.5
    assert out["R@0.7"] == 0.25
    assert out["mIoU"] == pytest.approx(np.mean([0.05, 0.3, 0.5, 0.9]))
    assert out["n_queries"] == 4


def test_resample_indices_stride_centre_and_phase():
    np.testing.assert_array_equal(spans.resample_indices(8, 4), [1, 3, 5, 7])
    np.testing.assert_array_equal(spans.resample_indices(8, 4, phase=0.0), [0, 2, 4, 6])
    np.testing.assert_array_equal(spans.resample_indices(3, 5), [0, 1, 2])
    assert spans.resample_indices(1000, 128).max() < 1000


def test_resample_indices_rejects_bad_phase_and_sizes():
    with pytest.raises(ValueError):
        spans.resample_indices(10, 5, phase=1.0)
    with pytest.raises(ValueError):
        spans.resample_indices(0, 5)


def test_segment_mask_covers_centres_inside_and_never_padding():
    m = spans.segment_mask([[0.5, 1.0]], n_segments=8, n_valid=4)
    np.testing.assert_array_equal(m[0], [False, False, True, True, False, False, False, False])


def test_segment_mask_never_empty_for_a_tiny_span():
    m = spans.segment_mask([[0.51, 0.52]], n_segments=10)
    assert m.sum() == 1 and m[0, 5]


def test_clip_orders_and_bounds():
    np.testing.assert_allclose(spans.clip([[12, -2]], 10.0), [[0, 10]])


def test_segment_centres_are_relative_to_the_real_length_in_numpy_and_torch():
    c = spans.segment_centres(np.array([4, 2]), 4)
    assert c.dtype == np.float64
    np.testing.assert_allclose(c, [[0.125, 0.375, 0.625, 0.875], [0.25, 0.75, 1.25, 1.75]])
    t = spans.segment_centres(torch.tensor([4, 2]), 4)
    assert t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), c, rtol=1e-7)
    assert spans.segment_centres(np.array([0]), 2).tolist() == [[0.5, 1.5]]  # no division by zero
