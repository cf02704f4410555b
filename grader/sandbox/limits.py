"""Resource limits for student code, each with a default and a CLI override."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 180.0  # seconds one cell may run before it is interrupted
    notebook_timeout: float = 600.0  # seconds for the whole notebook, probes included
    memory_mb: int = 4096  # memory of the kernel and everything it starts
    max_processes: int = 256  # processes and threads of one sandbox
    threads: int = 1  # BLAS/TensorFlow threads, so parallel workers do not fight
    cpus: float | None = None  # cores one sandbox may use at once (cgroup quota); None: `threads`
    output_chars: int = 100_000  # output kept per cell; the rest is dropped with a note
    files_mb: int = 512  # size of a sandbox's writable space (its folder, /tmp, home, exchange)
    max_files: int = 20_000  # files and folders in that space
    model_timeout: float = 120.0  # seconds to load and evaluate one model

    @property
    def cpu_quota(self) -> float:
        return self.cpus if self.cpus else float(self.threads)
