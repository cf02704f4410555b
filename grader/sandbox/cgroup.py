"""Memory and process limits through cgroups, which hold for a whole process tree.

Rlimits do not work here: the sandbox runs as root outside its user namespace, and the kernel
does not apply RLIMIT_NPROC to root. cgroup v1 (`pids`, `memory` hierarchies) and v2 (unified)
are both handled; where neither is writable the sandbox runs without these two limits and says so.

CPU: each sandbox gets a quota of `cpus` cores (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) where the
cpu controller is writable. Being in a cgroup of its own also takes the sandbox out of the
scheduler's autogroups: processes a notebook starts with `setsid` no longer get a share each.
Group names carry the grader's pid, so a later run can remove those of a run that died.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


def _v1_dirs() -> tuple[Path, Path] | None:
    pids, memory = ROOT / "pids", ROOT / "memory"
    if (pids / "cgroup.procs").exists() and (memory / "cgroup.procs").exists():
        if os.access(pids, os.W_OK) and os.access(memory, os.W_OK):
            return pids, memory
    return None


def _v2_root() -> Path | None:
    for candidate in (ROOT, ROOT / "unified"):
        controllers = candidate / "cgroup.controllers"
        if controllers.exists() and os.access(candidate, os.W_OK):
            have = set(controllers.read_text().split())
            if {"pids", "memory"} <= have:
                return candidate
    return None


def _v1_cpu_dir() -> Path | None:
    cpu = ROOT / "cpu"
    if (cpu / "cpu.cfs_quota_us").exists() and os.access(cpu, os.W_OK):
        return cpu
    return None


def supported() -> bool:
    return _v1_dirs() is not None or _v2_root() is not None


def hierarchies() -> list[Path]:
    """The folders our groups are made in (for sweeping those of dead runs)."""
    found = list(_v1_dirs() or ())
    if _v1_dirs() and _v1_cpu_dir():
        found.append(_v1_cpu_dir())
    if not found and _v2_root():
        found.append(_v2_root())
    return found


def _v2_enable_cpu(root: Path) -> bool:
    """Whether child groups of `root` get the cpu controller (enabled here when it is not yet)."""
    control = root / "cgroup.subtree_control"
    try:
        if "cpu" in control.read_text().split():
            return True
        if "cpu" not in (root / "cgroup.controllers").read_text().split():
            return False
        control.write_text("+cpu")
        return True
    except OSError:
        return False


class Cgroup:
    """One group for one sandbox; `procs_files` are what the launcher writes its pid into.

    `cpus`: the cores the whole sandbox may use at once (None: no CPU quota)."""

    def __init__(self, memory_mb: int, max_processes: int, cpus: float | None = None):
        self.name = f"homl-grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.dirs: list[Path] = []
        self.version = 0
        self.cpu_file: Path | None = None  # where the CPU quota was written
        v1 = _v1_dirs()
        if v1:
            pids, memory = (d / self.name for d in v1)
            pids.mkdir()
            memory.mkdir()
            (pids / "pids.max").write_text(str(max_processes))
            (memory / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
            try:  # no swapping around the limit where swap accounting exists
                (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_mb * 2**20))
            except OSError:
                pass
            self.dirs, self.version = [pids, memory], 1
            cpu_root = _v1_cpu_dir()
            if cpu_root is not None:
                cpu = cpu_root / self.name
                cpu.mkdir()
                self.dirs.append(cpu)
                if cpus:
                    (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                    (cpu / "cpu.cfs_quota_us").write_text(str(_quota_us(cpus)))
                    self.cpu_file = cpu / "cpu.cfs_quota_us"
            return
        v2 = _v2_root()
        if v2:
            has_cpu = _v2_enable_cpu(v2)
            group = v2 / self.name
            group.mkdir()
            (group / "pids.max").write_text(str(max_processes))
            (group / "memory.max").write_text(str(memory_mb * 2**20))
            (group / "memory.swap.max").write_text("0") if (group / "memory.swap.max").exists() else None
            if cpus and has_cpu and (group / "cpu.max").exists():
                (group / "cpu.max").write_text(f"{_quota_us(cpus)} {CPU_PERIOD_US}")
                self.cpu_file = group / "cpu.max"
            self.dirs, self.version = [group], 2

    def cpu_quota(self) -> float | None:
        """The cores the group may use, read back from the kernel (None: no quota)."""
        if self.cpu_file is None:
            return None
        try:
            words = self.cpu_file.read_text().split()
            if self.version == 1:
                quota = int(words[0])
                period = int((self.cpu_file.parent / "cpu.cfs_period_us").read_text())
            else:
                if words[0] == "max":
                    return None
                quota, period = int(words[0]), int(words[1])
        except (OSError, ValueError, IndexError):
            return None
        return None if quota < 0 else quota / period

    @property
    def active(self) -> bool:
        return bool(self.dirs)

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return found

    def oom_killed(self) -> bool:
        """Whether the memory limit was hit (some process was refused memory or killed)."""
        for d in self.dirs:
            try:
                if self.version == 1 and (d / "memory.failcnt").exists():
                    if int((d / "memory.failcnt").read_text()) > 0:
                        return True
                    oom = (d / "memory.oom_control").read_text()
                    if "oom_kill " in oom and int(oom.split("oom_kill ")[1].split()[0]) > 0:
                        return True
                if self.version == 2 and (d / "memory.events").exists():
                    events = dict(line.split() for line in (d / "memory.events").read_text().splitlines())
                    if int(events.get("oom_kill", 0)) > 0 or int(events.get("max", 0)) > 0:
                        return True
            except (OSError, ValueError, IndexError):
                pass
        return False

    def process_limit_hit(self) -> bool:
        """Whether a fork or thread was refused because the group was at its process limit."""
        for d in self.dirs:
            try:
                events = dict(line.split() for line in (d / "pids.events").read_text().splitlines())
                if int(events.get("max", 0)) > 0:
                    return True
            except (OSError, ValueError):
                pass
        return False

    def kill_all(self) -> None:
        """Kill every process left in the group, repeatedly, until none is left (fork bombs)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
        self.dirs = []


def _quota_us(cpus: float) -> int:
    return max(1000, int(round(cpus * CPU_PERIOD_US)))  # the kernel refuses quotas under 1 ms
