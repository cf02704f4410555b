"""Numeric equality that accepts float32 arithmetic: a tolerance relative to the values' scale.

A forward pass computed in float32 (Keras' default dtype) differs from the float64 reference by
a few units in the last float32 place of the largest intermediate values, e.g. 7e-6 on outputs
of size ~20. A fixed absolute tolerance of 1e-5 fails such a correct answer on some batches; a
tolerance of RTOL times the largest magnitude in the expected array accepts it with a 10x margin
and still rejects every real mistake (a missing bias or an extra ReLU moves values by ~1).
"""

from __future__ import annotations

import numpy as np

from grader.judge.verdict import Verdict

RTOL = 1e-5  # of the expected array's largest magnitude; float32's epsilon is 1.2e-7
ATOL = 1e-9  # floor, for an expected array of zeros


def tolerance_for(expected) -> float:
    """The largest absolute difference accepted against `expected`."""
    values = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return RTOL * scale + ATOL


def compare_arrays(got, expected) -> tuple[bool, float, float]:
    """(equal within tolerance, worst absolute difference, tolerance used).

    Shapes must agree exactly; NaN or infinity where the expected value is finite is a
    difference of infinity. Anything that is not numeric counts as a difference of infinity.
    """
    tolerance = tolerance_for(expected)
    want = np.asarray(expected, dtype=np.float64)
    try:
        have = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False, float("inf"), tolerance
    if have.shape != want.shape:
        return False, float("inf"), tolerance
    if have.size == 0:
        return True, 0.0, tolerance
    difference = np.abs(have - want)
    worst = float(np.max(np.where(np.isfinite(difference), difference, np.inf)))
    return worst <= tolerance, worst, tolerance


def batches_verdict(expected: list, outputs: list, formula: str = "ReLU(X·Wh + bh)·Wo + bo") -> Verdict:
    """The verdict on a numeric function called on several batches: one output per expected array.

    Marks are the share of batches within tolerance; the message gives the first problem with
    the worst difference and the tolerance used, and the details give both for every batch.
    """
    passed, problems, per_batch = 0, [], []
    for want, got in zip(expected, outputs):
        ok, worst, tolerance = compare_arrays(got, want)
        per_batch.append({"worst_error": worst if worst != float("inf") else None, "tolerance": tolerance})
        shape = np.shape(got) if not isinstance(got, str) else None
        if ok:
            passed += 1
        elif shape != np.shape(want):
            problems.append(f"for {np.shape(want)[0]} input rows the output shape should be {np.shape(want)}, got {shape}")
        else:
            problems.append(f"values differ from {formula} by up to {worst:.3g} (tolerance {tolerance:.2g}: "
                            f"{RTOL:g} of the largest expected value)")
    details = {"batches": per_batch}
    if passed == len(expected):
        worst = max((b["worst_error"] for b in per_batch), default=0.0)
        return Verdict(1.0, f"correct on {passed} random batches (largest difference {worst:.2g}, within tolerance).", details)
    return Verdict(passed / len(expected), f"{passed} of {len(expected)} random batches right; {problems[0]}.", details)
