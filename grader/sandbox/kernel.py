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

import zmq
from traitlets import Type
from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import HBChannel
from jupyter_client.kernelspec import KernelSpecManager
from zmq.utils.monitor import parse_monitor_message

from grader.sandbox import bwrap
from grader.sandbox.cgroup import Cgroup
from grader.sandbox.container import Confinement
from grader.sandbox.limits import Limits
from grader.sandbox.space import Space

KERNEL_NAME = "homl-grader"
# What the grader holds of a notebook's output at once, whatever the notebook sends: a larger message
# drops the connection (it reconnects at once), and at most IOPUB_QUEUE messages wait here; the rest
# wait inside the sandbox. The kernel itself cuts honest floods much smaller (grader/inside/kernel.py).
MAX_MESSAGE_BYTES = 8 * 2**20
IOPUB_QUEUE = 16
# Every other channel is bounded too: a notebook can open its own sockets to the kernel's ports and
# send on the stdin channel (never read by the grader), the shell, control and heartbeat channels.
# (largest message, messages queued) per channel; honest replies are a few KB.
CHANNEL_BOUNDS = {
    "iopub": (MAX_MESSAGE_BYTES, IOPUB_QUEUE),
    "shell": (2**20, 8),
    "control": (2**20, 4),
    "stdin": (64 * 2**10, 4),
    "hb": (64 * 2**10, 4),
}
# A request to a kernel that floods a channel back can find no connection to send on (each message
# over the cap drops it); zmq would wait forever: the grader gives up after this long.
SEND_TIMEOUT_MS = 20_000
MNIST_IN_SANDBOX = "/opt/homl/data/mnist.npz"


@dataclass
class KernelPlan:
    """Where a notebook runs and what it is given."""

    workdir: Path  # private writable copy of the student's folder
    io: Path  # exchange folder (connection file, sockets, probe plans and results)
    limits: Limits
    sandboxed: bool = True
    mnist_npz: Path | None = None  # served by keras.datasets.mnist.load_data()
    isolation: str | None = None  # "bubblewrap" or "container" when sandboxed  [default: bubblewrap]
    space: Space | None = None  # the sandbox's own file system: its /tmp and home come from there


def connection_file(plan: KernelPlan) -> Path:
    return plan.io / "connection.json"


def confinement_for(plan: KernelPlan) -> Confinement | None:
    """The kernel's own user and folders in container isolation (None in the other modes)."""
    if not plan.sandboxed or plan.isolation != "container":
        return None
    readable = [plan.mnist_npz] if plan.mnist_npz else []  # the training split only
    return Confinement(home=plan.workdir.parent / "home", own=[plan.workdir, plan.io], readable=readable, chdir=plan.workdir)


def _kernel_argv(plan: KernelPlan, cgroup: Cgroup | None, confinement: Confinement | None = None) -> tuple[list[str], dict[str, str]]:
    # the path itself, not jupyter_client's {connection_file}: that one is a realpath, which for a
    # space seen through its holder (/proc/<pid>/root/...) names a folder the sandbox does not have
    launch = [sys.executable, "-m", "grader.inside.kernel", "-f", str(connection_file(plan))]
    env = bwrap.base_env(plan.limits.threads)
    procs = cgroup.procs_files if cgroup else []
    if confinement is not None:
        env["PYTHONPATH"] = str(bwrap.GRADER_PACKAGE.parent)
        del env["HOME"]  # the launcher's private folder
        if plan.mnist_npz:
            env["HOML_GRADER_MNIST"] = str(plan.mnist_npz)
        argv = confinement.argv(plan.limits, env, memory_by_cgroup=bool(cgroup and cgroup.active)) + launch
        return bwrap.in_cgroup(argv, procs), {}
    if not plan.sandboxed:
        env["PYTHONPATH"] = str(bwrap.GRADER_PACKAGE.parent)
        if plan.mnist_npz:
            env["HOML_GRADER_MNIST"] = str(plan.mnist_npz)
        env["HOME"] = str(plan.workdir.parent / "home")
        Path(env["HOME"]).mkdir(exist_ok=True)
        return launch, env
    space = plan.space
    source = space.source if space is not None else (lambda path: path)  # as bubblewrap sees it
    private = []
    if space is not None:  # mounted before the Python installation and the folders below
        private.append(bwrap.Mount(source(space.scratch / "home"), bwrap.HOME, writable=True))
        private.append(bwrap.Mount(source(space.scratch / "tmp"), "/tmp", writable=True))
    mounts = [
        bwrap.Mount(source(plan.workdir), bwrap.WORK, writable=True),
        # at the grader's own path: the connection file and the sockets name it
        bwrap.Mount(source(plan.io), str(plan.io), writable=True),
    ]
    if plan.mnist_npz:
        mounts.append(bwrap.Mount(plan.mnist_npz, MNIST_IN_SANDBOX))
        env["HOML_GRADER_MNIST"] = MNIST_IN_SANDBOX
    spec = bwrap.SandboxSpec(mounts=mounts, env=env, chdir=bwrap.WORK, private=private)
    if not (cgroup and cgroup.active):
        launch = bwrap.rlimits_prefix(plan.limits) + launch
    argv = (space.enter() if space is not None else []) + bwrap.bwrap_argv(spec) + launch
    return bwrap.in_cgroup(argv, procs), {}


def _bound(sock, url: str, channel: str):
    """`sock`, reconnected to `url` with its channel's limits (they apply to new connections)."""
    max_bytes, queue = CHANNEL_BOUNDS[channel]
    sock.disconnect(url)
    sock.maxmsgsize = max_bytes
    sock.rcvhwm = queue
    sock.sndtimeo = SEND_TIMEOUT_MS
    sock.connect(url)
    return sock


class BoundedHBChannel(HBChannel):
    def _create_socket(self) -> None:
        super()._create_socket()
        _bound(self.socket, self.address, "hb")


class BoundedKernelClient(AsyncKernelClient):
    """A kernel client none of whose channels can fill the grader's memory."""

    hb_channel_class = Type(BoundedHBChannel)

    def _create_connected_socket(self, channel: str, identity: bytes | None = None):
        sock = super()._create_connected_socket(channel, identity)
        return _bound(sock, self._make_url(channel), channel)


def watch_iopub(client: AsyncKernelClient):
    """A monitor of the output channel: each disconnection it reports is a message over the limit."""
    return client.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)


async def dropped_messages(monitor) -> int:
    """Messages over MAX_MESSAGE_BYTES the kernel sent since the last call (each cost a reconnection)."""
    count = 0
    while await monitor.poll(0):
        if parse_monitor_message(await monitor.recv_multipart())["event"] == zmq.EVENT_DISCONNECTED:
            count += 1
    return count


def kernel_manager(plan: KernelPlan, cgroup: Cgroup | None, confinement: Confinement | None = None) -> AsyncKernelManager:
    argv, env = _kernel_argv(plan, cgroup, confinement)
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
        client_factory=BoundedKernelClient,
        transport="ipc",
        ip=str(plan.io / "kernel"),
        connection_file=str(connection_file(plan)),
    )
