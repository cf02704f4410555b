"""Container isolation: the grader's side of grader/inside/confine.py.

Where bubblewrap cannot create namespaces but the grader is root in a throwaway container
(Gradescope), each sandbox runs as a user of its own (a fresh uid, no account, no home but a
private folder) with no capabilities, rlimits, and a seccomp filter that refuses every socket
but AF_UNIX. It shares the container's kernel, network namespace, process list and file system:
what keeps the keys, labels, reports and the grader's code from it is `protect()`.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grader
from grader.sandbox.limits import Limits

GRADER_PACKAGE = Path(grader.__file__).resolve().parent
ENV = "/usr/bin/env"
CONTAINER_ENV = "HOML_GRADER_CONTAINER"  # "1": this is a throwaway container (set by the Gradescope bundle)
UIDS = range(1_100_000, 1_900_000)  # no account anywhere uses these; one per sandbox


def in_container() -> bool:
    """Whether this process looks like it runs in a container (Docker, Podman, Kubernetes, LXC)."""
    if os.environ.get(CONTAINER_ENV) == "1":
        return True
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return True
    try:
        cgroups = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(word in cgroups for word in ("docker", "kubepods", "containerd", "libpod", "lxc"))


def available() -> str | None:
    """None when container isolation can run here, else why not."""
    if os.geteuid() != 0:
        return "container isolation needs the grader to run as root (it starts each notebook as a user of its own)"
    try:
        from grader.inside.confine import network_filter

        network_filter()
    except ImportError:
        return "container isolation needs libseccomp's Python binding: pip install pyseccomp (or apt-get install python3-seccomp)"
    except (OSError, RuntimeError, ValueError) as exc:
        return f"container isolation cannot build its seccomp filter: {exc} (is libseccomp2 installed?)"
    return None


def new_uid() -> int:
    """A uid no process runs as now: the sandbox's user, and what kill_user() kills."""
    while True:
        uid = UIDS.start + secrets.randbelow(len(UIDS))
        if not _processes_of(uid):
            return uid


def _processes_of(uid: int, alive: bool = False) -> list[int]:
    """Pids of `uid`'s processes (`alive`: zombies, which no signal changes, left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                if alive and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
                found.append(int(entry.name))
        except (OSError, IndexError):
            pass
    return found


@dataclass
class Confinement:
    """One sandbox in container isolation."""

    home: Path  # private HOME and TMPDIR, made by the launcher
    own: list[Path] = field(default_factory=list)  # folders given to the sandbox's user
    readable: list[Path] = field(default_factory=list)  # files it may read (made world-readable)
    chdir: Path | None = None
    uid: int = field(default_factory=new_uid)

    def argv(self, limits: Limits, env: dict[str, str], memory_by_cgroup: bool) -> list[str]:
        """The launcher's command line, from an empty environment; append the command to run."""
        for path in self.readable:
            _world_readable(path)
        options = [
            "--uid", str(self.uid), "--gid", str(self.uid),
            "--nproc", str(limits.max_processes),
            "--fsize", str(limits.files_mb * 2**20),
            "--home", str(self.home),
        ]
        if not memory_by_cgroup:  # per process, not per sandbox: the best there is without cgroups
            options += ["--memory", str(limits.memory_mb * 2**20)]
        for path in self.own:
            options += ["--own", str(path)]
        if self.chdir:
            options += ["--chdir", str(self.chdir)]
        for key, value in env.items():
            options += ["--env", f"{key}={value}"]
        launcher_path = f"PYTHONPATH={GRADER_PACKAGE.parent}"
        return [ENV, "-i", launcher_path, sys.executable, "-m", "grader.inside.confine", *options, "--"]

    def kill_all(self) -> None:
        kill_user(self.uid)


def _world_readable(path: Path) -> None:
    path = Path(path)
    path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o444)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def kill_user(uid: int, timeout: float = 10) -> None:
    """Kill every process of `uid`, the sandbox's own user: kill(-1) sent as that user reaches all of
    them (escaped daemons and fork bombs included) and nothing else. Sent from /bin/sh, not Python:
    the grader's Python may not be reachable by that user outside the container."""
    deadline = time.monotonic() + timeout
    while _processes_of(uid, alive=True) and time.monotonic() < deadline:
        _as_user(uid, ["/bin/sh", "-c", "kill -9 -1 2>/dev/null; true"], timeout=30)
        time.sleep(0.05)


def _as_user(uid: int, argv: list[str], timeout: float, *args: str) -> str:
    done = subprocess.run(
        argv, user=uid, group=uid, extra_groups=[], env={"PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=timeout,
    )
    return done.stdout


# --- what the sandbox's users may not read ------------------------------------------------------


def protect(secret: list[Path], grader_package: Path = GRADER_PACKAGE) -> None:
    """Make `secret` folders and files (keys, labels, reports, the grader's data) and the grader's
    code outside grader/inside/ readable by root only. The sandbox still imports grader.inside."""
    for path in secret:
        _root_only(Path(path))
    inside = grader_package / "inside"
    for path in _walk(grader_package):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path == inside or inside in path.parents:
            path.chmod(mode | (0o555 if path.is_dir() else 0o444))
        elif path == grader_package / "__init__.py":
            path.chmod(mode | 0o444)
        elif path.is_dir():
            # the way to inside/ must be listable (Python's import system lists a folder to find a
            # module in it): names only, every file in it root-only; every other folder closed
            path.chmod(0o755 if path == grader_package else 0o700)
        elif not path.is_symlink():
            path.chmod(mode & 0o700)
    for parent in grader_package.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _root_only(path: Path) -> None:
    if not path.exists():
        return
    for item in _walk(path):
        if not item.is_symlink():
            item.chmod(stat.S_IMODE(item.lstat().st_mode) & 0o700)


def _walk(root: Path):
    """`root` and everything under it, without following links, without recursion."""
    todo = [Path(root)]
    while todo:
        path = todo.pop()
        yield path
        if path.is_dir() and not path.is_symlink():
            todo += list(path.iterdir())


def readable_by_sandbox(paths: list[Path], uid: int | None = None) -> list[str]:
    """Which of `paths`, and of the files and folders under them, a sandbox's user can read (a
    folder: list): [] when protect() held. Tried for real, as such a user, for every path found by
    root (a file in a folder the user cannot list is still tried by its name)."""
    uid = uid or new_uid()
    found = [str(p) for root in paths if Path(root).exists() for p in _walk(Path(root)) if not p.is_symlink()]
    check = 'for f do [ -r "$f" ] && printf "%s\\n" "$f"; done; true'
    readable = []
    for start in range(0, len(found), 500):
        readable += _as_user(uid, ["/bin/sh", "-c", check, "sh", *found[start:start + 500]], 120).splitlines()
    return readable


def unprotected(secret: list[Path], grader_package: Path = GRADER_PACKAGE) -> list[str]:
    """What protect() should have closed and a sandbox can still read: `secret` and the grader's
    code outside grader/inside/. [] when all is well."""
    allowed = {str(grader_package / "__init__.py"), str(grader_package)}
    inside = str(grader_package / "inside")
    return [
        p for p in readable_by_sandbox([*secret, grader_package])
        if p not in allowed and p != inside and not p.startswith(inside + "/")
    ]
