"""Removing what sandboxes leave behind, whatever a notebook made of it.

A student's tree can be 4,000 folders deep (shutil.rmtree and os.walk recurse and raise
RecursionError; its paths are longer than PATH_MAX), hold folders without permissions, or sit
on a file system mounted for its sandbox. `remove_tree` detaches those mounts and walks the rest
iteratively with one open folder at a time. `sweep_leftovers` removes the folders and cgroups of
grader runs that died (kill -9), found by the pid in their names.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import signal
import stat
import tempfile
import time
from pathlib import Path

PREFIX = "homl-grader-"
_OWNED = re.compile(rf"^(?:{PREFIX}|homl-check-)(\d+)-")  # homl-grader-<pid>-<random>
_MNT_DETACH = 2
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def owned_name(prefix: str = PREFIX) -> str:
    """The start of a folder or cgroup name that says which process made it."""
    return f"{prefix}{os.getpid()}-"


OWNER_LOCK = ".owner.lock"  # in a folder make_root() made: locked for as long as its process lives
_held: dict[str, int] = {}  # folder -> its lock file's descriptor, open until the folder is removed


def make_root(parent: str | os.PathLike | None = None, prefix: str = PREFIX, suffix: str = "") -> Path:
    """A new private folder named after this process, for `sweep_leftovers` to find if it dies.

    It also holds a locked OWNER_LOCK: a pid says nothing across PID namespaces (two containers
    sharing one /dev/shm), a lock the kernel drops when its process dies does."""
    path = Path(tempfile.mkdtemp(prefix=owned_name(prefix), suffix=suffix, dir=parent))
    fd = os.open(path / OWNER_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _held[os.fspath(path)] = fd
    return path


def _locked_by_a_live_process(path: str) -> bool:
    try:
        fd = os.open(os.path.join(path, OWNER_LOCK), os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | os.O_NOFOLLOW)
    except OSError:
        return False  # no lock file: an older grader's folder, or not a folder; the pid decides
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the lock just taken
    return False


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _unescape(field: str) -> str:
    """A path from /proc/self/mountinfo (spaces and the like are written as octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_under(path: str | os.PathLike) -> list[str]:
    """Mount points at or below `path`, deepest first."""
    root = os.path.realpath(path)
    found = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                point = _unescape(line.split()[4])
                if point == root or point.startswith(root.rstrip("/") + "/"):
                    found.append(point)
    except OSError:
        return []
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def detach_mounts(path: str | os.PathLike) -> None:
    """Unmount (lazily: a busy one goes when its last user does) everything mounted under `path`."""
    points = mounts_under(path)
    if not points:
        return
    libc = _libc()
    for point in points:
        if libc.umount2(os.fsencode(point), _MNT_DETACH) != 0:
            code = ctypes.get_errno()
            if code not in (errno.EINVAL, errno.ENOENT):
                raise OSError(code, f"cannot unmount {point}: {os.strerror(code)}")


def _open_dir(name: str, parent_fd: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:  # a folder the notebook made unreadable (chmod 000): it is ours
        os.chmod(name, 0o700, dir_fd=parent_fd, follow_symlinks=False)
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)


def _unlink(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except PermissionError:  # a folder without write permission
        os.chmod(dir_fd, 0o700)
        os.unlink(name, dir_fd=dir_fd)


def _empty(fd: int) -> None:
    """Remove everything inside the folder open as `fd` (closed on return), depth first, without
    recursion: only the current folder is open; `..` leads back up."""
    below: list[str] = []  # the names walked down from the top
    try:
        while True:
            child, seen = None, False
            with os.scandir(fd) as entries:
                for entry in entries:
                    seen = True
                    if entry.is_dir(follow_symlinks=False):
                        child = entry.name
                        break
                    _unlink(entry.name, fd)
            if seen and child is None:
                continue  # read again: a folder listing may skip entries while they are removed
            if child is not None:
                try:
                    os.chmod(fd, 0o700)  # removing its entries needs write permission
                except OSError:
                    pass
                inner = _open_dir(child, fd)
                os.close(fd)
                fd = inner
                below.append(child)
                continue
            if not below:
                return
            parent = os.open("..", _DIR_FLAGS & ~os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = parent
            name = below.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except PermissionError:
                os.chmod(fd, 0o700)
                os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)


def remove_tree(path: str | os.PathLike) -> None:
    """Remove `path` and everything under it; never follows a link, never recurses. Raises
    OSError when something could not be removed; a missing `path` is fine."""
    path = os.fspath(path)
    detach_mounts(path)
    if path in _held:  # our own folder: its lock goes with it
        os.close(_held.pop(path))
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    _empty(os.open(path, _DIR_FLAGS))
    os.rmdir(path)


def remove_quietly(path: str | os.PathLike) -> str | None:
    """`remove_tree` for cleanup code that must go on: None, or why `path` could not be removed."""
    try:
        remove_tree(path)
        return None
    except OSError as exc:
        return f"{path} was not removed: {exc}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_owner(name: str) -> bool:
    match = _OWNED.match(name)
    return bool(match) and not _alive(int(match.group(1)))


def _cgroup_parents() -> list[Path]:
    from grader.sandbox import cgroup

    return [p for p in cgroup.hierarchies() if p.is_dir()]


def _remove_cgroup(group: Path) -> None:
    for _ in range(100):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def sweep_leftovers(folders: list[str | os.PathLike] | None = None) -> list[str]:
    """Remove `homl-grader-<pid>-*` folders (in /dev/shm and the temp folder) and cgroups whose
    process is gone; what another running grader owns is left alone. Returns what was removed."""
    removed = []
    places = folders if folders is not None else ["/dev/shm", tempfile.gettempdir()]
    for place in places:
        try:
            names = os.listdir(place)
        except OSError:
            continue
        for name in names:
            if _dead_owner(name) and not _locked_by_a_live_process(os.path.join(place, name)):
                path = os.path.join(place, name)
                if remove_quietly(path) is None:
                    removed.append(path)
    for parent in _cgroup_parents():
        try:
            groups = [g for g in parent.iterdir() if _dead_owner(g.name)]
        except OSError:
            continue
        for group in groups:
            _remove_cgroup(group)
            if not group.exists():
                removed.append(str(group))
    return removed
