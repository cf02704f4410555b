"""Memory and process limits through cgroups, which hold for a whole process tree.

Rlimits do not work here: the sandbox runs as root outside its user namespace, and the kernel
does not apply RLIMIT_NPROC to root. cgroup v1 (`pids`, `memory` hierarchies) and v2 (unified)
are both handled; where neither is writable the sandbox runs without these two limits and says so.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


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


def supported() -> bool:
    return _v1_dirs() is not None or _v2_root() is not None


class Cgroup:
    """One group for one sandbox; `procs_files` are what the launcher writes its pid into."""

    def __init__(self, memory_mb: int, max_processes: int):
        self.name = f"homl-grader-{uuid.uuid4().hex[:12]}"
        self.dirs: list[Path] = []
        self.version = 0
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
            return
        v2 = _v2_root()
        if v2:
            group = v2 / self.name
            group.mkdir()
            (group / "pids.max").write_text(str(max_processes))
            (group / "memory.max").write_text(str(memory_mb * 2**20))
            (group / "memory.swap.max").write_text("0") if (group / "memory.swap.max").exists() else None
            self.dirs, self.version = [group], 2

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
