"""A real single-node Slurm for tests: Debian's slurm-wlm and munge, configured for this machine
in a folder of its own (config, keys, state, logs), started, and torn down afterwards.

`single_node_slurm(folder)` yields the environment that points Slurm's commands at it
(SLURM_CONF). It raises SlurmUnavailable with the reason when Slurm cannot start here; it never
pretends to have started it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
TOOLS = ("munge", "sinfo", "sbatch", "scancel", "scontrol")


class SlurmUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 * 9 // 10  # slurmd refuses a node with more than it finds
    raise SlurmUnavailable("no MemTotal in /proc/meminfo")


def slurm_conf(folder: Path, host: str, cpus: int, memory_mb: int, munge_socket: Path) -> str:
    return f"""\
ClusterName=homltest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def single_node_slurm(folder: Path, cpus: int = 2) -> Iterator[dict[str, str]]:
    missing = [name for name in DAEMONS + TOOLS if shutil.which(name) is None]
    if missing:
        raise SlurmUnavailable(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge; `make setup` does)")
    if os.geteuid() != 0:
        raise SlurmUnavailable("slurmd must run as root here (SlurmdUser=root)")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # munged wants its socket's folders executable by all
    for sub in ("munge", "state", "spool", "jobs"):
        (folder / sub).mkdir(exist_ok=True)
    (folder / "munge").chmod(0o755)
    key = folder / "munge" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    munge_socket = folder / "munge" / "munge.socket"
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, host, cpus, _memory_mb(), munge_socket))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started: list[Path] = []
    try:
        munged = subprocess.run(
            ["munged", f"--socket={munge_socket}", f"--key-file={key}", f"--pid-file={folder}/munge/munged.pid",
             f"--log-file={folder}/munge/munged.log", f"--seed-file={folder}/munge/munged.seed"],
            capture_output=True, text=True,
        )
        if munged.returncode != 0:
            raise SlurmUnavailable(f"munged did not start: {munged.stderr.strip() or _tail(folder / 'munge/munged.log')}")
        started.append(folder / "munge" / "munged.pid")
        for daemon, args in (("slurmctld", ["-c"]), ("slurmd", [])):
            done = subprocess.run([daemon, *args], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SlurmUnavailable(f"{daemon} did not start: {done.stderr.strip() or _tail(folder / f'{daemon}.log')}")
            started.append(folder / f"{daemon}.pid")
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        else:
            raise SlurmUnavailable(f"the node is {state or 'unknown'}, not idle, after 60 s: {_tail(folder / 'slurmd.log')}")
        yield {"SLURM_CONF": str(conf)}
    finally:
        if started:
            subprocess.run(["scancel", "--full", "--user", "root"], env=env, capture_output=True)
            time.sleep(0.5)
        for pid_file in reversed(started):
            _stop(pid_file)
