"""The bubblewrap command line: what a sandbox sees, and nothing else.

Inside: a read-only system (/usr and the Python installation), the grader's `inside` code,
the files named by `Mount`s, private /tmp and home, no network (only `lo`), its own PID, IPC and
user namespaces. Outside it as a whole: a cgroup for memory and processes.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import grader

HOME = "/home/student"
WORK = f"{HOME}/work"
PACKAGE_ROOT = "/opt/homl"  # holds the read-only copy of the `grader` package
IO = "/io"  # exchange folder between the grader and the sandbox
ENV = shutil.which("env") or "/usr/bin/env"

GRADER_PACKAGE = Path(grader.__file__).resolve().parent


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    writable: bool = False


@dataclass
class SandboxSpec:
    """What one sandboxed process gets."""

    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    chdir: str = HOME
    tmp_mb: int = 1024
    private: list[Mount] = field(default_factory=list)  # /tmp and home from the sandbox's own space, else tmpfs


BWRAP_ENV = "HOML_GRADER_BWRAP"  # another bubblewrap binary (tests run several versions)


def executable() -> str | None:
    """The bubblewrap binary the grader runs: $HOML_GRADER_BWRAP, else `bwrap` on PATH."""
    return os.environ.get(BWRAP_ENV) or shutil.which("bwrap")


@functools.lru_cache(maxsize=8)
def features(exe: str) -> frozenset[str]:
    """The options this bubblewrap accepts, read once from its `--help` (`--size` came in 0.7.0)."""
    try:
        text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30, env={}).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", text, re.MULTILINE))


def available() -> str | None:
    """None when bubblewrap runs here, else why not (with how to install it)."""
    return _available(executable())


@functools.lru_cache(maxsize=8)
def _available(exe: str | None) -> str | None:
    if exe is None:
        return "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap)"
    try:
        probe = subprocess.run(
            [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
            capture_output=True, text=True, env={}, timeout=60,
        )
    except OSError as exc:
        return f"bubblewrap cannot run ({exe}): {exc.strerror}"
    if probe.returncode != 0:
        return f"bubblewrap cannot create a sandbox here: {probe.stderr.strip()}"
    return None


def _python_roots() -> list[Path]:
    """Folders of the Python installation the kernel needs, read-only."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and ("site-packages" in path.parts or "dist-packages" in path.parts):
            roots.add(path)
    # keep only the outermost folders
    return sorted(r for r in roots if not any(o != r and o in r.parents for o in roots))


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "mime.types"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_args() -> list[str]:
    """The Python installation, read-only at its own path. Given after the private /tmp and home,
    so that an installation under /tmp (a CI venv) or a home folder is bound on top of them."""
    args = []
    for root in _python_roots():
        if not str(root).startswith("/usr/"):
            args += ["--ro-bind", str(root), str(root)]
    return args


def _tmpfs(target: str, mb: int, exe: str) -> list[str]:
    """A private tmpfs, of at most `mb` where this bubblewrap can say so (0.7.0 and later); else
    bounded only by the sandbox's memory cgroup, which its pages are charged to."""
    size = ["--size", str(mb * 2**20)] if "--size" in features(exe) else []
    return [*size, "--tmpfs", target]


def base_env(threads: int) -> dict[str, str]:
    """Environment of every sandboxed process: nothing inherited from the grader's."""
    n = str(threads)
    return {
        "HOME": HOME,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": PACKAGE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": n,
    }


def bwrap_argv(spec: SandboxSpec) -> list[str]:
    """bwrap and its options; append the command to run inside.

    bwrap itself starts from an empty environment (`env -i`): its `--clearenv` clears only its
    child's, and the sandbox's PID 1 is a copy of bwrap, whose /proc/1/environ a notebook can read.
    """
    exe = executable() or "bwrap"
    args = [
        ENV, "-i", exe,
        "--unshare-all",  # network, pid, ipc, uts, user, cgroup namespaces
        "--die-with-parent",
        "--new-session",
        "--uid", "65534", "--gid", "65534",
        "--hostname", "sandbox",
    ]
    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev"]
    # Run by root, the sandbox's uid is host uid 0 without capabilities, and /proc/sys files are
    # owner-writable: without this, a notebook could set host sysctls (core_pattern: host root).
    # bwrap's own cover of /proc/sys is skipped because the directory itself is read-only.
    args += ["--ro-bind", "/proc/sys", "/proc/sys", "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger"]
    # mount order matters: a later mount hides what an earlier one put under the same path
    given = {mount.target for mount in spec.private}
    for target in ("/tmp", HOME):
        if target not in given:
            args += _tmpfs(target, spec.tmp_mb, exe)
    for mount in spec.private:
        args += ["--bind", str(mount.source), mount.target]
    args += _python_args()  # after /tmp and home: an installation under them stays visible
    if any(root in GRADER_PACKAGE.parents for root in _python_roots()):
        # an installed (not editable) grader sits in site-packages with the bundled MNIST test
        # labels: hide it
        args += ["--tmpfs", str(GRADER_PACKAGE)]
    # only the code meant to run inside, never the judge, the data or the reports code
    args += ["--ro-bind", str(GRADER_PACKAGE / "__init__.py"), f"{PACKAGE_ROOT}/grader/__init__.py"]
    args += ["--ro-bind", str(GRADER_PACKAGE / "inside"), f"{PACKAGE_ROOT}/grader/inside"]
    for mount in spec.mounts:
        flag = "--bind" if mount.writable else "--ro-bind"
        args += [flag, str(mount.source), mount.target]
    for key, value in spec.env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", spec.chdir, "--"]
    return args


# Without a memory cgroup, a process's address space is capped instead: more than its memory, since
# TensorFlow reserves address space it never touches (2.2 GB virtual for 0.6 GB resident, measured).
ADDRESS_SPACE_SLACK_MB = 3072


def rlimits_prefix(limits) -> list[str]:
    """What runs a sandboxed command under rlimits where no cgroup holds it (an unprivileged grader):
    address space per process (memory_mb + slack), processes and threads (counted per user namespace
    since Linux 5.14, so per sandbox; root's are never counted), no core files. Empty without prlimit."""
    prlimit = shutil.which("prlimit", path="/usr/bin:/bin")
    if prlimit is None:
        return []
    memory = (limits.memory_mb + ADDRESS_SPACE_SLACK_MB) * 2**20
    return [prlimit, f"--as={memory}", f"--nproc={limits.max_processes}", "--core=0", "--"]


def in_cgroup(argv: list[str], procs_files: list[str]) -> list[str]:
    """Prefix that moves the process into the cgroup before it runs `argv` (inherited by children)."""
    if not procs_files:
        return argv
    joins = " && ".join(f'echo $$ > "{p}"' for p in procs_files)
    return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]
