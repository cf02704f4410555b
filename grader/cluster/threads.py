"""TensorFlow and BLAS threads of a process: pinned to its share of the machine's cores."""

from __future__ import annotations

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def thread_env(threads: int) -> dict[str, str]:
    """Environment that keeps TensorFlow and BLAS in a process to `threads` threads."""
    return {name: str(threads) for name in THREAD_VARS}
