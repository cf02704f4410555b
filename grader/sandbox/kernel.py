"""A Jupyter kernel for one notebook run: inside bubblewrap, or (only when asked) unsandboxed.

The kernel spec lives in a folder of our own and is handed to the KernelManager, because
jupyter_client ignores `kernel_cmd` today and would silently start an unsandboxed kernel.
With a private network namespace the host cannot reach TCP ports inside, so the kernel talks
over ZeroMQ `ipc` sockets in the exchange folder, which both sides see at the same path.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager

from grader.sandbox import bwrap
from grader.sandbox.cgroup import Cgroup
from grader.sandbox.limits import Limits

KERNEL_NAME = "homl-grader"
MNIST_IN_SANDBOX = "/opt/homl/data/mnist.npz"


@dataclass
class KernelPlan:
    """Where a notebook runs and what it is given."""

    workdir: Path  # private writable copy of the student's folder
    io: Path  # exchange folder (connection file, sockets, probe plans and results)
    limits: Limits
    sandboxed: bool = True
    mnist_npz: Path | None = None  # served by keras.datasets.mnist.load_data()


def _kernel_argv(plan: KernelPlan, cgroup: Cgroup | None) -> tuple[list[str], dict[str, str]]:
    launch = [sys.executable, "-m", "grader.inside.kernel", "-f", "{connection_file}"]
    env = bwrap.base_env(plan.limits.threads)
    if not plan.sandboxed:
        env["PYTHONPATH"] = str(bwrap.GRADER_PACKAGE.parent)
        if plan.mnist_npz:
            env["HOML_GRADER_MNIST"] = str(plan.mnist_npz)
        env["HOME"] = str(plan.workdir.parent / "home")
        Path(env["HOME"]).mkdir(exist_ok=True)
        return launch, env
    mounts = [
        bwrap.Mount(plan.workdir, bwrap.WORK, writable=True),
        bwrap.Mount(plan.io, str(plan.io), writable=True),
    ]
    if plan.mnist_npz:
        mounts.append(bwrap.Mount(plan.mnist_npz, MNIST_IN_SANDBOX))
        env["HOML_GRADER_MNIST"] = MNIST_IN_SANDBOX
    spec = bwrap.SandboxSpec(mounts=mounts, env=env, chdir=bwrap.WORK)
    argv = bwrap.bwrap_argv(spec) + launch
    return bwrap.in_cgroup(argv, cgroup.procs_files if cgroup else []), {}


def kernel_manager(plan: KernelPlan, cgroup: Cgroup | None) -> AsyncKernelManager:
    argv, env = _kernel_argv(plan, cgroup)
    spec_dir = plan.io / "kernelspec" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": argv,
                "display_name": "homl-grader",
                "language": "python",
                "env": env,
                # a signal to bwrap would not reach the kernel in its own PID namespace
                "interrupt_mode": "message",
            }
        )
    )
    return AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
        transport="ipc",
        ip=str(plan.io / "kernel"),
        connection_file=str(plan.io / "connection.json"),
    )
