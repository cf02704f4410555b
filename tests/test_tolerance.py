"""Numeric checks accept float32 arithmetic and still catch real mistakes."""

import numpy as np
import pytest

from grader.judge.tolerance import compare_arrays


def batch(seed: int, m: int):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in [(m, 10), (10, 50), (50,), (50, 3), (3,)]]


def reference(X, Wh, bh, Wo, bo):
    return np.maximum(X @ Wh + bh, 0) @ Wo + bo


def float32_student(X, Wh, bh, Wo, bo):
    """Keras' default dtype: every array cast to float32 first, a correct forward pass."""
    X, Wh, bh, Wo, bo = (np.asarray(a, dtype=np.float32) for a in (X, Wh, bh, Wo, bo))
    hidden = np.maximum(np.float32(0), np.einsum("ij,jk->ik", X, Wh) + bh)
    return hidden @ Wo + bo


@pytest.mark.parametrize("seed", range(30))
def test_a_correct_float32_forward_pass_is_accepted(seed):
    args = batch(seed, m=64)
    ok, worst, tolerance = compare_arrays(float32_student(*args), reference(*args))
    assert ok, (worst, tolerance)
    assert worst > 0  # float32 really differs: the test exercises the tolerance


def test_the_fixed_absolute_tolerance_rejected_some_of_those_batches():
    failures = 0
    for seed in range(30):
        args = batch(seed, m=64)
        failures += not np.allclose(float32_student(*args), reference(*args), rtol=0, atol=1e-6)
    assert failures > 0


@pytest.mark.parametrize("mistake", [
    lambda X, Wh, bh, Wo, bo: np.maximum(X @ Wh + bh, 0) @ Wo,  # forgot the output bias
    lambda X, Wh, bh, Wo, bo: np.maximum(np.maximum(X @ Wh + bh, 0) @ Wo + bo, 0),  # ReLU on the output
    lambda X, Wh, bh, Wo, bo: np.maximum(X @ Wh, 0) @ Wo + bo,  # forgot the hidden bias
    lambda X, Wh, bh, Wo, bo: (np.maximum(X @ Wh + bh, 0) @ Wo + bo).astype(np.float16),  # half precision
])
def test_real_mistakes_are_still_rejected_with_the_tolerance_reported(mistake):
    args = batch(7, m=40)
    ok, worst, tolerance = compare_arrays(mistake(*args), reference(*args))
    assert not ok and worst > tolerance
    assert 1e-5 < tolerance < 1e-3  # relative to outputs of size ~10-40


def test_shapes_nan_and_non_numbers_never_match():
    assert compare_arrays(np.zeros((2, 3)), np.zeros((3, 2)))[0] is False
    assert compare_arrays([[np.nan, 0.0]], [[0.0, 0.0]])[:2] == (False, float("inf"))
    assert compare_arrays("abc", [1.0])[0] is False
    assert compare_arrays(np.zeros(4), np.zeros(4)) == (True, 0.0, 1e-9)


def test_the_batches_verdict_reports_the_tolerance_and_the_worst_difference():
    from grader.judge.tolerance import batches_verdict

    cases = [batch(seed, m) for seed, m in ((1, 5), (2, 64), (3, 1))]
    expected = [reference(*args) for args in cases]
    verdict = batches_verdict(expected, [float32_student(*args) for args in cases])
    assert verdict.fraction == 1.0 and "within tolerance" in verdict.message
    assert all(0 < b["worst_error"] <= b["tolerance"] for b in verdict.details["batches"])
    no_bias = [np.maximum(X @ Wh + bh, 0) @ Wo for X, Wh, bh, Wo, bo in cases]
    verdict = batches_verdict(expected, [expected[0], no_bias[1], expected[2][:, :2]])
    assert verdict.fraction == pytest.approx(1 / 3)
    assert "1 of 3 random batches right; values differ from ReLU(X·Wh + bh)·Wo + bo by up to" in verdict.message
    assert "of the largest expected value" in verdict.message
    assert verdict.details["batches"][2]["worst_error"] is None  # wrong shape
